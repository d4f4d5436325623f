package ports

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/rpc"
)

// An operation is one saga working on an environment: its id is the
// saga's, <environment id>.<create|update|teardown>.<n>.
type operationID struct {
	raw, env, kind string
	n              int
}

func parseOperationID(s string) (operationID, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || !strings.HasPrefix(parts[0], "env-") {
		return operationID{}, false
	}
	n, err := strconv.Atoi(parts[2])
	switch parts[1] {
	case "create", "update", "teardown":
	default:
		return operationID{}, false
	}
	return operationID{raw: s, env: parts[0], kind: parts[1], n: n}, err == nil && n > 0
}

// onOperation authorizes reading an operation as reading its
// environment: another team's answers 404 like a missing one.
func onOperation(w http.ResponseWriter, r *http.Request, c Caller, log *slog.Logger) (target, bool) {
	id := r.PathValue("id")
	op, ok := parseOperationID(id)
	if !ok {
		WriteReply(w, log, rpc.NotFound("operation", id))
		return target{}, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	rep, err := c.Call(ctx, rpc.EnvironmentsGet, rpc.Request{Principal: lookupAs, Path: map[string]string{"id": op.env}})
	if err != nil {
		Forward(errCaller{err}, log, rpc.EnvironmentsGet).ServeHTTP(w, r)
		return target{}, false
	}
	var v map[string]any
	if rep.Status != http.StatusOK || json.Unmarshal(rep.Body, &v) != nil {
		WriteReply(w, log, rpc.NotFound("operation", id))
		return target{}, false
	}
	return target{action: "environment:read", resource: environmentOf(op.env, v)}, true
}

// envFacts are the parts of an environment an operation needs.
type envFacts struct {
	ID        string    `json:"id"`
	Team      string    `json:"team"`
	State     string    `json:"state"`
	CreatedAt time.Time `json:"created_at"`
	Revisions []struct {
		Number    int       `json:"number"`
		CreatedAt time.Time `json:"created_at"`
	} `json:"revisions"`
	Operation *struct {
		ID        string    `json:"id"`
		StartedAt time.Time `json:"started_at"`
	} `json:"operation"`
}

// since is when operation op began at the earliest, so the scan of the
// progress events starts there.
func (e envFacts) since(op operationID) time.Time {
	if e.Operation != nil && e.Operation.ID == op.raw {
		return e.Operation.StartedAt
	}
	if op.kind == "update" {
		for _, r := range e.Revisions {
			if r.Number == op.n {
				return r.CreatedAt
			}
		}
	}
	return e.CreatedAt
}

// getOperation answers GET /v1/operations/{id} from the saga's progress
// events on the lifecycle stream: the last one has the saga's status
// and every step's.
func getOperation(c Caller, js jetstream.JetStream, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, _ := parseOperationID(r.PathValue("id"))
		req, _ := buildRequest(w, r, nil)
		req.Path["id"] = op.env
		ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
		defer cancel()
		rep, err := c.Call(ctx, rpc.EnvironmentsGet, req)
		if err != nil {
			Forward(errCaller{err}, log, rpc.EnvironmentsGet).ServeHTTP(w, r)
			return
		}
		var env envFacts
		if rep.Status != http.StatusOK || json.Unmarshal(rep.Body, &env) != nil {
			WriteReply(w, log, rpc.NotFound("operation", op.raw))
			return
		}
		v := rpc.Operation{ID: op.raw, Kind: op.kind, EnvironmentID: env.ID, Team: env.Team, Steps: []rpc.OperationStep{}}
		var last *events.SagaProgressed
		err = scanEvents(ctx, js, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subjectProgressed},
			DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: ptr(env.since(op).Add(-time.Second))},
			func(m jetstream.Msg) bool {
				var p events.SagaProgressed
				if json.Unmarshal(m.Data(), &p) != nil || p.SagaID != op.raw {
					return true
				}
				if last == nil {
					v.StartedAt = p.At
				}
				last = &p
				return !terminalSaga(p.Status)
			})
		if err != nil {
			log.ErrorContext(r.Context(), "read operation", "operation", op.raw, "error", err)
			httpfx.WriteProblem(w, http.StatusServiceUnavailable, "Service Unavailable",
				"the lifecycle events could not be read; try again", nil)
			return
		}
		switch {
		case last != nil:
			v.State = last.Status
			for _, s := range last.Steps {
				v.Steps = append(v.Steps, rpc.OperationStep{Name: s.Name, Status: s.Status, Attempts: s.Attempts, Error: s.Error})
			}
			if terminalSaga(last.Status) {
				v.EndedAt = &last.At
			}
			if last.Status != "completed" {
				v.Error = last.Reason
			}
		case env.Operation != nil && env.Operation.ID == op.raw:
			// Started, no progress published yet.
			v.State, v.StartedAt = "running", env.Operation.StartedAt
		default:
			WriteReply(w, log, rpc.NotFound("operation", op.raw))
			return
		}
		writeJSON(w, log, http.StatusOK, v)
	})
}

// terminalSaga says whether a saga status is final.
func terminalSaga(status string) bool {
	return status == "completed" || status == "compensated" || status == "compensation_failed"
}

func ptr[T any](v T) *T { return &v }
