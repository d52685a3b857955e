// Command sockjs-echo serves the four SockJS test services on one listener:
// /echo, /disabled_websocket_echo, /cookie_needed_echo and /close, for the
// official protocol suite, protocol-tests and browser tests. Every origin
// is allowed and hixie-76 is on, as those suites expect.
//
//	go run ./cmd/sockjs-echo [-addr 127.0.0.1:8081] [-client-url URL] [-debug]
//	    [-tls-cert cert.pem -tls-key key.pem]
//
// With -tls-cert and -tls-key it serves HTTPS, with HTTP/2 for the clients
// that offer it (websockets then negotiate HTTP/1.1 on their own
// connections), and on shutdown logs how many requests each protocol
// carried.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-sockjs/sockjs/internal/echoserver"
	"github.com/go-sockjs/sockjs/sockjs"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "sockjs-echo:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, then shuts down gracefully. ready, if not nil,
// receives the listening address.
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("sockjs-echo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8081", "address to listen on")
	clientURL := fs.String("client-url", sockjs.DefaultClientURL, "sockjs-client script loaded by the iframe page")
	debug := fs.Bool("debug", false, "log at debug level (includes session ids)")
	certFile := fs.String("tls-cert", "", "serve HTTPS (and HTTP/2) with this PEM certificate (needs -tls-key)")
	keyFile := fs.String("tls-key", "", "the PEM private key of -tls-cert")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*certFile == "") != (*keyFile == "") {
		return errors.New("-tls-cert and -tls-key go together")
	}

	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	echo := echoserver.New(&echoserver.Options{ClientURL: *clientURL, Logger: log})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	var handler http.Handler = echo
	var protos protoCounter
	scheme := "http"
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return err
		}
		// Go's server offers h2 by ALPN when its TLS configuration lists
		// no protocols of its own.
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}})
		handler = protos.wrap(echo)
		scheme = "https"
	}
	srv := &http.Server{
		Handler: handler,
		// Bounds for slow or idle clients. No WriteTimeout: it would cut
		// streams and long polls; the SockJS handler puts a deadline on
		// each of its writes instead. No ReadTimeout either: net/http's
		// background read would hit it during a long stream and cancel the
		// request. Bodies are bounded by Options.MaxMessageBytes.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("sockjs-echo listening on " + scheme + "://" + ln.Addr().String())
	if ready != nil {
		ready <- ln.Addr().String()
	}

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Close the SockJS sessions first (close frames to websockets and
	// streams), then the HTTP server.
	err = echo.Shutdown(sctx)
	// What is left once the sessions are gone is not worth waiting for:
	// connections that have sent nothing yet (which net/http counts as
	// busy for 5 s), bodies still trickling in to sessions that no longer
	// exist. Give requests in flight a moment, then close everything.
	hctx, hcancel := context.WithTimeout(sctx, httpGrace)
	defer hcancel()
	if herr := srv.Shutdown(hctx); herr != nil {
		if !errors.Is(herr, context.DeadlineExceeded) {
			err = errors.Join(err, herr)
		}
		srv.Close()
	}
	<-errc
	if scheme == "https" {
		log.Info(fmt.Sprintf("requests served: HTTP/2 %d, HTTP/1.1 %d", protos.h2.Load(), protos.h1.Load()))
	}
	return err
}

// httpGrace is how long, after the sessions have closed, the HTTP server
// waits for requests in flight before closing every connection.
const httpGrace = 300 * time.Millisecond

// protoCounter counts requests by HTTP version, so that a browser run can
// tell that HTTP/2 was in use.
type protoCounter struct{ h1, h2 atomic.Int64 }

func (p *protoCounter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			p.h2.Add(1)
		} else {
			p.h1.Add(1)
		}
		h.ServeHTTP(w, r)
	})
}
