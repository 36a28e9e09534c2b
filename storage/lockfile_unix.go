//go:build unix

package storage

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive, non-blocking advisory lock on f; the kernel drops it when
// the process dies, so a store killed with kill -9 opens again at once.
func lockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
