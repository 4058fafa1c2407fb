// Package journal is a small append-only file of outcomes the database
// could not take yet: a success, a failure or a cancel the daemon decided
// while the database was down. Append returns only once the entry is on
// disk (fsync), so the outcome survives a crash or a SIGTERM; the next start
// of the daemon replays the pending entries into the database and marks
// each Done.
//
// It owns the file, its format (one JSON object per line: entries, and
// "done" marks), the lock that keeps a second process off it, and
// compaction. It does not know what an entry means or how to apply one:
// the daemon owns the ops and their data, and the booking store owns the
// state machine. It is not a queue between processes: one process at a
// time holds a journal.
package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"reserver/internal/filelock"
)

// Entry is one outcome waiting for the database.
type Entry struct {
	Seq       uint64          `json:"seq"` // assigned by Append
	BookingID int64           `json:"booking_id"`
	Op        string          `json:"op"` // e.g. "succeed", "fail", "cancel"
	Data      json.RawMessage `json:"data,omitempty"`
	At        time.Time       `json:"at"`
}

// record is how a line of the file is read: an entry (Op set), a done
// mark ({"done":seq}) or, first in a compacted file, the next sequence
// number ({"next":seq}).
type record struct {
	Entry
	Done uint64 `json:"done"`
	Next uint64 `json:"next"`
}

type doneLine struct {
	Done uint64 `json:"done"`
}

type nextLine struct {
	Next uint64 `json:"next"`
}

var (
	// ErrLocked is returned by Open when another process (or another Open
	// in this one) holds the journal.
	ErrLocked = errors.New("journal is in use by another process")
	// ErrClosed is returned by the methods of a closed journal.
	ErrClosed = errors.New("journal is closed")
	// ErrUnknownSeq is returned by Done for a sequence number Append never
	// gave out.
	ErrUnknownSeq = errors.New("journal: no such entry")
)

// Journal is an open journal file. It is safe for concurrent use.
type Journal struct {
	path   string
	unlock func()

	mu      sync.Mutex // guards everything below
	f       *os.File
	size    int64 // bytes of whole lines in f
	next    uint64
	pending []Entry
	broken  error // a write that could not be undone; nothing more is written
}

// Open opens the journal at path, creating its directory (0700) and the
// file (0600) when missing, and loads the entries not yet done. A torn last
// line (a crash in the middle of a write, which Append had not confirmed)
// is cut off; any other unreadable line is an error. A second Open of the
// same path while this one is open fails with ErrLocked.
func Open(path string) (*Journal, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: create directory: %w", err)
	}
	unlock, err := filelock.TryLock(path + ".lock")
	if errors.Is(err, filelock.ErrLocked) {
		return nil, fmt.Errorf("journal %s: %w; is another reserver running with the same journal?", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	j, err := load(path)
	if err != nil {
		unlock()
		return nil, err
	}
	j.unlock = unlock
	return j, nil
}

func load(path string) (*Journal, error) {
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if created {
		if err := syncDir(filepath.Dir(path)); err != nil {
			f.Close()
			return nil, err
		}
	}
	j := &Journal{path: path, f: f, next: 1}
	if err := j.read(); err != nil {
		f.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	if _, err := f.Seek(j.size, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

// read loads the file's records and cuts off a torn last line.
func (j *Journal) read() error {
	data, err := io.ReadAll(j.f)
	if err != nil {
		return err
	}
	done := map[uint64]bool{}
	var entries []Entry
	var off int64 // end of the last whole record
	for line := 1; off < int64(len(data)); line++ {
		rest := data[off:]
		raw, _, complete := bytes.Cut(rest, []byte("\n"))
		var r record
		if err := json.Unmarshal(raw, &r); err != nil || !r.valid() {
			if !complete {
				break // torn: Append had not confirmed it
			}
			return fmt.Errorf("line %d is not a journal record", line)
		}
		if !complete {
			// Written whole but for its newline: keep it, end the line.
			if _, err := j.f.WriteAt([]byte("\n"), off+int64(len(raw))); err != nil {
				return err
			}
		}
		off += int64(len(raw)) + 1
		switch {
		case r.Op != "":
			entries = append(entries, r.Entry)
			j.next = max(j.next, r.Seq+1)
		case r.Done != 0:
			done[r.Done] = true
		default:
			j.next = max(j.next, r.Next)
		}
	}
	if err := j.f.Truncate(off); err != nil {
		return err
	}
	if err := j.f.Sync(); err != nil {
		return err
	}
	j.size = off
	for _, e := range entries {
		if !done[e.Seq] {
			j.pending = append(j.pending, e)
		}
	}
	return nil
}

func (r record) valid() bool {
	switch {
	case r.Op != "":
		return r.Seq != 0 && r.Done == 0 && r.Next == 0
	case r.Done != 0:
		return r.Seq == 0 && r.Next == 0
	default:
		return r.Next != 0
	}
}

// Append writes e as one line and syncs the file before it returns; the
// entry's Seq (and At, when zero) are set here. After an error the entry
// is not in the journal.
func (j *Journal) Append(e Entry) (uint64, error) {
	if e.Op == "" {
		return 0, errors.New("journal: an entry needs an op")
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.usable(); err != nil {
		return 0, err
	}
	e.Seq = j.next
	if e.At.IsZero() {
		e.At = time.Now()
	}
	e.At = e.At.UTC()
	if err := j.write(e); err != nil {
		return 0, err
	}
	j.next++
	j.pending = append(j.pending, e)
	return e.Seq, nil
}

// Done records that entry seq was applied, with a synced line. Marking an
// entry done twice is harmless.
func (j *Journal) Done(seq uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.usable(); err != nil {
		return err
	}
	if seq == 0 || seq >= j.next {
		return fmt.Errorf("%w: seq %d", ErrUnknownSeq, seq)
	}
	i := slices.IndexFunc(j.pending, func(e Entry) bool { return e.Seq == seq })
	if i < 0 {
		return nil // done before (and perhaps compacted away)
	}
	if err := j.write(doneLine{seq}); err != nil {
		return err
	}
	j.pending = slices.Delete(j.pending, i, i+1)
	return nil
}

// Pending returns the entries not yet done, in the order they were
// appended.
func (j *Journal) Pending() []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.pending)
}

// Compact rewrites the file with only the pending entries: a temporary file
// in the same directory, synced, renamed over the journal, and the
// directory synced, so that a crash at any moment leaves either the old
// file or the new one.
func (j *Journal) Compact() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.usable(); err != nil {
		return err
	}
	dir := filepath.Dir(j.path)
	tmp, err := os.CreateTemp(dir, filepath.Base(j.path)+".compact-*")
	if err != nil {
		return fmt.Errorf("journal: compact: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	w := bufio.NewWriter(tmp)
	lines := []any{nextLine{j.next}}
	for _, e := range j.pending {
		lines = append(lines, e)
	}
	var size int64
	for _, v := range lines {
		b, err := json.Marshal(v)
		if err != nil {
			tmp.Close()
			return err
		}
		n, _ := w.Write(append(b, '\n'))
		size += int64(n)
	}
	err = errors.Join(w.Flush(), tmp.Chmod(0o600), tmp.Sync())
	if err != nil {
		tmp.Close()
		return fmt.Errorf("journal: compact: %w", err)
	}
	if err := os.Rename(tmp.Name(), j.path); err != nil {
		tmp.Close()
		return fmt.Errorf("journal: compact: %w", err)
	}
	old := j.f
	j.f, j.size = tmp, size
	if _, err := j.f.Seek(size, io.SeekStart); err != nil {
		j.broken = err
	}
	_ = old.Close()
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("journal: compact: %w", err)
	}
	return nil
}

// Close closes the file and gives up the lock. Closing twice is harmless.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	j.unlock()
	return err
}

func (j *Journal) usable() error {
	if j.f == nil {
		return ErrClosed
	}
	return j.broken
}

// write appends one record as a line and syncs. A line that could not be
// written whole is cut off again, so that the next line starts clean; if
// even that fails, the journal refuses further writes rather than leave a
// torn line in the middle of the file.
func (j *Journal) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = j.f.Write(b)
	if err == nil {
		err = j.f.Sync()
	}
	if err == nil {
		j.size += int64(len(b))
		return nil
	}
	if terr := j.undo(); terr != nil {
		j.broken = fmt.Errorf("journal %s: a failed write could not be undone: %w", j.path, terr)
	}
	return fmt.Errorf("journal %s: %w", j.path, err)
}

func (j *Journal) undo() error {
	if err := j.f.Truncate(j.size); err != nil {
		return err
	}
	_, err := j.f.Seek(j.size, io.SeekStart)
	return err
}

// syncDir makes a file's creation or rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("journal: sync directory: %w", err)
	}
	return nil
}
