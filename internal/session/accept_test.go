package session

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"testing/synctest"
)

// TestAcceptSendDoesNotBlock: nothing drains the queue while Accept runs,
// so a Send past MaxQueuedBytes there must not wait. On a websocket
// (detached) session nothing else would ever end the wait: no disconnect
// timer, no reader, so Start would hold the hijacked connection for good.
func TestAcceptSendDoesNotBlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		var sendErr error
		cfg.Accept = func(s *Session) *CloseError {
			for range 3 { // the queue holds two 8-byte messages
				if sendErr = s.Send(context.Background(), "12345678"); sendErr != nil {
					break
				}
			}
			return nil
		}
		tb, got := newTable(t, cfg)
		s, err := tb.OpenDetached("a", "websocket", httptest.NewRequest("GET", "/x/a/websocket", nil))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { tb.Start(s); close(done) }()
		synctest.Wait()
		select {
		case <-done:
		default:
			s.Close(3000, "test over") // let the goroutine end
			<-done
			t.Fatal("Start blocked: Send inside Accept waited for queue space nobody could free")
		}
		if !errors.Is(sendErr, ErrQueueFull) {
			t.Fatalf("third Send in Accept = %v; want ErrQueueFull", sendErr)
		}
		<-got
		r, err := s.AttachPush()
		if err != nil {
			t.Fatal(err)
		}
		if f, _ := r.Poll(); f.Kind != OpenFrame {
			t.Fatalf("first frame %v; want open", f.Kind)
		}
		if f, _ := r.Poll(); f.Kind != MessagesFrame || len(f.Messages) != 2 {
			t.Fatalf("second frame %+v; want the two messages Accept queued", f)
		}
		r.Release(nil)
	})
}
