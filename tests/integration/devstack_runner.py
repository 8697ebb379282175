"""Runs DevStack with stand-in workers (`python -m tests.integration.devstack_runner ...`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from c360.devspecs import ProcSpec, SpecsFactory, StackContext, http_ok, log_contains
from c360.devstack import DevStack, UpOptions
from c360.procs import RestartPolicy

STANDIN = "tests.integration.devstack_standin"


def standin_specs(mode: str) -> SpecsFactory:
    """Spec factory: streams and web stand-ins, and one worker whose module is missing;
    `mode` is the streams stand-in's (sleep, die: always, die-once: only its first run)."""

    def specs(ctx: StackContext) -> list[ProcSpec]:
        py = sys.executable
        return [
            ProcSpec(
                "streams",
                (py, "-m", STANDIN, mode, "streams"),
                ready_check=log_contains("standin ready"),
            ),
            ProcSpec(
                "web",
                (py, "-m", STANDIN, "http", "web"),
                ready_check=http_ok(ctx.http_url + "/health"),
            ),
            ProcSpec("crm-sink", (py, "-m", "c360_no_such.worker"), module="c360_no_such.worker"),
        ]

    return specs


def main() -> int:
    """Parse the few options the tests use and run the stack in the foreground."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--die", action="store_true")
    parser.add_argument("--die-once", action="store_true")
    args = parser.parse_args()
    options = UpOptions(http_port=0, demo=False, data_dir=Path(args.data_dir))
    mode = "die" if args.die else "die-once" if args.die_once else "sleep"
    # Short delays keep the crash-loop test brief; the give-up rule is the default one.
    policy = RestartPolicy(initial_delay=0.2, max_delay=1.0)
    return DevStack(options, specs=standin_specs(mode), restart=policy).up()


if __name__ == "__main__":
    raise SystemExit(main())
