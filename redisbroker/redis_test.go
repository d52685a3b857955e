package redisbroker_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// redisAddr is the server the tests use: REDIS_ADDR if set, otherwise a
// redis-server that TestMain starts on a free loopback port and stops
// afterwards. Without redis-server on PATH the tests are skipped, unless
// REDISBROKER_REQUIRE is set (as in CI), which makes that a failure.
var redisAddr string

func TestMain(m *testing.M) {
	if spec := os.Getenv("REDISBROKER_PRESENCE_NODE"); spec != "" {
		presenceHelper(spec) // a child process of TestPresenceKilledNode
		return
	}
	stop := func() {}
	redisAddr = os.Getenv("REDIS_ADDR")
	if redisAddr == "" {
		addr, s, err := startRedis()
		switch {
		case err == nil:
			redisAddr, stop = addr, s
		case os.Getenv("REDISBROKER_REQUIRE") != "":
			fmt.Fprintln(os.Stderr, "redisbroker tests:", err)
			os.Exit(1)
		default:
			fmt.Fprintln(os.Stderr, "redisbroker tests: skipping the tests that need Redis:", err)
		}
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		stop()
		os.Exit(code)
	}))
}

func needRedis(t *testing.T) {
	t.Helper()
	if redisAddr == "" {
		t.Skip("no Redis server (install redis-server or set REDIS_ADDR)")
	}
}

// startRedis runs redis-server on a free loopback port, without
// persistence, and waits until it answers.
func startRedis() (addr string, stop func(), err error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir, err := os.MkdirTemp("", "redisbroker-test-")
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(path, "--bind", "127.0.0.1", "--port", strconv.Itoa(port),
		"--save", "", "--appendonly", "no", "--dir", dir, "--loglevel", "warning")
	logFile, err := os.Create(filepath.Join(dir, "redis.log"))
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	defer logFile.Close()                     // the child keeps its own descriptor
	cmd.Stdout, cmd.Stderr = logFile, logFile // files: no copying goroutines
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		os.RemoveAll(dir)
	}
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := ping(addr); err == nil {
			return addr, stop, nil
		} else if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			stop()
			return "", nil, fmt.Errorf("redis-server on %s did not answer: %w\n%s", addr, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ping checks that a Redis server answers PING, without go-redis.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, "PING\r\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// deadline returns a context for one test step.
func deadline(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}
