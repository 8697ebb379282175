"""Which CRM an activity goes to: explicit > agent's selection > tenant's > deployment's."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.crm.worker_settings import WorkerConfigError


@dataclass(frozen=True, slots=True)
class TenantCrm:
    """A tenant's CRM selection: its default and per-agent overrides."""

    crm: str | None = None
    agents: Mapping[str, str] = field(default_factory=dict)
    # The CRMs the tenant's agents may pick per call (choose_crm) besides the default.
    crms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CrmRouting:
    """The CRM selection of every tenant and agent.

    Contact matching happens in the selected CRM only: the sink asks that one adapter, so a
    customer known in another CRM of the tenant is never matched by accident.
    """

    default_crm: str | None = None
    tenants: Mapping[str, TenantCrm] = field(default_factory=dict)

    def crm_for(self, tenant_id: str, agent_id: str | None, requested: str | None) -> str | None:
        """The CRM to write to; None when the tenant has no CRM (c360 works without one)."""
        if requested:
            return requested  # a rule that names its CRM means it
        tenant = self.tenants.get(tenant_id)
        if tenant is not None:
            if agent_id is not None and agent_id in tenant.agents:
                return tenant.agents[agent_id]
            if tenant.crm is not None:
                return tenant.crm
        return self.default_crm

    def crms(self) -> set[str]:
        """Every CRM some tenant or agent selects (the adapters the worker must build)."""
        names = {self.default_crm} if self.default_crm else set()
        for tenant in self.tenants.values():
            names |= set(tenant.agents.values()) | ({tenant.crm} if tenant.crm else set())
            names |= set(tenant.crms)
        return names

    def offered(self, tenant_id: str, agent_id: str | None) -> list[str]:
        """The CRMs an agent of the tenant may log to (the default first, then the
        tenant's `crms`); empty when the tenant has no CRM."""
        default = self.crm_for(tenant_id, agent_id, None)
        tenant = self.tenants.get(tenant_id)
        extra = tenant.crms if tenant is not None else ()
        return list(dict.fromkeys([*([default] if default else []), *extra]))


def routing_from_dict(doc: Any, default_crm: str | None = None) -> CrmRouting:
    """`{"default": "hubspot", "tenants": {"acme": {"crm": "salesforce", "agents":
    {"agent-7": "hubspot"}, "crms": ["salesforce", "hubspot"]}}}` ("crms": what the agents
    may pick per call); raises WorkerConfigError listing every problem."""
    problems: list[str] = []
    if not isinstance(doc, dict):
        raise WorkerConfigError("CRM routing: expected a table with 'default' and/or 'tenants'")
    for key in sorted(set(doc) - {"default", "tenants"}):
        problems.append(f"CRM routing: unknown key {key!r}")
    default = doc.get("default", default_crm)
    if default is not None and (not isinstance(default, str) or not default):
        problems.append("CRM routing default: expected a CRM name")
        default = None
    tenants: dict[str, TenantCrm] = {}
    raw_tenants = doc.get("tenants", {})
    if not isinstance(raw_tenants, dict):
        problems.append("CRM routing tenants: expected a table of tenant id -> selection")
        raw_tenants = {}
    for tenant_id, sel in raw_tenants.items():
        where = f"CRM routing tenants.{tenant_id}"
        if not isinstance(sel, dict) or set(sel) - {"crm", "agents", "crms"}:
            problems.append(
                f"{where}: expected {{crm: name, agents: {{agent id: name}}, crms: [names]}}")
            continue
        crm, agents, offered = sel.get("crm"), sel.get("agents", {}), sel.get("crms", [])
        if not isinstance(offered, list) or not all(isinstance(v, str) and v for v in offered):
            problems.append(f"{where}.crms: expected a list of CRM names")
            offered = []
        if crm is not None and (not isinstance(crm, str) or not crm):
            problems.append(f"{where}.crm: expected a CRM name")
            crm = None
        if not isinstance(agents, dict) or not all(
            isinstance(v, str) and v for v in agents.values()
        ):
            problems.append(f"{where}.agents: expected agent id -> CRM name")
            agents = {}
        tenants[str(tenant_id)] = TenantCrm(crm, {str(k): v for k, v in agents.items()},
                                            tuple(offered))
    if problems:
        raise WorkerConfigError("; ".join(problems))
    return CrmRouting(default, tenants)


def load_routing(path: str | None, default_crm: str | None) -> CrmRouting:
    """The routing file (C360_CRM_ROUTING_FILE, JSON), or only C360_CRM_DEFAULT."""
    if path is None:
        return CrmRouting(default_crm)
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise WorkerConfigError(f"cannot read CRM routing file {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise WorkerConfigError(f"CRM routing file {path} does not parse: {exc}") from exc
    return routing_from_dict(doc, default_crm)
