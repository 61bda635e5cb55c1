#!/usr/bin/env bash
# kill -9 of the whole `strata up` process in the middle of restores, under a checking writer
# (issue 16: "kill -9 at every step of the workflow resumes or compensates"). A cluster is started
# with `./strata up --detach`; a writer inserts one row per psql connection through the proxy and
# records each id whose INSERT was acknowledged. Each round runs `strata restore main --to <LSN>`
# (the head a moment before), waits until the operation is RUNNING, waits DELAY more seconds (a
# different delay each round, so the kill lands on different steps of the restore workflow),
# kill -9s the cluster JVM (the safekeepers, pageserver, control plane and proxy with it; its
# PostgreSQL and dynalite children are orphaned, as after a crash) and starts `strata up` again.
# After each restart it checks: `up` became ready, no operation is left SCHEDULED or RUNNING, and
# `main` has an endpoint RUNNING. At the end every acknowledged id must be on main or on one of
# the backup branches (`main_old_*`) that the restores kept. Not part of CI; ~2 minutes a round.
#   bench/restore-kill.sh [--rounds 6] [--data-dir /tmp/strata-restore-kill] [--port 56432]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=6
DIR=/tmp/strata-restore-kill
PORT=56432
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS=$2; shift 2 ;;
        --data-dir) DIR=$2; shift 2 ;;
        --port) PORT=$2; shift 2 ;;
        *) echo "usage: $0 [--rounds N] [--data-dir DIR] [--port N]" >&2; exit 64 ;;
    esac
done
command -v psql >/dev/null || { echo "psql not found (apt-get install postgresql-client)" >&2; exit 1; }
log() { echo "$(date +%H:%M:%S)  $*"; }
WORK=$(mktemp -d /tmp/restore-kill-work.XXXXXX)
WRITER=""
cleanup() {
    [ -n "$WRITER" ] && kill "$WRITER" 2>/dev/null || true
    ./strata down --data-dir "$DIR" >/dev/null 2>&1 || true
    rm -rf "$DIR" "$WORK"
}
trap cleanup EXIT
rm -rf "$DIR"

up() {
    if ! timeout 600 ./strata up --detach --data-dir "$DIR" --proxy-port "$PORT" > "$WORK/up.log" 2>&1; then
        cat "$WORK/up.log" >&2
        log "FAIL: strata up did not become ready (log of the killed run: $DIR/strata.log.1)"
        exit 1
    fi
}
cluster_pid() { cat "$DIR/run/pid"; }
url() { tail -1 "$DIR/run/ready" 2>/dev/null; }

up
psql "$(url)" -qc "CREATE TABLE k (id int PRIMARY KEY, at timestamptz DEFAULT now())"
(
    i=0
    while true; do
        if psql "$(url)" -qAtc "INSERT INTO k (id) VALUES ($i)" >/dev/null 2>&1; then echo "$i" >> "$WORK/acked"; fi
        i=$((i + 1))
    done
) &
WRITER=$!
sleep 5

DELAYS=(0 0.5 1 1.5 2 2.5 3 3.5 4 5)
for r in $(seq 1 "$ROUNDS"); do
    delay=${DELAYS[$(( (r - 1) % ${#DELAYS[@]} ))]}
    lsn=$(psql "$(url)" -qAtc "SELECT pg_current_wal_flush_lsn()")
    sleep 1
    ./strata restore main --to "$lsn" --data-dir "$DIR" > "$WORK/restore.out" 2>&1 &
    restore=$!
    for _ in $(seq 1 600); do grep -q ": RUNNING" "$WORK/restore.out" && break; sleep 0.1; done
    sleep "$delay"
    pid=$(cluster_pid)
    kill -9 "$pid"
    wait "$restore" && state="finished before the kill" || state="cut by the kill"
    log "round $r: restore to $lsn, kill -9 of pid $pid ${delay}s after RUNNING (restore $state); $(wc -l < "$WORK/acked") acknowledged so far"
    up
    for _ in $(seq 1 120); do
        left=$(./strata operation list --project default --data-dir "$DIR" --json \
            | python3 -c 'import json,sys; print(sum(o["state"] in ("SCHEDULED","RUNNING") for o in json.load(sys.stdin)))')
        [ "$left" = 0 ] && break
        sleep 1
    done
    [ "$left" = 0 ] || { log "FAIL: operations still running 120 s after the restart"; exit 1; }
    ./strata operation list --project default --data-dir "$DIR" | awk '$2 == "RESTORE_BRANCH" {print "    " $1, $3}' | tail -1
    psql "$(url)" -qAtc "SELECT 1" >/dev/null || { log "FAIL: main does not answer after the restart"; exit 1; }
done
kill "$WRITER" 2>/dev/null || true
wait "$WRITER" 2>/dev/null || true
WRITER=""

# Every acknowledged id is on main or on a backup branch (each backup keeps the timeline a restore replaced).
sort -n "$WORK/acked" -o "$WORK/acked"
: > "$WORK/have"
for b in $(./strata branch list --data-dir "$DIR" --json | python3 -c 'import json,sys; [print(b["name"]) for b in json.load(sys.stdin)]'); do
    psql "$(./strata connect "$b" --data-dir "$DIR")" -qAtc "SELECT id FROM k" >> "$WORK/have"
done
sort -n -u "$WORK/have" -o "$WORK/have"
missing=$(comm -23 "$WORK/acked" "$WORK/have" | wc -l)
log "$ROUNDS rounds: $(wc -l < "$WORK/acked") inserts acknowledged, $missing of them on no branch"
[ "$missing" = 0 ] || { comm -23 "$WORK/acked" "$WORK/have" | head; exit 1; }
