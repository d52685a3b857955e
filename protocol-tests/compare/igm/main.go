// Command igm serves the four SockJS test services (echo,
// disabled_websocket_echo, cookie_needed_echo and close) on
// igm/sockjs-go v3, so that protocol-tests/compare.sh can score it next to
// sockjs-node. Each service uses igm's DefaultOptions, changed only as the
// official suite requires: a 4096-byte response limit on echo, websockets
// off on disabled_websocket_echo, JSESSIONID on cookie_needed_echo, and the
// raw /websocket endpoint wherever websockets are on (as in sockjs-node).
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/igm/sockjs-go/v3/sockjs"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8083", "address to listen on")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr); err != nil {
		log.Fatal(err)
	}
}

// run serves until ctx is done.
func run(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: services(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	log.Printf("igm/sockjs-go test services on http://%s", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// services returns one handler dispatching the four services by path
// prefix. http.ServeMux is not used: it would clean paths such as
// /echo// into redirects before the service could answer 404.
func services() http.Handler {
	options := func(change func(*sockjs.Options)) sockjs.Options {
		o := sockjs.DefaultOptions
		o.RawWebsocket = true
		change(&o)
		return o
	}
	handlers := []*sockjs.Handler{
		sockjs.NewHandler("/echo", options(func(o *sockjs.Options) { o.ResponseLimit = 4096 }), echo),
		sockjs.NewHandler("/disabled_websocket_echo", options(func(o *sockjs.Options) {
			o.Websocket = false
			o.RawWebsocket = false
		}), echo),
		sockjs.NewHandler("/cookie_needed_echo", options(func(o *sockjs.Options) { o.JSessionID = sockjs.DefaultJSessionID }), echo),
		sockjs.NewHandler("/close", options(func(*sockjs.Options) {}), func(s sockjs.Session) { _ = s.Close(3000, "Go away!") }),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, h := range handlers {
			p := h.Prefix()
			if r.URL.Path == p || strings.HasPrefix(r.URL.Path, p+"/") {
				h.ServeHTTP(w, r)
				return
			}
		}
		http.NotFound(w, r)
	})
}

// echo sends every message back until the session ends.
func echo(s sockjs.Session) {
	for {
		msg, err := s.Recv()
		if err != nil {
			return
		}
		if err := s.Send(msg); err != nil {
			return
		}
	}
}
