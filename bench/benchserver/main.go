// Command benchserver serves one echo implementation at /echo for the
// comparison driver: our sockjs package (default options), igm/sockjs-go v3
// (its DefaultOptions, plus the raw websocket endpoint), or the floor of
// each transport: a bare gorilla/websocket echo for the websockets, and
// net/http without sessions for the HTTP transports (floor.go). It is a
// benchmark-only program: it can write a CPU profile and serve
// net/http/pprof, which the library's own commands do not.
//
//	benchserver -impl ours|igm|gorilla -addr 127.0.0.1:9001 [-cpuprofile f] [-pprof 127.0.0.1:6060]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof" // served only with -pprof, on its own listener
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	igm "github.com/igm/sockjs-go/v3/sockjs"

	"github.com/go-sockjs/sockjs/sockjs"
)

func main() {
	impl := flag.String("impl", "ours", "ours, igm or gorilla")
	addr := flag.String("addr", "127.0.0.1:9001", "listen address (loopback)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile here until SIGTERM")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this loopback address")
	flag.Parse()

	var h http.Handler
	var shutdown func(context.Context) error
	switch *impl {
	case "ours":
		mux := http.NewServeMux()
		sh := sockjs.New(ourEcho, nil)
		sockjs.Mount(mux, "/echo", sh)
		h, shutdown = mux, sh.Shutdown
	case "igm":
		opts := igm.DefaultOptions
		opts.RawWebsocket = true // off by default; on so that the raw endpoint can be compared
		mux := http.NewServeMux()
		mux.Handle("/echo/", igm.NewHandler("/echo", opts, igmEcho))
		h = mux
	case "gorilla":
		// The floor of each transport: bare gorilla for the websockets,
		// net/http without sessions for the HTTP transports.
		// Behind a ServeMux, as ours is: an application mounts its
		// handler in one.
		ws, fl := gorillaEcho(), newFloor()
		mux := http.NewServeMux()
		mux.Handle("/echo/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/websocket") {
				ws.ServeHTTP(w, r)
			} else {
				fl.ServeHTTP(w, r)
			}
		}))
		h = mux
	default:
		log.Fatalf("unknown -impl %q", *impl)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		log.Fatalf("%s is not a loopback address", ln.Addr())
	}
	if *pprofAddr != "" {
		pl, err := net.Listen("tcp", *pprofAddr)
		if err != nil {
			log.Fatal(err)
		}
		go http.Serve(pl, http.DefaultServeMux)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}

	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Printf("listening %s %s pid %d\n", *impl, ln.Addr(), os.Getpid())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case err := <-errc:
		log.Print(err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if shutdown != nil {
		shutdown(sctx)
	}
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Print(err)
	}
}

func ourEcho(s sockjs.Session) {
	ctx := s.Context()
	for {
		m, err := s.Recv(ctx)
		if err != nil {
			return
		}
		if s.Send(ctx, m) != nil {
			return
		}
	}
}

func igmEcho(s igm.Session) {
	for {
		m, err := s.Recv()
		if err != nil {
			return
		}
		if s.Send(m) != nil {
			return
		}
	}
}
