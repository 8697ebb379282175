#!/usr/bin/env bash
# The CI gate: set-up (with chromium), lint, types, import contracts, the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
. .venv/bin/activate

# Browser tests drive Debian's chromium (no download from a browser CDN).
CHROMIUM_BIN="$(command -v chromium || command -v chromium-browser || true)"
export C360_CHROMIUM="${C360_CHROMIUM:-$CHROMIUM_BIN}"

step() { printf '\n== %s\n' "$*"; }
step "ruff check ."
ruff check .
step "mypy"
mypy
step "lint-imports"
lint-imports
step "pytest"
set +e
pytest -q "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
  echo "pytest collected no tests: that is a failure, not a pass" >&2
  exit 1
fi
exit "$rc"
