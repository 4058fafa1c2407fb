package har_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/har"
)

// TestWriteFileReadFile: a saved recording reads back as written, and a
// failed save leaves the old file alone.
func TestWriteFileReadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "booking.har")
	h := &har.HAR{Log: har.Log{Version: "1.2", Creator: har.Creator{Name: "test", Version: "1"}, Entries: []har.Entry{{
		StartedDateTime: "2026-12-24T01:00:00.000Z",
		Request:         har.Request{Method: "GET", URL: "http://127.0.0.1/login.do", Cookies: []har.Cookie{}, Headers: []har.NameValue{}, QueryString: []har.NameValue{}},
		Response: har.Response{Status: 200, Cookies: []har.Cookie{}, Headers: []har.NameValue{},
			Content: har.Content{Size: 2, MimeType: "text/html; charset=EUC-KR", Text: "sKE=", Encoding: "base64"}},
	}}}}
	require.NoError(t, har.WriteFile(path, h))
	back, err := har.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, h, back)
	var want bytes.Buffer
	require.NoError(t, har.Write(&want, h))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, want.String(), string(got), "the file is what Write writes")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), fi.Mode().Perm())

	require.Error(t, har.WriteFile(filepath.Join(dir, "missing", "x.har"), h))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file is left behind")

	_, err = har.ReadFile(filepath.Join(dir, "missing.har"))
	require.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, os.WriteFile(path, []byte(`{"log":{"version":"2.0","entries":[]}}`), 0o644))
	_, err = har.ReadFile(path)
	require.True(t, errors.Is(err, har.ErrNotHAR), err)
}
