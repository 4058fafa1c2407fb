package secret

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSealOpen(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{7}, KeySize)
	box, err := NewBox(key)
	require.NoError(t, err)

	sealed, err := box.Seal([]byte("pass1234"), []byte("acct:1"))
	require.NoError(t, err)
	require.NotContains(t, string(sealed), "pass1234")

	plain, err := box.Open(sealed, []byte("acct:1"))
	require.NoError(t, err)
	require.Equal(t, "pass1234", string(plain))

	_, err = box.Open(sealed, []byte("acct:2"))
	require.ErrorIs(t, err, ErrOpen, "a value moved to another account must not open")

	other, err := NewBox(bytes.Repeat([]byte{8}, KeySize))
	require.NoError(t, err)
	_, err = other.Open(sealed, []byte("acct:1"))
	require.ErrorIs(t, err, ErrOpen)

	again, err := box.Seal([]byte("pass1234"), []byte("acct:1"))
	require.NoError(t, err)
	require.NotEqual(t, sealed, again, "nonces must differ")
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	raw := bytes.Repeat([]byte{0xfb}, KeySize)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding} {
		key, err := ParseKey(" " + enc.EncodeToString(raw) + "\n")
		require.NoError(t, err)
		require.Equal(t, raw, key)
	}
	_, err := ParseKey(base64.StdEncoding.EncodeToString(raw[:16]))
	require.ErrorIs(t, err, ErrBadKey)
	_, err = ParseKey("not base64 at all!")
	require.ErrorIs(t, err, ErrBadKey)
}

func TestKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "var", "secret.key")
	key, err := LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	require.Len(t, key, KeySize)

	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	again, err := LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	require.Equal(t, key, again, "the second start must read the same key")

	require.NoError(t, os.Chmod(path, 0o644))
	_, err = LoadOrCreateKeyFile(path)
	require.ErrorContains(t, err, "chmod 600")
}
