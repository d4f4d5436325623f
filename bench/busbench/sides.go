package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/bus"
)

const benchType = "dev.pave.bench.thing.happened.v1"

const benchSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://pave.dev/schemas/events/dev.pave.bench.thing.happened.v1.json",
  "type": "object", "additionalProperties": false,
  "required": ["sent_ns", "seq", "pad"],
  "properties": {
    "sent_ns": {"type": "integer"}, "seq": {"type": "integer", "minimum": 0},
    "pad": {"type": "string"}
  }
}`

type payload struct {
	SentNS int64  `json:"sent_ns"`
	Seq    int    `json:"seq"`
	Pad    string `json:"pad"`
}

// rawSide is plain nats.go JetStream: publish and wait for the ack,
// consume with a durable pull consumer and Ack.
type rawSide struct{ js jetstream.JetStream }

func (rawSide) name() string { return "raw" }

func (r rawSide) publish(ctx context.Context, tag, id string, key int) error {
	data, _ := json.Marshal(payload{SentNS: time.Now().UnixNano(), Pad: pad})
	_, err := r.js.Publish(ctx, fmt.Sprintf("raw.%s.%d", tag, key), data, jetstream.WithMsgID(id))
	return err
}

func (r rawSide) consume(ctx context.Context, tag string, on func(time.Time)) (func(), error) {
	name := "RAW_" + tag
	if _, err := r.js.CreateOrUpdateStream(ctx, streamConfig(name, "raw."+tag+".>")); err != nil {
		return nil, err
	}
	cons, err := r.js.CreateOrUpdateConsumer(ctx, name, jetstream.ConsumerConfig{
		Durable: "bench", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 1024,
	})
	if err != nil {
		return nil, err
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		var p payload
		if err := json.Unmarshal(m.Data(), &p); err == nil {
			on(time.Unix(0, p.SentNS))
		}
		_ = m.Ack()
	})
	if err != nil {
		return nil, err
	}
	return cc.Stop, nil
}

// busSide is the same work through the bus: CloudEvents binary mode,
// schema validation both ways, worker pool, DoubleAck.
type busSide struct{ b *bus.Bus }

func (busSide) name() string { return "bus" }

func (s busSide) publish(ctx context.Context, tag, id string, key int) error {
	e, err := bus.NewEvent(id, "pave/bench", benchType, payload{SentNS: time.Now().UnixNano(), Pad: pad})
	if err != nil {
		return err
	}
	return s.b.PublishOn(ctx, fmt.Sprintf("pave.evt.bench.%s.%d", tag, key), e)
}

func (s busSide) consume(ctx context.Context, tag string, on func(time.Time)) (func(), error) {
	name := "EVT_BENCH_" + tag
	if err := bus.EnsureStreams(ctx, s.b.JetStream(), streamConfig(name, "pave.evt.bench."+tag+".>")); err != nil {
		return nil, err
	}
	sub, err := s.b.Subscribe(ctx, bus.ConsumerSpec{Stream: name, Durable: "bench"}, func(_ context.Context, e event.Event) error {
		var p payload
		if err := json.Unmarshal(e.Data(), &p); err != nil {
			return bus.Permanent(err)
		}
		on(time.Unix(0, p.SentNS))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return func() { _ = sub.Stop(context.Background()) }, nil
}
