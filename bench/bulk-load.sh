#!/usr/bin/env bash
# Bulk load through the commit path (issue 11, docs/commit-path.md): `pgbench -i -s 50` (one
# transaction loading a 750 MB table) through the proxy on `./strata up`, then the same on a
# stock PostgreSQL 17 with the compute's settings minus the safekeepers, in the same run.
# Prints for each: elapsed time, WAL written, the largest pg_wal sampled every 0.2 s; for
# Strata also the commit-path line of `strata status` (time throttled).
# Not part of CI. Usage: bench/bulk-load.sh [--scale N] [--pgbench /usr/bin/pgbench]
# Needs pgbench (Debian's pgbench 15 works against PG17). Disk: ~10 GB until it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=50
PGBENCH=$(command -v pgbench || echo /usr/bin/pgbench)
while [ $# -gt 0 ]; do
    case "$1" in
        --scale) SCALE=$2; shift 2 ;;
        --pgbench) PGBENCH=$2; shift 2 ;;
        *) echo "usage: $0 [--scale N] [--pgbench PATH]" >&2; exit 64 ;;
    esac
done
[ -x "$PGBENCH" ] || { echo "pgbench not found (apt-get install postgresql-client)" >&2; exit 1; }
log() { echo "$(date +%H:%M:%S)  $*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }

DIR=$(mktemp -d /tmp/strata-bulk.XXXXXX)
chmod a+x "$DIR"
SAMPLER=""
STOCK_PGDATA=$DIR/stock/pgdata
cleanup() {
    [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null || true
    ./strata down --data-dir "$DIR/strata" >/dev/null 2>&1 || true
    if [ -n "${PGBIN:-}" ] && [ -f "$STOCK_PGDATA/postmaster.pid" ]; then
        $AS_PG "$PGBIN/pg_ctl" -D "$STOCK_PGDATA" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$DIR"
}
trap cleanup EXIT

# Largest total size of the files in $1 (a pg_wal), sampled every 0.2 s, written to $2.
sample_max() {
    local dir=$1 out=$2 max=0 cur
    echo 0 >"$out"
    while true; do
        # find fails when PostgreSQL removes a segment while it lists them: not the sampler's end
        cur=$({ find "$dir" -maxdepth 1 -type f -printf '%s\n' 2>/dev/null || true; } | awk '{s+=$1} END {printf "%.0f\n", s}')
        if [ "$cur" -gt "$max" ]; then max=$cur; echo "$max" >"$out"; fi
        sleep 0.2
    done
}

run_load() { # $1 = label; PG* set by the caller
    local start end
    psql -X -At -c "DROP TABLE IF EXISTS pgbench_accounts, pgbench_branches, pgbench_history, pgbench_tellers" >/dev/null
    local lsn0; lsn0=$(psql -X -At -c "SELECT pg_current_wal_insert_lsn()")
    start=$(now_ms)
    "$PGBENCH" -i -s "$SCALE" -q >"$DIR/$1.pgbench.log" 2>&1 || { cat "$DIR/$1.pgbench.log"; return 1; }
    end=$(now_ms)
    local wal; wal=$(psql -X -At -c "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$lsn0')")
    echo "$(( end - start )) $wal"
}

# ------------------------------------------------------------------ Strata
PROXY_PORT=$(free_port)
log "starting ./strata up in $DIR/strata (proxy port $PROXY_PORT)"
./strata up --detach --data-dir "$DIR/strata" --proxy-port "$PROXY_PORT" >"$DIR/up.out" 2>&1 || { cat "$DIR/up.out"; exit 1; }
URL=$(tail -1 "$DIR/strata/run/ready")
PW=$(echo "$URL" | sed -E 's|postgresql://[^:]+:([^@]+)@.*|\1|')
export PGHOST=127.0.0.1 PGPORT=$PROXY_PORT PGUSER=postgres PGPASSWORD=$PW PGOPTIONS="endpoint=main" PGDATABASE=postgres
export PGCONNECT_TIMEOUT=60
sample_max "$DIR/strata/computes/main/pgdata/pg_wal" "$DIR/strata.walmax" & SAMPLER=$!
log "pgbench -i -s $SCALE through the proxy"
read -r S_MS S_WAL < <(run_load strata)
kill "$SAMPLER" 2>/dev/null || true; SAMPLER=""
S_MAX=$(cat "$DIR/strata.walmax")
S_STATUS=$(./strata status --data-dir "$DIR/strata" 2>&1 | grep -A4 '^commit path' || true)
./strata down --data-dir "$DIR/strata" >/dev/null 2>&1 || true

# ------------------------------------------------------------------ stock PostgreSQL 17
PGBIN=$(dirname "$(ls -d /var/cache/strata/postgres-*/bin/postgres "$HOME"/.cache/strata/postgres-*/bin/postgres 2>/dev/null | head -1)")
AS_PG=""
mkdir -p "$DIR/stock"
if [ "$(id -u)" = 0 ]; then AS_PG="setpriv --reuid=postgres --regid=postgres --init-groups"; chown -R postgres "$DIR/stock"; fi
STOCK_PORT=$(free_port)
log "stock PostgreSQL 17 ($PGBIN) on port $STOCK_PORT, the compute's settings minus the safekeepers"
$AS_PG "$PGBIN/initdb" -D "$STOCK_PGDATA" -U postgres -A trust >/dev/null
# As the compute runs (ComputeSettings.forCompute: no wal_consistency_checking since decision 0030,
# so both sides write the same WAL; before, this said `all` and stock wrote 4x Strata's WAL).
cat >>"$STOCK_PGDATA/postgresql.conf" <<CONF
port = $STOCK_PORT
listen_addresses = '127.0.0.1'
wal_level = replica
wal_consistency_checking = ''
full_page_writes = on
fsync = off
max_slot_wal_keep_size = 2GB
wal_keep_size = 0
CONF
$AS_PG "$PGBIN/pg_ctl" -D "$STOCK_PGDATA" -l "$DIR/stock/log" -w start >/dev/null
export PGPORT=$STOCK_PORT PGOPTIONS="" PGPASSWORD=""
sample_max "$STOCK_PGDATA/pg_wal" "$DIR/stock.walmax" & SAMPLER=$!
log "pgbench -i -s $SCALE on stock"
read -r P_MS P_WAL < <(run_load stock)
kill "$SAMPLER" 2>/dev/null || true; SAMPLER=""
P_MAX=$(cat "$DIR/stock.walmax")

echo
printf "%-8s %10s %12s %14s\n" "" "elapsed s" "WAL MB" "max pg_wal MB"
printf "%-8s %10.1f %12d %14d\n" strata "$(echo "$S_MS/1000" | bc -l)" $(( S_WAL >> 20 )) $(( S_MAX >> 20 ))
printf "%-8s %10.1f %12d %14d\n" stock "$(echo "$P_MS/1000" | bc -l)" $(( P_WAL >> 20 )) $(( P_MAX >> 20 ))
printf "ratio strata/stock elapsed: %.2f\n" "$(echo "$S_MS/$P_MS" | bc -l)"
echo "$S_STATUS"
