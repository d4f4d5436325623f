package ports

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/rpc"
)

// keepAlive is how often an idle event stream gets a comment line, so
// proxies keep the connection open.
const keepAlive = 15 * time.Second

// settledStates end a progress stream once no operation runs.
var settledStates = map[string]bool{"ready": true, "failed": true, "deleted": true, "degraded": true,
	"compensation_failed": true}

// environmentEvents is GET /v1/environments/{id}/events: server-sent
// events of one environment's progress. First a snapshot (the
// environment as GET answers it), then every transitioned and progressed
// event of the environment with its stream sequence as id (Last-Event-ID
// resumes after it), then end once the environment is settled with no
// operation running.
func environmentEvents(c Caller, js jetstream.JetStream, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		var start uint64
		resumed := false
		if last := r.Header.Get("Last-Event-ID"); last != "" {
			resumed = true
			n, err := strconv.ParseUint(last, 10, 64)
			if err != nil {
				httpfx.WriteProblem(w, http.StatusBadRequest, "Bad Request", "Last-Event-ID must be an event id this stream sent",
					fieldErrors(rpc.FieldError{Field: "header.Last-Event-ID", Message: "not a stream sequence"}))
				return
			}
			start = n + 1
		}
		// lastSeq is the stream's end before the snapshot is read: a new
		// stream starts after it, a resumed one replays up to it.
		st, err := js.Stream(r.Context(), lifecycleStream)
		if err != nil {
			log.ErrorContext(r.Context(), "event stream", "error", err)
			httpfx.WriteProblem(w, http.StatusServiceUnavailable, "Service Unavailable", "the lifecycle events cannot be read; try again", nil)
			return
		}
		lastSeq := st.CachedInfo().State.LastSeq
		if !resumed {
			start = lastSeq + 1
		}
		snap, rep, err := snapshot(r, c, id)
		switch {
		case err != nil:
			Forward(errCaller{err}, log, rpc.EnvironmentsGet).ServeHTTP(w, r)
			return
		case rep.Status != http.StatusOK:
			WriteReply(w, log, rep)
			return
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		msgs := make(chan jetstream.Msg, 64)
		cc, err := bus.Follow(ctx, js, lifecycleStream, jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{subjectTransitioned, subjectProgressed},
			DeliverPolicy:  jetstream.DeliverByStartSequencePolicy, OptStartSeq: start,
		}, func(m jetstream.Msg) {
			select {
			case msgs <- m:
			case <-ctx.Done():
			}
		})
		if err != nil {
			log.ErrorContext(r.Context(), "event stream", "error", err)
			httpfx.WriteProblem(w, http.StatusServiceUnavailable, "Service Unavailable", "the lifecycle events cannot be read; try again", nil)
			return
		}
		defer cc.Stop()

		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
		out := sseWriter{w: w, rc: rc}
		// The snapshot is the environment without any login: a stream
		// is for progress, credentials only come when asked for (GET
		// ?credentials=true), decided and audited there.
		out.send("", "snapshot", snap.raw)
		// replayTo: a resumed stream of a settled environment first sends
		// what happened after the client's last id, then ends.
		var replayTo uint64
		if snap.settled() {
			if !resumed || start > lastSeq {
				out.end(snap.State)
				return
			}
			replayTo = lastSeq
		}
		// open are the operations (sagas) whose final progress has not
		// been sent: lifecycle may settle the environment before the saga
		// publishes its last progress, and the stream waits for it.
		open, ended := map[string]bool{}, map[string]bool{}
		if snap.OperationID != "" {
			open[snap.OperationID] = true
		}
		tick := time.NewTicker(keepAlive)
		defer tick.Stop()
		var settledState string
		var grace <-chan time.Time
		for out.err == nil {
			select {
			case <-ctx.Done():
				return
			case <-httpfx.StreamsEnd(r.Context()):
				return // the server drains: the client resumes with Last-Event-ID
			case <-tick.C:
				out.comment("keep-alive")
			case <-grace:
				out.end(settledState)
				return
			case m := <-msgs:
				md, err := m.Metadata()
				if err != nil {
					continue
				}
				ev, mine := classify(m, id)
				if mine {
					out.send(strconv.FormatUint(md.Sequence.Stream, 10), ev.name, m.Data())
				}
				if replayTo != 0 {
					if md.Sequence.Stream >= replayTo {
						out.end(snap.State)
						return
					}
					continue
				}
				if !mine {
					continue
				}
				switch {
				case ev.operation == "" || ended[ev.operation]:
				case ev.final:
					ended[ev.operation] = true
					delete(open, ev.operation)
				default:
					open[ev.operation] = true
				}
				if settledState == "" && ev.check {
					// The environment may have settled: ask lifecycle.
					if now, rep, err := snapshot(r, c, id); err == nil && rep.Status == http.StatusOK && now.settled() {
						settledState = now.State
						grace = time.After(settleGrace)
					}
				}
				if settledState != "" && len(open) == 0 {
					out.end(settledState)
					return
				}
			}
		}
	})
}

// settleGrace bounds the wait for an operation's last progress after its
// environment settled.
const settleGrace = 3 * time.Second

// streamEvent is what the stream needs to know of an event.
type streamEvent struct {
	name string
	// operation is the saga the event is about; final when it ended.
	operation string
	final     bool
	// check: the environment may have settled with this event.
	check bool
}

// classify says whether an event is about environment id and what the
// stream needs to know of it.
func classify(m jetstream.Msg, id string) (streamEvent, bool) {
	switch m.Subject() {
	case subjectTransitioned:
		var e events.EnvironmentTransitioned
		if json.Unmarshal(m.Data(), &e) != nil || e.EnvironmentID != id {
			return streamEvent{}, false
		}
		return streamEvent{name: "transitioned", operation: e.OperationID, check: settledStates[e.To]}, true
	case subjectProgressed:
		var p events.SagaProgressed
		if json.Unmarshal(m.Data(), &p) != nil || !strings.HasPrefix(p.SagaID, id+".") {
			return streamEvent{}, false
		}
		final := terminalSaga(p.Status)
		return streamEvent{name: "progressed", operation: p.SagaID, final: final, check: final}, true
	}
	return streamEvent{}, false
}

// envSnapshot is an environment as GET /v1/environments/{id} answers it.
type envSnapshot struct {
	raw       json.RawMessage
	State     string `json:"state"`
	Operation *struct {
		ID string `json:"id"`
	} `json:"operation"`
	// OperationID is the operation running when the snapshot was taken.
	OperationID string `json:"-"`
}

func (s envSnapshot) settled() bool { return settledStates[s.State] && s.Operation == nil }

// snapshot asks lifecycle for the environment as the caller may see it.
func snapshot(r *http.Request, c Caller, id string) (envSnapshot, rpc.Reply, error) {
	p, _ := PrincipalFrom(r.Context())
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	rep, err := c.Call(ctx, rpc.EnvironmentsGet, rpc.Request{Principal: p, Path: map[string]string{"id": id}})
	if err != nil || rep.Status != http.StatusOK {
		return envSnapshot{}, rep, err
	}
	s := envSnapshot{raw: rep.Body}
	if err := json.Unmarshal(rep.Body, &s); err != nil {
		return envSnapshot{}, rpc.Fail(http.StatusBadGateway, "Bad Gateway", "lifecycle answered an environment that is not JSON"), nil
	}
	if s.Operation != nil {
		s.OperationID = s.Operation.ID
	}
	return s, rep, nil
}

// sseWriter writes server-sent events and flushes each; the first write
// error ends the stream.
type sseWriter struct {
	w   io.Writer
	rc  *http.ResponseController
	err error
}

func (s *sseWriter) write(text string) {
	if s.err != nil {
		return
	}
	if _, s.err = io.WriteString(s.w, text); s.err == nil {
		s.err = s.rc.Flush()
	}
}

func (s *sseWriter) send(id, event string, data []byte) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		buf.Reset()
		buf.Write(bytes.ReplaceAll(data, []byte("\n"), nil))
	}
	msg := ""
	if id != "" {
		msg = "id: " + id + "\n"
	}
	s.write(msg + "event: " + event + "\ndata: " + buf.String() + "\n\n")
}

func (s *sseWriter) comment(text string) { s.write(": " + text + "\n\n") }

func (s *sseWriter) end(state string) {
	s.send("", "end", []byte(fmt.Sprintf(`{"state":%q}`, state)))
}
