package session

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
