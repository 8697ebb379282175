"""create_app: one agent per input topic, the pages, and no side effects at import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from core.timeline import to_ms
from projections.memory import InMemoryInteractionParties, InMemoryTimelineStore
from streams.app import create_app
from streams.bootstrap import build_deps
from streams.settings import StreamSettings
from tests.factories import T0

ROOT = Path(__file__).resolve().parents[3]


def _app(**env: str):
    settings = StreamSettings.from_env({"C360_ENV": "dev", "C360_TOPIC_PREFIX": "t.", **env})
    deps = build_deps(
        settings,
        timeline=InMemoryTimelineStore(),
        parties=InMemoryInteractionParties(),
        clock_ms=lambda: to_ms(T0),
    )
    return create_app(settings, deps)


def test_one_agent_per_input_topic():
    """Each input topic is read by exactly one agent (the desktop topic too)."""
    app = _app()
    topics = {name: agent.channel.get_topic_name() for name, agent in app.agents.items()}
    assert topics == {
        "process_interactions": "t.c360.interactions.v1",
        "handle_desktop_actions": "t.c360.desktop.v1",
        "project_related_records": "t.c360.activities.results.v1",
        "apply_contacts": "t.c360.contacts.v1",
    }


def test_the_ops_web_server_binds_to_loopback_unless_told():
    """/metrics, /c360/stats, /ready answer without credentials: loopback by default,
    C360_WORKER_WEB_BIND for a scraper on a private network."""
    assert _app().conf.web_bind == "127.0.0.1"
    assert _app(C360_WORKER_WEB_BIND="0.0.0.0").conf.web_bind == "0.0.0.0"


def test_two_apps_do_not_share_agents_or_counters():
    """Everything is built per call: no module registry to collide in."""
    first, second = _app(), _app()
    assert first is not second
    assert set(first.agents) == set(second.agents)
    assert first.agents["apply_contacts"] is not second.agents["apply_contacts"]


def test_importing_the_streams_modules_has_no_side_effects(tmp_path):
    """No settings read, logging configured, rules loaded or switch interval set on import:
    a rules file that does not exist and an invalid setting do not stop the import."""
    code = (
        "import sys, structlog\n"
        "before = sys.getswitchinterval()\n"
        "import streams.app, streams.agents, streams.runner, streams.bootstrap, streams.__main__\n"
        "assert sys.getswitchinterval() == before, 'switch interval changed'\n"
        "assert not structlog.is_configured(), 'logging configured'\n"
        "print('clean')\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "C360_RULES_FILE": str(tmp_path / "missing.json"),
        "C360_ENV": "not-an-env",
    }
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "clean"
