#!/usr/bin/env bash
# The fault tests: the real bot binary and a real redis-server of their own (on a free
# loopback port, AOF in a temporary folder), through what goes wrong in production —
# kill -9 of the bot on its embedded store, kill -9 of a Redis with AOF, a stalled Redis
# (SIGSTOP), three JPEG decompression bombs at once, 照片打包 thirteen times. Each step
# checks that nothing acknowledged is lost and that the bot's peak resident memory
# (VmHWM in /proc/<pid>/status) stays under the bound in internal/faults (256 MB).
# Linux only (/proc, signals). Takes about half a minute.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1; then
  echo "scripts/faults.sh: installing redis-server" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi

go test -tags faults -count=1 -timeout 10m "$@" ./internal/faults/
