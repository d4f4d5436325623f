package localsrv

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"
)

// probe opens a session the way a client does and succeeds on
// AuthenticationOk, so "ready" means a client can really log in, not just
// that the port is open (a starting server accepts TCP and then refuses).
func (p *Postgres) probe(ctx context.Context) error {
	d := net.Dialer{Timeout: time.Second}
	conn, err := d.DialContext(ctx, "tcp", p.Addr())
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write(startupMessage("postgres", "postgres")); err != nil {
		return err
	}
	var header [5]byte
	if _, err := io.ReadFull(conn, header[:]); err != nil {
		return err
	}
	size := binary.BigEndian.Uint32(header[1:])
	if size < 4 || size > 1<<16 {
		return fmt.Errorf("postgres: bad message length %d", size)
	}
	body := make([]byte, size-4)
	if _, err := io.ReadFull(conn, body); err != nil {
		return err
	}
	switch {
	case header[0] == 'R' && len(body) >= 4 && binary.BigEndian.Uint32(body) == 0:
		_, _ = conn.Write([]byte{'X', 0, 0, 0, 4}) // Terminate
		return nil
	case header[0] == 'R' && len(body) >= 4 && binary.BigEndian.Uint32(body) == 10 && p.password != "":
		// AuthenticationSASL: the server is past its start and asks for
		// the password, so a client can log in.
		return nil
	case header[0] == 'E':
		return fmt.Errorf("postgres: %s", errorMessage(body))
	default:
		return fmt.Errorf("postgres: unexpected reply %q", header[0])
	}
}

// startupMessage is a protocol 3.0 StartupMessage.
func startupMessage(user, database string) []byte {
	var params bytes.Buffer
	for _, s := range []string{"user", user, "database", database, ""} {
		params.WriteString(s)
		params.WriteByte(0)
	}
	msg := binary.BigEndian.AppendUint32(nil, uint32(8+params.Len()))
	msg = binary.BigEndian.AppendUint32(msg, 3<<16)
	return append(msg, params.Bytes()...)
}

// errorMessage extracts the M (message) field of an ErrorResponse.
func errorMessage(body []byte) string {
	for _, field := range bytes.Split(body, []byte{0}) {
		if len(field) > 1 && field[0] == 'M' {
			return string(field[1:])
		}
	}
	return "unknown error"
}
