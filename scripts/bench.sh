#!/usr/bin/env bash
# Measures the bot's full callback path against the floor: a bare net/http handler doing
# one go-redis SET per request on the same Redis (cmd/floor). Both run side by side on
# loopback; cmd/loadgen sends signed, encrypted callbacks with distinct msgids to each,
# first closed-loop at a concurrency, then open-loop at an offered rate. It prints, per
# run, throughput, latency p50/p99, the share of empty replies and the server's CPU per
# request (utime+stime from /proc/<pid>/stat), then the bot/floor ratios.
#
#   scripts/bench.sh                      # 10 s per run, concurrency 16, 1000/s offered
#   DURATION=20s CONC=16 RATE=1000 TEXT='进度' scripts/bench.sh
#   TEXT='会员 320 人口 6200' LOAD_USER=cuihong scripts/bench.sh   # a filing by 大辛's secretary
#   OPEN=1 RATE=5000 scripts/bench.sh     # overload: every reply decrypted, 「系统繁忙」 counted
#
# CONFIG (the bot's campaign file) passes through to the bot; LOAD_USER and LOAD_CHAT must
# then name a person and a group of it.
# Needs Go and a Redis at REDIS_ADDR (default 127.0.0.1:6379); the bot runs in local mode
# on that Redis under a fresh key prefix, removed at the end. Not run by CI.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-2s}"
CONC="${CONC:-16}"
RATE="${RATE:-1000}"
TEXT="${TEXT:-进度}"
OPEN="${OPEN:-}" # 1: loadgen decrypts every reply and counts the busy ones (costs it CPU)
LOAD_USER="${LOAD_USER:-quxin}"                 # 曲欣, a leader of the embedded example campaign
LOAD_CHAT="${LOAD_CHAT:-wrkSFfCgAAchengxi2021}" # its group chat; with CONFIG=<yaml> pick one of that file
redis_addr="${REDIS_ADDR:-127.0.0.1:6379}"
redis_host="${redis_addr%:*}"
redis_port="${redis_addr##*:}"

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 25000))
    listening "$p" || { echo "$p"; return; }
  done
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

work=$(mktemp -d "${TMPDIR:-/tmp}/huanjie-bench.XXXXXX")
prefix="bench:$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n'):"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if command -v redis-cli >/dev/null 2>&1; then
    redis-cli -h "$redis_host" -p "$redis_port" --scan --pattern "${prefix}*" |
      xargs -r -n 500 redis-cli -h "$redis_host" -p "$redis_port" del >/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building…" >&2
go build -o "$work/huanjie" ./cmd/huanjie
go build -o "$work/floor" ./cmd/floor
go build -o "$work/loadgen" ./cmd/loadgen

# Credentials for this run only: a token and a 43-character EncodingAESKey.
export WECOM_TOKEN="bench$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export WECOM_AES_KEY="$(head -c 32 /dev/urandom | base64 | tr -d '=\n')"

bot_port=$(free_port)
LOCAL=1 REDIS_URL="redis://$redis_addr/0" REDIS_PREFIX="$prefix" ADDR="127.0.0.1:$bot_port" \
  PHOTOS_DIR="$work/photos" DATA_FILE="$work/data.json" "$work/huanjie" >"$work/bot.log" 2>&1 &
bot_pid=$!
pids+=("$bot_pid")
floor_port=$(free_port)
"$work/floor" -addr "127.0.0.1:$floor_port" -redis "$redis_addr" -key "${prefix}floor" >"$work/floor.log" 2>&1 &
floor_pid=$!
pids+=("$floor_pid")
for _ in $(seq 100); do
  listening "$bot_port" && listening "$floor_port" && break
  sleep 0.1
done
listening "$bot_port" || { cat "$work/bot.log" >&2; echo "the bot did not start" >&2; exit 1; }
listening "$floor_port" || { cat "$work/floor.log" >&2; echo "the floor did not start" >&2; exit 1; }
bot_url="http://127.0.0.1:$bot_port/wecom/callback"
floor_url="http://127.0.0.1:$floor_port/wecom/callback"

declare -A rps replied p50 p99 empty failed cpu busy
# measure NAME PID URL LOADGEN-ARGS…: one run, with the server's CPU time around it.
measure() {
  local name=$1 pid=$2 url=$3
  shift 3
  local t0 t1 out line sent
  t0=$(cpu_ticks "$pid")
  local open=()
  [[ -n "$OPEN" && $name == bot-* ]] && open=(-open) # the floor's "ok" is no WeCom reply
  out=$("$work/loadgen" -url "$url" -label "$name" -d "$DURATION" -text "$TEXT" -user "$LOAD_USER" -chat "$LOAD_CHAT" "${open[@]}" "$@")
  t1=$(cpu_ticks "$pid")
  echo "$out" | grep -v '^RESULT' >&2
  line=$(echo "$out" | grep '^RESULT')
  val() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
  sent=$(val sent)
  rps[$name]=$(val rps)
  replied[$name]=$(val replied_rps)
  failed[$name]=$(val failed)
  p50[$name]=$(val p50_ms)
  p99[$name]=$(val p99_ms)
  empty[$name]=$(val empty_share)
  busy[$name]=$(awk -v b="$(val busy)" -v n="$sent" 'BEGIN { printf "%.1f%%", n ? b * 100 / n : 0 }')
  cpu[$name]=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v n="$sent" 'BEGIN { printf "%.3f", n ? d * 1000 / hz / n : 0 }')
  sleep 1 # let abandoned work settle before the next run
}

echo "warming up ($WARMUP each)…" >&2
"$work/loadgen" -url "$bot_url" -d "$WARMUP" -c "$CONC" -text "$TEXT" -user "$LOAD_USER" -chat "$LOAD_CHAT" >/dev/null
"$work/loadgen" -url "$floor_url" -d "$WARMUP" -c "$CONC" -text "$TEXT" -user "$LOAD_USER" -chat "$LOAD_CHAT" >/dev/null

measure "bot-c$CONC" "$bot_pid" "$bot_url" -c "$CONC"
measure "floor-c$CONC" "$floor_pid" "$floor_url" -c "$CONC"
measure "bot-${RATE}/s" "$bot_pid" "$bot_url" -rate "$RATE"
measure "floor-${RATE}/s" "$floor_pid" "$floor_url" -rate "$RATE"

echo
echo "callbacks of「$TEXT」from $LOAD_USER, $DURATION per run, $(nproc) cores, Redis $redis_addr"
printf '%-16s %9s %10s %9s %9s %7s %7s %11s %7s\n' run "sent/s" "replies/s" "p50 ms" "p99 ms" empty failed "CPU ms/req" busy
for name in "bot-c$CONC" "floor-c$CONC" "bot-${RATE}/s" "floor-${RATE}/s"; do
  printf '%-16s %9s %10s %9s %9s %6.1f%% %7s %11s %7s\n' "$name" "${rps[$name]}" "${replied[$name]}" "${p50[$name]}" "${p99[$name]}" \
    "$(awk -v e="${empty[$name]}" 'BEGIN { print e * 100 }')" "${failed[$name]}" "${cpu[$name]}" "$([ -n "$OPEN" ] && echo "${busy[$name]}" || echo -)"
done
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
echo "at concurrency $CONC: bot/floor throughput $(ratio "${rps[bot-c$CONC]}" "${rps[floor-c$CONC]}")," \
  "CPU per request ×$(ratio "${cpu[bot-c$CONC]}" "${cpu[floor-c$CONC]}"), p99 ×$(ratio "${p99[bot-c$CONC]}" "${p99[floor-c$CONC]}")"
echo "at $RATE/s offered: the bot replied to $(ratio "${replied[bot-${RATE}/s]}" 1)/s (floor $(ratio "${replied[floor-${RATE}/s]}" 1)/s), empty replies" \
  "$(awk -v e="${empty[bot-${RATE}/s]}" 'BEGIN { printf "%.1f%%", e * 100 }'), p99 ${p99[bot-${RATE}/s]} ms;" \
  "floor p99 ${p99[floor-${RATE}/s]} ms"
