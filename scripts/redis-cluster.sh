#!/usr/bin/env bash
# A throw-away Redis Cluster of three masters on free loopback ports, for the tests.
#
#   scripts/redis-cluster.sh start DIR   starts it with its files in DIR (created) and prints
#                                        the addresses, comma-separated, once every node
#                                        reports cluster_state:ok
#   scripts/redis-cluster.sh stop DIR    shuts down the nodes started in DIR and removes DIR
#
# Ports are drawn at random from 20000-44999 (the cluster bus takes port+10000) and only
# used when nothing listens on either, so several runs on one machine and the Redis on
# 6379 never collide. Nodes keep nothing on disk besides their cluster config.
set -euo pipefail

cmd="${1:-}"
dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop() {
  [ -d "$dir" ] || return 0
  for pidfile in "$dir"/redis-*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile" 2>/dev/null || true)
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  for pidfile in "$dir"/redis-*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile" 2>/dev/null || true)
    for _ in $(seq 50); do
      [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  done
  rm -rf "$dir"
}

# start_node PORT: starts one cluster-enabled node; fails when it does not answer.
start_node() {
  local p=$1
  redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "nodes-$p.conf" \
    --cluster-node-timeout 5000 --dir "$dir" --save "" --appendonly no \
    --daemonize yes --pidfile "$dir/redis-$p.pid" --logfile "$dir/redis-$p.log" >/dev/null || return 1
  for _ in $(seq 50); do
    redis-cli -p "$p" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.1
  done
  return 1
}

start() {
  mkdir -p "$dir"
  local ports=() tries=0 p
  while [ ${#ports[@]} -lt 3 ]; do
    tries=$((tries + 1))
    [ $tries -le 30 ] || { echo "redis-cluster: no free ports found" >&2; return 1; }
    p=$((20000 + RANDOM % 25000))
    case " ${ports[*]-} " in *" $p "*) continue ;; esac
    if listening "$p" || listening $((p + 10000)); then continue; fi
    if start_node "$p"; then
      ports+=("$p")
    else
      echo "redis-cluster: node on port $p did not start (see $dir/redis-$p.log); trying another port" >&2
    fi
  done
  local addrs=() nodes=()
  for p in "${ports[@]}"; do addrs+=("127.0.0.1:$p"); done
  redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 || {
    cat "$dir/create.log" >&2
    return 1
  }
  for _ in $(seq 100); do
    nodes=()
    for p in "${ports[@]}"; do
      redis-cli -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' && nodes+=("$p")
    done
    [ ${#nodes[@]} -eq 3 ] && break
    sleep 0.1
  done
  [ ${#nodes[@]} -eq 3 ] || { echo "redis-cluster: the cluster did not reach cluster_state:ok" >&2; return 1; }
  (IFS=,; echo "${addrs[*]}")
}

case "$cmd" in
  start) start || { stop; exit 1; } ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
