#!/usr/bin/env bash
# Stops the throw-away cluster started by pg-start.sh (in $KIZUKI_PG_DATA) and removes it.
#   bash .ci/pg-stop.sh            # or: bash .ci/pg-stop.sh /tmp/kizuki-pg.XXXX/data
# Set KIZUKI_PG_KEEP=1 to keep the directory (logs are in its parent).
set -euo pipefail

log() { printf 'pg-stop: %s\n' "$*" >&2; }

DATA="${1:-${KIZUKI_PG_DATA:-}}"
if [[ -z "$DATA" ]]; then
    log "KIZUKI_PG_DATA is not set and no data directory was given"
    exit 1
fi
if [[ ! -f "$DATA/PG_VERSION" ]]; then
    log "$DATA is not a PostgreSQL data directory"
    exit 1
fi

PG_CTL=""
if command -v pg_ctl >/dev/null 2>&1; then
    PG_CTL="$(command -v pg_ctl)"
else
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5 -rn); do
        if [[ -x "$d/pg_ctl" ]]; then PG_CTL="$d/pg_ctl"; break; fi
    done
fi
[[ -n "$PG_CTL" ]] || { log "pg_ctl not found"; exit 1; }

if [[ $EUID -eq 0 ]]; then RUN=(runuser -u postgres --); else RUN=(); fi

if "${RUN[@]}" "$PG_CTL" -D "$DATA" status >/dev/null 2>&1; then
    log "stopping cluster in $DATA"
    "${RUN[@]}" "$PG_CTL" -D "$DATA" -m fast -w -t 60 stop >&2
else
    log "cluster in $DATA is not running"
fi

BASE="$(dirname "$DATA")"
if [[ -z "${KIZUKI_PG_KEEP:-}" && "$(basename "$BASE")" == kizuki-pg.* ]]; then
    rm -rf -- "$BASE"
    log "removed $BASE"
fi
