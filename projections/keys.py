"""The only place Redis key strings are built: every key carries a per-party hash tag."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

# `{...}` is the Redis Cluster hash tag: all keys of one party (or one interaction) hash to
# one slot, so a MULTI or a script touching them is legal on a cluster. Tokens are keyed
# hashes (core.identity.party_token); raw identifiers never appear in a key.


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

    def timeline_entries(self, tenant_id: str, token: str) -> str:
        """Hash: entry field (see entry_field) -> stored entry or tombstone, all channels."""
        return f"{self.party_tag(tenant_id, token)}:tx"

    def timeline_tombstones(self, tenant_id: str, token: str) -> str:
        """Sorted set: entry fields holding a tombstone, scored by when it may go (ms)."""
        return f"{self.party_tag(tenant_id, token)}:tb"

    def api_key(self, key_id: str) -> str:
        """String: one API key record (JSON; the secret's hash, never the secret)."""
        return f"{self.namespace}:{{keys}}:key:{key_id}"

    def api_key_index(self) -> str:
        """Set: every API key id (one slot with the records, for `c360 keys list`)."""
        return f"{self.namespace}:{{keys}}:index"

    def rate_bucket(self, credential: str) -> str:
        """String: the theoretical arrival time of one credential's rate limit (GCRA)."""
        return f"{self.namespace}:{{rl:{credential}}}:tat"

    def interaction_tag(self, tenant_id: str, interaction_id: str) -> str:
        """The hash-tagged prefix of per-interaction keys."""
        return f"{self.namespace}:{{ix:{tenant_id}:{interaction_id}}}"

    def interaction_party(self, tenant_id: str, interaction_id: str) -> str:
        """String: the party an interaction belongs to (set by the normalize agent)."""
        return f"{self.interaction_tag(tenant_id, interaction_id)}:party"

    def interaction_related(self, tenant_id: str, interaction_id: str) -> str:
        """Hash: the interaction's related-record facts (CRM results, desktop link/unlink)."""
        return f"{self.interaction_tag(tenant_id, interaction_id)}:related"

    def interaction_activities(self, tenant_id: str, interaction_id: str) -> str:
        """Hash: the activities emitted for an interaction and the agent's CRM choice."""
        return f"{self.interaction_tag(tenant_id, interaction_id)}:activities"

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

    # Profile search index (projections/redis_profile_search.py): every key of a tenant's
    # index shares the `{s:<tenant>}` slot, so replacing a profile's terms is one script.
    # Terms are keyed hashes (core.profile_search.term_hash), never names or values.

    def search_tag(self, tenant_id: str) -> str:
        """The hash-tagged prefix of every key of one tenant's search index."""
        return f"{self.namespace}:{{s:{tenant_id}}}"

    def search_term(self, tenant_id: str, term: str) -> str:
        """Set: profile ids having this (hashed) term."""
        return f"{self.search_tag(tenant_id)}:t:{term}"

    def search_profile(self, tenant_id: str, profile_id: str) -> str:
        """Hash: the profile's indexed stamp ("" field) and terms (one field each)."""
        return f"{self.search_tag(tenant_id)}:p:{profile_id}"

    def interaction_link(self, tenant_id: str, interaction_id: str) -> str:
        """Hash: link actions of an interaction (profile open/relink), last one wins."""
        return f"{self.interaction_tag(tenant_id, interaction_id)}:link"

    def screen_pop_cache(self, tenant_id: str, interaction_id: str) -> str:
        """String: the pre-warmed screen-pop view of an interaction (short TTL)."""
        return f"{self.interaction_tag(tenant_id, interaction_id)}:pop"

    def agent_crm_tokens(self, tenant_id: str, agent_token: str) -> str:
        """Hash: CRM name -> one agent's sealed OAuth token set (agent id as a keyed hash,
        core.crm.agent_auth.agent_token)."""
        return f"{self.namespace}:{{crmauth:{tenant_id}:{agent_token}}}:tokens"

    def crm_connect_attempt(self, nonce: str) -> str:
        """String: a sealed pending OAuth connect attempt (TTL; taken once by the callback)."""
        return f"{self.namespace}:{{crmconnect:{nonce}}}"


# Entry fields and index members: an interaction id in its shortest unambiguous bytes. A
# canonical UUID (the usual id) is its 16 raw bytes, which saves 20 bytes in the hash field
# and again in the index member (docs/storage.md). Any other id is its UTF-8 text behind a
# 0xFF byte (never part of UTF-8), padded with another one when that would make 16 bytes,
# so only UUIDs are 16 bytes long and the mapping can be reversed.
_NOT_UTF8 = b"\xff"


def entry_field(interaction_id: str) -> bytes:
    """The hash field and index member of an interaction id (reversible, see above)."""
    try:
        as_uuid = uuid.UUID(interaction_id)
    except ValueError:
        as_uuid = None
    if as_uuid is not None and str(as_uuid) == interaction_id:
        return as_uuid.bytes
    field = _NOT_UTF8 + interaction_id.encode()
    return field + _NOT_UTF8 if len(field) == 16 else field


def interaction_of_field(field: bytes) -> str:
    """The interaction id an entry field stands for (inverse of entry_field)."""
    if len(field) == 16:
        return str(uuid.UUID(bytes=field))
    return field.replace(_NOT_UTF8, b"").decode()
