package simbrowser

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"reserver/internal/har"
)

// Creator is the HAR creator a Recorder writes.
var Creator = har.Creator{Name: "reserver simbrowser", Version: "1.0"}

// Buffer sizes asked of Network.enable: big enough that no body of the
// simulator's pages is evicted before it is fetched, and every posted
// body comes inside its requestWillBeSent event.
const (
	bufferTotal    = 64 << 20
	bufferResource = 8 << 20
	maxPostData    = 1 << 20
)

// Recorder records the network traffic of one chromedp tab and turns it
// into a HAR, as Chromium's developer tools export it.
//
// It listens to the Network domain's events in arrival order
// (requestWillBeSent, with each redirect hop's redirectResponse;
// responseReceived; loadingFinished and loadingFailed; the
// requestWillBeSentExtraInfo and responseReceivedExtraInfo events that
// carry the headers as sent and received, Cookie and Set-Cookie included)
// and to the page's DOMContentLoaded and load events. A worker goroutine
// fetches each finished response's body with Network.getResponseBody
// (and a posted body the event left out with Network.getRequestPostData)
// while the page is still there. The events are kept as they came and
// only turned into entries by HAR, so extra-info events that arrive before
// or after their request are matched all the same.
//
// The fields under mu are written by the tab's event loop (on) and the
// worker, and read by Wait and HAR.
type Recorder struct {
	ctx      context.Context // the tab's context, cancelled by Stop
	cancel   context.CancelFunc
	done     chan struct{} // closed when the worker has returned
	stopOnce sync.Once
	browser  *har.Creator

	mu      sync.Mutex
	events  []any
	open    map[network.RequestID]bool // started, neither finished nor failed
	bodies  map[network.RequestID]body
	posts   map[network.RequestID][]byte
	jobs    []job
	busy    bool          // the worker is running a job
	wake    chan struct{} // capacity 1: jobs are waiting
	changed chan struct{} // closed (and replaced) on every change of the above
}

// body is what Network.getResponseBody answered.
type body struct {
	data   []byte
	base64 bool // the browser sent the bytes as they came; else its decoded text
	err    error
}

type job struct {
	id   network.RequestID
	post bool // fetch the posted body, not the response's
}

// NewRecorder starts recording the tab of ctx, a chromedp context (the
// browser and the tab are started if they are not yet). Record before the
// first navigation: what happened earlier is not seen. Stop ends it; so
// does the end of ctx.
func NewRecorder(ctx context.Context) (*Recorder, error) {
	ctx, cancel := context.WithCancel(ctx)
	r := &Recorder{
		ctx:     ctx,
		cancel:  cancel,
		done:    make(chan struct{}),
		open:    make(map[network.RequestID]bool),
		bodies:  make(map[network.RequestID]body),
		posts:   make(map[network.RequestID][]byte),
		wake:    make(chan struct{}, 1),
		changed: make(chan struct{}),
	}
	if err := chromedp.Listen(ctx, r.on); err != nil {
		cancel()
		return nil, fmt.Errorf("simbrowser: listen: %w", err)
	}
	_, err := chromedp.Call(ctx, network.Enable, network.EnableParams{
		MaxTotalBufferSize:    ptr[int64](bufferTotal),
		MaxResourceBufferSize: ptr[int64](bufferResource),
		MaxPostDataSize:       ptr[int64](maxPostData),
		EnableDurableMessages: ptr(true),
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("simbrowser: Network.enable: %w", err)
	}
	if v, err := chromedp.CallBrowser(ctx, browser.GetVersion, cdp.Empty{}); err == nil {
		name, version, _ := strings.Cut(v.Product, "/")
		r.browser = &har.Creator{Name: name, Version: version}
	}
	go r.work()
	return r, nil
}

func ptr[T any](v T) *T { return &v }

// Stop ends the recording and waits for the worker. It is safe to call
// more than once; HAR still builds what was recorded.
func (r *Recorder) Stop() {
	r.stopOnce.Do(func() {
		r.cancel()
		<-r.done
	})
}

// on runs on the tab's event loop: it must be quick and run no command.
func (r *Recorder) on(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		r.open[e.RequestID] = true
		if e.Request != nil && e.Request.HasPostData && len(e.Request.PostDataEntries) == 0 {
			r.enqueue(job{id: e.RequestID, post: true})
		}
	case *network.EventLoadingFinished:
		delete(r.open, e.RequestID)
		r.enqueue(job{id: e.RequestID})
	case *network.EventLoadingFailed:
		delete(r.open, e.RequestID)
	case *network.EventResponseReceived, *network.EventRequestWillBeSentExtraInfo,
		*network.EventResponseReceivedExtraInfo, *page.EventDomContentEventFired, *page.EventLoadEventFired:
	default:
		return
	}
	r.events = append(r.events, ev)
	r.signal()
}

// enqueue adds a job for the worker; r.mu is held.
func (r *Recorder) enqueue(j job) {
	r.jobs = append(r.jobs, j)
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// signal wakes every Wait; r.mu is held.
func (r *Recorder) signal() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// work fetches bodies, one job at a time, until Stop.
func (r *Recorder) work() {
	defer close(r.done)
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-r.wake:
		}
		for {
			r.mu.Lock()
			if len(r.jobs) == 0 || r.ctx.Err() != nil {
				r.busy = false
				r.signal()
				r.mu.Unlock()
				break
			}
			j := r.jobs[0]
			r.jobs = r.jobs[1:]
			r.busy = true
			r.mu.Unlock()
			r.run(j)
		}
	}
}

func (r *Recorder) run(j job) {
	if j.post {
		res, err := chromedp.Call(r.ctx, network.GetRequestPostData, network.GetRequestPostDataParams{RequestID: j.id})
		if err == nil {
			r.mu.Lock()
			r.posts[j.id] = res.PostData
			r.mu.Unlock()
		}
		return
	}
	res, err := chromedp.Call(r.ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: j.id})
	r.mu.Lock()
	r.bodies[j.id] = body{data: res.Body, base64: res.Base64encoded, err: err}
	r.mu.Unlock()
}

// ErrStopped is returned by Wait when the recording ended with requests
// still open or bodies not fetched.
var ErrStopped = errors.New("simbrowser: recording stopped")

// Wait returns once every request seen so far has finished (or failed)
// and its body has been fetched: the network is quiet. Call it before an
// action that leaves a page whose last answers matter, and before HAR.
func (r *Recorder) Wait(ctx context.Context) error {
	for {
		r.mu.Lock()
		quiet := len(r.open) == 0 && len(r.jobs) == 0 && !r.busy
		ch := r.changed
		r.mu.Unlock()
		if quiet {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("simbrowser: waiting for the network: %w", ctx.Err())
		case <-r.done:
			return ErrStopped
		}
	}
}

// HAR waits for the network to be quiet (see Wait) and returns what was
// recorded as a HAR 1.2 document. It may be called more than once; each
// call builds the whole recording again.
func (r *Recorder) HAR(ctx context.Context) (*har.HAR, error) {
	if err := r.Wait(ctx); err != nil {
		return nil, err
	}
	return r.Build(), nil
}

// Build turns what was recorded so far into a HAR without waiting.
func (r *Recorder) Build() *har.HAR {
	r.mu.Lock()
	events := append([]any(nil), r.events...)
	bodies := make(map[network.RequestID]body, len(r.bodies))
	for k, v := range r.bodies {
		bodies[k] = v
	}
	posts := make(map[network.RequestID][]byte, len(r.posts))
	for k, v := range r.posts {
		posts[k] = v
	}
	r.mu.Unlock()
	h := build(events, bodies, posts)
	h.Log.Browser = r.browser
	return h
}
