package transports

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/go-sockjs/sockjs/internal/session"
)

// TestRawCloseLongReason: a raw websocket session closed with a reason
// longer than a close frame holds (123 bytes) still sends its close
// frame, with its code and the reason cut short; before, WriteControl
// refused the frame and the client saw only a dropped connection (1006).
func TestRawCloseLongReason(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes
	url := appServer(t, func(s *session.Session) {
		s.Close(4000, long)
		<-s.Context().Done()
	})
	c, _, err := websocket.DefaultDialer.Dial(url+"/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err = c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 4000 || !strings.HasPrefix(long, ce.Text) || len(ce.Text) == 0 || len(ce.Text) > 123 {
		t.Fatalf("read error %v; want a close frame 4000 with the reason cut to at most 123 bytes", err)
	}
}
