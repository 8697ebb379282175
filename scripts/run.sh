#!/usr/bin/env bash
# Set up (idempotent; runtime dependencies only), then run the whole stack locally:
#   bash scripts/run.sh [dev up options]     (scripts/test.sh installs the development tools)
set -euo pipefail
cd "$(dirname "$0")/.."
printf '[run] 1/2 set-up: redis-server, .venv, pip install -e . (skipped when already done)\n'
bash scripts/setup.sh --runtime
printf '[run] 2/2 c360 dev up %s: broker, Redis, workers, web service (about 40 s)\n' "$*"
exec .venv/bin/c360 dev up "$@"
