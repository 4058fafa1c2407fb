package journal

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func setup(t *testing.T) (string, *Journal) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "var", "journal", "outcomes.jsonl")
	j, err := Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	return path, j
}

func ops(es []Entry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.Op+":"+string(e.Data))
	}
	return out
}

func TestAppendDoneReopen(t *testing.T) {
	t.Parallel()
	path, j := setup(t)
	at := time.Date(2026, 12, 1, 1, 0, 0, 0, time.FixedZone("KST", 9*3600))
	s1, err := j.Append(Entry{BookingID: 7, Op: "succeed", Data: json.RawMessage(`{"reservation_no":"R-1"}`), At: at})
	require.NoError(t, err)
	s2, err := j.Append(Entry{BookingID: 8, Op: "fail", Data: json.RawMessage(`{"reason":"sold_out"}`)})
	require.NoError(t, err)
	s3, err := j.Append(Entry{BookingID: 9, Op: "cancel"})
	require.NoError(t, err)
	require.Equal(t, []uint64{1, 2, 3}, []uint64{s1, s2, s3})
	require.NoError(t, j.Done(s2))
	require.NoError(t, j.Done(s2), "done twice is harmless")
	require.ErrorIs(t, j.Done(99), ErrUnknownSeq)
	_, err = j.Append(Entry{BookingID: 1})
	require.Error(t, err, "an entry needs an op")
	require.Equal(t, []string{`succeed:{"reservation_no":"R-1"}`, "cancel:"}, ops(j.Pending()))
	require.NoError(t, j.Close())
	require.NoError(t, j.Close(), "closing twice is harmless")
	_, err = j.Append(Entry{Op: "fail"})
	require.ErrorIs(t, err, ErrClosed)

	j, err = Open(path)
	require.NoError(t, err)
	defer j.Close()
	p := j.Pending()
	require.Equal(t, []string{`succeed:{"reservation_no":"R-1"}`, "cancel:"}, ops(p))
	require.Equal(t, int64(7), p[0].BookingID)
	require.True(t, p[0].At.Equal(at))
	require.NoError(t, j.Done(s1))
	s4, err := j.Append(Entry{BookingID: 10, Op: "fail"})
	require.NoError(t, err)
	require.Equal(t, uint64(4), s4, "numbers go on after a reopen")
	require.Equal(t, []string{"cancel:", "fail:"}, ops(j.Pending()))
}

// A crash in the middle of a write leaves a torn last line: it was never
// confirmed, so it is dropped, and the next append starts a clean line.
func TestTornLastLine(t *testing.T) {
	t.Parallel()
	path, j := setup(t)
	_, err := j.Append(Entry{BookingID: 1, Op: "succeed"})
	require.NoError(t, err)
	_, err = j.Append(Entry{BookingID: 2, Op: "fail"})
	require.NoError(t, err)
	require.NoError(t, j.Close())

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	whole := len(data)
	torn := append(data, []byte(`{"seq":3,"booking_id":3,"op":"canc`)...)
	require.NoError(t, os.WriteFile(path, torn, 0o600))

	j, err = Open(path)
	require.NoError(t, err)
	require.Equal(t, []string{"succeed:", "fail:"}, ops(j.Pending()))
	seq, err := j.Append(Entry{BookingID: 3, Op: "cancel"})
	require.NoError(t, err)
	require.Equal(t, uint64(3), seq)
	require.NoError(t, j.Close())
	data, err = os.ReadFile(path)
	require.NoError(t, err)
	require.NotContains(t, string(data), `"canc{`, "the torn bytes are gone")
	require.Equal(t, 3, strings.Count(string(data), "\n"))
	require.Greater(t, len(data), whole)

	// A whole record that only lost its newline is kept.
	require.NoError(t, os.WriteFile(path, append(data, []byte(`{"done":1}`)...), 0o600))
	j, err = Open(path)
	require.NoError(t, err)
	require.Equal(t, []string{"fail:", "cancel:"}, ops(j.Pending()))
	_, err = j.Append(Entry{BookingID: 4, Op: "fail"})
	require.NoError(t, err)
	require.NoError(t, j.Close())
	j, err = Open(path)
	require.NoError(t, err)
	require.Equal(t, []string{"fail:", "cancel:", "fail:"}, ops(j.Pending()))
	require.NoError(t, j.Close())

	// Damage anywhere but at the end is not guessed around.
	data, err = os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, append([]byte("garbage\n"), data...), 0o600))
	_, err = Open(path)
	require.ErrorContains(t, err, "line 1 is not a journal record")
}

func TestCompact(t *testing.T) {
	t.Parallel()
	path, j := setup(t)
	for i := range 100 {
		seq, err := j.Append(Entry{BookingID: int64(i), Op: "fail", Data: json.RawMessage(`{"reason":"window_closed"}`)})
		require.NoError(t, err)
		if i != 41 && i != 97 {
			require.NoError(t, j.Done(seq))
		}
	}
	before, err := os.Stat(path)
	require.NoError(t, err)
	require.NoError(t, j.Compact())
	after, err := os.Stat(path)
	require.NoError(t, err)
	require.Less(t, after.Size(), before.Size()/10)
	require.Equal(t, os.FileMode(0o600), after.Mode().Perm())
	require.Len(t, j.Pending(), 2)

	// The journal goes on in the new file, and nothing else is left over.
	seq, err := j.Append(Entry{BookingID: 100, Op: "succeed"})
	require.NoError(t, err)
	require.Equal(t, uint64(101), seq)
	require.NoError(t, j.Done(42))
	require.NoError(t, j.Close())
	names, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, names, 2, "the journal and its lock file: %v", names)

	j, err = Open(path)
	require.NoError(t, err)
	defer j.Close()
	p := j.Pending()
	require.Len(t, p, 2)
	require.Equal(t, []int64{97, 100}, []int64{p[0].BookingID, p[1].BookingID})
	require.NoError(t, j.Compact())
	require.NoError(t, j.Done(98))
	seq, err = j.Append(Entry{BookingID: 101, Op: "fail"})
	require.NoError(t, err)
	require.Equal(t, uint64(102), seq, "numbers survive a compaction that kept nothing of theirs")
}

func TestConcurrentAppends(t *testing.T) {
	t.Parallel()
	path, j := setup(t)
	const writers, each = 8, 25
	var wg sync.WaitGroup
	seqs := make(chan uint64, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				seq, err := j.Append(Entry{BookingID: int64(w*1000 + i), Op: "fail"})
				if err != nil {
					t.Error(err)
					return
				}
				seqs <- seq
				if i%2 == 0 {
					if err := j.Done(seq); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if err := j.Compact(); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	close(seqs)
	seen := map[uint64]bool{}
	for s := range seqs {
		require.False(t, seen[s], "seq %d given twice", s)
		seen[s] = true
	}
	require.Len(t, seen, writers*each)
	pending := j.Pending()
	require.Len(t, pending, writers*(each/2))
	require.NoError(t, j.Close())
	j, err := Open(path)
	require.NoError(t, err)
	defer j.Close()
	require.Equal(t, pending, j.Pending())
}

func TestFileModes(t *testing.T) {
	t.Parallel()
	path, j := setup(t)
	_, err := j.Append(Entry{BookingID: 1, Op: "succeed", Data: json.RawMessage(`{"reservation_no":"R-9"}`)})
	require.NoError(t, err)
	for p, want := range map[string]os.FileMode{path: 0o600, path + ".lock": 0o600, filepath.Dir(path): 0o700} {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		require.Equal(t, want, fi.Mode().Perm(), p)
	}
}

func TestSecondOpenFails(t *testing.T) {
	t.Parallel()
	path, j := setup(t)
	_, err := Open(path)
	require.ErrorIs(t, err, ErrLocked)
	require.ErrorContains(t, err, path)
	require.ErrorContains(t, err, "another reserver")
	require.NoError(t, j.Close())
	j, err = Open(path)
	require.NoError(t, err, "free again once closed")
	require.NoError(t, j.Close())
}

// Another process opening a journal in use is refused with a clear error.
func TestSecondProcessIsRefused(t *testing.T) {
	if path := os.Getenv("JOURNAL_TEST_CHILD"); path != "" {
		_, err := Open(path)
		if err == nil {
			os.Exit(0)
		}
		os.Stderr.WriteString(err.Error())
		os.Exit(3)
	}
	t.Parallel()
	path, _ := setup(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecondProcessIsRefused$")
	cmd.Env = append(os.Environ(), "JOURNAL_TEST_CHILD="+path)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "the child opened a journal in use: %s", out)
	require.Equal(t, 3, exit.ExitCode(), string(out))
	require.Contains(t, string(out), "journal is in use by another process")
}
