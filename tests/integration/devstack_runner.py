"""Runs DevStack with stand-in workers (`python -m tests.integration.devstack_runner ...`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from c360.devspecs import ProcSpec, SpecsFactory, StackContext, http_ok, log_contains
from c360.devstack import DevStack, UpOptions

STANDIN = "tests.integration.devstack_standin"


def standin_specs(die: bool) -> SpecsFactory:
    """Spec factory: streams and web stand-ins, and one worker whose module is missing."""

    def specs(ctx: StackContext) -> list[ProcSpec]:
        py = sys.executable
        return [
            ProcSpec(
                "streams",
                (py, "-m", STANDIN, "die" if die else "sleep", "streams"),
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
    args = parser.parse_args()
    options = UpOptions(http_port=0, demo=False, data_dir=Path(args.data_dir))
    return DevStack(options, specs=standin_specs(args.die)).up()


if __name__ == "__main__":
    raise SystemExit(main())
