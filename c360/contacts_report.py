"""The contacts import report: counts, rejected lines with reasons, warnings; JSON or CSV."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(slots=True)
class Report:
    """Counts and per-row outcomes; `rows` only when a per-row CSV report was asked for."""

    file: str
    tenant: str
    created: int = 0
    updated: int = 0
    rejected: int = 0
    deleted: int = 0
    blank: int = 0
    published: int = 0
    applied: int | None = None
    rejects: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    rows: list[tuple[int, str | None, str, str]] | None = None

    def add(self, line: int, profile_id: str | None, status: str, reasons: tuple[str, ...]) -> None:
        """Count one data row under its status."""
        setattr(self, status, getattr(self, status) + 1)
        if status == "rejected":
            self.rejects.append({"line": line, "profile_id": profile_id, "reasons": list(reasons)})
        if self.rows is not None:
            self.rows.append((line, profile_id, status, "; ".join(reasons)))

    def summary(self) -> dict[str, Any]:
        """The JSON report (without per-row lines)."""
        return {
            "file": self.file,
            "tenant": self.tenant,
            "rows": self.created + self.updated + self.deleted + self.rejected,
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "rejected": self.rejected,
            "blank_lines": self.blank,
            "published": self.published,
            "applied": self.applied,
            "rejects": self.rejects,
            "warnings": self.warnings,
        }


def write_report(report: Report, path: Path) -> None:
    """JSON: the summary with every rejected line; CSV: one line per data row."""
    if path.suffix.lower() == ".csv":
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["line", "profile_id", "status", "reasons"])
            writer.writerows(report.rows or [])
        return
    path.write_text(json.dumps(report.summary(), indent=2), encoding="utf-8")
