package protocoltests

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing/iotest"
	"time"
)

// The suite speaks HTTP by hand, like the official suite's RawHttpConnection:
// it must see chunk boundaries, send requests net/http would refuse (HTTP/1.0,
// a POST without Content-Length, empty header values) and check headers that
// net/http rewrites.

// A readerMode is how the bytes of a connection are handed to the parsers.
// Every mode must give the same results; the odd ones make sure that no
// parser depends on how reads happen to be split.
type readerMode int

const (
	readPlain   readerMode = iota // whatever the socket returns
	readOneByte                   // iotest.OneByteReader
	readHalf                      // iotest.HalfReader
	readOdd                       // reads of 7, 1, 13, 3 and 5 bytes in turn
	numReaderModes
)

func (m readerMode) String() string {
	return [...]string{"plain", "onebyte", "half", "odd"}[m]
}

// wrap applies the mode to r.
func (m readerMode) wrap(r io.Reader) io.Reader {
	switch m {
	case readOneByte:
		return iotest.OneByteReader(r)
	case readHalf:
		return iotest.HalfReader(r)
	case readOdd:
		return &oddReader{r: r}
	}
	return r
}

// oddReader splits reads into odd sizes that change from read to read.
type oddReader struct {
	r io.Reader
	i int
}

func (o *oddReader) Read(p []byte) (int, error) {
	sizes := [...]int{7, 1, 13, 3, 5}
	n := sizes[o.i%len(sizes)]
	o.i++
	if len(p) > n {
		p = p[:n]
	}
	return o.r.Read(p)
}

// connCount picks the reader mode of each new connection in turn.
var connCount atomic.Uint64

// nextReaderMode returns the reader mode for a new connection.
func nextReaderMode() readerMode {
	if cfg.reader >= 0 {
		return cfg.reader
	}
	return readerMode(connCount.Add(1) % uint64(numReaderModes))
}

// hdrs is an ordered list of request headers; an empty value is sent as is.
type hdrs [][2]string

// A rawConn is one client connection.
type rawConn struct {
	conn    net.Conn
	br      *bufio.Reader
	mode    readerMode
	timeout atomic.Int64 // read timeout in nanoseconds
}

// deadlineReader sets the connection's read deadline before every read.
type deadlineReader struct{ c *rawConn }

func (d deadlineReader) Read(p []byte) (int, error) {
	if err := d.c.conn.SetReadDeadline(time.Now().Add(time.Duration(d.c.timeout.Load()))); err != nil {
		return 0, err
	}
	return d.c.conn.Read(p)
}

// dialRaw connects to the server of the absolute URL u (http or https).
func dialRaw(u string) (*rawConn, error) {
	scheme, hostport, _ := splitURL(u)
	c, err := net.DialTimeout("tcp", hostport, cfg.ioTimeout)
	if err != nil {
		return nil, err
	}
	if scheme == "https" {
		host, _, _ := net.SplitHostPort(hostport)
		tc := tls.Client(c, &tls.Config{
			ServerName:         host,
			InsecureSkipVerify: os.Getenv("SOCKJS_INSECURE") != "",
			NextProtos:         []string{"http/1.1"},
		})
		if err := tc.Handshake(); err != nil {
			c.Close()
			return nil, err
		}
		c = tc
	}
	rc := &rawConn{conn: c, mode: nextReaderMode()}
	rc.timeout.Store(int64(cfg.ioTimeout))
	// The socket is read in large blocks; the parsers above see the mode's
	// split, so the split costs function calls, not system calls.
	rc.br = bufio.NewReaderSize(rc.mode.wrap(bufio.NewReaderSize(deadlineReader{rc}, 64<<10)), 64<<10)
	return rc, nil
}

// setTimeout changes the read timeout of later reads.
func (c *rawConn) setTimeout(d time.Duration) { c.timeout.Store(int64(d)) }

// Close closes the connection; it may be called from any goroutine.
func (c *rawConn) Close() error { return c.conn.Close() }

// splitURL splits an absolute URL into scheme, host:port and the request
// target, which is kept byte for byte (no cleaning, no re-escaping).
func splitURL(u string) (scheme, hostport, target string) {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		panic("protocol-tests: not an absolute URL: " + u)
	}
	hostport, target = rest, "/"
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		hostport, target = rest[:i], rest[i:]
		if target[0] == '?' {
			target = "/" + target
		}
	}
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		port := "80"
		if scheme == "https" {
			port = "443"
		}
		hostport = net.JoinHostPort(hostport, port)
	}
	return scheme, hostport, target
}

// A rawRequest is one request written by hand.
type rawRequest struct {
	method   string
	url      string // absolute URL; the target is sent verbatim
	proto    string // "HTTP/1.1" when empty
	header   hdrs
	body     []byte
	noLength bool // send no Content-Length header at all
}

// write sends the request. Like the official suite, a POST always carries a
// Content-Length (0 without a body) unless noLength is set.
func (c *rawConn) write(req rawRequest) error {
	_, hostport, target := splitURL(req.url)
	proto := req.proto
	if proto == "" {
		proto = "HTTP/1.1"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s\r\n", req.method, target, proto)
	hasHost := false
	for _, h := range req.header {
		hasHost = hasHost || strings.EqualFold(h[0], "Host")
	}
	if !hasHost {
		fmt.Fprintf(&b, "Host: %s\r\n", hostport)
	}
	for _, h := range req.header {
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	if !req.noLength && (req.method == http.MethodPost || len(req.body) > 0) {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(req.body))
	}
	b.WriteString("\r\n")
	if err := c.conn.SetWriteDeadline(time.Now().Add(cfg.ioTimeout + time.Duration(len(req.body)/(1<<20))*time.Second)); err != nil {
		return err
	}
	if _, err := io.WriteString(c.conn, b.String()); err != nil {
		return err
	}
	_, err := c.conn.Write(req.body)
	return err
}

// bodyKind says how a response body is delimited.
type bodyKind int

const (
	bodyNone    bodyKind = iota // no body (101, 204, 304, OPTIONS)
	bodyLength                  // Content-Length
	bodyChunked                 // Transfer-Encoding: chunked
	bodyEOF                     // until the connection closes
)

// A rawResponse is a response whose head has been read.
type rawResponse struct {
	proto  string // e.g. "1.1", as in the official suite's r.http
	status int
	header http.Header
	body   []byte // set by readBody
	conn   *rawConn
	kind   bodyKind
	length int64 // bytes of a bodyLength body not read yet
	chunks *chunkReader
}

// get returns a header value, "" when absent.
func (r *rawResponse) get(name string) string { return r.header.Get(name) }

// has reports whether a header is present (even with an empty value).
func (r *rawResponse) has(name string) bool {
	_, ok := r.header[textproto.CanonicalMIMEHeaderKey(name)]
	return ok
}

// readResponse reads a response head. method and proto are the request's.
func (c *rawConn) readResponse(method, proto string) (*rawResponse, error) {
	line, err := readLine(c.br)
	if err != nil {
		return nil, fmt.Errorf("reading status line: %w", err)
	}
	version, rest, ok := strings.Cut(line, " ")
	if !ok || !strings.HasPrefix(version, "HTTP/") {
		return nil, fmt.Errorf("bad status line %q", clip(line))
	}
	code, _, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	if err != nil || len(code) != 3 {
		return nil, fmt.Errorf("bad status line %q", clip(line))
	}
	mh, err := textproto.NewReader(c.br).ReadMIMEHeader()
	if err != nil {
		return nil, fmt.Errorf("reading headers: %w", err)
	}
	r := &rawResponse{proto: strings.TrimPrefix(version, "HTTP/"), status: status, header: http.Header(mh), conn: c}
	te := strings.ToLower(strings.TrimSpace(r.get("Transfer-Encoding")))
	switch {
	case status == 101 || status == 204 || status == 304 || method == http.MethodHead:
		r.kind = bodyNone
	case te == "chunked":
		r.kind = bodyChunked
		r.chunks = &chunkReader{br: c.br}
	case r.has("Content-Length"):
		n, err := strconv.ParseInt(r.get("Content-Length"), 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad Content-Length %q", r.get("Content-Length"))
		}
		r.kind, r.length = bodyLength, n
	case hasToken(r.get("Connection"), "close") || proto == "HTTP/1.0" || r.proto == "1.0":
		r.kind = bodyEOF
	case status == 200 && method == http.MethodOptions:
		r.kind = bodyNone
	default:
		return nil, fmt.Errorf("status %d: no Transfer-Encoding: chunked, no Content-Length and no Connection: close", status)
	}
	return r, nil
}

// hasToken reports whether a comma-separated header value contains token.
func hasToken(v, token string) bool {
	for _, t := range strings.Split(v, ",") {
		if strings.EqualFold(strings.TrimSpace(t), token) {
			return true
		}
	}
	return false
}

// readLine reads one CRLF-terminated line without the CRLF.
func readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		if err == io.EOF && line != "" {
			err = io.ErrUnexpectedEOF
		}
		return "", err
	}
	if !strings.HasSuffix(line, "\r\n") {
		return "", fmt.Errorf("line %q does not end in CRLF", clip(line))
	}
	return line[:len(line)-2], nil
}

// bodyReader returns the body as a stream, whatever its delimiting.
func (r *rawResponse) bodyReader() io.Reader {
	switch r.kind {
	case bodyChunked:
		return r.chunks
	case bodyLength:
		return &lengthReader{r: r}
	case bodyEOF:
		return r.conn.br
	}
	return strings.NewReader("")
}

// readBody reads the whole body into r.body.
func (r *rawResponse) readBody() error {
	b, err := io.ReadAll(r.bodyReader())
	r.body = b
	return err
}

// next mimics the official suite's read() on a streaming response: the next
// chunk of a chunked body, the rest of a Content-Length body, whatever one
// read returns otherwise. The end of the body is (nil, io.EOF).
func (r *rawResponse) next() ([]byte, error) {
	switch r.kind {
	case bodyChunked:
		return r.chunks.next()
	case bodyLength:
		if r.length == 0 {
			return nil, io.EOF
		}
		b := make([]byte, r.length)
		_, err := io.ReadFull(&lengthReader{r: r}, b)
		return b, err
	case bodyEOF:
		b := make([]byte, 64<<10)
		n, err := r.conn.br.Read(b)
		if n > 0 {
			return b[:n], nil
		}
		return nil, err
	}
	return nil, io.EOF
}

// lengthReader reads what is left of a Content-Length body.
type lengthReader struct{ r *rawResponse }

func (l *lengthReader) Read(p []byte) (int, error) {
	if l.r.length == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.r.length {
		p = p[:l.r.length]
	}
	n, err := l.r.conn.br.Read(p)
	l.r.length -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// maxChunk bounds the chunk sizes the suite accepts.
const maxChunk = 256 << 20

// A chunkReader decodes a chunked body. next returns one chunk at a time;
// Read returns the concatenated chunk data. Both may be used on one body, as
// long as next is only called between chunks.
type chunkReader struct {
	br   *bufio.Reader
	left int64 // bytes of the current chunk not read yet
	mid  bool  // inside a chunk (its CRLF not consumed yet)
	done bool  // last chunk and trailers read
}

// errChunkFormat reports a malformed chunked body.
var errChunkFormat = errors.New("malformed chunked encoding")

// header reads a chunk-size line and starts the chunk; at the last chunk it
// reads the trailers and returns io.EOF.
func (c *chunkReader) header() error {
	if c.done {
		return io.EOF
	}
	line, err := readLine(c.br)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("chunk size: %w", err)
	}
	size, _, _ := strings.Cut(line, ";")
	size = strings.TrimRight(size, " \t")
	n, err := strconv.ParseInt(size, 16, 64)
	if err != nil || n < 0 || n > maxChunk || size == "" {
		return fmt.Errorf("%w: chunk size line %q", errChunkFormat, clip(line))
	}
	if n == 0 {
		for {
			t, err := readLine(c.br)
			if err != nil {
				return fmt.Errorf("chunk trailers: %w", err)
			}
			if t == "" {
				break
			}
		}
		c.done = true
		return io.EOF
	}
	c.left, c.mid = n, true
	return nil
}

// finish consumes the CRLF after a chunk's data.
func (c *chunkReader) finish() error {
	var crlf [2]byte
	if _, err := io.ReadFull(c.br, crlf[:]); err != nil {
		return fmt.Errorf("chunk end: %w", err)
	}
	if crlf != [2]byte{'\r', '\n'} {
		return fmt.Errorf("%w: chunk data not followed by CRLF", errChunkFormat)
	}
	c.mid = false
	return nil
}

// next returns the next chunk's data; io.EOF after the last chunk.
func (c *chunkReader) next() ([]byte, error) {
	if c.mid {
		return nil, errors.New("chunkReader.next called inside a chunk")
	}
	if err := c.header(); err != nil {
		return nil, err
	}
	b := make([]byte, c.left)
	if _, err := io.ReadFull(c.br, b); err != nil {
		return nil, fmt.Errorf("chunk data: %w", noEOF(err))
	}
	c.left = 0
	return b, c.finish()
}

// Read implements io.Reader over the chunk data.
func (c *chunkReader) Read(p []byte) (int, error) {
	if !c.mid {
		if err := c.header(); err != nil {
			return 0, err
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.br.Read(p)
	c.left -= int64(n)
	if err != nil {
		return n, fmt.Errorf("chunk data: %w", noEOF(err))
	}
	if c.left == 0 {
		err = c.finish()
	}
	return n, err
}

// noEOF turns io.EOF into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// do sends req on a new connection and reads the response head; the caller
// owns the returned response's connection.
func do(req rawRequest) (*rawResponse, error) {
	c, err := dialRaw(req.url)
	if err != nil {
		return nil, err
	}
	if err := c.write(req); err != nil {
		c.Close()
		return nil, err
	}
	r, err := c.readResponse(req.method, req.proto)
	if err != nil {
		c.Close()
		return nil, err
	}
	return r, nil
}

// roundTrip sends req on a new connection, reads the whole response and
// closes the connection.
func roundTrip(req rawRequest) (*rawResponse, error) {
	r, err := do(req)
	if err != nil {
		return nil, err
	}
	defer r.conn.Close()
	if err := r.readBody(); err != nil {
		return r, fmt.Errorf("%s %s: body: %w", req.method, req.url, err)
	}
	return r, nil
}

// expectClosed reports whether the peer closes the connection within d
// without sending anything more.
func (c *rawConn) expectClosed(d time.Duration) error {
	old := c.timeout.Load()
	c.setTimeout(d)
	defer c.timeout.Store(old)
	b, err := c.br.ReadByte()
	switch {
	case err == io.EOF:
		return nil
	case err == nil:
		return fmt.Errorf("connection not closed: got byte %q", b)
	default:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fmt.Errorf("connection not closed after %v", d)
		}
		if errors.Is(err, net.ErrClosed) || isReset(err) {
			return nil
		}
		return err
	}
}

// isReset reports whether err is a connection reset.
func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}
