package netsim

import (
	"bytes"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"time"
)

const (
	// chunkSize is the most one read takes from a side.
	chunkSize = 32 << 10
	// queueLen is how many chunks may be in flight in one direction before
	// the reader stops reading; the sender's socket buffers then fill, as on
	// a real path that is full.
	queueLen = 256
)

// link is one proxied connection: the client's side and the target's.
type link struct {
	client, server *net.TCPConn
	done           chan struct{} // closed by abort: every goroutine of the link returns

	abortOnce sync.Once
}

// abort ends the link at once, dropping what is still in flight; with
// reset, both sides see a connection reset rather than a clean close.
func (l *link) abort(reset bool) {
	l.abortOnce.Do(func() {
		close(l.done)
		if reset {
			_ = l.client.SetLinger(0)
			_ = l.server.SetLinger(0)
		}
		l.closeBoth()
	})
}

func (l *link) closeBoth() {
	_ = l.client.Close()
	_ = l.server.Close()
}

// end says what a chunk carries besides data: nothing, the sender's
// half-close, or a failure of the sender's side.
type end int

const (
	endNone end = iota
	endEOF
	endReset
)

// chunk is what one read returned, with the instant it may be written on.
type chunk struct {
	data []byte
	end  end
	at   time.Time
}

// direction is one half of a link: chunks read from src are written to dst
// at their release times, in the order they were read.
type direction struct {
	// Set by newDirection (floor just after), then read-only.
	src, dst      *net.TCPConn
	delay, jitter time.Duration
	draw          func() float64
	late          func(time.Duration) // notes each chunk's lateness
	queue         chan chunk

	// Owned by the reader goroutine.
	floor time.Time // for the next chunk only; zero once it is queued
	prev  time.Time // release of the last chunk queued
}

func newDirection(src, dst *net.TCPConn, delay, jitter time.Duration, draw func() float64, late func(time.Duration)) *direction {
	return &direction{src: src, dst: dst, delay: delay, jitter: jitter, draw: draw, late: late, queue: make(chan chunk, queueLen)}
}

// release is the release time of a chunk read at readAt.
func (dr *direction) release(readAt time.Time) time.Time {
	t := releaseAt(dr.prev, dr.floor, readAt, drawDelay(dr.delay, dr.jitter, dr.draw()))
	dr.prev, dr.floor = t, time.Time{}
	return t
}

// read queues everything src sends, then its EOF or its failure.
func (dr *direction) read(l *link) {
	buf := make([]byte, chunkSize)
	for {
		n, err := dr.src.Read(buf)
		readAt := time.Now()
		if n > 0 && !dr.push(l, chunk{data: bytes.Clone(buf[:n]), at: dr.release(readAt)}) {
			return
		}
		if err != nil {
			c := chunk{end: endReset}
			if errors.Is(err, io.EOF) {
				c.end = endEOF
			}
			c.at = dr.release(readAt)
			dr.push(l, c)
			return
		}
	}
}

func (dr *direction) push(l *link, c chunk) bool {
	select {
	case dr.queue <- c:
		return true
	case <-l.done:
		return false
	}
}

// write hands each queued chunk to dst at its release time. The sender's
// EOF becomes a half-close of dst; a failure on either side aborts the link
// with a reset, as the failure would reach the other end on a real path.
func (dr *direction) write(l *link) {
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		var c chunk
		select {
		case <-l.done:
			return
		case c = <-dr.queue:
		}
		if wait := time.Until(c.at); wait > 0 {
			t.Reset(wait)
			select {
			case <-l.done:
				t.Stop()
				return
			case <-t.C:
			}
		}
		dr.late(time.Since(c.at))
		switch c.end {
		case endEOF:
			_ = dr.dst.CloseWrite()
			return
		case endReset:
			l.abort(true)
			return
		}
		if _, err := dr.dst.Write(c.data); err != nil {
			l.abort(true)
			return
		}
	}
}

// lateKept bounds the lateness samples one delay line keeps.
const lateKept = 1 << 20

// lateness collects how late chunks went out (DelayLine.Lateness).
type lateness struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *lateness) note(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) < lateKept {
		l.d = append(l.d, max(d, 0))
	}
}

func (l *lateness) sorted() []time.Duration {
	l.mu.Lock()
	out := slices.Clone(l.d)
	l.mu.Unlock()
	slices.Sort(out)
	return out
}
