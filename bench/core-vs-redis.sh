#!/usr/bin/env bash
# Measures quorum (3 nodes via `quorum dev`, every write fsynced on a majority) against
# redis-server with `appendonly yes, appendfsync always`, in one run on this machine:
#   redis-benchmark -t set,get -c 50 -n N at -P 1 and -P 16.
# Usage: bench/core-vs-redis.sh [N]   (default N=200000). Prints a Markdown table.
# Installs redis-server/redis-tools if missing. Uses ports 27001-27203 and 27379.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N=${1:-200000}
command -v redis-benchmark >/dev/null && command -v redis-server >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
}
cargo build --release -q -p quorum
work=$(mktemp -d)
cleanup() {
    [[ -n ${dev_pid:-} ]] && kill -TERM "$dev_pid" 2>/dev/null && wait "$dev_pid" 2>/dev/null
    [[ -n ${redis_pid:-} ]] && kill -TERM "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# rps TEST PORT PIPELINE -> requests per second printed by redis-benchmark
rps() {
    redis-benchmark -p "$2" -t "$1" -c 50 -n "$N" -P "$3" -q 2>/dev/null \
        | tr '\r' '\n' | grep -E "^$(echo "$1" | tr a-z A-Z):.*requests per second" | tail -1 \
        | sed -E 's/.*: ([0-9.]+) requests per second.*/\1/'
}

target/release/quorum dev --base-port 27001 --data-dir "$work/quorum" >"$work/dev.log" 2>&1 &
dev_pid=$!
for _ in $(seq 1 100); do grep -q "Connect with" "$work/dev.log" && break; sleep 0.2; done
grep -q "Connect with" "$work/dev.log" || { cat "$work/dev.log"; exit 1; }
leader=$(redis-cli -p 27001 info raft | tr -d '\r' | sed -n 's/^raft_leader_id://p')
leader_port=$((27000 + leader))
follower_port=$((leader_port == 27001 ? 27002 : 27001))

mkdir -p "$work/redis"
redis-server --port 27379 --dir "$work/redis" --appendonly yes --appendfsync always \
    --save '' --daemonize no >"$work/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 1 50); do redis-cli -p 27379 ping >/dev/null 2>&1 && break; sleep 0.1; done

echo "| target | SET -P 1 | GET -P 1 | SET -P 16 | GET -P 16 |"
echo "|---|---|---|---|---|"
for target in "quorum leader:$leader_port" "quorum follower:$follower_port" "redis AOF always:27379"; do
    name=${target%%:*}
    port=${target##*:}
    echo "| $name | $(rps set "$port" 1) | $(rps get "$port" 1) | $(rps set "$port" 16) | $(rps get "$port" 16) |"
done
echo
echo "redis-benchmark -c 50 -n $N; $(nproc) cores; quorum: 3 nodes on this machine, majority fsync before ack"
