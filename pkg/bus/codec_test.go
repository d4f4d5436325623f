package bus_test

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
)

func TestEncodePercentEncodesHeaderValues(t *testing.T) {
	ev := newThing(t, `a b"c%d/é`, 1)
	msg := bus.Encode("s", ev)
	assert.Equal(t, "a%20b%22c%25d/%C3%A9", msg.Header.Get("ce-id"))
	assert.Equal(t, "1.0", msg.Header.Get("ce-specversion"))
	assert.Equal(t, "application/json", msg.Header.Get("content-type"))
	assert.Equal(t, `a b"c%d/é`, msg.Header.Get("Nats-Msg-Id"))

	back, err := bus.Decode(msg.Header, msg.Data)
	require.NoError(t, err)
	assert.Equal(t, ev.ID(), back.ID())
}

func TestDecodeRefusesMalformedHeaders(t *testing.T) {
	base := func() nats.Header {
		return nats.Header{"ce-specversion": {"1.0"}, "ce-id": {"1"}, "ce-source": {"s"}, "ce-type": {"t"}}
	}
	tests := []struct {
		give func(nats.Header)
		want string
	}{
		{func(h nats.Header) { h.Del("ce-source") }, "ce-source: required header is missing"},
		{func(h nats.Header) { h.Del("ce-specversion") }, "ce-specversion"},
		{func(h nats.Header) { h.Set("ce-id", "%zz") }, "bad percent-encoding"},
		{func(h nats.Header) { h.Set("ce-time", "yesterday") }, "ce-time"},
		{func(h nats.Header) { h.Set("content-type", "text/plain") }, "content-type"},
	}
	for _, tt := range tests {
		h := base()
		tt.give(h)
		_, err := bus.Decode(h, []byte(`{}`))
		require.Error(t, err, tt.want)
		assert.Contains(t, err.Error(), tt.want)
		assert.True(t, bus.IsPermanent(err))
	}
}

func TestBackoffDoublesUpToMax(t *testing.T) {
	b := bus.Backoff{Base: 100, Max: 1000}
	tests := []struct {
		give uint64
		want int64
	}{{1, 100}, {2, 200}, {3, 400}, {4, 800}, {5, 1000}, {50, 1000}}
	for _, tt := range tests {
		assert.Equal(t, tt.want, int64(b.Delay(tt.give)), "delivery %d", tt.give)
	}
}
