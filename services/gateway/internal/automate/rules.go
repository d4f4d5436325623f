package automate

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/rpc"
)

// Automation is one rule: on an event of its team that matches, do one
// action as one of the team's service accounts.
type Automation struct {
	ID   string `json:"id"` // <team>.<name>
	Team string `json:"team"`
	Name string `json:"name"`
	// ServiceAccount is the name of the team's service account the
	// action runs as (its permissions decide, as for its own token).
	ServiceAccount string `json:"service_account"`
	On             Match  `json:"on"`
	Do             Action `json:"do"`
	// Origin is "config" (PAVE_AUTOMATIONS_FILE, read-only here) or "api".
	Origin    string    `json:"origin"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Match says which events start a run. Type and Source are globs (* is
// any run of characters but /); Data maps dotted paths in the event's
// data to the value they must equal.
type Match struct {
	Type   string         `json:"type" yaml:"type"`
	Source string         `json:"source,omitempty" yaml:"source"`
	Data   map[string]any `json:"data,omitempty" yaml:"data"`
}

// Action is one of Pave's API calls. Strings in Environment and Body
// may hold {{data.<path>}}, {{event.id}}, {{event.source}},
// {{event.subject}} or {{event.type}}, replaced from the event.
type Action struct {
	Kind        string         `json:"action" yaml:"action"`
	Environment string         `json:"environment,omitempty" yaml:"environment"`
	Body        map[string]any `json:"body,omitempty" yaml:"body"`
}

// Action kinds and the API call each makes.
var actionCalls = map[string]struct {
	method, path string
	needsEnv     bool
}{
	"create-environment": {http.MethodPost, "/v1/environments", false},
	"update-environment": {http.MethodPatch, "/v1/environments/{id}", true},
	"extend-environment": {http.MethodPost, "/v1/environments/{id}/extend", true},
	"delete-environment": {http.MethodDelete, "/v1/environments/{id}", true},
	"submit-workload":    {http.MethodPost, "/v1/workloads", false},
	"request-promotion":  {http.MethodPost, "/v1/promotions", false},
}

var ruleName = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$`)

// Check names every field that is wrong.
func (a Automation) Check() []rpc.FieldError {
	var errs []rpc.FieldError
	bad := func(f, m string) { errs = append(errs, rpc.FieldError{Field: f, Message: m}) }
	if !ruleName.MatchString(a.Team) {
		bad("team", "is required, a team name")
	}
	if !ruleName.MatchString(a.Name) {
		bad("name", "is required: lowercase letters, digits and -, at most 40")
	}
	if !ruleName.MatchString(a.ServiceAccount) {
		bad("service_account", "is required: the name of one of the team's service accounts")
	}
	if a.On.Type == "" {
		bad("on.type", "is required: an event type or a glob")
	} else if _, err := path.Match(a.On.Type, ""); err != nil {
		bad("on.type", "is not a glob: "+err.Error())
	}
	if _, err := path.Match(a.On.Source, ""); err != nil {
		bad("on.source", "is not a glob: "+err.Error())
	}
	call, ok := actionCalls[a.Do.Kind]
	switch {
	case !ok:
		bad("do.action", "must be one of create-environment, update-environment, extend-environment, delete-environment, submit-workload, request-promotion")
	case call.needsEnv && a.Do.Environment == "":
		bad("do.environment", "is required for "+a.Do.Kind)
	}
	if raw, err := json.Marshal(a); err == nil && len(raw) > maxRuleBytes {
		bad("body", fmt.Sprintf("the automation is larger than %d bytes", maxRuleBytes))
	}
	return errs
}

const maxRuleBytes = 16 << 10

// Matches reports whether e (bound to team) starts a run.
func (a Automation) Matches(e event.Event, team string) bool {
	if team != a.Team || !glob(a.On.Type, e.Type()) || (a.On.Source != "" && !glob(a.On.Source, e.Source())) {
		return false
	}
	if len(a.On.Data) == 0 {
		return true
	}
	var data any
	if json.Unmarshal(e.Data(), &data) != nil {
		return false
	}
	for p, want := range a.On.Data {
		got, ok := lookupPath(data, p)
		if !ok || !reflect.DeepEqual(normal(got), normal(want)) {
			return false
		}
	}
	return true
}

func glob(pattern, s string) bool {
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}

// normal makes YAML's and JSON's numbers and maps comparable.
func normal(v any) any {
	raw, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	_ = json.Unmarshal(raw, &out)
	return out
}

func lookupPath(v any, dotted string) (any, bool) {
	for _, k := range strings.Split(dotted, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// Call is an action made concrete for one event.
type Call struct {
	Method string          `json:"method"`
	Path   string          `json:"path"`
	Body   json.RawMessage `json:"-"`
}

var placeholder = regexp.MustCompile(`\{\{\s*([a-z]+(?:\.[A-Za-z0-9_-]+)*)\s*\}\}`)

// Render fills the action's placeholders from e.
func (a Action) Render(e event.Event) (Call, error) {
	call := actionCalls[a.Kind]
	var data any
	_ = json.Unmarshal(e.Data(), &data)
	vals := map[string]any{"event": map[string]any{"id": e.ID(), "source": e.Source(), "subject": e.Subject(), "type": e.Type()}, "data": data}
	fill := func(s string) (any, error) {
		if m := placeholder.FindStringSubmatch(s); m != nil && m[0] == s {
			return valueOf(vals, m[1])
		}
		var first error
		out := placeholder.ReplaceAllStringFunc(s, func(ph string) string {
			v, err := valueOf(vals, placeholder.FindStringSubmatch(ph)[1])
			if err != nil && first == nil {
				first = err
			}
			return fmt.Sprint(v)
		})
		return out, first
	}
	out := Call{Method: call.method, Path: call.path}
	if call.needsEnv {
		id, err := fill(a.Environment)
		if err != nil {
			return Call{}, fmt.Errorf("do.environment: %w", err)
		}
		out.Path = strings.Replace(call.path, "{id}", urlSafe(fmt.Sprint(id)), 1)
	}
	if a.Body != nil {
		body, err := fillAll(a.Body, fill)
		if err != nil {
			return Call{}, fmt.Errorf("do.body: %w", err)
		}
		if out.Body, err = json.Marshal(body); err != nil {
			return Call{}, fmt.Errorf("do.body: %w", err)
		}
	}
	return out, nil
}

func urlSafe(s string) string {
	return strings.NewReplacer("/", "%2F", "?", "%3F", "#", "%23").Replace(s)
}

func valueOf(vals map[string]any, dotted string) (any, error) {
	v, ok := lookupPath(vals, dotted)
	if !ok {
		return nil, fmt.Errorf("{{%s}}: not in the event", dotted)
	}
	return v, nil
}

func fillAll(v any, fill func(string) (any, error)) (any, error) {
	switch x := v.(type) {
	case string:
		return fill(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			f, err := fillAll(e, fill)
			if err != nil {
				return nil, err
			}
			out[k] = f
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			f, err := fillAll(e, fill)
			if err != nil {
				return nil, err
			}
			out[i] = f
		}
		return out, nil
	}
	return v, nil
}
