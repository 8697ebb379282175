#!/usr/bin/env bash
# Set up (idempotent), then run the whole stack locally: scripts/run.sh [dev up options]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/c360 dev up "$@"
