package transports

import "encoding/binary"

// Text frames written straight to a plain websocket's connection (see
// connWriter.write): a server's frames are not masked, so a frame is a
// header of 2, 4 or 10 bytes and the payload. gorilla writes control
// frames (pings, pongs, close), each with one Write under its own lock;
// data frames come only from the write role's holder, which writes each
// batch of frames with one Write (pooledReadConn keeps Writes whole and in
// order), so frames never interleave.

// wsHeadroom is room for the longest header, left in front of a payload
// built in place.
const wsHeadroom = 10

// putTextHeader writes, in front of b[off:] (a whole message's payload),
// the header of an unfragmented text frame, and returns where the frame
// starts. off must be at least wsHeadroom.
func putTextHeader(b []byte, off int) int {
	n := len(b) - off
	switch {
	case n < 126:
		b[off-2], b[off-1] = 0x81, byte(n)
		return off - 2
	case n <= 0xffff:
		b[off-4], b[off-3] = 0x81, 126
		binary.BigEndian.PutUint16(b[off-2:off], uint16(n))
		return off - 4
	default:
		b[off-10], b[off-9] = 0x81, 127
		binary.BigEndian.PutUint64(b[off-8:off], uint64(n))
		return off - 10
	}
}

// appendTextFrame appends an unfragmented text frame holding p.
func appendTextFrame(dst []byte, p string) []byte {
	switch n := len(p); {
	case n < 126:
		dst = append(dst, 0x81, byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x81, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x81, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, p...)
}
