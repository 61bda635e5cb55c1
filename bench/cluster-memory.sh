#!/usr/bin/env bash
# Resident memory of the local cluster's one JVM (3 safekeepers, pageserver, proxy) under a
# pgbench workload through the proxy: samples VmRSS every 2 s, prints the peak and VmHWM.
# The JVM is bounded by the strata script (-Xmx, -XX:MaxDirectMemorySize; docs/local-cluster.md,
# "Limits"); STRATA_CLUSTER_HEAP and STRATA_CLUSTER_DIRECT_MEMORY change the bounds.
# Not part of CI. Usage: bench/cluster-memory.sh [--scale 20] [--seconds 120] [--clients 8]
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=20; SECONDS_RUN=120; CLIENTS=8
while [ $# -gt 0 ]; do
    case "$1" in
        --scale) SCALE=$2; shift 2 ;;
        --seconds) SECONDS_RUN=$2; shift 2 ;;
        --clients) CLIENTS=$2; shift 2 ;;
        *) echo "usage: $0 [--scale N] [--seconds N] [--clients N]" >&2; exit 64 ;;
    esac
done
DATA_DIR=$(mktemp -d /tmp/strata-memory.XXXXXX)
PROXY_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
    [ -n "${SAMPLER:-}" ] && kill "$SAMPLER" 2>/dev/null || true
    ./strata down --data-dir "$DATA_DIR" >/dev/null 2>&1 || true
    rm -rf "$DATA_DIR"
}
trap cleanup EXIT
./strata up --detach --data-dir "$DATA_DIR" --proxy-port "$PROXY_PORT" >"$DATA_DIR/up.out" 2>&1 \
    || { cat "$DATA_DIR/up.out"; exit 1; }
PID=$(cat "$DATA_DIR/run/pid" 2>/dev/null || pgrep -f -- "--data-dir $DATA_DIR.*--daemon" | head -1)
URL=$(tail -1 "$DATA_DIR/run/ready")
PW=$(echo "$URL" | sed -E 's|postgresql://[^:]+:([^@]+)@.*|\1|')
export PGHOST=127.0.0.1 PGPORT=$PROXY_PORT PGUSER=postgres PGPASSWORD=$PW PGOPTIONS="endpoint=main" PGDATABASE=postgres
echo "cluster JVM pid $PID: $(tr '\0' ' ' </proc/$PID/cmdline | grep -oE -- '-Xmx[^ ]+|-XX:MaxDirectMemorySize=[^ ]+' | tr '\n' ' ')"
# RssAnon: heap, direct buffers, metaspace, stacks; RssFile: pages of mmap'ed layer files
# (page cache the kernel can take back), counted in RSS too.
( while kill -0 "$PID" 2>/dev/null; do
    awk '/VmRSS|RssAnon|RssFile/ {printf "%s ", $2} END {print ""}' /proc/$PID/status; sleep 2
  done ) >"$DATA_DIR/rss.kb" &
SAMPLER=$!
pgbench -i -s "$SCALE" -q >/dev/null 2>&1
pgbench -c "$CLIENTS" -j 2 -T "$SECONDS_RUN" -P 30 2>&1 | grep -E '^progress|^tps|latency average'
PEAK=$(awk '{print $1}' "$DATA_DIR/rss.kb" | sort -n | tail -1)
ANON=$(awk '{print $2}' "$DATA_DIR/rss.kb" | sort -n | tail -1)
FILE=$(awk '{print $3}' "$DATA_DIR/rss.kb" | sort -n | tail -1)
HWM=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)
echo "pgbench -i -s $SCALE, then -c $CLIENTS -T $SECONDS_RUN: cluster JVM peak RSS $((PEAK / 1024)) MiB" \
     "(peak anonymous $((ANON / 1024)) MiB, peak mapped files $((FILE / 1024)) MiB), VmHWM $((HWM / 1024)) MiB"
