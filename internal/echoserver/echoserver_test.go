package echoserver

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestServices(t *testing.T) {
	s := New(nil)
	ts := httptest.NewServer(s)
	defer ts.Close()
	defer s.Shutdown(context.Background())
	for _, tt := range []struct {
		method, path, want string
		status             int
	}{
		{"GET", "/echo", "Welcome to SockJS!\n", 200},
		{"GET", "/close/", "Welcome to SockJS!\n", 200},
		{"GET", "/echo//", "", 404}, // not a redirect: the service answers
		{"GET", "/echoes", "", 404},
		{"GET", "/disabled_websocket_echo/info", `"websocket":false`, 200},
		{"GET", "/cookie_needed_echo/info", `"cookie_needed":true`, 200},
		{"POST", "/close/0/a/xhr", "o\n", 200},
		{"POST", "/close/0/a/xhr", "c[3000,\"Go away!\"]\n", 200},
		{"POST", "/echo/0/b/xhr_streaming", "", 200},
	} {
		req, _ := http.NewRequest(tt.method, ts.URL+tt.path, nil)
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		var b []byte
		if !strings.HasSuffix(tt.path, "xhr_streaming") {
			b, _ = io.ReadAll(res.Body)
		}
		res.Body.Close()
		if res.StatusCode != tt.status || !strings.Contains(string(b), tt.want) {
			t.Errorf("%s %s = %d %q, want %d %q", tt.method, tt.path, res.StatusCode, b, tt.status, tt.want)
		}
	}
}
