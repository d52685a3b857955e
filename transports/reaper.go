package transports

import (
	"sync"
	"sync/atomic"
	"time"
)

// reapInterval is how long a parked websocket writer may wait for more
// work before it is retired: between one and two intervals after its
// session's last write.
const reapInterval = 50 * time.Millisecond

// reaper retires parked writer goroutines in bulk. Parked writers wait on
// its current channel; about reapInterval after the first of them parked,
// the channel is closed (all of them wake and retire) and the next parker
// gets a new one. Parking costs an atomic load; there is no goroutine of
// its own, only a timer, armed while some writer is parked.
type reaper struct {
	cur atomic.Pointer[chan struct{}]
	mu  sync.Mutex // serializes arming and firing
}

// wait returns the channel that is closed when the parked writers are
// next retired.
func (r *reaper) wait() <-chan struct{} {
	if p := r.cur.Load(); p != nil {
		return *p
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if p := r.cur.Load(); p != nil {
		return *p
	}
	ch := make(chan struct{})
	r.cur.Store(&ch)
	time.AfterFunc(reapInterval, r.fire)
	return ch
}

// fire retires every writer parked on the current channel.
func (r *reaper) fire() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p := r.cur.Swap(nil); p != nil {
		close(*p)
	}
}
