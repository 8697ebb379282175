#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian/Ubuntu box with Python 3.11: system packages, .venv,
# editable install. A second run skips every step that is already done.
#   bash scripts/setup.sh            # redis-server + .venv
#   bash scripts/setup.sh --browser  # also chromium (the browser tests drive it headless)
set -euo pipefail

cd "$(dirname "$0")/.."
BROWSER=0
for arg in "$@"; do
  case "$arg" in
    --browser) BROWSER=1 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { printf '[setup] %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@";
  elif command -v sudo >/dev/null; then sudo "$@";
  else echo "[setup] need root for: $*" >&2; return 1; fi
}

APT_UPDATED=0
apt_install() {
  if ! command -v apt-get >/dev/null; then
    echo "[setup] no apt-get here: install $* with your package manager" >&2
    return 1
  fi
  if [ "$APT_UPDATED" = 0 ]; then
    say "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  say "apt-get install $*"
  # dpkg prints a line per file; keep CI logs readable and show it all only on failure.
  local log
  log="$(mktemp)"
  if ! as_root env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}

# 1. System packages (only what is missing).
if command -v redis-server >/dev/null; then
  say "redis-server present ($(command -v redis-server))"
else
  apt_install redis-server
  # Debian starts a system redis on :6379; the tests and `c360 dev up` start their own when
  # C360_REDIS_URL does not answer, so the service is harmless either way.
fi
if [ "$BROWSER" = 1 ]; then
  if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
    say "chromium present"
  else
    apt_install chromium
  fi
fi

# 2. Python 3.11+ and its venv module.
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null \
      && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PY="$candidate"; break
    fi
  done
fi
if [ -z "$PY" ]; then
  apt_install python3 python3-venv
  PY=python3
fi

# 3. The virtualenv and the editable install; the stamp records what was installed from.
STAMP=.venv/.c360-installed
WANT="$("$PY" -c 'import sys; print(sys.version)' | head -1) $(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $PY"
  if ! "$PY" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    # Debian ships ensurepip separately.
    apt_install "$(basename "$PY")-venv" || apt_install python3-venv
    "$PY" -m venv .venv
  fi
fi
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && [ -x .venv/bin/c360 ]; then
  say ".venv up to date"
else
  say "pip install -e '.[dev]'"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
  printf '%s' "$WANT" > "$STAMP"
fi
say "done: activate with '. .venv/bin/activate'"
