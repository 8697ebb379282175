"""The topic catalogue: every Kafka topic c360 uses, declared once (names, partitions, keys)."""

from __future__ import annotations

from dataclasses import dataclass

# Topic names are part of the public contract (docs/topics.md), so they live with the
# schemas rather than in streams/: the Faust app, the connectors and the dev stack all read
# them from here and none of them has to import another deployable.


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One topic: its name, partition count, what its key is and what its values are."""

    name: str
    partitions: int
    key: str
    values: str
    compacted: bool = False


INTERACTIONS = "c360.interactions.v1"
INTERACTIONS_BY_PARTY = "c360.interactions.by-party.v1"
CONTACTS = "c360.contacts.v1"
SCREENPOPS = "c360.screenpops.v1"
ACTIVITIES_REQUESTED = "c360.activities.requested.v1"
ACTIVITIES_RESULTS = "c360.activities.results.v1"
DESKTOP = "c360.desktop.v1"
DLQ = "c360.dlq.v1"
ERASURE = "c360.erasure.v1"
AUDIT = "c360.audit.v1"

DEFAULT_PARTITIONS = 4

CATALOGUE: tuple[TopicSpec, ...] = (
    TopicSpec(INTERACTIONS, DEFAULT_PARTITIONS, "interaction id", "Interaction* records"),
    TopicSpec(
        INTERACTIONS_BY_PARTY,
        DEFAULT_PARTITIONS,
        "tenant + keyed-hash party token",
        "PartyInteraction",
    ),
    TopicSpec(CONTACTS, DEFAULT_PARTITIONS, "tenant + profile id", "ProfileUpserted", True),
    TopicSpec(SCREENPOPS, DEFAULT_PARTITIONS, "tenant + agent id", "ScreenPopRequested"),
    TopicSpec(
        ACTIVITIES_REQUESTED, DEFAULT_PARTITIONS, "idempotency key", "ActivityRequested"
    ),
    TopicSpec(ACTIVITIES_RESULTS, DEFAULT_PARTITIONS, "interaction id", "ActivityResult"),
    TopicSpec(DESKTOP, DEFAULT_PARTITIONS, "interaction id", "DesktopActionTaken"),
    TopicSpec(DLQ, 1, "original key", "DeadLetter"),
    TopicSpec(ERASURE, 1, "tenant + party token", "erasure requests"),
    # One partition: the trail of privileged actions is read in the order they were taken.
    TopicSpec(AUDIT, 1, "tenant", "AuditRecorded"),
)


def topic_names(prefix: str = "") -> tuple[str, ...]:
    """All topic names, optionally prefixed (tests isolate runs with a unique prefix)."""
    return tuple(prefix + spec.name for spec in CATALOGUE)
