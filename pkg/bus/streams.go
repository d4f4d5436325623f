package bus

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream names shared by every service.
const (
	StreamIngress  = "INGRESS"
	StreamDLQ      = "DLQ"
	StreamAudit    = "AUDIT"
	StreamPlatform = "EVT_PLATFORM"

	// SubjectDLQPrefix is where dead letters go: pave.dlq.<stream>.<consumer>.
	SubjectDLQPrefix = "pave.dlq."
)

// StreamOptions are the deployment-wide knobs of every stream.
type StreamOptions struct {
	Replicas   int           // 1 for pave dev, 3 in production
	MaxBytes   int64         // per stream; discard-new once reached
	Duplicates time.Duration // deduplication window for Nats-Msg-Id
	// EventRetention is how long event streams (EVT_*, INGRESS, DLQ) keep
	// a message (MaxAge); 0 keeps it until the byte limit.
	EventRetention time.Duration
}

// DefaultEventRetention is the window event streams keep by default.
const DefaultEventRetention = 30 * 24 * time.Hour

// DefaultStreamOptions suits pave dev and tests.
func DefaultStreamOptions() StreamOptions {
	return StreamOptions{Replicas: 1, MaxBytes: 1 << 30, Duplicates: 10 * time.Minute,
		EventRetention: DefaultEventRetention}
}

// foldedLogs are event streams whose owner rebuilds its state by reading
// them from sequence 1 (the scheduler's log). A window would silently drop
// state that is still live (an environment holds its admission until
// teardown), so they keep everything until their owner starts from a
// snapshot plus the tail; the byte limit and the fill alert bound them.
var foldedLogs = map[string]bool{"EVT_SCHEDULER": true}

// ServiceStreams declares the command and event streams a service owns.
func ServiceStreams(service string, o StreamOptions) []jetstream.StreamConfig {
	up := strings.ToUpper(service)
	return []jetstream.StreamConfig{
		o.base(jetstream.StreamConfig{
			Name:        "CMD_" + up,
			Description: "commands for the " + service + " service",
			Subjects:    []string{"pave.cmd." + service + ".>"},
			Retention:   jetstream.WorkQueuePolicy,
		}),
		o.base(jetstream.StreamConfig{
			Name:        "EVT_" + up,
			Description: "events of the " + service + " service",
			Subjects:    []string{"pave.evt." + service + ".>"},
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      o.eventWindow("EVT_" + up),
			DenyDelete:  true,
			DenyPurge:   true,
		}),
	}
}

func (o StreamOptions) eventWindow(stream string) time.Duration {
	if foldedLogs[stream] {
		return 0
	}
	return o.EventRetention
}

// CoreStreams declares the streams no single service owns.
func CoreStreams(o StreamOptions) []jetstream.StreamConfig {
	return []jetstream.StreamConfig{
		o.base(jetstream.StreamConfig{
			Name: StreamIngress, Description: "events sent into Pave by other systems",
			Subjects: []string{"pave.ingress.>"}, Retention: jetstream.LimitsPolicy,
			MaxAge: o.EventRetention,
		}),
		o.base(jetstream.StreamConfig{
			Name: StreamDLQ, Description: "messages the bus gave up on, with the reason",
			Subjects: []string{SubjectDLQPrefix + ">"}, Retention: jetstream.LimitsPolicy,
			MaxAge: o.EventRetention,
		}),
		// AUDIT never ages out: records leave only when the access
		// service's archiver purges segments it has archived
		// (services/access/audit Compactor, PAVE_AUDIT_RETENTION), so purge
		// is allowed and single deletes are not.
		o.base(jetstream.StreamConfig{
			Name: StreamAudit, Description: "hash-chained audit records",
			Subjects: []string{"pave.audit.>"}, Retention: jetstream.LimitsPolicy,
			DenyDelete: true,
		}),
		o.base(jetstream.StreamConfig{
			Name: StreamPlatform, Description: "platform events: service start and stop, dead letters",
			Subjects: []string{"pave.evt.platform.>"}, Retention: jetstream.LimitsPolicy,
			MaxAge:     o.EventRetention,
			DenyDelete: true, DenyPurge: true,
		}),
	}
}

func (o StreamOptions) base(c jetstream.StreamConfig) jetstream.StreamConfig {
	c.Storage = jetstream.FileStorage
	c.Replicas = max(o.Replicas, 1)
	c.MaxBytes = o.MaxBytes
	c.MaxMsgs = -1
	c.MaxMsgsPerSubject = -1
	c.Discard = jetstream.DiscardNew
	c.Duplicates = o.Duplicates
	c.MaxMsgSize = 4 << 20
	return c
}

// EnsureStreams creates each stream, or updates it to the declared config.
// It is safe to run at every start of every replica. A stream that is
// already as declared is only read, so a process whose NATS user may not
// change it (a runner, for the core streams) starts as long as its owner
// declared it first.
//
// A deny flag an existing stream already has stays: JetStream cannot
// cancel deny-delete or deny-purge (AUDIT declared by an earlier Pave keeps
// purge denied).
func EnsureStreams(ctx context.Context, js jetstream.JetStream, cfgs ...jetstream.StreamConfig) error {
	for _, c := range cfgs {
		if st, err := js.Stream(ctx, c.Name); err == nil {
			old := st.CachedInfo().Config
			c.DenyDelete = c.DenyDelete || old.DenyDelete
			c.DenyPurge = c.DenyPurge || old.DenyPurge
			if sameStream(old, c) {
				continue
			}
		}
		if _, err := js.CreateOrUpdateStream(ctx, c); err != nil {
			return fmt.Errorf("declare stream %s: %w", c.Name, err)
		}
	}
	return nil
}

// sameStream reports whether have is already want in every field Pave
// declares.
func sameStream(have, want jetstream.StreamConfig) bool {
	return slices.Equal(have.Subjects, want.Subjects) && have.Description == want.Description &&
		have.Retention == want.Retention && have.MaxAge == want.MaxAge && have.MaxBytes == want.MaxBytes &&
		have.MaxMsgs == want.MaxMsgs && have.MaxMsgsPerSubject == want.MaxMsgsPerSubject &&
		have.Discard == want.Discard && have.Duplicates == want.Duplicates && have.MaxMsgSize == want.MaxMsgSize &&
		have.Storage == want.Storage && have.Replicas == want.Replicas &&
		have.DenyDelete == want.DenyDelete && have.DenyPurge == want.DenyPurge
}
