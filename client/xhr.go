package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
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

	// sendCtx carries the xhr_send requests. abort cancels it at once when
	// no xhr_send is in flight, otherwise when the one in flight returns
	// or after sendAbortGrace, whichever comes first. Cancelling a request
	// while its bodiless answer (the 204 of xhr_send) is being delivered
	// can break an unrelated request of the same http.Client: net/http
	// puts the connection back in its pool before the request returns,
	// and the cancellation then closes it under the request that took it
	// from the pool, which fails with "context canceled".
	sendCtx    context.Context
	sendCancel context.CancelFunc
	sendMu     sync.Mutex
	sending    bool // an xhr_send is in flight
	aborted    bool // abort was called
	sendTimer  *time.Timer

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
	t.sendCtx, t.sendCancel = context.WithCancel(context.WithoutCancel(ctx))
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

// send POSTs msgs to xhr_send as one JSON array.
func (t *httpTransport) send(msgs []string) error {
	// A new buffer each time: the request body may still be read after Do
	// returns.
	body := appendPayload(nil, msgs)
	req, err := http.NewRequestWithContext(t.sendCtx, http.MethodPost, t.sendURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = t.cfg.header.Clone()
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	t.sendMu.Lock()
	if t.aborted {
		t.sendMu.Unlock()
		return context.Canceled
	}
	t.sending = true
	t.sendMu.Unlock()
	defer t.sendDone()
	resp, err := t.cfg.httpClient.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBodyBytes))
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return &StatusError{Method: req.Method, URL: req.URL.Redacted(), StatusCode: resp.StatusCode}
	}
	return nil
}

// sendDone ends the xhr_send in flight: the send context is cancelled now
// if abort was called meanwhile.
func (t *httpTransport) sendDone() {
	t.sendMu.Lock()
	defer t.sendMu.Unlock()
	t.sending = false
	if t.aborted {
		t.stopSendLocked()
	}
}

func (t *httpTransport) stopSendLocked() {
	t.sendCancel()
	if t.sendTimer != nil {
		t.sendTimer.Stop()
		t.sendTimer = nil
	}
}

// closeHandshake: SockJS has no way to close from the client over HTTP.
func (t *httpTransport) closeHandshake(int, string) bool { return false }

// abort ends the receiving request at once and the xhr_send in flight, if
// any, once it returns or after sendAbortGrace (see sendCtx).
func (t *httpTransport) abort() {
	t.cancel()
	t.sendMu.Lock()
	defer t.sendMu.Unlock()
	if t.aborted {
		return
	}
	t.aborted = true
	if !t.sending {
		t.stopSendLocked()
		return
	}
	t.sendTimer = time.AfterFunc(sendAbortGrace, t.sendCancel)
}
