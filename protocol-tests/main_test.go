package protocoltests

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/go-sockjs/sockjs/internal/echoserver"
)

var (
	flagLong = flag.Bool("long", false,
		"run the tests that wait for the SockJS default delays (25 s heartbeat) in URL mode; also SOCKJS_LONG=1")
	flagReader = flag.String("reader", "",
		"how responses are read: plain, onebyte, half, odd, or mixed (each connection in turn; the default); also SOCKJS_READER")
)

// Delays of the in-process timing server: short, so that heartbeats and
// session timeouts are tested in every run.
const (
	inProcessHeartbeat  = 200 * time.Millisecond
	inProcessDisconnect = 500 * time.Millisecond
)

// SockJS defaults: the delays of a server under SOCKJS_URL unless
// SOCKJS_HEARTBEAT_DELAY or SOCKJS_DISCONNECT_DELAY say otherwise.
const (
	defaultHeartbeat  = 25 * time.Second
	defaultDisconnect = 5 * time.Second
)

// suiteConfig is what the tests know about the server under test.
type suiteConfig struct {
	// baseURL serves the four services with the SockJS default delays, which
	// the upstream tests assume (a held poll must not see a heartbeat).
	baseURL string
	// timingURL serves the four services with the delays below; the
	// heartbeat and session-timeout tests use it. In URL mode it is baseURL.
	timingURL  string
	heartbeat  time.Duration // heartbeat delay of timingURL
	disconnect time.Duration // disconnect delay of timingURL
	inProcess  bool          // the servers run in this process
	long       bool          // run tests that wait for long heartbeat delays
	ioTimeout  time.Duration // read and write timeout of one step
	oversize   int           // bytes of a body or message the server must refuse
	raceRounds int           // repetitions of each abort-race scenario
	reader     readerMode    // -1: each connection in turn
	skips      []skipRule    // from SOCKJS_SKIP
}

// cfg is set up by TestMain before any test runs, and read-only after.
var cfg suiteConfig

// service returns the URL of a service on the main server.
func service(name string) string { return cfg.baseURL + "/" + name }

// timingService returns the URL of a service on the timing server.
func timingService(name string) string { return cfg.timingURL + "/" + name }

// timingTestsEnabled reports whether heartbeats can be waited for.
func timingTestsEnabled() bool {
	return cfg.inProcess || cfg.long || cfg.heartbeat <= 5*time.Second
}

// receiveTimeout bounds the wait for the next byte of a receiving request,
// which may be held for a whole heartbeat delay.
func receiveTimeout() time.Duration {
	return 2*max(defaultHeartbeat, cfg.heartbeat) + 10*time.Second
}

// slack is the timing tolerance of the heartbeat and timeout tests.
func slack() time.Duration {
	if cfg.inProcess {
		return 400 * time.Millisecond
	}
	return max(time.Second, cfg.heartbeat/10)
}

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	flag.Parse()
	if err := loadConfig(); err != nil {
		fmt.Fprintln(os.Stderr, "protocol-tests:", err)
		return 2
	}
	// Most tests wait on the network; run more of them at once than the
	// default GOMAXPROCS unless -parallel was given.
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", strconv.Itoa(max(runtime.GOMAXPROCS(0), 8)))
	}
	leakOpts := []goleak.Option{goleak.IgnoreCurrent()}
	stop := func() error { return nil }
	if cfg.inProcess {
		stop = startInProcess()
	}
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, "protocol-tests: stopping the in-process servers:", err)
		code = 1
	}
	if code == 0 {
		if err := goleak.Find(leakOpts...); err != nil {
			fmt.Fprintln(os.Stderr, "protocol-tests: goroutines left behind:", err)
			code = 1
		}
	}
	return code
}

// loadConfig fills cfg from the environment and flags.
func loadConfig() error {
	cfg = suiteConfig{
		ioTimeout:  10 * time.Second,
		oversize:   16 << 20,
		raceRounds: 300,
		reader:     -1,
		long:       *flagLong || envBool("SOCKJS_LONG"),
	}
	if testing.Short() {
		cfg.raceRounds = 30
	}
	var err error
	if cfg.oversize, err = envInt("SOCKJS_OVERSIZE", cfg.oversize); err != nil {
		return err
	}
	if cfg.raceRounds, err = envInt("SOCKJS_RACE_ROUNDS", cfg.raceRounds); err != nil {
		return err
	}
	if cfg.ioTimeout, err = envDuration("SOCKJS_IO_TIMEOUT", cfg.ioTimeout); err != nil {
		return err
	}
	mode := *flagReader
	if mode == "" {
		mode = os.Getenv("SOCKJS_READER")
	}
	switch mode {
	case "", "mixed":
	default:
		found := false
		for m := readerMode(0); m < numReaderModes; m++ {
			if m.String() == mode {
				cfg.reader, found = m, true
			}
		}
		if !found {
			return fmt.Errorf("unknown reader mode %q", mode)
		}
	}
	if cfg.skips, err = parseSkips(os.Getenv("SOCKJS_SKIP")); err != nil {
		return err
	}
	if u := strings.TrimRight(os.Getenv("SOCKJS_URL"), "/"); u != "" {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return fmt.Errorf("SOCKJS_URL %q: want http://host:port or https://host:port", u)
		}
		cfg.baseURL, cfg.timingURL = u, u
		if cfg.heartbeat, err = envDuration("SOCKJS_HEARTBEAT_DELAY", defaultHeartbeat); err != nil {
			return err
		}
		if cfg.disconnect, err = envDuration("SOCKJS_DISCONNECT_DELAY", defaultDisconnect); err != nil {
			return err
		}
		return nil
	}
	cfg.inProcess = true
	cfg.heartbeat, cfg.disconnect = inProcessHeartbeat, inProcessDisconnect
	return nil
}

// startInProcess starts two echo servers: one with the SockJS default delays
// for the upstream tests, one with short delays for the timing tests. It
// returns the function that stops both.
func startInProcess() func() error {
	main := echoserver.New(&echoserver.Options{HeartbeatDelay: defaultHeartbeat, DisconnectDelay: defaultDisconnect})
	timing := echoserver.New(&echoserver.Options{HeartbeatDelay: inProcessHeartbeat, DisconnectDelay: inProcessDisconnect})
	mainSrv := httptest.NewServer(main)
	timingSrv := httptest.NewServer(timing)
	cfg.baseURL, cfg.timingURL = mainSrv.URL, timingSrv.URL
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// Shutdown ends long polls and websockets, which httptest's Close
		// would otherwise wait for.
		err := errors.Join(main.Shutdown(ctx), timing.Shutdown(ctx))
		mainSrv.Close()
		timingSrv.Close()
		return err
	}
}

// envBool reads a boolean environment variable.
func envBool(name string) bool {
	v, _ := strconv.ParseBool(os.Getenv(name))
	return v
}

// envInt reads an integer environment variable.
func envInt(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive integer", name, v)
	}
	return n, nil
}

// envDuration reads a duration environment variable.
func envDuration(name string, def time.Duration) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive duration such as 25s", name, v)
	}
	return d, nil
}
