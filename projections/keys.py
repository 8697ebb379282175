"""The only place Redis key strings are built: every key carries a per-party hash tag."""

from __future__ import annotations

from dataclasses import dataclass

# `{...}` is the Redis Cluster hash tag: all keys of one party (or one interaction) hash to
# one slot, so a MULTI or a script touching them is legal on a cluster. Tokens are keyed
# hashes (streams.identity.party_token); raw identifiers never appear in a key.


@dataclass(frozen=True, slots=True)
class Keys:
    """Key builder for one namespace (`c360` live; a new one for a blue/green rebuild)."""

    namespace: str = "c360"

    def party_tag(self, tenant_id: str, token: str) -> str:
        """The hash-tagged prefix of every key of one party."""
        return f"{self.namespace}:{{{tenant_id}:{token}}}"

    def timeline_index(self, tenant_id: str, token: str, channel: str) -> str:
        """Sorted set: interaction ids of one party and channel, scored by start (ms)."""
        return f"{self.party_tag(tenant_id, token)}:tl:{channel}"

    def erased(self, tenant_id: str, token: str) -> str:
        """String: set by `c360 forget`; while it exists nothing is projected for the party."""
        return f"{self.party_tag(tenant_id, token)}:erased"

    def entry_prefix(self, tenant_id: str, token: str) -> str:
        """Prefix of the party's entry keys; the interaction id follows."""
        return f"{self.party_tag(tenant_id, token)}:ix:"

    def entry(self, tenant_id: str, token: str, interaction_id: str) -> str:
        """String: the compact JSON entry of one interaction in one party's timeline."""
        return self.entry_prefix(tenant_id, token) + interaction_id

    def interaction_tag(self, tenant_id: str, interaction_id: str) -> str:
        """The hash-tagged prefix of per-interaction keys."""
        return f"{self.namespace}:{{ix:{tenant_id}:{interaction_id}}}"

    def interaction_party(self, tenant_id: str, interaction_id: str) -> str:
        """String: the party an interaction belongs to (set by the normalize agent)."""
        return f"{self.interaction_tag(tenant_id, interaction_id)}:party"

    def interaction_related(self, tenant_id: str, interaction_id: str) -> str:
        """Hash: the interaction's related-record facts (CRM results, desktop link/unlink)."""
        return f"{self.interaction_tag(tenant_id, interaction_id)}:related"

    def interaction_parked(self, tenant_id: str, interaction_id: str) -> str:
        """List: raw events parked until the interaction's party is known."""
        return f"{self.interaction_tag(tenant_id, interaction_id)}:parked"

    # Profile directory (projections/redis_profiles.py, redis_links.py). Profile ids are
    # opaque directory ids (never identifiers: the import rejects ids that look like an
    # email); one profile's keys share the `{p:<tenant>:<id>}` slot.

    def profile_tag(self, tenant_id: str, profile_id: str) -> str:
        """The hash-tagged prefix of every key of one profile."""
        return f"{self.namespace}:{{p:{tenant_id}:{profile_id}}}"

    def profile(self, tenant_id: str, profile_id: str) -> str:
        """Hash: the profile's stored document (doc), stamp and deleted flag."""
        return f"{self.profile_tag(tenant_id, profile_id)}:profile"

    def profile_links(self, tenant_id: str, profile_id: str) -> str:
        """Hash: interaction id -> link state of interactions relinked to/away from it."""
        return f"{self.profile_tag(tenant_id, profile_id)}:links"

    def identifier_claims(self, tenant_id: str, token: str) -> str:
        """Hash: profile id -> claim stamp of every profile listing this identifier."""
        return f"{self.party_tag(tenant_id, token)}:claims"

    def identifier_owner_log(self, tenant_id: str, token: str) -> str:
        """List: audit of exclusive-ownership changes of this identifier, newest first."""
        return f"{self.party_tag(tenant_id, token)}:owners"

    def interaction_link(self, tenant_id: str, interaction_id: str) -> str:
        """Hash: link actions of an interaction (profile open/relink), last one wins."""
        return f"{self.interaction_tag(tenant_id, interaction_id)}:link"

    def screen_pop_cache(self, tenant_id: str, interaction_id: str) -> str:
        """String: the pre-warmed screen-pop view of an interaction (short TTL)."""
        return f"{self.interaction_tag(tenant_id, interaction_id)}:pop"
