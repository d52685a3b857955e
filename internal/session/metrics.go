package session

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
)

// Metrics receives counts from the session core and the transports. Every
// method is called on the hot path, from many goroutines at once: it must be
// safe for concurrent use, fast, and never block. transport is the name of
// the transport that opened the session (for example "websocket",
// "xhr-streaming").
type Metrics interface {
	// SessionOpened is called when a session opens.
	SessionOpened(transport string)
	// SessionClosed is called once per session, with its close code.
	SessionClosed(transport string, code int)
	// FramesSent counts frames written to clients and their bytes on the
	// wire (after transport framing).
	FramesSent(transport string, frames, bytes int)
	// MessagesReceived counts messages from clients and their bytes.
	MessagesReceived(transport string, messages, bytes int)
	// SendDropped counts messages dropped by a non-blocking send because
	// the session's queue was full.
	SendDropped(transport string)
}

// NopMetrics discards every count.
type NopMetrics struct{}

func (NopMetrics) SessionOpened(string)              {}
func (NopMetrics) SessionClosed(string, int)         {}
func (NopMetrics) FramesSent(string, int, int)       {}
func (NopMetrics) MessagesReceived(string, int, int) {}
func (NopMetrics) SendDropped(string)                {}

// Metrics returns the table's metrics sink, for the transports.
func (t *Table) Metrics() Metrics { return t.cfg.Metrics }

// safeMetrics calls the application's Metrics, which run on timers and on
// the library's own goroutines (where a panic would end the process) and
// under its locks: a panic in one is recovered, and the first is logged
// with its stack.
type safeMetrics struct {
	m      Metrics
	log    *slog.Logger
	logged atomic.Bool
}

func (sm *safeMetrics) recover() {
	if p := recover(); p != nil && sm.logged.CompareAndSwap(false, true) {
		sm.log.Error("sockjs: panic in Metrics (later ones are not logged)",
			"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	}
}

func (sm *safeMetrics) SessionOpened(transport string) {
	defer sm.recover()
	sm.m.SessionOpened(transport)
}

func (sm *safeMetrics) SessionClosed(transport string, code int) {
	defer sm.recover()
	sm.m.SessionClosed(transport, code)
}

func (sm *safeMetrics) FramesSent(transport string, frames, bytes int) {
	defer sm.recover()
	sm.m.FramesSent(transport, frames, bytes)
}

func (sm *safeMetrics) MessagesReceived(transport string, messages, bytes int) {
	defer sm.recover()
	sm.m.MessagesReceived(transport, messages, bytes)
}

func (sm *safeMetrics) SendDropped(transport string) {
	defer sm.recover()
	sm.m.SendDropped(transport)
}
