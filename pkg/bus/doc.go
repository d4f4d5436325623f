// Package bus carries CloudEvents over NATS JetStream.
//
//	Publish(ctx, e) ─ validate (CloudEvents + schema) ─ binary mode ─ js.PublishMsg (Nats-Msg-Id = e.ID) ─ wait ack
//
//	durable pull consumer ─ Consume ─ worker[hash(subject)] ─ decode ─ validate ─ middleware ─ Handler
//	                                                                            │
//	          nil → DoubleAck · transient error / panic → NakWithDelay(backoff) │
//	          permanent error / last delivery → copy to DLQ with reason → TermWithReason
//
// Vocabulary:
//   - binary mode: every CloudEvents attribute travels as a `ce-` header,
//     percent-encoded; datacontenttype travels as `content-type`; the data is
//     the message body (CloudEvents NATS binding).
//   - permanent error: retrying cannot help (malformed message, unknown
//     type, schema violation, or an error wrapped with [Permanent]).
//   - DLQ: the stream that keeps every message the bus gave up on, with its
//     original headers and a `Pave-Dlq-Reason` header.
//
// Handlers never ack; the bus decides from the returned error. That policy
// lives only here.
package bus
