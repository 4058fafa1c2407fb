//go:build !windows

package filelock

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTryLock(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "x.lock")
	release, err := Lock(path)
	require.NoError(t, err)
	_, err = TryLock(path)
	require.ErrorIs(t, err, ErrLocked, "held: refused without waiting")
	release()
	again, err := TryLock(path)
	require.NoError(t, err, "released: free again")
	again()
}
