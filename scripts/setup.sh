#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian/Ubuntu box with Python 3.11: system packages, .venv,
# editable install. A second run skips every step that is already done.
#   bash scripts/setup.sh            # redis-server + .venv with the development tools
#   bash scripts/setup.sh --runtime  # .venv with the runtime dependencies only (scripts/run.sh)
#   bash scripts/setup.sh --browser  # also chromium (the browser tests drive it headless)
set -euo pipefail

cd "$(dirname "$0")/.."
BROWSER=0
EXTRAS="[dev]"  # ruff, mypy, pytest, playwright, ...: what scripts/test.sh needs
for arg in "$@"; do
  case "$arg" in
    --browser) BROWSER=1 ;;
    --runtime) EXTRAS="" ;;
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

# 3. The virtualenv and the editable install; the stamp records what was installed from and
# with which extras (a dev install serves a runtime-only request too).
STAMP=.venv/.c360-installed
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $PY"
  if ! "$PY" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    # Debian ships ensurepip separately.
    apt_install "$(basename "$PY")-venv" || apt_install python3-venv
    "$PY" -m venv .venv
  fi
fi
# The venv's own interpreter, not whichever python3 is first on PATH this time.
WANT="$(.venv/bin/python -c 'import sys; print(sys.version)' | head -1) $(sha256sum pyproject.toml | cut -d' ' -f1)"
KIND=dev
[ -n "$EXTRAS" ] || KIND=runtime
HAVE="$(cat "$STAMP" 2>/dev/null || true)"
if [ -x .venv/bin/c360 ] && { [ "$HAVE" = "$WANT dev" ] || [ "$HAVE" = "$WANT $KIND" ]; }; then
  say ".venv up to date (${HAVE##* } install)"
else
  if [ "$KIND" = dev ]; then
    say "pip install -e '.[dev]': runtime dependencies and development tools (ruff, mypy, pytest, playwright)"
  else
    say "pip install -e .: runtime dependencies only (no development tools)"
  fi
  # pip's own output (Collecting / Downloading with its progress bar / Installing) is the
  # progress; behind a proxy pip honours HTTPS_PROXY and PIP_INDEX_URL.
  if ! .venv/bin/python -m pip install --disable-pip-version-check -e ".$EXTRAS"; then
    echo "[setup] pip install failed (see above); behind a proxy? set HTTPS_PROXY or PIP_INDEX_URL" >&2
    exit 1
  fi
  printf '%s' "$WANT $KIND" > "$STAMP"
fi
say "done: activate with '. .venv/bin/activate'"
