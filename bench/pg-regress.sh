#!/usr/bin/env bash
# PostgreSQL 17.6's own regression suite (pg_regress, parallel_schedule) against a Strata local
# cluster, then checks that the storage holds the result:
#   1. the pageserver timeline is still active (ingest did not stop on any record);
#   2. after the pageserver caught up, the compute is killed with kill -9 and the cluster replaces
#      it from a pageserver basebackup; an md5 of every permanent table of the regression database
#      must be the same before and after;
#   3. amcheck on the new compute: verify_heapam on every permanent table, bt_index_check (heapallindexed)
#      on every valid permanent btree index.
# pg_regress runs as installcheck does (no --use-existing: it drops and creates database
# regression itself; with --use-existing it would expect that database to exist).
# Not part of CI. Usage:
#   bench/pg-regress.sh [--schedule parallel|serial] [--keep] [--tests "t1 t2 ..."] [--data-dir DIR]
#   bench/pg-regress.sh --checks-only --data-dir DIR   (storage checks on a cluster left by --keep)
# Disk: with wal_consistency_checking=all the suite writes ~10 GB of WAL; the pageserver keeps
# ~24 GB of layers (no GC yet); safekeepers remove WAL once the pageserver has flushed it, but
# keep it while the pageserver lags: allow ~60 GB until the cluster is removed.
# The PG 17.6 client side (psql, libpq, pg_regress, regress.so, refint.so, autoinc.so) is built
# once from a source tree into $STRATA_CACHE/pg-17.6-src (/var/cache/strata as root, else
# ~/.cache/strata): from $PG_SRC_GIT (a git checkout of a 17.6 snapshot; default
# /work/.mirror/uyghfjhh+pg17.6/repo, its first commit is the stock tree) or the 17.6 tarball
# from ftp.postgresql.org. Needs gcc, make, bison, flex (apt-get install bison flex).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SCHEDULE=parallel
KEEP=0
TESTS=""
DATA_DIR=""
CHECKS_ONLY=0
while [ $# -gt 0 ]; do
    case "$1" in
        --schedule) SCHEDULE=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        --tests) TESTS=$2; shift 2 ;;
        --data-dir) DATA_DIR=$2; shift 2 ;;
        --checks-only) CHECKS_ONLY=1; KEEP=1; shift ;;
        *) echo "usage: $0 [--schedule parallel|serial] [--keep] [--tests \"t1 t2\"] [--data-dir DIR]" >&2; exit 64 ;;
    esac
done

log() { echo "$(date +%H:%M:%S)  $*"; }
T0=$(date +%s)

# ------------------------------------------------------------------ build (cached)
if [ "$(id -u)" = 0 ]; then CACHE=${STRATA_CACHE:-/var/cache/strata}; else CACHE=${STRATA_CACHE:-$HOME/.cache/strata}; fi
SRC=$CACHE/pg-17.6-src
PG_SRC_GIT=${PG_SRC_GIT:-/work/.mirror/uyghfjhh+pg17.6/repo}
if [ ! -f "$SRC/build.done" ] || [ "$(cat "$SRC/build.done")" != BUILD-OK ]; then
    log "building PostgreSQL 17.6 psql + pg_regress into $SRC (once; ~3 min on 2 cores)"
    command -v bison >/dev/null && command -v flex >/dev/null || apt-get install -y bison flex >/dev/null
    if [ ! -f "$SRC/configure" ]; then
        rm -rf "$SRC.tmp"; mkdir -p "$SRC.tmp"
        if [ -d "$PG_SRC_GIT" ]; then
            (cd "$PG_SRC_GIT" && git archive "$(git rev-list --max-parents=0 HEAD)") | tar -x -C "$SRC.tmp"
        else
            curl -fsSL https://ftp.postgresql.org/pub/source/v17.6/postgresql-17.6.tar.bz2 \
                | tar -xj -C "$SRC.tmp" --strip-components=1
        fi
        mv "$SRC.tmp" "$SRC"
    fi
    (cd "$SRC" && { [ -f config.status ] || ./configure --without-icu --without-readline --prefix="$CACHE/pg-17.6" \
            >configure.log 2>&1; } \
        && make -C src/backend generated-headers >make-headers.log 2>&1 \
        && make -j2 -C src/bin/psql >make-psql.log 2>&1 \
        && make -j2 -C src/test/regress >make-regress.log 2>&1) || { echo BUILD-FAIL >"$SRC/build.done";
            echo "build failed: see $SRC/*.log" >&2; exit 1; }
    echo BUILD-OK >"$SRC/build.done"
fi
REGRESS=$SRC/src/test/regress
mkdir -p "$CACHE/pg-17.6-bin"
ln -sf "$SRC/src/bin/psql/psql" "$CACHE/pg-17.6-bin/psql"
export LD_LIBRARY_PATH=$SRC/src/interfaces/libpq${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
PSQL=$CACHE/pg-17.6-bin/psql
# The compute runs as the postgres OS user: it loads regress.so and reads data/*.data from here.
chmod -R a+rX "$SRC/src/test/regress"
T_BUILD=$(( $(date +%s) - T0 ))

# ------------------------------------------------------------------ cluster
OWN_DIR=0
if [ -z "$DATA_DIR" ]; then DATA_DIR=$(mktemp -d /tmp/strata-regress.XXXXXX); OWN_DIR=1; fi
OUT=$DATA_DIR/regress-out
if [ "$CHECKS_ONLY" = 1 ] && [ ! -f "$DATA_DIR/run/ready" ]; then echo "--checks-only needs --data-dir of a running cluster" >&2; exit 64; fi
mkdir -p "$OUT/results"; chmod 777 "$OUT" "$OUT/results" # COPY TO / lo_export write here as the postgres OS user
chmod a+x "$DATA_DIR"
PROXY_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
    if [ "$KEEP" = 0 ]; then
        ./strata down --data-dir "$DATA_DIR" >/dev/null 2>&1 || true
        # ~60 GB: keep only the pg_regress output and the summary
        if [ "$OWN_DIR" = 1 ]; then rm -rf "$ROOT/bench/out/pg-regress"; mkdir -p "$ROOT/bench/out";
            cp -r "$OUT" "$ROOT/bench/out/pg-regress"; rm -rf "$DATA_DIR"; fi
    fi
}
trap cleanup EXIT
T1=$(date +%s)
if [ "$CHECKS_ONLY" = 0 ]; then
    log "starting the local cluster in $DATA_DIR (proxy port $PROXY_PORT)"
    ./strata up --detach --data-dir "$DATA_DIR" --proxy-port "$PROXY_PORT" >"$DATA_DIR/up.out" 2>&1 \
        || { cat "$DATA_DIR/up.out"; exit 1; }
fi
URL=$(tail -1 "$DATA_DIR/run/ready")
T_UP=$(( $(date +%s) - T1 ))
# postgresql://postgres:<password>@127.0.0.1:<port>/postgres?options=endpoint%3Dmain
PW=$(echo "$URL" | sed -E 's|postgresql://[^:]+:([^@]+)@.*|\1|')
PROXY_PORT=$(echo "$URL" | sed -E 's|.*@127.0.0.1:([0-9]+)/.*|\1|')
export PGHOST=127.0.0.1 PGPORT=$PROXY_PORT PGUSER=postgres PGPASSWORD=$PW PGOPTIONS="endpoint=main"
export PGCONNECT_TIMEOUT=60
status() { ./strata status --data-dir "$DATA_DIR" 2>&1 || true; }
q() { "$PSQL" -X -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

# ------------------------------------------------------------------ pg_regress
T2=$(date +%s)
REGRESS_RC=skipped
if [ "$CHECKS_ONLY" = 0 ]; then
log "running pg_regress ($SCHEDULE schedule) through the proxy"
if [ -n "$TESTS" ]; then SCHED_ARGS=($TESTS); else SCHED_ARGS=(--schedule="$REGRESS/${SCHEDULE}_schedule"); fi
set +e
# psql (root, as the script) and the server (the postgres OS user) write some results files in
# turn (psql's \o, then COPY TO the same file): let either overwrite the other's.
umask 000
"$REGRESS/pg_regress" --bindir="$CACHE/pg-17.6-bin" --inputdir="$REGRESS" \
    --expecteddir="$REGRESS" --outputdir="$OUT" --dlpath="$REGRESS" --max-connections=20 \
    "${SCHED_ARGS[@]}" >"$OUT/pg_regress.out" 2>&1
REGRESS_RC=$?
set -e
fi
T_REGRESS=$(( $(date +%s) - T2 ))
tail -5 "$OUT/pg_regress.out"
N_OK=$(grep -cE '^(ok|not ok) ' "$OUT/pg_regress.out" || true)
N_FAIL=$(grep -cE '^not ok ' "$OUT/pg_regress.out" || true)
N_IGN=$(grep -cE '^ok .*# \(ignored\)' "$OUT/pg_regress.out" || true)
FAILED=$(grep -E '^not ok ' "$OUT/pg_regress.out" | sed -E 's/^not ok +[0-9]+ +[-+] +([^ ]+).*/\1/' | tr '\n' ' ')

# ------------------------------------------------------------------ storage checks
ps_line() { status | grep '^pageserver:'; }
PS_BEFORE=$(ps_line)
log "pageserver after the suite: $PS_BEFORE"
TIMELINE_OK=1
echo "$PS_BEFORE" | grep -q '^pageserver: active' || TIMELINE_OK=0

# Wait until the pageserver has ingested everything the compute flushed.
FLUSH=$(q postgres "SELECT pg_current_wal_flush_lsn()")
lsn2int() { python3 -c "import sys; a,b=sys.argv[1].split('/'); print((int(a,16)<<32)|int(b,16))" "$1"; }
for _ in $(seq 1 120); do
    LAST=$(ps_line | sed -nE 's/.*last record ([0-9A-F]+\/[0-9A-F]+).*/\1/p')
    if [ -n "$LAST" ] && [ "$(lsn2int "$LAST")" -ge "$(lsn2int "$FLUSH")" ]; then break; fi
    sleep 1
done
log "compute flush LSN $FLUSH, pageserver last record ${LAST:-?}"

# One md5 per permanent table of the regression database (unlogged tables are reset by any crash
# restart, temporary ones belong to sessions; both are left out and counted).
TABLES_SQL="SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'm') AND c.relpersistence = 'p' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1"
checksums() { # $1 = output file
    q regression "$TABLES_SQL" >"$1.tables"
    : >"$1.sql"
    while read -r t; do
        echo "SELECT '$t', (SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) || ' ' || count(*) FROM $t t);" >>"$1.sql"
    done <"$1.tables"
    "$PSQL" -X -At -F ' ' -d regression -f "$1.sql" >"$1" 2>"$1.err" || true
}
SKIPPED_UNLOGGED=$(q regression "SELECT count(*) FROM pg_class WHERE relkind IN ('r','m') AND relpersistence = 'u'")
log "checksumming every permanent table of the regression database"
checksums "$OUT/checksums.before"
N_TABLES=$(wc -l <"$OUT/checksums.before")
OLD_PID=$(head -1 "$DATA_DIR/computes/main/pgdata/postmaster.pid")
log "kill -9 of the compute's postmaster (pid $OLD_PID); the cluster replaces it from the pageserver"
T3=$(date +%s)
kill -9 "$OLD_PID"
for _ in $(seq 1 120); do
    sleep 1
    NEW_PID=$(head -1 "$DATA_DIR/computes/main/pgdata/postmaster.pid" 2>/dev/null || true)
    if [ -n "$NEW_PID" ] && [ "$NEW_PID" != "$OLD_PID" ] && q postgres "SELECT 1" >/dev/null 2>&1; then break; fi
done
T_RESTART=$(( $(date +%s) - T3 ))
status | grep -E '^(pageserver|compute)' || true
grep -q 'basebackup' "$DATA_DIR/strata.log" && log "new compute pid $NEW_PID after ${T_RESTART}s"
checksums "$OUT/checksums.after"
MISMATCH=$(diff "$OUT/checksums.before" "$OUT/checksums.after" | grep -c '^[<>]' || true)
diff "$OUT/checksums.before" "$OUT/checksums.after" >"$OUT/checksums.diff" || true

log "amcheck on the new compute"
"$PSQL" -X -At -d regression >"$OUT/amcheck.out" 2>&1 <<'SQL' || true
CREATE EXTENSION IF NOT EXISTS amcheck;
DO $$
DECLARE r record; k bigint; heaps int := 0; heap_bad int := 0; idx int := 0; idx_bad int := 0;
BEGIN
  FOR r IN SELECT c.oid, c.oid::regclass AS name FROM pg_class c
           JOIN pg_am a ON a.oid = c.relam -- verify_heapam checks heap only (the suite also makes a heap2 AM)
           WHERE c.relkind IN ('r', 't', 'm') AND c.relpersistence = 'p' AND a.amname = 'heap' LOOP
    heaps := heaps + 1;
    BEGIN
      SELECT count(*) INTO k FROM verify_heapam(r.oid);
      IF k > 0 THEN heap_bad := heap_bad + 1; RAISE WARNING 'verify_heapam %: % problems', r.name, k; END IF;
    EXCEPTION WHEN OTHERS THEN heap_bad := heap_bad + 1; RAISE WARNING 'verify_heapam %: %', r.name, SQLERRM;
    END;
  END LOOP;
  FOR r IN SELECT c.oid, c.oid::regclass AS name FROM pg_class c JOIN pg_am a ON a.oid = c.relam
           JOIN pg_index i ON i.indexrelid = c.oid
           WHERE c.relkind = 'i' AND a.amname = 'btree' AND c.relpersistence = 'p' AND i.indisvalid AND i.indisready LOOP
    idx := idx + 1;
    BEGIN
      PERFORM bt_index_check(r.oid, true);
    EXCEPTION WHEN OTHERS THEN idx_bad := idx_bad + 1; RAISE WARNING 'bt_index_check %: %', r.name, SQLERRM;
    END;
  END LOOP;
  RAISE NOTICE 'AMCHECK heaps=% heap_bad=% btree=% btree_bad=%', heaps, heap_bad, idx, idx_bad;
END $$;
SQL
AMCHECK=$(grep -oE 'AMCHECK .*' "$OUT/amcheck.out" || echo "AMCHECK did not run (see $OUT/amcheck.out)")
PS_AFTER=$(ps_line)
echo "$PS_AFTER" | grep -q '^pageserver: active' || TIMELINE_OK=0
# A write on the new compute, and the pageserver still ingesting it.
q regression "CREATE TABLE IF NOT EXISTS strata_after_restart AS SELECT 1 AS x" >/dev/null 2>&1 || true

# ------------------------------------------------------------------ summary
AM_BAD=$(echo "$AMCHECK" | sed -nE 's/.*heap_bad=([0-9]+) .*btree_bad=([0-9]+)/\1 \2/p')
VERDICT=PASS
[ "$TIMELINE_OK" = 1 ] || VERDICT=FAIL
[ "$MISMATCH" = 0 ] && [ "$N_TABLES" -gt 0 ] || VERDICT=FAIL
[ "$AM_BAD" = "0 0" ] || VERDICT=FAIL
cat <<EOF | tee "$OUT/summary.txt"

==== PostgreSQL 17.6 regression suite on Strata ($SCHEDULE schedule) ====
pg_regress:        $N_OK tests, $((N_OK - N_FAIL)) ok ($N_IGN of them ignored failures), $N_FAIL failed (rc $REGRESS_RC)
failed tests:      ${FAILED:-none}   (diffs: $OUT/regression.diffs)
timeline:          $([ "$TIMELINE_OK" = 1 ] && echo active, ingest never stopped || echo NOT ACTIVE)
                   before restart: $PS_BEFORE
                   after restart:  $PS_AFTER
tables compared:   $N_TABLES permanent tables of database regression ($SKIPPED_UNLOGGED unlogged left out)
checksums:         $MISMATCH lines differ after kill -9 + new compute from the pageserver ($OUT/checksums.diff)
amcheck:           $AMCHECK
timings:           build ${T_BUILD}s, cluster up ${T_UP}s, pg_regress ${T_REGRESS}s, compute replaced in ${T_RESTART}s, total $(( $(date +%s) - T0 ))s
data directory:    $DATA_DIR $([ "$KEEP" = 1 ] && echo "(kept; ./strata down --data-dir $DATA_DIR)" || echo "(cluster stopped; removed if the script made it, output copied to bench/out/pg-regress)")
VERDICT:           $VERDICT
EOF
[ "$VERDICT" = PASS ]
