package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// AppendSubject is where the access service takes records to sign and
// append (request/reply: a Record in, "ok" or an error header out). The
// bus permissions allow it to the gateway only.
const AppendSubject = "pave.access.audit.append"

// Client appends records through the access service, which signs them:
// the gateway's recorder. Append returns once the record is in the stream.
type Client struct {
	nc      *nats.Conn
	timeout time.Duration
}

// NewClient asks the access service on nc, waiting at most timeout.
func NewClient(nc *nats.Conn, timeout time.Duration) *Client {
	return &Client{nc: nc, timeout: timeout}
}

// Append sends r to the access service.
func (c *Client) Append(ctx context.Context, r Record) error {
	if r.ID == "" {
		r.ID = NewID()
	}
	if r.Time.IsZero() {
		r.Time = time.Now().UTC()
	}
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	msg, err := c.nc.RequestWithContext(ctx, AppendSubject, raw)
	if err != nil {
		return fmt.Errorf("audit: ask the access service to append: %w", err)
	}
	if code := msg.Header.Get("Nats-Service-Error-Code"); code != "" {
		return errors.New("audit: access service: " + code + " " + msg.Header.Get("Nats-Service-Error"))
	}
	return nil
}
