#!/usr/bin/env bash
# Build the real image from the Dockerfile with podman and run it as a user would.
#
# No registry image can be pulled here, so the base (python:3.11-slim-bookworm in the
# Dockerfile) is a stand-in bootstrapped from Debian packages with debootstrap and cached
# in this script's own podman storage; the Dockerfile is built unchanged apart from the
# PYTHON_IMAGE build argument. Then, with host networking, a config *directory* mounted
# read-only and a named volume at /data, it checks:
#   uid 10001; /healthz and /readyz 200; `podman healthcheck run` healthy; a reminder
#   delivered to a loopback receiver; SIGHUP reloads an edited config; `podman stop`
#   exits 0 within the grace period; a new container on the same volume keeps the SQLite
#   history and sends nothing again; two replicas on the machine's PostgreSQL (the
#   compose `ha` profile) deliver each reminder once across both; and the image's own
#   config sends nothing and says so at start; the apprise extra is installed (an apprise
#   channel passes `tminus check`).
#
# Usage (as root; installs podman, buildah, runc and debootstrap with apt if missing):
#   bash scripts/image-test.sh
# Environment: IMAGE_TEST_STATE (podman storage and cache, default
# /var/lib/tminus-image-test), IMAGE_TEST_REBUILD_BASE=1 (bootstrap the base again),
# IMAGE_TEST_PG (PostgreSQL server URL, default postgresql://postgres@127.0.0.1:5432),
# IMAGE_TEST_MIRROR (Debian mirror for debootstrap, default http://deb.debian.org/debian).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATE="${IMAGE_TEST_STATE:-/var/lib/tminus-image-test}"
PG="${IMAGE_TEST_PG:-postgresql://postgres@127.0.0.1:5432}"
BASE="localhost/python:3.11-slim-bookworm"
IMAGE="localhost/tminus:image-test"
GRACE=30         # podman stop -t: the daemon itself waits up to 20 s for work in flight
RUN_ID="$$"
STARTED=$(date +%s)

say() { printf '== image-test: %s\n' "$*"; }
die() { printf 'image-test: FAIL: %s\n' "$*" >&2; exit 1; }
FAILED=0
pass() { printf 'PASS  %s\n' "$1"; }
fail() {
  printf 'FAIL  %s%s\n' "$1" "${2:+: $2}"
  FAILED=$((FAILED + 1))
}
# check NAME COMMAND...: run the command, report PASS/FAIL, carry on either way.
check() {
  local name="$1"
  shift
  if "$@"; then pass "$name"; else fail "$name"; fi
}

[ "$(id -u)" -eq 0 ] || die "run as root (podman with runc and vfs storage, as on CI)"

# -- tools --------------------------------------------------------------------------------
need=()
for tool in podman buildah runc debootstrap psql python3; do
  command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if [ "${#need[@]}" -gt 0 ]; then
  say "installing from Debian packages: ${need[*]}"
  pkgs=()
  for tool in "${need[@]}"; do
    case "$tool" in
      psql) pkgs+=(postgresql-client) ;;
      *) pkgs+=("$tool") ;;
    esac
  done
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    "${pkgs[@]}" uidmap containernetworking-plugins >/dev/null
fi

mkdir -p "$STATE"
# Own storage, so nothing clashes with other podman use on the machine; the flags are the
# ones measured to work here (FACTS: crun fails in hybrid cgroups, setrlimit needs limits).
PODMAN=(podman --root "$STATE/storage" --runroot "/run/tminus-image-test" --storage-driver vfs
  --runtime runc --cgroup-manager cgroupfs --events-backend file)
ULIMITS=(--ulimit nofile=20000:20000 --ulimit nproc=4096:4096)
pm() { "${PODMAN[@]}" "$@"; }

# -- workspace and cleanup --------------------------------------------------------------
WORK="$(mktemp -d /tmp/tminus-image-test.XXXXXX)"
chmod 755 "$WORK"
CONTAINERS=()
VOLUME="tminus-image-test-$RUN_ID"
DATABASE=""
RECEIVER_PID=""
cleanup() {
  local rc=$?
  set +e
  for c in "${CONTAINERS[@]}"; do pm rm -f -t 0 "$c" >/dev/null 2>&1; done
  for v in "$VOLUME" "$VOLUME-ha-a" "$VOLUME-ha-b"; do pm volume rm -f "$v" >/dev/null 2>&1; done
  if [ -n "$RECEIVER_PID" ]; then kill "$RECEIVER_PID" 2>/dev/null; fi
  if [ -n "$DATABASE" ]; then
    psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS \"$DATABASE\" WITH (FORCE)" >/dev/null 2>&1
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A loopback receiver (the host's own 127.0.0.1; the containers share the host network),
# and the small queries the checks make, in one helper (plain Python, no dependencies).
# podman's own complaints (without systemd, every run and stop says it cannot set up the
# healthcheck timer; `podman healthcheck run` works regardless), shown only on failure.
PODMAN_ERR="$WORK/podman.stderr"
HELPER="$ROOT/scripts/image_test_helper.py"
helper() { python3 "$HELPER" "$@"; }

# wait_for SECONDS COMMAND...: until the command succeeds, at most SECONDS.
wait_for() {
  local deadline=$(($(date +%s) + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}
http_is() { [ "$(helper status "$2")" = "$1" ]; }
running() { [ "$(pm inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" = "true" ]; }
logs_of() { pm logs "$1" >"$WORK/$1.log" 2>&1 || true; }
log_has() {
  logs_of "$1"
  local c="$1"
  shift
  helper log-has "$WORK/$c.log" "$@"
}
show_logs() {
  logs_of "$1"
  printf -- '--- last log lines of %s\n' "$1"
  tail -20 "$WORK/$1.log"
}

# -- base image: a stand-in for python:3.11-slim-bookworm, from Debian packages ----------
if [ "${IMAGE_TEST_REBUILD_BASE:-0}" = 1 ]; then pm rmi -f "$BASE" >/dev/null 2>&1 || true; fi
if pm image exists "$BASE"; then
  say "base image $BASE cached in $STATE"
else
  say "bootstrapping $BASE from Debian packages (debootstrap, about a minute)"
  t0=$(date +%s)
  ROOTFS="$WORK/rootfs"
  debootstrap --variant=minbase \
    --include=python3,python3-venv,python3-pip,python-is-python3,ca-certificates \
    bookworm "$ROOTFS" "${IMAGE_TEST_MIRROR:-http://deb.debian.org/debian}" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log"; die "debootstrap failed"; }
  # This network inspects TLS: pip in the build trusts the machine's CA bundle. The
  # build machine's business, not the image's, so it stays out of the Dockerfile.
  cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/build-machine-ca.crt"
  rm -rf "$ROOTFS/var/cache/apt/archives/"*.deb "$ROOTFS/var/lib/apt/lists/"*
  tar -C "$ROOTFS" -c . | pm import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV PIP_CERT=/etc/ssl/certs/build-machine-ca.crt' \
    --change 'CMD ["python3"]' - "$BASE" >/dev/null
  rm -rf "$ROOTFS"
  say "base image ready in $(($(date +%s) - t0)) s"
fi

# -- build the Dockerfile ------------------------------------------------------------------
# Only the base is cached. This buildah (Debian 12) mishandles the runtime stage's
# `RUN --mount=type=bind,from=builder` when layers are cached: it reuses an install of
# the previous wheel, or mounts an empty /wheels. So every build starts from the base,
# with no intermediate layers, and the previous image is pruned afterwards.
say "building $IMAGE from the Dockerfile (--format docker keeps the HEALTHCHECK)"
t0=$(date +%s)
pm build --format docker --no-cache --layers=false --network host "${ULIMITS[@]}" \
  --build-arg "PYTHON_IMAGE=$BASE" -t "$IMAGE" -f "$ROOT/Dockerfile" "$ROOT" >"$WORK/build.log" 2>&1 \
  || { tail -30 "$WORK/build.log"; die "podman build failed"; }
say "built in $(($(date +%s) - t0)) s"
pm image prune -f >/dev/null 2>&1 || true # the builder stage and the previous image

# -- the receiver and the config directory --------------------------------------------------
RECORD="$WORK/received.jsonl"
python3 "$HELPER" receive "$WORK/receiver.port" "$RECORD" 600 &
RECEIVER_PID=$!
wait_for 10 test -s "$WORK/receiver.port" || die "the loopback receiver did not start"
HOOK="http://127.0.0.1:$(cat "$WORK/receiver.port")"

CONFIG="$WORK/config"
mkdir -p "$CONFIG"
# write_config DIR PATH DUE EXTRA ID...: one webhook channel to the receiver's PATH, each
# ID a milestone due DUE, then the EXTRA YAML; written beside and renamed, as an editor does.
write_config() {
  local dir="$1" path="$2" due="$3" extra="$4"
  shift 4
  {
    printf 'version: 1\ndefaults: {remind: [0], notify: [hook], catch_up: 1h}\n'
    printf 'channels:\n  hook:\n    type: webhook\n    url: %s%s\n    secret: whsec_aW1hZ2UtdGVzdA==\n' "$HOOK" "$path"
    printf '    retry: {max_attempts: 3, initial: 1s}\n'
    printf 'milestones:\n'
    for id in "$@"; do printf '  - {id: %s, title: "Image test %s", at: "%s"}\n' "$id" "$id" "$due"; done
    printf '%s' "$extra"
  } >"$dir/.tminus.yaml.new"
  chmod 644 "$dir/.tminus.yaml.new"
  mv "$dir/.tminus.yaml.new" "$dir/tminus.yaml"
}

PORT="$(helper free-port)"
# run_container NAME PORT VOLUME [podman run options...]: as compose runs the service
# (read-only root, /tmp a tmpfs, no new privileges), the config directory read-only.
run_container() {
  local name="$1" port="$2" data=(-v "$3:/data")
  shift 3
  pm run -d --name "$name" --network host "${ULIMITS[@]}" \
    --read-only --tmpfs /tmp --security-opt no-new-privileges \
    -v "$CONFIG:/config:ro" "${data[@]}" \
    -e TMINUS_HOST=127.0.0.1 -e "TMINUS_PORT=$port" "$@" "$IMAGE" >/dev/null 2>>"$PODMAN_ERR"
}

# -- one daemon on SQLite ------------------------------------------------------------------
pm volume create "$VOLUME" >/dev/null
DUE="$(helper iso-in 25)"
write_config "$CONFIG" /single "$DUE" "" soon
chmod 755 "$CONFIG"
say "container 1 (SQLite on volume $VOLUME), reminder due $DUE"
C1="tminus-image-test-$RUN_ID-1"
CONTAINERS+=("$C1")
run_container "$C1" "$PORT" "$VOLUME" || die "podman run failed: $(tail -3 "$PODMAN_ERR")"
URL="http://127.0.0.1:$PORT"

if wait_for 60 http_is 200 "$URL/readyz"; then pass "/readyz answers 200"; else
  fail "/readyz answers 200" "not within 60 s"
  show_logs "$C1"
fi
check "/healthz answers 200" http_is 200 "$URL/healthz"
pid="$(pm inspect --format '{{.State.Pid}}' "$C1")"
uids="$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$pid/status" 2>/dev/null || true)"
if [ "$uids" = "10001 10001 10001 10001" ]; then pass "the daemon (PID 1) runs as uid 10001"; else
  fail "the daemon (PID 1) runs as uid 10001" "uids: ${uids:-none}"
fi
if out="$(pm healthcheck run "$C1" 2>&1)"; then
  pass "podman healthcheck run: ${out:-healthy}"
else
  fail "podman healthcheck run: healthy" "$out"
fi
json_logs() { logs_of "$C1" && helper json-lines "$WORK/$C1.log"; }
check "logs are one JSON object per line" json_logs
no_builtin_line() { ! { pm logs "$C1" 2>&1 | grep -q built-in; }; }
check "a mounted config directory: no built-in example line" no_builtin_line

received_once() { [ "$(helper received "$RECORD" "$1")" = "$2" ]; }
if wait_for 90 received_once /single '{"soon": 1}'; then
  pass "the reminder reached the loopback receiver"
else
  fail "the reminder reached the loopback receiver" "received $(helper received "$RECORD" /single)"
  show_logs "$C1"
fi

# SIGHUP: edit the mounted directory's file (replaced, as an editor does), then reload.
write_config "$CONFIG" /single "$DUE" "  - {id: added-by-reload, title: Added, at: 2099-01-01}
" soon
sleep 2 # let the file watcher's own reload, if any, pass first
pm kill --signal HUP "$C1" >/dev/null
reloaded() { log_has "$C1" "reloading config" trigger=SIGHUP && log_has "$C1" "config reloaded" milestones=2; }
has_added() { helper get "$URL/api/milestones" | grep -q added-by-reload; }
if wait_for 20 reloaded && has_added; then
  pass "SIGHUP reloads the edited config (log: config reloaded, milestones=2)"
else
  fail "SIGHUP reloads the edited config"
  show_logs "$C1"
fi

# podman stop: SIGTERM, and exit code 0 well within the grace period.
t0=$(date +%s)
if pm stop -t "$GRACE" "$C1" >/dev/null 2>>"$PODMAN_ERR"; then
  took=$(($(date +%s) - t0))
  code="$(pm inspect --format '{{.State.ExitCode}}' "$C1")"
  if [ "$code" = 0 ] && [ "$took" -lt "$GRACE" ]; then
    pass "podman stop: exit code 0 in ${took} s (grace ${GRACE} s)"
  else
    fail "podman stop: exit code 0 within the grace period" "exit code $code after ${took} s"
    show_logs "$C1"
  fi
else
  fail "podman stop" "podman stop failed"
fi

# A new container on the same volume: the history is there and nothing goes out again.
DB="$(pm volume inspect --format '{{.Mountpoint}}' "$VOLUME")/tminus.db"
db_owned() { [ "$(stat -c %u "$DB" 2>/dev/null)" = 10001 ]; }
check "the SQLite file is on the volume, owned by uid 10001" db_owned
C2="tminus-image-test-$RUN_ID-2"
say "container 2 on the same volume"
CONTAINERS+=("$C2")
run_container "$C2" "$PORT" "$VOLUME" || die "podman run failed: $(tail -3 "$PODMAN_ERR")"
if wait_for 60 http_is 200 "$URL/readyz"; then
  sleep 5 # time to (wrongly) send it again
  history="$(helper get "$URL/api/deliveries?status=sent" 2>/dev/null || true)"
  if grep -q '"soon"' <<<"$history" && received_once /single '{"soon": 1}'; then
    pass "after a restart on the volume: the delivery is in the history, nothing re-sent"
  else
    fail "after a restart on the volume: history kept, nothing re-sent" \
      "received $(helper received "$RECORD" /single); history: ${history:0:200}"
  fi
else
  fail "container 2 ready on the same volume"
  show_logs "$C2"
fi
pm stop -t "$GRACE" "$C2" >/dev/null 2>>"$PODMAN_ERR" || true

# -- the built-in config sends nothing and says so -------------------------------------------
C3="tminus-image-test-$RUN_ID-3"
BUILTIN_DATA="$WORK/builtin-data" # a host directory for /data, writable by uid 10001
mkdir -p "$BUILTIN_DATA" && chown 10001:10001 "$BUILTIN_DATA"
CONTAINERS+=("$C3")
pm run -d --name "$C3" --network host "${ULIMITS[@]}" -v "$BUILTIN_DATA:/data" \
  -e TMINUS_HOST=127.0.0.1 -e "TMINUS_PORT=$PORT" "$IMAGE" >/dev/null 2>>"$PODMAN_ERR" \
  || die "podman run failed: $(tail -3 "$PODMAN_ERR")"
if wait_for 60 http_is 200 "$URL/readyz" && log_has "$C3" "running on the image's built-in example" \
  && log_has "$C3" "config loaded" channels=0; then
  pass "built-in config: no channels, and the daemon says so at start"
else
  fail "built-in config: no channels, and the daemon says so at start"
  show_logs "$C3"
fi
pm rm -f -t 0 "$C3" >/dev/null 2>&1 || true

# -- the apprise extra is in the image -------------------------------------------------------
APPRISE_CONFIG="$WORK/apprise-config"
mkdir -p "$APPRISE_CONFIG"
printf '%s\n' 'version: 1' 'channels:' '  phones: {type: apprise, urls: ["json://127.0.0.1:9/x"]}' \
  'milestones: []' >"$APPRISE_CONFIG/milestones.yaml"
apprise_checks() {
  pm run --rm --network host "${ULIMITS[@]}" -v "$APPRISE_CONFIG:/config:ro" "$IMAGE" check \
    >/dev/null 2>>"$PODMAN_ERR"
}
check "the apprise extra is installed: an apprise channel passes tminus check" apprise_checks

# -- the compose `ha` profile: two replicas on the machine's PostgreSQL -----------------------
DATABASE="tminus_image_test_${RUN_ID}_$RANDOM"
if psql -q "$PG/postgres" -c "CREATE DATABASE \"$DATABASE\"" >/dev/null; then
  HA_IDS=(ha-1 ha-2 ha-3 ha-4 ha-5 ha-6 ha-7 ha-8)
  HA_CONFIG="$CONFIG"
  DUE="$(helper iso-in 30)"
  write_config "$HA_CONFIG" /ha "$DUE" "" "${HA_IDS[@]}"
  say "two replicas on PostgreSQL database $DATABASE, ${#HA_IDS[@]} reminders due $DUE"
  DB_URL="postgresql+psycopg://${PG#postgresql://}/$DATABASE"
  PORT_A="$(helper free-port)"
  PORT_B="$(helper free-port)"
  while [ "$PORT_B" = "$PORT_A" ]; do PORT_B="$(helper free-port)"; done
  HA_A="tminus-image-test-$RUN_ID-ha-a"
  HA_B="tminus-image-test-$RUN_ID-ha-b"
  # Started together, as `docker compose --profile ha up` does (each its own /data).
  CONTAINERS+=("$HA_A" "$HA_B")
  run_container "$HA_A" "$PORT_A" "$VOLUME-ha-a" -e "TMINUS_DATABASE_URL=$DB_URL" &
  started_a=$!
  run_container "$HA_B" "$PORT_B" "$VOLUME-ha-b" -e "TMINUS_DATABASE_URL=$DB_URL" &
  started_b=$!
  wait "$started_a" && wait "$started_b" || fail "ha: podman run of both replicas"
  if wait_for 90 http_is 200 "http://127.0.0.1:$PORT_A/readyz" \
    && wait_for 30 http_is 200 "http://127.0.0.1:$PORT_B/readyz"; then
    pass "both replicas ready on PostgreSQL"
  else
    fail "both replicas ready on PostgreSQL"
    show_logs "$HA_A"
    show_logs "$HA_B"
  fi
  want="$(python3 -c 'import json, sys; print(json.dumps({i: 1 for i in sys.argv[1:]}))' "${HA_IDS[@]}")"
  all_in() { [ "$(helper received "$RECORD" /ha | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = "${#HA_IDS[@]}" ]; }
  wait_for 90 all_in || true
  sleep 5 # time for a second copy to arrive, if one would
  got="$(helper received "$RECORD" /ha)"
  if [ "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]) == json.loads(sys.argv[2]))' "$got" "$want")" = True ]; then
    pass "ha: ${#HA_IDS[@]} reminders, each delivered once across both replicas"
  else
    fail "ha: each reminder delivered once across both replicas" "received $got"
    show_logs "$HA_A"
    show_logs "$HA_B"
  fi
  for c in "$HA_A" "$HA_B"; do
    if pm stop -t "$GRACE" "$c" >/dev/null 2>>"$PODMAN_ERR" && [ "$(pm inspect --format '{{.State.ExitCode}}' "$c")" = 0 ]; then
      pass "ha: podman stop $c: exit code 0"
    else
      fail "ha: podman stop $c: exit code 0"
    fi
  done
else
  DATABASE=""
  fail "ha: create a database on $PG"
fi

say "$(($(date +%s) - STARTED)) s in all"
if [ "$FAILED" -gt 0 ]; then
  printf 'image-test: %d check(s) FAILED\n' "$FAILED"
  exit 1
fi
printf 'image-test: all checks PASSED\n'
