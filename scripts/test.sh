#!/usr/bin/env bash
# Runs every test of the project against a real Redis (REDIS_ADDR, default 127.0.0.1:6379).
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

# Debian packages the tests need: a Redis server (when none answers), and Chromium with
# a CJK font for the dashboard's headless-browser test.
pkgs=()
redis_up || command -v redis-server >/dev/null 2>&1 || pkgs+=(redis-server)
command -v chromium >/dev/null 2>&1 || pkgs+=(chromium)
ls /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc >/dev/null 2>&1 || pkgs+=(fonts-noto-cjk)
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
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt needed:" >&2; echo "$unformatted" >&2; exit 1
fi
go vet ./...
go test -race -count=1 "$@" ./...
