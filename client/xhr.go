package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"time"
)

// httpTransport is xhr-streaming, eventsource or xhr-polling: one receiving
// request at a time (a stream, reopened when the server ends it, or a poll,
// repeated), and xhr_send POSTs for sending.
type httpTransport struct {
	kind    Transport
	cfg     *config
	recvURL string
	sendURL string

	// ctx is the connection's lifetime; abort cancels it, which aborts the
	// receiving request.
	ctx    context.Context
	cancel context.CancelFunc

	// sendCtx carries the values of the dial context to xhr_send requests;
	// each request gets its own cancellation (see sendState), because
	// cancelling one at the wrong moment breaks other requests of the same
	// http.Client.
	sendCtx   context.Context
	sendMu    sync.Mutex
	cur       *sendState // the xhr_send in flight, or nil
	aborted   bool       // abort was called: no more xhr_send
	sendTimer *time.Timer

	// The current receiving response; owned by the receiving side.
	body      io.ReadCloser
	next      func() ([]byte, error) // next frame of body
	frames    int                    // frames read from body
	reqCtx    context.Context
	reqCancel context.CancelCauseFunc
	timer     *time.Timer // ReceiveTimeout for the current response
}

// newHTTPTransport returns the transport for the session URL u. Requests
// carry the values of ctx but not its cancellation.
func newHTTPTransport(ctx context.Context, cfg *config, u *url.URL, kind Transport) *httpTransport {
	t := &httpTransport{kind: kind, cfg: cfg, recvURL: u.String()}
	// The sender posts to .../xhr_send next to the receiving endpoint.
	su := *u
	su.Path = u.Path[:strings.LastIndexByte(u.Path, '/')] + "/xhr_send"
	if u.RawPath != "" {
		su.RawPath = u.RawPath[:strings.LastIndexByte(u.RawPath, '/')] + "/xhr_send"
	}
	t.sendURL = su.String()
	t.ctx, t.cancel = context.WithCancel(context.WithoutCancel(ctx))
	t.sendCtx = context.WithoutCancel(ctx)
	return t
}

// readFrame returns the next frame, opening a new receiving request when
// there is none: the first one, the next poll, or a new stream after the
// server ended the previous one (its response limit).
//
// ReceiveTimeout counts only the time spent waiting in here: while the
// receive goroutine waits for room in the receive queue, the server is not
// to blame for the silence.
func (t *httpTransport) readFrame() (inFrame, error) {
	if t.timer != nil {
		t.timer.Reset(t.cfg.receiveTimeout)
	}
	for {
		if t.body == nil {
			if err := t.open(); err != nil {
				return inFrame{}, err
			}
		}
		b, err := t.next()
		if err == nil {
			// Count the frames that show the server is alive and well: not
			// empty lines, not the xhr-streaming prelude. A response with
			// none of them is broken, and reopening it would spin.
			if len(b) == 1 || len(b) > 1 && b[0] != 'h' {
				t.frames++
			}
			if t.timer != nil {
				t.timer.Stop()
			}
			return parseFrame(b)
		}
		err = t.recvErr(err)
		frames := t.frames
		t.endResponse()
		if err != io.EOF {
			return inFrame{}, err
		}
		if frames == 0 {
			return inFrame{}, protocolError("%s response ended without a frame", t.kind)
		}
	}
}

// open starts a receiving request.
func (t *httpTransport) open() error {
	t.reqCtx, t.reqCancel = context.WithCancelCause(t.ctx)
	if d := t.cfg.receiveTimeout; d > 0 {
		cancel := t.reqCancel
		t.timer = time.AfterFunc(d, func() {
			cancel(fmt.Errorf("%w: nothing received for %v", ErrTimeout, d))
		})
	}
	method := http.MethodPost
	if t.kind == EventSource {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(t.reqCtx, method, t.recvURL, nil)
	if err != nil {
		t.endResponse()
		return err
	}
	req.Header = t.cfg.header.Clone()
	if t.kind == EventSource {
		req.Header.Set("Accept", "text/event-stream")
	}
	resp, err := t.cfg.streamClient.Do(req)
	if err != nil {
		err = t.recvErr(err)
		t.endResponse()
		return err
	}
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBodyBytes))
		resp.Body.Close()
		t.endResponse()
		return &StatusError{Method: method, URL: req.URL.Redacted(), StatusCode: resp.StatusCode}
	}
	t.body = resp.Body
	t.frames = 0
	if t.kind == EventSource {
		t.next = newSSEReader(resp.Body, t.cfg.maxFrame).next
	} else {
		t.next = newLineReader(resp.Body, t.cfg.maxFrame).next
	}
	return nil
}

// recvErr replaces the error of an aborted request with the reason it was
// aborted, when that reason is the receive timeout.
func (t *httpTransport) recvErr(err error) error {
	if t.reqCtx != nil {
		if cause := context.Cause(t.reqCtx); errors.Is(cause, ErrTimeout) {
			return cause
		}
	}
	return err
}

// endResponse closes the current receiving response, if any.
func (t *httpTransport) endResponse() {
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	if t.body != nil {
		t.body.Close()
		t.body = nil
	}
	if t.reqCancel != nil {
		t.reqCancel(nil)
		t.reqCancel = nil
	}
	t.next = nil
}

func (t *httpTransport) release() { t.endResponse() }

// sendState is one xhr_send in flight.
//
// abort must not cancel an xhr_send whose answer is arriving. net/http puts
// the connection of an answer without a body (the 204 of xhr_send) back in
// its pool before the request returns; a cancellation in that moment
// closes the connection under whichever request took it from the pool
// (another session sharing the http.Client), and that request fails with
// "context canceled" (a POST is not retried). So abort cancels the request
// only while no byte of the answer has been read (answered, set from the
// GotFirstResponseByte trace hook under sendMu), and if the answer's first
// byte comes after the cancellation, the hook holds net/http's read loop
// until the request has returned: by then the connection is closed, and
// net/http does not pool a closed connection. An answer that has begun is
// waited for, up to sendAnswerWait.
type sendState struct {
	cancel   context.CancelFunc
	answered bool          // the first byte of the answer was read; guarded by sendMu
	done     chan struct{} // closed when Do has returned
}

// send POSTs msgs to xhr_send as one JSON array.
func (t *httpTransport) send(msgs []string) error {
	// A new buffer each time: the request body may still be read after Do
	// returns.
	body := appendPayload(nil, msgs)
	ctx, cancel := context.WithCancel(t.sendCtx)
	st := &sendState{cancel: cancel, done: make(chan struct{})}
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotFirstResponseByte: func() { t.answering(ctx, st) },
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.sendURL, bytes.NewReader(body))
	if err != nil {
		cancel()
		return err
	}
	req.Header = t.cfg.header.Clone()
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	t.sendMu.Lock()
	if t.aborted {
		t.sendMu.Unlock()
		cancel()
		return context.Canceled
	}
	t.cur = st
	t.sendMu.Unlock()
	resp, err := t.cfg.httpClient.Do(req)
	if err == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBodyBytes))
		resp.Body.Close()
	}
	t.sendMu.Lock()
	t.cur = nil
	if t.sendTimer != nil {
		t.sendTimer.Stop()
		t.sendTimer = nil
	}
	t.sendMu.Unlock()
	cancel()
	close(st.done)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return &StatusError{Method: req.Method, URL: req.URL.Redacted(), StatusCode: resp.StatusCode}
	}
	return nil
}

// answering runs in net/http's read loop when the first byte of the answer
// to the xhr_send st has been read (see sendState).
func (t *httpTransport) answering(ctx context.Context, st *sendState) {
	t.sendMu.Lock()
	if ctx.Err() == nil {
		st.answered = true
		t.sendMu.Unlock()
		return
	}
	t.sendMu.Unlock()
	<-st.done
}

// sendAnswerWait bounds how long abort waits for the rest of an xhr_send
// answer that has begun to arrive (see sendState); a variable for tests.
var sendAnswerWait = 10 * time.Second

// closeHandshake: SockJS has no way to close from the client over HTTP.
func (t *httpTransport) closeHandshake(int, string) bool { return false }

// abort ends the receiving request at once, and the xhr_send in flight at
// once unless its answer has begun to arrive (see sendState).
func (t *httpTransport) abort() {
	t.cancel()
	t.sendMu.Lock()
	defer t.sendMu.Unlock()
	if t.aborted {
		return
	}
	t.aborted = true
	switch st := t.cur; {
	case st == nil:
	case !st.answered:
		st.cancel()
	default:
		t.sendTimer = time.AfterFunc(sendAnswerWait, st.cancel)
	}
}
