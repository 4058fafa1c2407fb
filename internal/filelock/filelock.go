// Package filelock takes exclusive advisory locks on files (flock), for
// processes of one machine that share a file: the SQLite migration and the
// daemon's outcome journal. It does not lock across machines.
package filelock

import "errors"

// ErrLocked is returned by TryLock when another holder has the lock.
var ErrLocked = errors.New("file is locked by another process")
