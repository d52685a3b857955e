// Package prometheus exports a sockjs.Handler's metrics to Prometheus. It
// is its own module, so that the library itself depends on gorilla/websocket
// only.
//
//	m := prometheus.New("myapp")
//	reg.MustRegister(m)
//	h := sockjs.New(fn, &sockjs.Options{Metrics: m})
package prometheus

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/go-sockjs/sockjs/sockjs"
)

// Metrics implements sockjs.Metrics with Prometheus collectors. Register it
// (it is a prometheus.Collector) and pass it in sockjs.Options.Metrics; one
// Metrics may serve several handlers.
type Metrics struct {
	open       *prometheus.GaugeVec
	opened     *prometheus.CounterVec
	closed     *prometheus.CounterVec
	framesOut  *prometheus.CounterVec
	bytesOut   *prometheus.CounterVec
	msgsIn     *prometheus.CounterVec
	bytesIn    *prometheus.CounterVec
	dropped    *prometheus.CounterVec
	collectors []prometheus.Collector
}

var _ sockjs.Metrics = (*Metrics)(nil)

// New returns collectors named namespace_sockjs_*, labelled by transport
// (and close code for closes).
func New(namespace string) *Metrics {
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: namespace, Subsystem: "sockjs", Name: name, Help: help}
	}
	tr := []string{"transport"}
	m := &Metrics{
		open:      prometheus.NewGaugeVec(prometheus.GaugeOpts(opts("sessions_open", "Sessions open now.")), tr),
		opened:    prometheus.NewCounterVec(prometheus.CounterOpts(opts("sessions_opened_total", "Sessions opened.")), tr),
		closed:    prometheus.NewCounterVec(prometheus.CounterOpts(opts("sessions_closed_total", "Sessions closed, by close code.")), []string{"transport", "code"}),
		framesOut: prometheus.NewCounterVec(prometheus.CounterOpts(opts("frames_sent_total", "Frames written to clients.")), tr),
		bytesOut:  prometheus.NewCounterVec(prometheus.CounterOpts(opts("bytes_sent_total", "Bytes of frames written to clients.")), tr),
		msgsIn:    prometheus.NewCounterVec(prometheus.CounterOpts(opts("messages_received_total", "Messages received from clients.")), tr),
		bytesIn:   prometheus.NewCounterVec(prometheus.CounterOpts(opts("bytes_received_total", "Bytes of messages received from clients.")), tr),
		dropped:   prometheus.NewCounterVec(prometheus.CounterOpts(opts("sends_dropped_total", "Messages dropped because a session's queue was full.")), tr),
	}
	m.collectors = []prometheus.Collector{m.open, m.opened, m.closed, m.framesOut, m.bytesOut, m.msgsIn, m.bytesIn, m.dropped}
	return m
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors {
		c.Collect(ch)
	}
}

// SessionOpened implements sockjs.Metrics.
func (m *Metrics) SessionOpened(transport string) {
	m.open.WithLabelValues(transport).Inc()
	m.opened.WithLabelValues(transport).Inc()
}

// SessionClosed implements sockjs.Metrics.
func (m *Metrics) SessionClosed(transport string, code int) {
	m.open.WithLabelValues(transport).Dec()
	m.closed.WithLabelValues(transport, strconv.Itoa(code)).Inc()
}

// FramesSent implements sockjs.Metrics.
func (m *Metrics) FramesSent(transport string, frames, bytes int) {
	m.framesOut.WithLabelValues(transport).Add(float64(frames))
	m.bytesOut.WithLabelValues(transport).Add(float64(bytes))
}

// MessagesReceived implements sockjs.Metrics.
func (m *Metrics) MessagesReceived(transport string, messages, bytes int) {
	m.msgsIn.WithLabelValues(transport).Add(float64(messages))
	m.bytesIn.WithLabelValues(transport).Add(float64(bytes))
}

// SendDropped implements sockjs.Metrics.
func (m *Metrics) SendDropped(transport string) {
	m.dropped.WithLabelValues(transport).Inc()
}
