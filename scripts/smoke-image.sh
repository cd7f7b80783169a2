#!/usr/bin/env bash
# Reproduce the Docker image without a Docker engine, then check it behaves.
#
# What the Dockerfile does, step for step, in a temporary directory:
#   builder: copy pyproject.toml, README.md and scheduler/, build the wheel;
#   runtime: a fresh virtualenv with the wheel and the pinned dependencies,
#   a read-only /config (config/milestones.yaml), a writable /data owned by an
#   unprivileged user, the image's TMINUS_* environment, WORKDIR /data.
# Then, as that user: `tminus run` (exec form, no shell in between), the
# Dockerfile's own HEALTHCHECK command until it passes, /readyz, SIGTERM, and a
# clean exit (code 0).
#
# Usage: scripts/smoke-image.sh         (run from anywhere; needs network or a
#        warm pip cache for the dependencies; as root it runs tminus as `nobody`)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
HEALTH_TIMEOUT="${SMOKE_HEALTH_TIMEOUT:-30}"
STOP_TIMEOUT="${SMOKE_STOP_TIMEOUT:-30}"

say() { printf '== smoke-image: %s\n' "$*"; }
fail() { printf 'smoke-image: FAIL: %s\n' "$*" >&2; exit 1; }

# The image's interpreter is a system one (/usr/local/bin/python in python:3.11-slim).
# An unprivileged user must be able to run it, so prefer the system Python over
# one under a private home directory (pyenv in /root).
PYTHON="${SMOKE_PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in /usr/local/bin/python3.11 /usr/bin/python3.11 /usr/bin/python3 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys, venv, ensurepip; assert sys.version_info >= (3, 11)' 2>/dev/null; then
      PYTHON="$(command -v "$candidate")"
      break
    fi
  done
fi
[ -n "$PYTHON" ] || fail "no Python >= 3.11 with venv and ensurepip found (set SMOKE_PYTHON)"

WORK="$(mktemp -d /tmp/tminus-smoke.XXXXXX)"
chmod 755 "$WORK"
TMINUS_PID=""
cleanup() {
  if [ -n "$TMINUS_PID" ] && kill -0 "$TMINUS_PID" 2>/dev/null; then
    kill -KILL "$TMINUS_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# -- who runs the daemon --------------------------------------------------------------
if [ "$(id -u)" -eq 0 ]; then
  RUN_USER=nobody
  RUN_GROUP="$(id -gn nobody)"
  RUN_AS=(setpriv "--reuid=$RUN_USER" "--regid=$RUN_GROUP" --clear-groups --no-new-privs --)
else
  RUN_USER="$(id -un)"
  RUN_GROUP="$(id -gn)"
  RUN_AS=()
  say "not root: running as $RUN_USER (already unprivileged)"
fi
as_user() { "${RUN_AS[@]}" "$@"; }
as_user "$PYTHON" -c 'import sys' || fail "$RUN_USER cannot run $PYTHON"

# -- builder stage ----------------------------------------------------------------------
say "build the wheel ($("$PYTHON" --version))"
mkdir -p "$WORK/src" "$WORK/wheels"
cp "$ROOT/pyproject.toml" "$ROOT/README.md" "$ROOT/requirements.lock" "$WORK/src/"
cp -r "$ROOT/scheduler" "$WORK/src/scheduler"
find "$WORK/src" -name __pycache__ -prune -exec rm -rf {} +
"$PYTHON" -m venv "$WORK/build-venv"
"$WORK/build-venv/bin/pip" install -q --disable-pip-version-check --upgrade pip >/dev/null
# As the Dockerfile's builder: wheels of the pinned dependencies, then of tminus.
"$WORK/build-venv/bin/pip" wheel -q --disable-pip-version-check \
  --wheel-dir "$WORK/wheels" -r "$WORK/src/requirements.lock"
"$WORK/build-venv/bin/pip" wheel -q --disable-pip-version-check --no-deps \
  --wheel-dir "$WORK/wheels" "$WORK/src"
WHEEL="$(ls "$WORK"/wheels/tminus-*.whl)"
say "built $(basename "$WHEEL")"

# -- runtime stage ----------------------------------------------------------------------
VENV="$WORK/opt/tminus"
say "install into a fresh virtualenv from the wheels alone (no index, as in the image)"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check --no-index \
  --find-links "$WORK/wheels" "$WHEEL" \
  || fail "requirements.lock misses a runtime dependency: run scripts/lock-requirements.py"
chmod -R a+rX "$WORK/opt"

CONFIG="$WORK/config"
DATA="$WORK/data"
mkdir -p "$CONFIG" "$DATA"
cp "$ROOT/config/milestones.yaml" "$CONFIG/milestones.yaml"
chmod 444 "$CONFIG/milestones.yaml"
chmod 555 "$CONFIG"
chown "$RUN_USER:$RUN_GROUP" "$DATA" 2>/dev/null || true
chmod 700 "$DATA"
if [ "$(id -u)" -eq 0 ]; then
  if as_user touch "$CONFIG/probe" 2>/dev/null; then fail "the config directory is writable by $RUN_USER"; fi
  as_user touch "$DATA/probe" || fail "the data directory is not writable by $RUN_USER"
  rm -f "$DATA/probe"
fi

PORT="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# The image's environment (Dockerfile ENV), with this run's paths and port.
IMAGE_ENV=(
  "PATH=$VENV/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  "HOME=$DATA"
  "PYTHONUNBUFFERED=1"
  "TMINUS_CONFIG=$CONFIG"
  "TMINUS_DATABASE_URL=sqlite:///$DATA/tminus.db"
  "TMINUS_HOST=0.0.0.0"
  "TMINUS_PORT=$PORT"
  "TMINUS_LOG_FORMAT=json"
)

# The HEALTHCHECK command, read from the Dockerfile itself (exec form: a JSON array).
mapfile -t HEALTHCHECK < <("$PYTHON" - "$ROOT/Dockerfile" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
line = next(l for l in text.splitlines() if l.startswith("HEALTHCHECK"))
for arg in json.loads(re.search(r"\bCMD\s+(\[.*\])", line).group(1)):
    print(arg)
PY
)
[ "${#HEALTHCHECK[@]}" -gt 0 ] || fail "no HEALTHCHECK in the Dockerfile"
grep -q '^ENTRYPOINT \["tminus"\]' "$ROOT/Dockerfile" || fail "ENTRYPOINT is not [\"tminus\"]"
grep -q '^CMD \["run"\]' "$ROOT/Dockerfile" || fail "CMD is not [\"run\"]"

# -- run --------------------------------------------------------------------------------
say "tminus run as $RUN_USER on port $PORT"
LOG="$WORK/tminus.log"
# exec all the way down: $! is tminus itself, as PID 1 would be in the container.
(cd "$DATA" && exec "${RUN_AS[@]}" env -i "${IMAGE_ENV[@]}" "$VENV/bin/tminus" run) >"$LOG" 2>&1 &
TMINUS_PID=$!

say "HEALTHCHECK: ${HEALTHCHECK[*]}"
deadline=$(( $(date +%s) + HEALTH_TIMEOUT ))
until (cd "$DATA" && as_user env -i "${IMAGE_ENV[@]}" "${HEALTHCHECK[@]}") 2>/dev/null; do
  if ! kill -0 "$TMINUS_PID" 2>/dev/null; then
    cat "$LOG" >&2
    fail "tminus run exited before it was healthy"
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    tail -50 "$LOG" >&2
    fail "not healthy after ${HEALTH_TIMEOUT}s"
  fi
  sleep 0.5
done
say "healthy after $(( HEALTH_TIMEOUT - (deadline - $(date +%s)) ))s"

# Ready (config loaded, database answering), files where the image puts them, JSON logs.
"$PYTHON" - "$PORT" <<'PY' || { tail -50 "$LOG" >&2; fail "/readyz never answered 200"; }
import json, sys, time, urllib.error, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/readyz"
deadline = time.monotonic() + 30
while True:
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            assert json.load(r) == {"status": "ok"}
            break
    except (urllib.error.URLError, OSError):
        if time.monotonic() > deadline:
            raise
        time.sleep(0.3)
PY
[ -f "$DATA/tminus.db" ] || fail "no SQLite database in the data directory"
owner="$(stat -c %U "$DATA/tminus.db")"
[ "$owner" = "$RUN_USER" ] || fail "the database belongs to $owner, not $RUN_USER"
"$PYTHON" - "$LOG" <<'PY' || fail "logs are not one JSON object per line"
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
assert lines, "no log lines"
for l in lines:
    json.loads(l)
PY

# -- stop -------------------------------------------------------------------------------
say "SIGTERM"
kill -TERM "$TMINUS_PID"
deadline=$(( $(date +%s) + STOP_TIMEOUT ))
while kill -0 "$TMINUS_PID" 2>/dev/null; do
  [ "$(date +%s)" -lt "$deadline" ] || { tail -50 "$LOG" >&2; fail "still running ${STOP_TIMEOUT}s after SIGTERM"; }
  sleep 0.2
done
set +e
wait "$TMINUS_PID"
rc=$?
set -e
TMINUS_PID=""
[ "$rc" -eq 0 ] || { tail -50 "$LOG" >&2; fail "exit code $rc after SIGTERM (want 0)"; }
say "OK: wheel, fresh venv, unprivileged user, read-only config, healthy, ready, clean stop"
