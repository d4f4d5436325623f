package ports

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/gateway/internal/notify/domain"
)

// feedStreams are the event streams the live feed follows.
var feedStreams = []string{"EVT_LIFECYCLE", "EVT_PROVISIONING", "EVT_ACCESS", "EVT_COST", "EVT_SCHEDULER",
	"EVT_GATEWAY", "EVT_RUNNER", "EVT_PLATFORM"}

// feedPosition is where a feed is in each stream: the last sequence it
// read. As an event id it is "EVT_LIFECYCLE:12,EVT_COST:4", so
// Last-Event-ID resumes every stream exactly after what was read.
type feedPosition map[string]uint64

func (p feedPosition) String() string {
	parts := make([]string, 0, len(p))
	for _, s := range feedStreams {
		if n, ok := p[s]; ok {
			parts = append(parts, s+":"+strconv.FormatUint(n, 10))
		}
	}
	return strings.Join(parts, ",")
}

func parseFeedPosition(s string) (feedPosition, error) {
	p := feedPosition{}
	for _, part := range strings.Split(s, ",") {
		name, seq, ok := strings.Cut(part, ":")
		n, err := strconv.ParseUint(seq, 10, 64)
		if !ok || err != nil || !slices.Contains(feedStreams, name) {
			return nil, errors.New("not an id this stream sent")
		}
		p[name] = n
	}
	return p, nil
}

// feedFilter is what a feed request selects.
type feedFilter struct {
	team, environment string
	types             []string
	untilSettled      bool
}

func (f feedFilter) wants(a domain.Attrs) bool {
	if f.team != "" && a.Team != f.team {
		return false
	}
	if f.environment != "" && a.Environment != f.environment && a.Name != f.environment {
		return false
	}
	if len(f.types) == 0 {
		return true
	}
	for _, g := range f.types {
		if ok, _ := path.Match(g, a.Type); ok {
			return true
		}
	}
	return false
}

type feedMsg struct {
	stream string
	m      jetstream.Msg
}

// teamEvents is GET /v1/events/stream?team=…: a team's events (every
// event for a platform admin without ?team=) as server-sent events, each
// the CloudEvent in structured JSON with the feed position as its id.
// ?environment= narrows to one environment (id or name) and ?types= to
// type globs; the feed follows the environment past ready (updates,
// expiry, teardown) unless ?until=settled ends it when it settles.
func teamEvents(js jetstream.JetStream, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := feedFilter{team: q.Get("team"), environment: q.Get("environment"), untilSettled: q.Get("until") == "settled"}
		if t := q.Get("types"); t != "" {
			f.types = strings.Split(t, ",")
		}
		for i, g := range f.types {
			if _, err := path.Match(g, ""); err != nil {
				WriteReply(w, log, rpc.Fail(http.StatusBadRequest, "Bad Request", "types: not a glob pattern",
					rpc.FieldError{Field: "types[" + strconv.Itoa(i) + "]", Message: "not a glob pattern"}))
				return
			}
		}
		if u := q.Get("until"); u != "" && u != "settled" {
			WriteReply(w, log, rpc.Fail(http.StatusBadRequest, "Bad Request", "until: must be settled",
				rpc.FieldError{Field: "until", Message: "must be settled"}))
			return
		}
		if f.untilSettled && f.environment == "" {
			WriteReply(w, log, rpc.Fail(http.StatusBadRequest, "Bad Request", "until: needs environment",
				rpc.FieldError{Field: "until", Message: "needs environment"}))
			return
		}
		pos := feedPosition{}
		resumed := false
		if last := r.Header.Get("Last-Event-ID"); last != "" {
			p, err := parseFeedPosition(last)
			if err != nil {
				httpfx.WriteProblem(w, http.StatusBadRequest, "Bad Request", "Last-Event-ID must be an event id this stream sent",
					fieldErrors(rpc.FieldError{Field: "header.Last-Event-ID", Message: err.Error()}))
				return
			}
			pos, resumed = p, true
		}
		msgs := make(chan feedMsg, 256)
		ctx := r.Context()
		for _, name := range feedStreams {
			st, err := js.Stream(ctx, name)
			if errors.Is(err, jetstream.ErrStreamNotFound) {
				continue
			}
			if err != nil {
				log.ErrorContext(ctx, "event feed", "stream", name, "error", err)
				httpfx.WriteProblem(w, http.StatusServiceUnavailable, "Service Unavailable", "the events cannot be read; try again", nil)
				return
			}
			start, seen := pos[name]
			if !seen {
				start = st.CachedInfo().State.LastSeq
				if resumed {
					start = 0 // a stream not in the id had sent nothing yet: all of it is new
				}
				pos[name] = start
			}
			cc, err := bus.Follow(ctx, js, name, jetstream.OrderedConsumerConfig{
				DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: start + 1}, func(m jetstream.Msg) {
				select {
				case msgs <- feedMsg{stream: name, m: m}:
				case <-ctx.Done():
				}
			})
			if err != nil {
				log.ErrorContext(ctx, "event feed", "stream", name, "error", err)
				httpfx.WriteProblem(w, http.StatusServiceUnavailable, "Service Unavailable", "the events cannot be read; try again", nil)
				return
			}
			defer cc.Stop()
		}
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		_ = rc.SetWriteDeadline(time.Time{})
		out := sseWriter{w: w, rc: rc}
		out.comment("position " + pos.String())
		tick := time.NewTicker(keepAlive)
		defer tick.Stop()
		for out.err == nil {
			select {
			case <-ctx.Done():
				return
			case <-httpfx.StreamsEnd(ctx):
				return // the server drains: the client resumes with Last-Event-ID
			case <-tick.C:
				out.comment("keep-alive")
			case fm := <-msgs:
				md, err := fm.m.Metadata()
				if err != nil {
					continue
				}
				pos[fm.stream] = md.Sequence.Stream
				e, err := bus.Decode(fm.m.Headers(), fm.m.Data())
				if err != nil {
					continue
				}
				a := domain.AttrsOf(e)
				if !f.wants(a) {
					continue
				}
				raw, err := json.Marshal(e)
				if err != nil {
					continue
				}
				out.send(pos.String(), e.Type(), raw)
				if f.untilSettled && strings.HasSuffix(e.Type(), ".environment.transitioned.v1") && settledStates[a.To] {
					out.end(a.To)
					return
				}
			}
		}
	})
}
