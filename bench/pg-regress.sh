#!/usr/bin/env bash
# PostgreSQL 17.6's own test suites against a Strata local cluster (`./strata up`, through the
# proxy, as the bootstrap superuser `postgres`), next to a stock PostgreSQL 17.6 server with the
# compute's settings (wal_consistency_checking=all included) measured in the same run:
#   - the regression suite (pg_regress, parallel_schedule: 222 tests);
#   - the isolation suite (pg_isolation_regress + isolationtester, isolation_schedule: 117 specs;
#     it needs PQbackendPID() == pg_backend_pid() through the proxy, decision 0014).
# For each suite and server: pass counts, wall time, WAL written; then the ratio Strata / stock.
# The stock server is the very binary the compute runs (/proc/<compute pid>/exe), initdb'd with
# the compute's locale and encoding, with every setting the compute has from its configuration
# file (read from pg_settings) except the ones that name its port and its safekeepers. Both
# stock suites run first, stock is stopped, then both suites run on Strata (so neither server
# runs while the other is measured; Strata's cluster is up but idle during the stock runs).
# Then the storage checks on Strata:
#   1. the pageserver timeline is still active (ingest did not stop on any record);
#   2. after the pageserver caught up, the compute is killed with kill -9 and the cluster replaces
#      it from a pageserver basebackup; an md5 of every permanent table of the regression database
#      (isolation_regression if only the isolation suite ran) must be the same before and after;
#   3. amcheck on the new compute: verify_heapam on every permanent table, bt_index_check
#      (heapallindexed) on every valid permanent btree index.
# pg_regress runs as installcheck does (no --use-existing: it drops and creates database
# regression itself; pg_isolation_regress likewise isolation_regression).
# Not part of CI. Usage:
#   bench/pg-regress.sh [--suites regress|isolation|regress,isolation] [--no-stock] [--warmup]
#                       [--schedule parallel|serial] [--tests "t1 t2"] [--isolation-tests "s1 s2"]
#                       [--regress-timeout S] [--isolation-timeout S] [--proxy-port N]
#                       [--keep] [--data-dir DIR]
#   bench/pg-regress.sh --checks-only --data-dir DIR   (storage checks on a cluster left by --keep)
# --warmup: each suite runs once untimed on each server before its timed run (a fresh cluster JVM
# compiles its hot paths during the first pass: about 11 CPU-s of the regression suite's 80 s on
# this 2-core machine went to the JIT compiler threads); the table then has the warm runs, and the
# log the untimed ones. For Strata each run also logs the cluster JVM's CPU seconds (all the
# storage services of `strata up` run in that one process).
# --wcc LIST: wal_consistency_checking for the suites' sessions on both servers (ALTER ROLE postgres
# SET, so every session the suites open as postgres writes the images; the compute's own setting is
# empty). With LIST = all, every record Strata replays in Java carries PostgreSQL's image, and the
# pageserver's redo oracle compares each one (its table: `grep -A80 'redo oracle (' DIR/strata.log`
# after `./strata down --data-dir DIR`). The regression suite's tests that list role settings
# (rolenames) then see the extra row: use it with --suites isolation, or expect that diff.
# --stock-sync: the stock server waits for synchronous replication as the compute does: three
# `pg_receivewal --synchronous` (application_name sk-1..3, fsync per read batch, flush feedback
# after it) and synchronous_standby_names = 'ANY 2 ("sk-1","sk-2","sk-3")', so the ratio shows
# what Strata costs beyond a synchronous quorum commit (Debian's pg_receivewal 15 gets the
# LD_PRELOAD shim bench/support/pq-server-version-15.c, as in bench/safekeeper-throughput.sh).
# Without it the stock server has no standby at all (fsync=off: a commit waits for nothing).
# Each suite run is bounded by its timeout (defaults 3600 s / 2400 s; on expiry the suite's whole
# process group is killed and its unfinished tests count as failed). Every process the script
# starts (cluster, stock server, suites, sampler) is stopped on exit, also on Ctrl-C.
# Disk: with wal_consistency_checking=all the regression suite writes ~10 GB of WAL on each
# server; the pageserver keeps ~24 GB of layers (no GC yet); safekeepers remove WAL once the
# pageserver has flushed it: allow ~60 GB until the cluster is removed.
# The PG 17.6 client side (psql, libpq, pg_regress, regress.so, refint.so, autoinc.so,
# pg_isolation_regress, isolationtester) is built once from a source tree into
# $STRATA_CACHE/pg-17.6-src (/var/cache/strata as root, else ~/.cache/strata): from $PG_SRC_GIT
# (a git checkout of a 17.6 snapshot whose first commit is the stock tree; default
# /work/.mirror/uyghfjhh+pg17.6/repo), else $PG_SRC_TARBALL (a postgresql-17.6.tar.bz2 file), else
# the tarball downloaded from ftp.postgresql.org. Needs gcc, make, bison, flex (installed with
# apt-get when missing, as root).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SUITES="regress,isolation"
STOCK=1
SCHEDULE=parallel
KEEP=0
TESTS=""
ISO_TESTS=""
DATA_DIR=""
CHECKS_ONLY=0
STOCK_SYNC=0
REGRESS_TIMEOUT=3600
ISOLATION_TIMEOUT=2400
PROXY_PORT=""
WCC=""
WARMUP=0
usage() {
    echo "usage: $0 [--suites regress|isolation|regress,isolation] [--no-stock] [--stock-sync] [--warmup] [--schedule parallel|serial]" >&2
    echo "          [--tests \"t1 t2\"] [--isolation-tests \"s1 s2\"] [--regress-timeout S] [--isolation-timeout S]" >&2
    echo "          [--proxy-port N] [--wcc LIST] [--keep] [--data-dir DIR] | --checks-only --data-dir DIR" >&2
    exit 64
}
while [ $# -gt 0 ]; do
    case "$1" in
        --suites) SUITES=$2; shift 2 ;;
        --no-stock) STOCK=0; shift ;;
        --stock-sync) STOCK_SYNC=1; shift ;;
        --warmup) WARMUP=1; shift ;;
        --schedule) SCHEDULE=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        --tests) TESTS=$2; shift 2 ;;
        --isolation-tests) ISO_TESTS=$2; shift 2 ;;
        --regress-timeout) REGRESS_TIMEOUT=$2; shift 2 ;;
        --isolation-timeout) ISOLATION_TIMEOUT=$2; shift 2 ;;
        --proxy-port) PROXY_PORT=$2; shift 2 ;;
        --wcc) WCC=$2; shift 2 ;;
        --data-dir) DATA_DIR=$2; shift 2 ;;
        --checks-only) CHECKS_ONLY=1; KEEP=1; shift ;;
        *) usage ;;
    esac
done
SUITE_LIST=()
for s in ${SUITES//,/ }; do
    case "$s" in regress|isolation) SUITE_LIST+=("$s") ;; both) SUITE_LIST+=(regress isolation) ;; *) usage ;; esac
done
[ "${#SUITE_LIST[@]}" -gt 0 ] || usage
case "$SCHEDULE" in parallel|serial) ;; *) usage ;; esac
for n in "$REGRESS_TIMEOUT" "$ISOLATION_TIMEOUT" ${PROXY_PORT:+"$PROXY_PORT"}; do
    [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -gt 0 ] || usage
done
[[ "$WCC" =~ ^[a-z0-9,]*$ ]] || { echo "--wcc takes a comma-separated list of resource managers (or all)" >&2; exit 64; }
has_suite() { [[ " ${SUITE_LIST[*]} " == *" $1 "* ]]; }

log() { echo "$(date +%H:%M:%S)  $*"; }
now_ms() { date +%s%3N; }
T0=$(date +%s)

# ------------------------------------------------------------------ build (cached)
if [ "$(id -u)" = 0 ]; then CACHE=${STRATA_CACHE:-/var/cache/strata}; else CACHE=${STRATA_CACHE:-$HOME/.cache/strata}; fi
SRC=$CACHE/pg-17.6-src
PG_SRC_GIT=${PG_SRC_GIT:-/work/.mirror/uyghfjhh+pg17.6/repo}
BUILD_MARK="BUILD-OK regress isolation"
if [ ! -f "$SRC/build.done" ] || [ "$(cat "$SRC/build.done")" != "$BUILD_MARK" ]; then
    log "building PostgreSQL 17.6 psql, pg_regress, pg_isolation_regress into $SRC (once; ~3 min on 2 cores)"
    if ! command -v bison >/dev/null || ! command -v flex >/dev/null || ! command -v make >/dev/null \
            || ! command -v gcc >/dev/null; then
        [ "$(id -u)" = 0 ] || { echo "needs gcc, make, bison, flex: apt-get install gcc make bison flex" >&2; exit 1; }
        apt-get install -y gcc make bison flex >/dev/null 2>&1 \
            || { apt-get update >/dev/null && apt-get install -y gcc make bison flex >/dev/null; }
    fi
    if [ ! -f "$SRC/configure" ]; then
        rm -rf "$SRC.tmp"; mkdir -p "$SRC.tmp"
        if [ -d "$PG_SRC_GIT" ]; then
            (cd "$PG_SRC_GIT" && git archive "$(git rev-list --max-parents=0 HEAD)") | tar -x -C "$SRC.tmp"
        elif [ -n "${PG_SRC_TARBALL:-}" ]; then
            tar -xjf "$PG_SRC_TARBALL" -C "$SRC.tmp" --strip-components=1
        else
            curl -fsSL https://ftp.postgresql.org/pub/source/v17.6/postgresql-17.6.tar.bz2 \
                | tar -xj -C "$SRC.tmp" --strip-components=1 \
                || { echo "no PostgreSQL 17.6 source: set PG_SRC_GIT or PG_SRC_TARBALL" >&2; exit 1; }
        fi
        mv "$SRC.tmp" "$SRC"
    fi
    # make is incremental: a tree built by an older version of this script (no isolation) only
    # builds the isolation tester here.
    (cd "$SRC" && { [ -f config.status ] || ./configure --without-icu --without-readline --prefix="$CACHE/pg-17.6" \
            >configure.log 2>&1; } \
        && make -C src/backend generated-headers >make-headers.log 2>&1 \
        && make -j2 -C src/bin/psql >make-psql.log 2>&1 \
        && make -j2 -C src/test/regress >make-regress.log 2>&1 \
        && make -j2 -C src/test/isolation >make-isolation.log 2>&1) || { echo BUILD-FAIL >"$SRC/build.done";
            echo "build failed: see $SRC/*.log" >&2; exit 1; }
    echo "$BUILD_MARK" >"$SRC/build.done"
fi
REGRESS=$SRC/src/test/regress
ISOLATION=$SRC/src/test/isolation
mkdir -p "$CACHE/pg-17.6-bin"
ln -sf "$SRC/src/bin/psql/psql" "$CACHE/pg-17.6-bin/psql"
export LD_LIBRARY_PATH=$SRC/src/interfaces/libpq${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
PSQL=$CACHE/pg-17.6-bin/psql
# The servers run as the postgres OS user: they load regress.so and read data/*.data from here.
chmod -R a+rX "$SRC/src/test/regress"
T_BUILD=$(( $(date +%s) - T0 ))

# ------------------------------------------------------------------ processes and cleanup
OWN_DIR=0
if [ -z "$DATA_DIR" ]; then DATA_DIR=$(mktemp -d /tmp/strata-regress.XXXXXX); OWN_DIR=1; fi
DATA_DIR=$(realpath -m "$DATA_DIR")
OUT=$DATA_DIR/regress-out
if [ "$CHECKS_ONLY" = 1 ] && [ ! -f "$DATA_DIR/run/ready" ]; then echo "--checks-only needs --data-dir of a running cluster" >&2; exit 64; fi
mkdir -p "$OUT"; chmod 777 "$OUT"
chmod a+x "$DATA_DIR"
if [ -z "$PROXY_PORT" ]; then
    PROXY_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
fi
AS_PG=""
if [ "$(id -u)" = 0 ]; then AS_PG="setpriv --reuid=postgres --regid=postgres --init-groups"; fi
STOCK_DIR=$DATA_DIR/stock
PGBIN=""
SUITE_PID=""   # a running suite: `timeout` made it a process group of its own (pgid = pid)
RECEIVEWAL_PIDS=""  # --stock-sync: the stock server's three pg_receivewal
RSS_PID=""     # the cluster JVM's memory sampler
stop_stock() {
    for p in $RECEIVEWAL_PIDS; do kill "$p" 2>/dev/null || true; done
    RECEIVEWAL_PIDS=""
    if [ -n "$PGBIN" ] && [ -f "$STOCK_DIR/pgdata/postmaster.pid" ]; then
        $AS_PG "$PGBIN/pg_ctl" -D "$STOCK_DIR/pgdata" -m immediate -w stop >/dev/null 2>&1 || true
    fi
}
cleanup() {
    local rc=$?
    if [ -n "$SUITE_PID" ]; then kill -KILL -- "-$SUITE_PID" 2>/dev/null || true; fi
    if [ -n "$RSS_PID" ]; then kill "$RSS_PID" 2>/dev/null || true; fi
    stop_stock
    if [ "$KEEP" = 0 ]; then
        local daemon=""
        [ -f "$DATA_DIR/run/pid" ] && daemon=$(cat "$DATA_DIR/run/pid" 2>/dev/null || true)
        ./strata down --data-dir "$DATA_DIR" >/dev/null 2>&1 || true
        # `down` failed or the daemon hangs: both it and its compute were started by this script.
        if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then kill -KILL "$daemon" 2>/dev/null || true; fi
        local pm; pm=$(head -1 "$DATA_DIR/computes/main/pgdata/postmaster.pid" 2>/dev/null || true)
        if [ -n "$pm" ] && kill -0 "$pm" 2>/dev/null && [ "$(readlink "/proc/$pm/cwd" 2>/dev/null)" = "$DATA_DIR/computes/main/pgdata" ]; then
            kill -KILL "$pm" 2>/dev/null || true
        fi
        # ~60 GB: keep only the suites' output and the summary
        if [ "$OWN_DIR" = 1 ]; then rm -rf "$ROOT/bench/out/pg-regress"; mkdir -p "$ROOT/bench/out";
            cp -r "$OUT" "$ROOT/bench/out/pg-regress"; rm -rf "$DATA_DIR"; fi
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

q() { "$PSQL" -X -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

# set_wcc TARGET: --wcc for the postgres role's new sessions on the server PG* point at.
set_wcc() {
    [ -n "$WCC" ] || return 0
    q postgres "ALTER ROLE postgres SET wal_consistency_checking = '$WCC'" >/dev/null
    log "$1: wal_consistency_checking = '$(q postgres "SHOW wal_consistency_checking")' for the suites' sessions"
}

# cluster_cpu_ticks: user + system CPU ticks of the cluster JVM so far (0 if it is not running)
cluster_cpu_ticks() {
    local st
    st=$(cat "/proc/$(cat "$DATA_DIR/run/pid" 2>/dev/null)/stat" 2>/dev/null) || { echo 0; return; }
    echo "${st#*) }" | awk '{print $12 + $13}'
}

# run_suite TARGET SUITE [warmup]: runs one suite against the server that PG* point at; writes
# "$OUT/TARGET.SUITE.result" = rc wall_ms wal_bytes tests ok failed ignored failed-names...
# (a warm-up run: "$OUT/TARGET.SUITE.warmup.result", output in SUITE-warmup/)
run_suite() {
    local target=$1 suite=$2 tag=${3:+.$3} out=$OUT/$1/$2${3:+-$3} bin to args
    mkdir -p "$out/results"; chmod 777 "$out" "$out/results"  # COPY TO / lo_export write here as postgres
    if [ "$suite" = regress ]; then
        bin=$REGRESS/pg_regress; to=$REGRESS_TIMEOUT
        args=(--inputdir="$REGRESS" --expecteddir="$REGRESS" --dlpath="$REGRESS" --max-connections=20)
        if [ -n "$TESTS" ]; then args+=($TESTS); else args+=(--schedule="$REGRESS/${SCHEDULE}_schedule"); fi
    else
        # pg_isolation_regress finds isolationtester beside itself; specs in --inputdir/specs.
        bin=$ISOLATION/pg_isolation_regress; to=$ISOLATION_TIMEOUT
        args=(--inputdir="$ISOLATION" --expecteddir="$ISOLATION" --max-connections=20)
        if [ -n "$ISO_TESTS" ]; then args+=($ISO_TESTS); else args+=(--schedule="$ISOLATION/isolation_schedule"); fi
    fi
    local lsn0 lsn1 t0 t1 rc wal cpu0 cpu1 cpu=""
    lsn0=$(q postgres "SELECT pg_current_wal_insert_lsn()")
    log "$suite suite on $target${3:+ ($3, untimed)} (timeout ${to}s; output $out)"
    cpu0=$(cluster_cpu_ticks)
    t0=$(now_ms)
    # psql (root, as the script) and the server (the postgres OS user) write some results files
    # in turn (psql's \o, then COPY TO the same file): umask 000 lets either overwrite the other's.
    # timeout runs the suite in a process group of its own and kills all of it on expiry.
    (umask 000; exec timeout -k 30 "$to" "$bin" --bindir="$CACHE/pg-17.6-bin" --outputdir="$out" "${args[@]}") \
        >"$out/$suite.out" 2>&1 &
    SUITE_PID=$!
    set +e; wait "$SUITE_PID"; rc=$?; set -e
    SUITE_PID=""
    t1=$(now_ms)
    cpu1=$(cluster_cpu_ticks)
    if [ "$target" = strata ] && [ "$cpu1" != 0 ]; then
        cpu=", cluster JVM $(( (cpu1 - cpu0) / $(getconf CLK_TCK) )) CPU-s"
    fi
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then log "$suite on $target: TIMED OUT after ${to}s"; fi
    lsn1=$(q postgres "SELECT pg_current_wal_insert_lsn()")
    wal=$(q postgres "SELECT pg_wal_lsn_diff('$lsn1', '$lsn0')::bigint")
    local n ok fail ign failed
    n=$(grep -cE '^(ok|not ok) ' "$out/$suite.out" || true)
    fail=$(grep -cE '^not ok ' "$out/$suite.out" || true)
    ign=$(grep -cE '^ok .*# \(ignored\)' "$out/$suite.out" || true)
    ok=$(( n - fail ))
    # (a pipeline whose grep finds nothing fails under pipefail: the || true keeps a clean run alive)
    failed=$( { grep -E '^not ok ' "$out/$suite.out" || true; } | sed -E 's/^not ok +[0-9]+ +[-+] +([^ ]+).*/\1/' | tr '\n' ' ' | sed 's/ $//')
    echo "$rc $(( t1 - t0 )) $wal $n $ok $fail $ign $failed" >"$OUT/$target.$suite$tag.result"
    log "$suite on $target${3:+ ($3)}: $ok/$n ok, $fail failed${failed:+ ($failed)}, $(( (t1 - t0) / 1000 )) s, $(( wal >> 20 )) MB WAL$cpu"
    tail -3 "$out/$suite.out" | sed 's/^/    /'
}

# ------------------------------------------------------------------ cluster
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
strata_env() { export PGHOST=127.0.0.1 PGPORT=$PROXY_PORT PGUSER=postgres PGPASSWORD=$PW PGOPTIONS="endpoint=main"; }
strata_env
export PGCONNECT_TIMEOUT=60
status() { ./strata status --data-dir "$DATA_DIR" 2>&1 || true; }
[ "$(q postgres "SELECT rolsuper FROM pg_roles WHERE oid = 10 AND rolname = current_user")" = t ] \
    || { echo "not connected as the bootstrap superuser" >&2; exit 1; }

# The cluster JVM's largest resident set while the suites run on it (issue 12 item 3).
rss_sampler() { # $1 = pid, $2 = output file
    set +e +o pipefail  # (in its own subshell: a failed read must not end it)
    local max=0 cur
    echo 0 >"$2"
    while kill -0 "$1" 2>/dev/null; do
        cur=$(awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0)
        if [ -n "$cur" ] && [ "$cur" -gt "$max" ]; then max=$cur; echo "$max" >"$2"; fi
        sleep 2
    done
}

# ------------------------------------------------------------------ stock PostgreSQL 17.6
if [ "$CHECKS_ONLY" = 0 ] && [ "$STOCK" = 1 ]; then
    CPM=$(head -1 "$DATA_DIR/computes/main/pgdata/postmaster.pid")
    PGBIN=$(dirname "$(readlink "/proc/$CPM/exe")")
    STOCK_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    # Same binary, locale, encoding and configuration-file settings as the compute, minus those
    # that name its port, socket and safekeepers (synchronous_commit=on without standbys waits
    # for nothing, as a commit on stock does).
    read -r ENC COLL CTYPE < <(q postgres "SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database WHERE datname = 'template1'" | tr '|' ' ')
    # Data checksums as the compute's cluster has them (an initdb option, not a setting).
    CHECKSUMS=""
    [ "$(q postgres "SHOW data_checksums")" = on ] && CHECKSUMS="--data-checksums"
    SETTINGS=$(q postgres "SELECT name || ' = ' || quote_literal(current_setting(name)) FROM pg_settings
        WHERE source = 'configuration file' AND name NOT IN ('port', 'listen_addresses', 'unix_socket_directories',
        'synchronous_standby_names') ORDER BY name")
    rm -rf "$STOCK_DIR"; mkdir -p "$STOCK_DIR"
    (umask 077; echo "$PW" >"$STOCK_DIR/pwfile")
    [ -n "$AS_PG" ] && chown -R postgres "$STOCK_DIR"
    log "stock PostgreSQL ($PGBIN/postgres, the compute's binary) on port $STOCK_PORT: initdb -E $ENC --lc-collate=$COLL --lc-ctype=$CTYPE $CHECKSUMS"
    $AS_PG "$PGBIN/initdb" -D "$STOCK_DIR/pgdata" -U postgres -A scram-sha-256 --pwfile="$STOCK_DIR/pwfile" \
        -E "$ENC" --lc-collate="$COLL" --lc-ctype="$CTYPE" $CHECKSUMS >"$STOCK_DIR/initdb.log" 2>&1 \
        || { cat "$STOCK_DIR/initdb.log"; exit 1; }
    { echo "# the compute's settings (pg_settings, source = configuration file)"; echo "$SETTINGS"
      echo "port = $STOCK_PORT"; echo "listen_addresses = '127.0.0.1'"; echo "unix_socket_directories = ''"; } \
        >>"$STOCK_DIR/pgdata/postgresql.conf"
    cp "$STOCK_DIR/pgdata/postgresql.conf" "$OUT/stock.postgresql.conf"
    $AS_PG "$PGBIN/pg_ctl" -D "$STOCK_DIR/pgdata" -l "$STOCK_DIR/server.log" -w -t 120 start >/dev/null \
        || { tail -20 "$STOCK_DIR/server.log"; exit 1; }
    export PGPORT=$STOCK_PORT PGOPTIONS=""
    STOCK_BASELINE="no standby (a commit waits for nothing)"
    if [ "$STOCK_SYNC" = 1 ]; then
        RW=""
        for c in "${STRATA_PG_HOME:+$STRATA_PG_HOME/bin/pg_receivewal}" "$(command -v pg_receivewal || true)" \
                 $(ls -d /usr/lib/postgresql/*/bin/pg_receivewal 2>/dev/null | sort -V -r); do
            [ -n "$c" ] && [ -x "$c" ] && { RW=$c; break; }
        done
        [ -n "$RW" ] || { echo "--stock-sync needs pg_receivewal (apt-get install postgresql-client)" >&2; exit 1; }
        RW_PRELOAD=""
        if [ "$("$RW" --version | sed -E 's/.* ([0-9]+)[.].*/\1/')" -lt 17 ]; then
            RW_PRELOAD=$OUT/pq-server-version-15.so
            gcc -shared -fPIC -O2 -o "$RW_PRELOAD" "$ROOT/bench/support/pq-server-version-15.c" -ldl
        fi
        for i in 1 2 3; do
            mkdir -p "$STOCK_DIR/receivewal-$i"
            LD_PRELOAD=$RW_PRELOAD "$RW" -D "$STOCK_DIR/receivewal-$i" --synchronous --no-loop \
                -d "host=127.0.0.1 port=$STOCK_PORT user=postgres password=$PW application_name=sk-$i sslmode=disable" \
                >"$STOCK_DIR/receivewal-$i.log" 2>&1 &
            RECEIVEWAL_PIDS="$RECEIVEWAL_PIDS $!"
        done
        q postgres "ALTER SYSTEM SET synchronous_standby_names = 'ANY 2 (\"sk-1\", \"sk-2\", \"sk-3\")'" >/dev/null
        q postgres "SELECT pg_reload_conf()" >/dev/null
        for _ in $(seq 1 120); do
            [ "$(q postgres "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND sync_state = 'quorum'")" = 3 ] && break
            sleep 0.5
        done
        [ "$(q postgres "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'quorum'")" = 3 ] \
            || { echo "the stock server's pg_receivewal did not become synchronous; see $STOCK_DIR/receivewal-*.log" >&2; exit 1; }
        STOCK_BASELINE="three $("$RW" --version | awk '{print $1, $3}') --synchronous, ANY 2 (as the compute's safekeepers)"
        log "stock baseline: $STOCK_BASELINE"
    fi
    set_wcc stock
    for s in "${SUITE_LIST[@]}"; do
        if [ "$WARMUP" = 1 ]; then run_suite stock "$s" warmup; fi
        run_suite stock "$s"
    done
    stop_stock
    rm -rf "$STOCK_DIR"/receivewal-*/  # their WAL (GBs) is not needed after the stock run
    strata_env
fi

# ------------------------------------------------------------------ the suites on Strata
T2=$(date +%s)
if [ "$CHECKS_ONLY" = 0 ]; then
    rss_sampler "$(cat "$DATA_DIR/run/pid")" "$OUT/cluster-rss.kb" & RSS_PID=$!
    set_wcc strata
    for s in "${SUITE_LIST[@]}"; do
        if [ "$WARMUP" = 1 ]; then run_suite strata "$s" warmup; fi
        run_suite strata "$s"
    done
    kill "$RSS_PID" 2>/dev/null || true; RSS_PID=""
fi
# How long writers were throttled (the commit path's backpressure, docs/commit-path.md).
COMMIT_PATH=$(status | grep '^commit path' || true)
T_SUITES=$(( $(date +%s) - T2 ))

# ------------------------------------------------------------------ storage checks
if has_suite regress; then CHECK_DB=regression; else CHECK_DB=isolation_regression; fi
ps_line() { status | grep '^pageserver:'; }
PS_BEFORE=$(ps_line)
log "pageserver after the suites: $PS_BEFORE"
TIMELINE_OK=1
echo "$PS_BEFORE" | grep -q '^pageserver: active' || TIMELINE_OK=0

# Wait until the pageserver has ingested everything the compute flushed.
FLUSH=$(q postgres "SELECT pg_current_wal_flush_lsn()")
lsn2int() { python3 -c "import sys; a,b=sys.argv[1].split('/'); print((int(a,16)<<32)|int(b,16))" "$1"; }
LAST=""
for _ in $(seq 1 300); do
    LAST=$(ps_line | sed -nE 's/.*last record ([0-9A-F]+\/[0-9A-F]+).*/\1/p')
    if [ -n "$LAST" ] && [ "$(lsn2int "$LAST")" -ge "$(lsn2int "$FLUSH")" ]; then break; fi
    sleep 1
done
log "compute flush LSN $FLUSH, pageserver last record ${LAST:-?}"

# One md5 per permanent table of the checked database (unlogged tables are reset by any crash
# restart, temporary ones belong to sessions; both are left out and counted).
TABLES_SQL="SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'm') AND c.relpersistence = 'p' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1"
checksums() { # $1 = output file
    q "$CHECK_DB" "$TABLES_SQL" >"$1.tables"
    : >"$1.sql"
    while read -r t; do
        echo "SELECT '$t', (SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) || ' ' || count(*) FROM $t t);" >>"$1.sql"
    done <"$1.tables"
    "$PSQL" -X -At -F ' ' -d "$CHECK_DB" -f "$1.sql" >"$1" 2>"$1.err" || true
}
SKIPPED_UNLOGGED=$(q "$CHECK_DB" "SELECT count(*) FROM pg_class WHERE relkind IN ('r','m') AND relpersistence = 'u'")
log "checksumming every permanent table of database $CHECK_DB"
checksums "$OUT/checksums.before"
N_TABLES=$(wc -l <"$OUT/checksums.before")
OLD_PID=$(head -1 "$DATA_DIR/computes/main/pgdata/postmaster.pid")
log "kill -9 of the compute's postmaster (pid $OLD_PID); the cluster replaces it from the pageserver"
T3=$(date +%s)
kill -9 "$OLD_PID"
NEW_PID=""
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
"$PSQL" -X -At -d "$CHECK_DB" >"$OUT/amcheck.out" 2>&1 <<'SQL' || true
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
q "$CHECK_DB" "CREATE TABLE IF NOT EXISTS strata_after_restart AS SELECT 1 AS x" >/dev/null 2>&1 || true

# ------------------------------------------------------------------ summary
AM_BAD=$(echo "$AMCHECK" | sed -nE 's/.*heap_bad=([0-9]+) .*btree_bad=([0-9]+)/\1 \2/p')
VERDICT=PASS
[ "$TIMELINE_OK" = 1 ] || VERDICT=FAIL
[ "$MISMATCH" = 0 ] && [ "$N_TABLES" -gt 0 ] || VERDICT=FAIL
[ "$AM_BAD" = "0 0" ] || VERDICT=FAIL
RSS_MB=$(( $(cat "$OUT/cluster-rss.kb" 2>/dev/null || echo 0) / 1024 ))
suite_rows() {
    local s t rc ms wal n ok fail ign failed sms pms
    printf '%-10s %-7s %6s %6s %7s %9s %9s   %s\n' suite server tests ok failed "wall s" "WAL MB" "failed tests"
    for s in "${SUITE_LIST[@]}"; do
        # the untimed warm-up runs first (--warmup; "stock*", "strata*"), then the timed ones
        for t in stock.warmup strata.warmup stock strata; do
            [ -f "$OUT/${t%.warmup}.$s${t#${t%.warmup}}.result" ] || continue
            read -r rc ms wal n ok fail ign failed <"$OUT/${t%.warmup}.$s${t#${t%.warmup}}.result"
            t=${t/.warmup/*}
            printf '%-10s %-7s %6d %6d %7d %9.1f %9d   %s\n' "$s" "$t" "$n" "$ok" "$fail" \
                "$(echo "$ms/1000" | bc -l)" $(( wal >> 20 )) "${failed:-none}$([ "$ign" -gt 0 ] && echo " ($ign ignored)")"
            if [ "${t%\*}" = strata ] && { [ "$fail" != 0 ] || [ "$n" = 0 ] || [ "$rc" != 0 ]; }; then echo "SUITE-FAIL"; fi
        done
        if [ -f "$OUT/stock.$s.result" ] && [ -f "$OUT/strata.$s.result" ]; then
            pms=$(awk '{print $2}' "$OUT/stock.$s.result"); sms=$(awk '{print $2}' "$OUT/strata.$s.result")
            printf '%-10s ratio Strata / stock, wall time: %.2fx; WAL: %.2fx\n' "$s" "$(echo "$sms/$pms" | bc -l)" \
                "$(echo "$(awk '{print $3}' "$OUT/strata.$s.result")/$(awk '{print $3}' "$OUT/stock.$s.result")" | bc -l)"
        fi
    done
}
ROWS=$(suite_rows)
if echo "$ROWS" | grep -q SUITE-FAIL; then VERDICT=FAIL; fi
if [ "$CHECKS_ONLY" = 0 ] && [ ! -f "$OUT/strata.${SUITE_LIST[0]}.result" ]; then VERDICT=FAIL; fi
cat <<EOF | tee "$OUT/summary.txt"

==== PostgreSQL 17.6 suites on Strata (through the proxy) and on stock PostgreSQL 17.6, same run ====
$(echo "$ROWS" | grep -v SUITE-FAIL)
stock baseline:    ${STOCK_BASELINE:-not run}
$([ "$WARMUP" = 1 ] && echo "warm-up:           each suite ran once untimed on each server first (rows marked *); the ratio is of the timed runs")
outputs:           $OUT/{strata,stock}/{regress,isolation}/ (regression.diffs, results/)
cluster JVM:       largest resident set ${RSS_MB} MB while the suites ran on Strata
${COMMIT_PATH:-commit path: (no status)}
timeline:          $([ "$TIMELINE_OK" = 1 ] && echo active, ingest never stopped || echo NOT ACTIVE)
                   before restart: $PS_BEFORE
                   after restart:  $PS_AFTER
tables compared:   $N_TABLES permanent tables of database $CHECK_DB ($SKIPPED_UNLOGGED unlogged left out)
checksums:         $MISMATCH lines differ after kill -9 + new compute from the pageserver ($OUT/checksums.diff)
amcheck:           $AMCHECK
timings:           build ${T_BUILD}s, cluster up ${T_UP}s, Strata suites ${T_SUITES}s, compute replaced in ${T_RESTART}s, total $(( $(date +%s) - T0 ))s
data directory:    $DATA_DIR $([ "$KEEP" = 1 ] && echo "(kept; ./strata down --data-dir $DATA_DIR)" || echo "(cluster stopped; removed if the script made it, output copied to bench/out/pg-regress)")
VERDICT:           $VERDICT
EOF
[ "$VERDICT" = PASS ]
