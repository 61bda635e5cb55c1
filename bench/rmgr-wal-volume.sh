#!/usr/bin/env bash
# WAL per resource manager (issue 14: which manager's Java redo comes next): PostgreSQL 17.6's
# regression suite (pg_regress, parallel_schedule) on one stock PG 17 server with the compute's
# wal_consistency_checking (the compute's current default, ComputeSettings.WAL_CONSISTENCY_CHECKING read
# from its source: '' today; until decision 0025 it was 'hash,gin,gist,spgist,brin,generic'; --wcc LIST
# measures another list),
# then pg_walinspect's pg_get_wal_stats over the suite's WAL: records, record bytes and
# full-page-image bytes per resource manager (FPI bytes include the consistency-check images,
# which is what leaving a manager in the list costs). A physical replication slot created before
# the suite keeps its WAL. Not part of CI. Several minutes on 2 cores; one server, stopped on exit.
#   bench/rmgr-wal-volume.sh [--wcc LIST] [--tests "t1 t2"] [--timeout S]
# Needs the PG 17.6 client side built by bench/pg-regress.sh (run it once, or this script builds
# it the same way: $STRATA_CACHE/pg-17.6-src) and the PG 17 server binaries Strata's tests use
# (/var/cache/strata/postgres-*/bin or ~/.cache/strata/postgres-*/bin; $PG_BIN overrides).
set -euo pipefail
cd "$(dirname "$0")/.."
# The compute's default, from the one place it is defined.
grep -q 'String WAL_CONSISTENCY_CHECKING = "' compute-node/src/main/java/dev/strata/compute/config/ComputeSettings.java \
    || { echo "no WAL_CONSISTENCY_CHECKING constant in ComputeSettings.java: pass --wcc" >&2; exit 1; }
WCC=$(sed -n 's/.*String WAL_CONSISTENCY_CHECKING = "\([^"]*\)";.*/\1/p' \
    compute-node/src/main/java/dev/strata/compute/config/ComputeSettings.java)
TESTS=""
TIMEOUT=3600
while [ $# -gt 0 ]; do
    case "$1" in
        --wcc) WCC=$2; shift 2 ;;
        --tests) TESTS=$2; shift 2 ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        *) echo "usage: $0 [--wcc LIST] [--tests \"t1 t2\"] [--timeout S]" >&2; exit 64 ;;
    esac
done
log() { echo "$(date +%H:%M:%S)  $*"; }
if [ "$(id -u)" = 0 ]; then CACHE=${STRATA_CACHE:-/var/cache/strata}; else CACHE=${STRATA_CACHE:-$HOME/.cache/strata}; fi
SRC=$CACHE/pg-17.6-src
REGRESS=$SRC/src/test/regress
if [ ! -x "$REGRESS/pg_regress" ] || [ ! -x "$SRC/src/bin/psql/psql" ]; then
    echo "no pg_regress in $REGRESS: run bench/pg-regress.sh once (it builds the client side)" >&2; exit 1
fi
PG_BIN=${PG_BIN:-$(dirname "$(ls -d /var/cache/strata/postgres-*/bin/postgres "$HOME"/.cache/strata/postgres-*/bin/postgres 2>/dev/null | head -1)")}
[ -x "$PG_BIN/postgres" ] || { echo "no PostgreSQL server binaries (set PG_BIN)" >&2; exit 1; }
export LD_LIBRARY_PATH=$SRC/src/interfaces/libpq${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
mkdir -p "$CACHE/pg-17.6-bin"; ln -sf "$SRC/src/bin/psql/psql" "$CACHE/pg-17.6-bin/psql"
PSQL=$CACHE/pg-17.6-bin/psql
chmod -R a+rX "$REGRESS"
AS_PG=""
if [ "$(id -u)" = 0 ]; then AS_PG="setpriv --reuid=postgres --regid=postgres --init-groups"; fi

DIR=$(mktemp -d /tmp/strata-rmgr-wal.XXXXXX); chmod 777 "$DIR"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SUITE_PID=""
cleanup() {
    local rc=$?
    if [ -n "$SUITE_PID" ]; then kill -KILL -- "-$SUITE_PID" 2>/dev/null || true; fi
    if [ -f "$DIR/pgdata/postmaster.pid" ]; then $AS_PG "$PG_BIN/pg_ctl" -D "$DIR/pgdata" -m immediate -w stop >/dev/null 2>&1 || true; fi
    mkdir -p bench/out; cp "$DIR/out/summary.txt" bench/out/rmgr-wal-volume.txt 2>/dev/null || true
    rm -rf "$DIR"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "initdb ($PG_BIN), wal_consistency_checking = '$WCC', port $PORT"
$AS_PG "$PG_BIN/initdb" -D "$DIR/pgdata" -U postgres -A trust -E UTF8 --locale=C >"$DIR/initdb.log" 2>&1 \
    || { cat "$DIR/initdb.log"; exit 1; }
cat >>"$DIR/pgdata/postgresql.conf" <<CONF
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
wal_level = replica
full_page_writes = on
wal_consistency_checking = '$WCC'
fsync = off
max_wal_size = 64GB
checkpoint_timeout = 1h
max_connections = 60
CONF
$AS_PG "$PG_BIN/pg_ctl" -D "$DIR/pgdata" -l "$DIR/server.log" -w -t 120 start >/dev/null || { tail -20 "$DIR/server.log"; exit 1; }
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres
q() { "$PSQL" -X -At -v ON_ERROR_STOP=1 -d postgres -c "$1"; }
q "CREATE EXTENSION pg_walinspect" >/dev/null
q "SELECT pg_create_physical_replication_slot('rmgr_wal_volume', true)" >/dev/null
LSN0=$(q "SELECT pg_current_wal_insert_lsn()")
mkdir -p "$DIR/out/results"; chmod -R 777 "$DIR/out"
ARGS=(--inputdir="$REGRESS" --expecteddir="$REGRESS" --dlpath="$REGRESS" --max-connections=20)
if [ -n "$TESTS" ]; then ARGS+=($TESTS); else ARGS+=(--schedule="$REGRESS/parallel_schedule"); fi
log "regression suite (output $DIR/out)"
T0=$(date +%s)
(umask 000; exec timeout -k 30 "$TIMEOUT" "$REGRESS/pg_regress" --bindir="$CACHE/pg-17.6-bin" --outputdir="$DIR/out" "${ARGS[@]}") \
    >"$DIR/out/regress.out" 2>&1 &
SUITE_PID=$!
set +e; wait "$SUITE_PID"; RC=$?; set -e
SUITE_PID=""
T1=$(date +%s)
LSN1=$(q "SELECT pg_current_wal_insert_lsn()")
N=$(grep -cE '^(ok|not ok) ' "$DIR/out/regress.out" || true)
FAIL=$(grep -cE '^not ok ' "$DIR/out/regress.out" || true)
{
    echo "==== WAL per resource manager: PostgreSQL 17.6 regression suite, stock PG 17, wal_consistency_checking = '$WCC' ===="
    echo "suite: $N tests, $FAIL failed (pg_regress rc $RC), $(( T1 - T0 )) s; WAL $LSN0 .. $LSN1"
    "$PSQL" -X -d postgres -c "SELECT \"resource_manager/record_type\" AS rmgr, count AS records,
        round(record_size / 1048576.0, 1) AS \"record MB\", round(fpi_size / 1048576.0, 1) AS \"FPI MB\",
        round(combined_size / 1048576.0, 1) AS \"total MB\", round(combined_size_percentage::numeric, 1) AS \"% of WAL\"
        FROM pg_get_wal_stats('$LSN0', '$LSN1') WHERE count > 0 ORDER BY combined_size DESC"
} | tee "$DIR/out/summary.txt"
