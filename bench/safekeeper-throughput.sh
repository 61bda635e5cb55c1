#!/usr/bin/env bash
# WAL throughput of a quorum of receivers during one large transaction (issue 11 item 9):
# a PG17 compute with Strata's compute settings (wal_consistency_checking: the compute's current default,
# ComputeSettings.WAL_CONSISTENCY_CHECKING, '' today; --wal-consistency-checking all for the images-first WAL
# of the figures in docs/safekeeper.md)
# and synchronous_standby_names = 'ANY 2 ("sk-1", "sk-2", "sk-3")' over (A) three stock
# `pg_receivewal --synchronous` and (B) three Strata safekeepers, both on this machine, in the
# same run. Each round runs one INSERT ... SELECT on each side (order alternating) and prints
# MB/s = WAL bytes / time until the commit returned; the result is the median of the per-round
# ratios B/A. About 3-4 minutes with defaults. Not run in CI.
#   bench/safekeeper-throughput.sh [--rounds 3] [--rows 200000] [--pad 200] [--warmup-rows 50000]
#                                  [--only AB] [--profile] [--wal-consistency-checking compute]
# --profile: a JFR recording per safekeeper (bench/out/safekeeper-throughput/sk-N.jfr) and the
# top sampled frames of its stream thread printed at the end.
#
# pg_receivewal: the zonky PG17 archive the project unpacks has only initdb/pg_ctl/postgres, and
# Debian 12 ships the 15 client (postgresql-client-15). A pg_receivewal >= 17 on PATH or in
# $STRATA_PG_HOME/bin is used as it is; a 15/16 one gets bench/support/pq-server-version-15.c
# as LD_PRELOAD, which only lifts its "server newer than client" check (physical streaming is
# the same protocol from 15 to 17).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-env.sh
strata_java_env
mkdir -p bench/out
PROFILE=""
ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --profile) PROFILE=1; shift ;;
        *) ARGS+=("$1"); shift ;;
    esac
done

RECEIVEWAL=""
for c in "${STRATA_PG_HOME:+$STRATA_PG_HOME/bin/pg_receivewal}" "$(command -v pg_receivewal || true)" \
         $(ls -d /usr/lib/postgresql/*/bin/pg_receivewal 2>/dev/null | sort -V -r); do
    [ -n "$c" ] && [ -x "$c" ] || continue
    RECEIVEWAL=$c; break
done
[ -n "$RECEIVEWAL" ] || { echo "no pg_receivewal (apt-get install postgresql-client)" >&2; exit 1; }
MAJOR=$("$RECEIVEWAL" --version | sed -E 's/.* ([0-9]+)[.].*/\1/')
PRELOAD=""
if [ "$MAJOR" -lt 17 ]; then
    PRELOAD="$PWD/bench/out/pq-server-version-15.so"
    gcc -shared -fPIC -O2 -o "$PRELOAD" bench/support/pq-server-version-15.c -ldl
fi
echo "pg_receivewal: $RECEIVEWAL ($("$RECEIVEWAL" --version))${PRELOAD:+, LD_PRELOAD $PRELOAD}" >&2

# -am builds pgcore in the same reactor (never mvn install).
mvn -q -pl safekeeper-service -am test-compile dependency:build-classpath \
    -Dmdep.outputFile="$PWD/bench/out/safekeeper-classpath.txt" >/dev/null
CP="safekeeper-service/target/test-classes:safekeeper-service/target/classes:$(cat bench/out/safekeeper-classpath.txt)"
OUT=bench/out/safekeeper-throughput
JVM_EXTRA=()
if [ -n "$PROFILE" ]; then
    mkdir -p bench/out/jfr
    JVM_EXTRA=("-Dstrata.bench.safekeeperJvmArgs=-XX:StartFlightRecording=filename=$PWD/bench/out/jfr/%s.jfr,settings=profile,dumponexit=true")
fi
java -Xmx1g --enable-native-access=ALL-UNNAMED "${JVM_EXTRA[@]}" -cp "$CP" dev.strata.safekeeper.it.ThroughputBench \
    --receivewal "$RECEIVEWAL" --preload "$PRELOAD" --dir "$OUT" "${ARGS[@]}"
if [ -n "$PROFILE" ]; then
    for f in bench/out/jfr/*.jfr; do
        echo "== $f: the stream thread (socket, validation, append, force) =="
        python3 bench/support/jfr-thread-profile.py "$JAVA_HOME/bin/jfr" "$f" '^compute-stream-' 12
    done
fi
