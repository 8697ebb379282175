"""Demo data for `c360 dev up`: customers with history and a live call ringing an agent."""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from c360 import options, reach
from infra.kafka_config import Brokers, KafkaEndpoint
from infra.kafka_producer import make_producer, produce_all
from infra.settings_streams import ToolSettings
from schemas import codec
from schemas.records import (
    InteractionAccepted,
    InteractionAnalyzed,
    InteractionEnded,
    InteractionEvent,
    InteractionOffered,
    InteractionWrappedUp,
    ProfileUpserted,
    RecordingAvailable,
)
from schemas.topics import CONTACTS, INTERACTIONS

TENANT = "demo"
CENTRE = "+442079460000"
# Numbers from Ofcom's and NANPA's ranges reserved for drama/fiction: they are valid-looking
# but never anyone's real number.
CUSTOMERS = {
    "alice": "+442079460123",
    "bruno": "+442079460456",
    "chen": "+12025550143",
}
_NS = uuid.UUID("6f1d8c2e-3b4a-4c5d-9e8f-7a6b5c4d3e2f")


def _id(*parts: object) -> str:
    return str(uuid.uuid5(_NS, ":".join(map(str, parts))))


def past_call(
    who: str,
    iid: str,
    start: datetime,
    *,
    agent: str,
    queue: str,
    disposition: str,
    notes: str,
    sentiment: float,
    title: str | None = None,
    duration: int = 240,
) -> Iterator[InteractionEvent]:
    """The events of one finished, wrapped-up, analysed and recorded inbound call."""
    caller = CUSTOMERS[who]
    end = start + timedelta(seconds=duration + 30)
    yield InteractionOffered(
        _id(iid, "q"),
        TENANT,
        start,
        iid,
        "voice",
        "inbound",
        caller,
        CENTRE,
        stage="queued",
        queue=queue,
        ivr_path=("main", queue),
    )
    yield InteractionAccepted(
        _id(iid, "a"),
        TENANT,
        start + timedelta(seconds=25),
        iid,
        "voice",
        agent,
        agent_name=agent.replace("-", " ").title(),
        leg_id=f"{iid}-l1",
        queue=queue,
    )
    yield InteractionEnded(
        _id(iid, "e"),
        TENANT,
        end,
        iid,
        "voice",
        "inbound",
        caller,
        CENTRE,
        duration,
        started_at=start,
    )
    yield InteractionWrappedUp(
        _id(iid, "w"),
        TENANT,
        end + timedelta(seconds=40),
        iid,
        "voice",
        agent,
        disposition_code=disposition,
        notes=notes,
    )
    yield InteractionAnalyzed(
        _id(iid, "n"),
        TENANT,
        end + timedelta(minutes=5),
        iid,
        "voice",
        sentiment=sentiment,
        ai_title=title,
        topics=("billing",) if "bill" in notes.lower() else (),
        transcript_url=f"https://transcripts.example/{iid}",
    )
    yield RecordingAvailable(
        _id(iid, "r"),
        TENANT,
        end + timedelta(minutes=2),
        iid,
        "voice",
        f"https://recordings.example/{iid}.wav",
        duration,
    )


def missed_call(
    who: str, iid: str, start: datetime, *, agent: str, queue: str = "Sales"
) -> Iterator[InteractionEvent]:
    """A call that rang `agent` and ended unanswered (a missed call with the dev rules)."""
    caller = CUSTOMERS[who]
    yield InteractionOffered(
        _id(iid, "q"), TENANT, start, iid, "voice", "inbound", caller, CENTRE,
        stage="queued", queue=queue,
    )
    yield InteractionOffered(
        _id(iid, "o"), TENANT, start + timedelta(seconds=8), iid, "voice", "inbound", caller,
        CENTRE, stage="offered", agent_id=agent, queue=queue, leg_id=f"{iid}-l1",
    )
    yield InteractionEnded(
        _id(iid, "e"), TENANT, start + timedelta(seconds=33), iid, "voice", "inbound", caller,
        CENTRE, 33, started_at=start, end_reason="no-answer",
    )


def history(now: datetime) -> Iterator[InteractionEvent]:
    """A few months of interactions for the demo customers."""
    yield from past_call(
        "alice",
        "demo-a1",
        now - timedelta(days=64),
        agent="agent-2",
        queue="Billing",
        disposition="BILLING_QUERY",
        notes="Asked about a double charge on the March bill. Refund promised.",
        sentiment=-0.4,
        title="Double charge on March bill",
    )
    yield from past_call(
        "alice",
        "demo-a2",
        now - timedelta(days=12),
        agent="agent-1",
        queue="Billing",
        disposition="REFUND_CONFIRMED",
        notes="Refund confirmed. Customer happy, asked for paperless billing.",
        sentiment=0.6,
    )
    yield from past_call(
        "bruno",
        "demo-b1",
        now - timedelta(days=3),
        agent="agent-1",
        queue="Sales",
        disposition="SALE",
        notes="Upgraded to the family plan.",
        sentiment=0.8,
        duration=610,
    )
    yield from past_call(
        "chen",
        "demo-c1",
        now - timedelta(days=30),
        agent="agent-2",
        queue="Support",
        disposition="NO_ANSWER",
        notes="",
        sentiment=0.0,
        duration=4,
    )
    yield from missed_call("bruno", "demo-b2", now - timedelta(days=2), agent="agent-2")
    start = now - timedelta(days=5)
    yield InteractionOffered(
        _id("demo-a3", "q"),
        TENANT,
        start,
        "demo-a3",
        "chat",
        "inbound",
        CUSTOMERS["alice"],
        "webchat",
        stage="queued",
        queue="Digital",
        subject="Paperless billing",
    )
    yield InteractionEnded(
        _id("demo-a3", "e"),
        TENANT,
        start + timedelta(minutes=9),
        "demo-a3",
        "chat",
        "inbound",
        CUSTOMERS["alice"],
        "webchat",
        540,
        started_at=start,
    )


def live_call(now: datetime, who: str = "alice", agent: str = "agent-1") -> list[InteractionEvent]:
    """A call that is queued now and rings `agent` (a screen pop for that agent)."""
    iid = f"live-{who}-{int(now.timestamp())}"
    caller = CUSTOMERS[who]
    return [
        InteractionOffered(
            _id(iid, "q"),
            TENANT,
            now,
            iid,
            "voice",
            "inbound",
            caller,
            CENTRE,
            stage="queued",
            queue="Billing",
            ivr_path=("main", "billing"),
        ),
        InteractionOffered(
            _id(iid, "o"),
            TENANT,
            now + timedelta(seconds=2),
            iid,
            "voice",
            "inbound",
            caller,
            CENTRE,
            stage="offered",
            agent_id=agent,
            queue="Billing",
            leg_id=f"{iid}-l1",
        ),
    ]


def profiles(now: datetime) -> list[ProfileUpserted]:
    """Demo profiles: Alice and Bruno identified; Chen's number is shared by two profiles,
    so a call from it shows "2 matches" with a chooser."""

    def profile(pid: str, name: str, phone: str, email: str | None) -> ProfileUpserted:
        return ProfileUpserted(
            _id("profile", pid),
            TENANT,
            now - timedelta(days=90),
            pid,
            display_name=name,
            phones=(phone,),
            emails=(email,) if email else (),
            source="demo",
        )

    return [
        profile("cust-alice", "Alice Martin", CUSTOMERS["alice"], "alice@example.com"),
        profile("cust-bruno", "Bruno Costa", CUSTOMERS["bruno"], None),
        profile("cust-chen", "Chen Wei", CUSTOMERS["chen"], "chen.wei@example.com"),
        profile("cust-chen-office", "Wei & Co (office line)", CUSTOMERS["chen"], None),
    ]


def publish_demo(brokers: Brokers, topic_prefix: str = "", *, now: datetime | None = None) -> int:
    """Publish the demo profiles, history and one live call; returns the number of records."""
    now = now or datetime.now(tz=UTC)
    producer = make_producer(brokers)
    sent = produce_all(
        producer,
        topic_prefix + CONTACTS,
        [(f"{p.tenant_id}:{p.profile_id}".encode(), codec.encode(p)) for p in profiles(now)],
    )
    sent += produce_all(
        producer,
        topic_prefix + INTERACTIONS,
        [(e.interaction_id.encode(), codec.encode(e)) for e in history(now)],
    )
    # The profiles travel on their own topic; give the contacts agent a moment so the live
    # call's pop already finds Alice's profile (a demo nicety, not a correctness need).
    time.sleep(3)
    live = live_call(datetime.now(tz=UTC))
    return sent + produce_all(
        producer,
        topic_prefix + INTERACTIONS,
        [(e.interaction_id.encode(), codec.encode(e)) for e in live],
    )


NAMES = {"alice": "Alice Martin", "bruno": "Bruno Costa", "chen": "Chen Wei"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`c360 demo [call|history]` (also used by the `c360` command's tree)."""
    defaults = ToolSettings.from_env()  # the C360_* defaults of the options
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--bootstrap", default=defaults.kafka_bootstrap_servers, help=options.BOOTSTRAP
    )
    common.add_argument("--prefix", default=defaults.topic_prefix, help=options.PREFIX)
    sub = parser.add_subparsers(dest="what", metavar="WHAT")
    call = sub.add_parser(
        "call",
        parents=[common],
        help="a live call that rings an agent (the default)",
        description="Publish a call that is queued now and rings an agent: a screen pop.",
    )
    call.add_argument(
        "--who",
        choices=sorted(CUSTOMERS),
        default="alice",
        help="the demo customer who calls (default: %(default)s)",
    )
    call.add_argument(
        "--agent", default="agent-1", help="the agent whose panel rings (default: %(default)s)"
    )
    sub.add_parser(
        "history",
        parents=[common],
        help="past calls of the demo customers",
        description="Publish finished, wrapped-up calls of the demo customers (their history).",
    )
    # `c360 demo` alone is `c360 demo call` with its defaults.
    parser.set_defaults(
        run=run,
        what="call",
        who="alice",
        agent="agent-1",
        bootstrap=defaults.kafka_bootstrap_servers,
        prefix=defaults.topic_prefix,
    )


def main(argv: list[str] | None = None) -> int:
    """`python -m c360.demo`: the same as `c360 demo`."""
    parser = argparse.ArgumentParser(prog="c360 demo", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


def panel_url(environ: Mapping[str, str] | None = None) -> str:
    """The agent panel of the running dev stack, else of the default port."""
    env = os.environ if environ is None else environ
    from c360 import devstate  # noqa: PLC0415 - only this tool reads the stack's state

    state = devstate.read_state(Path(env.get("C360_DATA_DIR", str(devstate.DEFAULT_DATA_DIR))))
    url = str(
        (state or {}).get("http_url") or f"http://127.0.0.1:{env.get('C360_HTTP_PORT', 8360)}"
    )
    return url + "/"


def run(args: argparse.Namespace) -> int:
    """Publish the demo call or history and say what happened and where to look."""
    defaults = ToolSettings.from_env()
    now = datetime.now(tz=UTC)
    events = list(history(now)) if args.what == "history" else live_call(now, args.who, args.agent)
    batch = [(e.interaction_id.encode(), codec.encode(e)) for e in events]
    kafka = KafkaEndpoint.from_settings(defaults, args.bootstrap)  # --bootstrap: servers only
    reach.require_kafka(kafka)
    sent = produce_all(make_producer(kafka), args.prefix + INTERACTIONS, batch)
    if args.what == "history":
        print(
            f"Published {sent} past-call event(s) of {', '.join(NAMES.values())} "
            f"(tenant {TENANT}); their timelines show them in the panel: {panel_url()}"
        )
    else:
        print(
            f"{NAMES[args.who]} ({args.who}) is calling {args.agent}: {sent} event(s) "
            f"published. Open the panel signed in as {args.agent} to see the screen pop: "
            f"{panel_url()}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
