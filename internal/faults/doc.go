// Package faults holds the fault tests (build tag "faults", run by scripts/faults.sh):
// the real bot binary, a real redis-server, and what goes wrong in production — kill -9
// of the bot on its embedded store, kill -9 of a Redis with AOF, a stalled Redis
// (SIGSTOP), a JPEG decompression bomb, 照片打包 again and again. Each step checks that
// nothing acknowledged is lost and that the bot's peak memory (VmHWM) stays under
// MemoryBound.
package faults
