#!/usr/bin/env bash
# System calls and CPU of each process of the Strata side of bench/commit-vs-stock.sh, over 10 s
# of one of its TPS rounds: run next to the bench (as root, perf installed), e.g.
#   bench/commit-vs-stock.sh --dir /tmp/cvs ... &
#   bench/support/commit-syscalls.sh /tmp/cvs /tmp/cvs-syscalls 3
# waits for the 3rd `pgbench -T` against the compute (1 = the warm-up, 2 = round 1, 3 = round 2),
# then runs `perf stat` on each safekeeper JVM, the pageserver JVM, each walsender of the compute
# and the bench JVM (S3Proxy, the compute agent, the proxy; the whole cluster with
# --cluster-jvms one) for 10 s, one file per process in OUTDIR. Divide by TPS x 10 for per commit.
# Only processes whose parent chain reaches this bench's JVM or its compute are measured; pgbench
# and the per-connection backends are left out (perf stat -p would charge a forked child to the
# thread that forked it).
set -euo pipefail
dir=${1:?cluster directory given to commit-vs-stock.sh --dir}
out=${2:?output directory}
nth=${3:-3}
mkdir -p "$out"
bench=""
for _ in $(seq 1 3000); do bench=$(pgrep -f "CommitVsStockBench.*--dir $dir" | head -1 || true); [ -n "$bench" ] && break; sleep 1; done
[ -n "$bench" ] || { echo "no CommitVsStockBench with --dir $dir" >&2; exit 1; }
pm=""
for _ in $(seq 1 3000); do pm=$(pgrep -f "postgres -D $dir/cluster/computes" | head -1 || true); [ -n "$pm" ] && break; sleep 1; done
port=""
for _ in $(seq 1 600); do
    port=$(ss -ltnpH 2>/dev/null | grep "pid=$pm," | awk '{print $4}' | sed 's/.*://' | head -1 || true)
    [ -n "$port" ] && break
    sleep 1
done
echo "bench JVM $bench, compute postmaster $pm on port $port"
seen=0
while true; do
    pb=$(pgrep -f "pgbench.*-T.*:$port/" | head -1 || true)
    if [ -n "$pb" ]; then
        seen=$((seen + 1))
        echo "pgbench $pb against the compute (#$seen) at $(date +%T)"
        [ "$seen" -ge "$nth" ] && break
        while kill -0 "$pb" 2>/dev/null; do sleep 0.3; done
    fi
    sleep 0.2
done
sleep 3
events='syscalls:sys_enter_fdatasync,syscalls:sys_enter_pwrite64,syscalls:sys_enter_write,syscalls:sys_enter_read,'
events+='syscalls:sys_enter_sendto,syscalls:sys_enter_recvfrom,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_futex,'
events+='context-switches,task-clock'
ours() { # is $1 a descendant of the bench JVM or of the compute's postmaster?
    local p=$1
    for _ in 1 2 3 4 5; do
        p=$(ps -o ppid= -p "$p" 2>/dev/null | tr -d ' ')
        [ -z "$p" ] && return 1
        [ "$p" = "$bench" ] || [ "$p" = "$pm" ] && return 0
    done
    return 1
}
for p in $(pgrep -f "SafekeeperMain|PageserverMain" || true) $(pgrep -P "$pm" -f walsender || true) "$bench"; do
    [ "$p" = "$bench" ] || ours "$p" || continue
    name=$(tr '\0' ' ' < "/proc/$p/cmdline" | grep -o "SafekeeperMain\|PageserverMain\|walsender\|CommitVsStockBench" | head -1)
    perf stat -e "$events" -p "$p" -o "$out/$name-$p.txt" -- sleep 10 &
done
wait
for f in "$out"/*.txt; do
    printf '%-40s %s\n' "$(basename "$f" .txt)" "$(grep -E 'syscalls:|context-switches|task-clock' "$f" \
        | awk '{n=$2; sub("syscalls:sys_enter_", "", n); printf "%s=%s ", n, $1}')"
done
