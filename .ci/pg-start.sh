#!/usr/bin/env bash
# Starts a throw-away PostgreSQL cluster for tests, listening on 127.0.0.1 only.
#
#   eval "$(bash .ci/pg-start.sh)"      # exports KIZUKI_TEST_POSTGRES_URL and KIZUKI_PG_DATA
#   cargo test -p kizuki-store-postgres
#   bash .ci/pg-stop.sh                 # stops the cluster and deletes its directory
#
# Only the two `export` lines go to stdout; every log line goes to stderr.
# Extra server settings may be passed as `KIZUKI_PG_OPTS="-c fsync=off ..."`.
set -euo pipefail

log() { printf 'pg-start: %s\n' "$*" >&2; }

find_bindir() {
    local d
    if command -v initdb >/dev/null 2>&1; then
        d="$(dirname "$(readlink -f "$(command -v initdb)")")"
        if [[ -x "$d/pg_ctl" && -x "$d/pg_isready" ]]; then
            printf '%s\n' "$d"
            return 0
        fi
    fi
    # Debian keeps the server binaries out of PATH; take the newest major version.
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5 -rn); do
        if [[ -x "$d/initdb" ]]; then
            printf '%s\n' "$d"
            return 0
        fi
    done
    return 1
}

as_root() {
    if [[ $EUID -eq 0 ]]; then "$@"; else sudo -n "$@"; fi
}

if ! BINDIR="$(find_bindir)"; then
    log "initdb not found; installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update >&2
    as_root apt-get install -y --no-install-recommends postgresql >&2
    BINDIR="$(find_bindir)" || { log "initdb still not found after installing postgresql"; exit 1; }
fi
log "using PostgreSQL binaries in $BINDIR"

# initdb and postgres refuse to run as root: run them as the postgres user then.
if [[ $EUID -eq 0 ]]; then
    if ! id postgres >/dev/null 2>&1; then
        log "creating system user postgres"
        useradd --system --user-group --home-dir /nonexistent --shell /usr/sbin/nologin postgres >&2
    fi
    RUN=(runuser -u postgres --)
else
    RUN=()
fi

BASE="$(mktemp -d "${TMPDIR:-/tmp}/kizuki-pg.XXXXXX")"
chmod 0755 "$BASE"
DATA="$BASE/data"
mkdir -m 0700 "$DATA"
if [[ $EUID -eq 0 ]]; then chown -R postgres: "$BASE"; fi

LOCALE=C
if locale -a 2>/dev/null | grep -ix 'c.utf-\?8' >/dev/null; then LOCALE=C.UTF-8; fi

log "initialising cluster in $DATA (locale $LOCALE)"
"${RUN[@]}" "$BINDIR/initdb" -D "$DATA" -U postgres -E UTF8 --locale="$LOCALE" \
    --auth=trust >"$BASE/initdb.log" 2>&1 || { cat "$BASE/initdb.log" >&2; exit 1; }

# Trust, but only over the Unix socket in $BASE and the loopback interface.
"${RUN[@]}" tee "$DATA/pg_hba.conf" >/dev/null <<'HBA'
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust
host    all       all   127.0.0.1/32   trust
HBA

port_is_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_port() {
    local p
    if command -v python3 >/dev/null 2>&1 && p="$(python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()' 2>/dev/null)" && [[ -n "$p" ]]; then
        printf '%s\n' "$p"
        return 0
    fi
    for ((p = 55432 + RANDOM % 100; p < 56432; p++)); do
        if port_is_free "$p"; then
            printf '%s\n' "$p"
            return 0
        fi
    done
    return 1
}

# Another process may grab the port between picking and binding: retry a few times.
started=0
for attempt in 1 2 3 4 5; do
    PORT="$(pick_port)" || { log "no free port found"; exit 1; }
    log "starting server on 127.0.0.1:$PORT (attempt $attempt)"
    # shellcheck disable=SC2086
    if "${RUN[@]}" "$BINDIR/pg_ctl" -D "$DATA" -l "$BASE/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -k $BASE -c max_connections=400 ${KIZUKI_PG_OPTS:-}" \
        start >&2; then
        started=1
        break
    fi
    tail -n 20 "$BASE/server.log" >&2 || true
done
if [[ $started -ne 1 ]]; then
    log "could not start PostgreSQL"
    exit 1
fi

for _ in $(seq 1 60); do
    if "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U postgres; then break; fi
    sleep 0.5
done
"$BINDIR/pg_isready" -h 127.0.0.1 -p "$PORT" -U postgres >&2

"${RUN[@]}" "$BINDIR/createdb" -h 127.0.0.1 -p "$PORT" -U postgres kizuki_test >&2
log "ready: database kizuki_test on 127.0.0.1:$PORT"

printf 'export KIZUKI_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:%s/kizuki_test\n' "$PORT"
printf 'export KIZUKI_PG_DATA=%s\n' "$DATA"
