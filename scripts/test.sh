#!/usr/bin/env bash
# Runs every test of the project against a real Redis (REDIS_ADDR, default 127.0.0.1:6379)
# and the storage and end-to-end tests also against a throw-away 3-master Redis Cluster on
# free loopback ports (REDIS_CLUSTER_ADDRS; scripts/redis-cluster.sh), stopped at exit.
# Starts a throw-away redis-server when none answers; installs what is missing (Debian).
set -euo pipefail
cd "$(dirname "$0")/.."

addr="${REDIS_ADDR:-127.0.0.1:6379}"
host="${addr%:*}"
port="${addr##*:}"

redis_up() {
  if command -v redis-cli >/dev/null 2>&1; then
    redis-cli -h "$host" -p "$port" ping 2>/dev/null | grep -q PONG
  else
    (exec 3<>"/dev/tcp/$host/$port" && printf 'PING\r\n' >&3 && head -c5 <&3 | grep -q PONG) 2>/dev/null
  fi
}

# Debian packages the tests need: a Redis server and redis-cli (for the cluster and the
# fault tests), Chromium with a CJK font and the colour emoji a phone shows for the
# dashboard's headless-browser tests, and LibreOffice Calc with poppler-utils to print the
# workbook to PDF and PNG (exports), with Carlito, the font with Calibri's widths, so
# column widths print as they do in Excel; and Node with npm to run WeCom's own
# long-connection SDK against the gateway stand-in.
pkgs=()
{ command -v redis-server && command -v redis-cli; } >/dev/null 2>&1 || pkgs+=(redis-server)
command -v chromium >/dev/null 2>&1 || pkgs+=(chromium)
ls /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc >/dev/null 2>&1 || pkgs+=(fonts-noto-cjk)
ls /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf >/dev/null 2>&1 || pkgs+=(fonts-noto-color-emoji)
command -v soffice >/dev/null 2>&1 || pkgs+=(libreoffice-calc)
{ command -v pdftotext && command -v pdftoppm; } >/dev/null 2>&1 || pkgs+=(poppler-utils)
ls /usr/share/fonts/truetype/crosextra/Carlito-Regular.ttf >/dev/null 2>&1 || pkgs+=(fonts-crosextra-carlito)
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
if [ ${#pkgs[@]} -gt 0 ]; then
  echo "scripts/test.sh: installing ${pkgs[*]}" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi

if ! redis_up; then
  echo "scripts/test.sh: starting redis-server on $host:$port (in memory, no persistence)" >&2
  redis-server --daemonize yes --bind "$host" --port "$port" --save "" --appendonly no \
    --dir /tmp --logfile /tmp/huanjie-test-redis.log
  for _ in $(seq 50); do redis_up && break; sleep 0.1; done
  redis_up || { echo "scripts/test.sh: redis-server did not come up" >&2; exit 1; }
fi

export REDIS_ADDR="$addr"

# WeCom's SDK (@wecom/aibot-node-sdk, pinned in scripts/aibot-sdk/package-lock.json) for
# bot/wecomfake's TestWeComSDKAgainstTheGateway, which fails rather than skips with it set.
if [ ! -d scripts/aibot-sdk/node_modules/@wecom/aibot-node-sdk ]; then
  echo "scripts/test.sh: installing WeCom's aibot-node-sdk (npm ci in scripts/aibot-sdk)" >&2
  npm ci --prefix scripts/aibot-sdk --no-audit --no-fund --loglevel=error >/dev/null
fi
export AIBOT_SDK_DIR="$PWD/scripts/aibot-sdk"

if [ -z "${REDIS_CLUSTER_ADDRS:-}" ]; then
  cluster_dir=$(mktemp -d "${TMPDIR:-/tmp}/huanjie-cluster.XXXXXX")
  trap 'scripts/redis-cluster.sh stop "$cluster_dir"' EXIT
  trap 'exit 130' INT TERM
  REDIS_CLUSTER_ADDRS=$(scripts/redis-cluster.sh start "$cluster_dir")
  echo "scripts/test.sh: started a Redis Cluster for the tests at $REDIS_CLUSTER_ADDRS" >&2
fi
export REDIS_CLUSTER_ADDRS

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt needed:" >&2; echo "$unformatted" >&2; exit 1
fi
go vet ./...
go vet -tags faults ./internal/faults/
go test -race -count=1 "$@" ./...

# Every fuzz target in the repository (any func FuzzXxx in a _test.go file) runs for
# FUZZTIME (default 20000 executions; a duration such as 30s also works; 0 skips); its seed
# corpus in testdata/fuzz also ran above. A count, not a time, by default: on a loaded
# machine Go's fuzzer can fail a timed run with "context deadline exceeded" when the time
# runs out while a worker is busy, which says nothing about the code.
fuzztime="${FUZZTIME:-20000x}"
if [ "$fuzztime" != 0 ]; then
  { grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(' . || true; } | sort | while read -r file; do
    dir="$(dirname "$file")"
    for target in $(grep -oE '^func Fuzz[A-Za-z0-9_]*' "$file" | cut -c6-); do
      echo "fuzz: $target ($dir, $fuzztime)" >&2
      go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$dir"
    done
  done
fi

# The fault tests (scripts/faults.sh); FAULTS=0 skips them.
if [ "${FAULTS:-1}" != 0 ]; then
  ./scripts/faults.sh
fi
