package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cliPlatform is pave dev with real PostgreSQL and Redis targets, and
// the CLI pointed at it through the environment.
func cliPlatform(t *testing.T) *platform {
	t.Helper()
	p := startPlatform(t, "../../deploy/templates", nil)
	cliEnv(t)
	t.Setenv("PAVE_SERVER", p.base)
	t.Setenv("PAVE_TOKEN", p.token)
	return p
}

// progressLine is one line of pave env progress: time, kind, text.
var progressLine = regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d  (state|step|saga|queue|resource|note|end) +(.*)$`)

func progressOf(out string) map[string][]string {
	lines := map[string][]string{}
	for _, m := range progressLine.FindAllStringSubmatch(out, -1) {
		lines[m[1]] = append(lines[m[1]], m[2])
	}
	return lines
}

// assertProgress checks the lines a followed operation printed: from the
// event stream, saga steps per resource; from the polling fallback, the
// note saying so. Either way, state changes up to want.
func assertProgress(t *testing.T, out string, steps []string, want string) {
	t.Helper()
	lines := progressOf(out)
	require.NotEmpty(t, lines["state"], out)
	assert.Regexp(t, "(^|→ )"+want+"(:|$)", lines["state"][len(lines["state"])-1], out)
	if len(lines["note"]) > 0 {
		assert.Contains(t, lines["note"][0], "progress stream not available", out)
		assert.Contains(t, lines["note"][0], "polling every 1s instead", out)
		return
	}
	for _, s := range steps {
		assert.Contains(t, lines["step"], s, out)
	}
	assert.Equal(t, []string{want}, lines["end"], out)
}

// TestCLIEnvCreateShowsProgressAndEndsWithOutputs: pave env create
// prints each step as it happens and ends with the resources, their
// outputs and where the credentials are; parameters are typed from the
// template; get -o json is the API's answer; delete --wait follows the
// teardown. The environment waits in the queue first (its team's quota
// is taken), so the CLI is surely following before the steps run.
func TestCLIEnvCreateShowsProgressAndEndsWithOutputs(t *testing.T) {
	p := startCrowded(t)
	cliEnv(t)
	t.Setenv("PAVE_SERVER", p.base)
	t.Setenv("PAVE_TOKEN", p.token)
	first := p.create(map[string]any{"team": "crowded", "name": "first", "template": "redis-cache", "stage": "dev"})
	p.waitState(first, "ready")

	var live syncBuffer
	var out, errOut bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- runEnv([]string{"create", "--team", "crowded", "--name", "orders", "--template", "postgres-db",
			"--param", "size=medium", "--param", "connection_limit=5", "-o", "table"}, &live, &errOut)
	}()
	require.Eventually(t, func() bool {
		states := progressOf(live.String())["state"]
		return len(states) > 0 && strings.HasPrefix(states[0], "queued")
	}, 20*time.Second, 20*time.Millisecond, "never said it waits: %s", &live)
	second := strings.Fields(live.String())[1]
	p.waitQueued(second)
	code, _ := p.do(http.MethodDelete, "/v1/environments/"+first, nil)
	require.Equal(t, http.StatusAccepted, code)
	select {
	case err := <-done:
		require.NoError(t, err, live.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("env create never ended: %s", live.String())
	}
	text := live.String()
	assert.Regexp(t, `^creating env-[a-z0-9]+\n`, text)
	id := strings.Fields(text)[1]
	assertProgress(t, text, []string{"provision-db: running", "provision-db: succeeded", "settle: succeeded"}, "ready")
	assert.Contains(t, text, "environment:  "+id+" (crowded/orders)")
	assert.Contains(t, text, "state:        ready")
	assert.Regexp(t, `(?m)^RESOURCE\s+DRIVER\s+CLASS\s+STATE\s+OUTPUTS$`, text)
	assert.Regexp(t, `(?m)^db\s+postgres\s+medium\s+ready\s+.*database=pave_`, text)
	assert.Contains(t, text, "credentials for db: pave env get "+id+" --credentials")
	assert.NotContains(t, text, "password", "credentials are not printed unasked")

	// The parameters went as the template's types.
	_, env := p.do(http.MethodGet, "/v1/environments/"+id, nil)
	assert.Equal(t, map[string]any{"size": "medium", "connection_limit": float64(5)}, env["parameters"])

	// get -o json is the API's JSON; --credentials shows the login.
	out.Reset()
	require.NoError(t, runEnv([]string{"get", id, "-o", "json"}, &out, &errOut))
	raw := getRaw(t, p, "/v1/environments/"+id)
	assert.JSONEq(t, raw, out.String())
	out.Reset()
	require.NoError(t, runEnv([]string{"get", id, "--credentials", "-o", "table"}, &out, &errOut))
	assert.Regexp(t, `credentials db:\s+.*url=postgres(ql)?://`, out.String())

	// update changes one parameter and keeps the others.
	out.Reset()
	require.NoError(t, runEnv([]string{"update", id, "--param", "size=large", "-o", "table"}, &out, &errOut), out.String())
	assert.Regexp(t, `^updating `+id+`\n`, out.String())
	assertProgress(t, out.String(), nil, "ready")
	_, env = p.do(http.MethodGet, "/v1/environments/"+id, nil)
	assert.Equal(t, map[string]any{"size": "large", "connection_limit": float64(5)}, env["parameters"])
	assert.EqualValues(t, 2, env["revision"])

	// events -o json: one JSON line per message, the snapshot first.
	out.Reset()
	require.NoError(t, runEnv([]string{"events", id, "-o", "json"}, &out, &errOut))
	var snapshots int
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m struct {
			Event string `json:"event"`
			Data  struct {
				ID    string `json:"id"`
				State string `json:"state"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		if m.Event == "snapshot" {
			snapshots++
			assert.Equal(t, id, m.Data.ID)
			assert.Equal(t, "ready", m.Data.State)
		}
	}
	assert.Equal(t, 1, snapshots, out.String())

	// delete --wait follows the teardown until deleted.
	out.Reset()
	require.NoError(t, runEnv([]string{"delete", id, "--wait", "-o", "table"}, &out, &errOut), out.String())
	assertProgress(t, out.String(), nil, "deleted")
	assert.Equal(t, none(), p.realResources(), "nothing is left behind")
}

// waitQueued waits until the scheduler has said why the environment
// waits.
func (p *platform) waitQueued(id string) {
	p.t.Helper()
	var env map[string]any
	require.Eventually(p.t, func() bool {
		_, env = p.do(http.MethodGet, "/v1/environments/"+id, nil)
		return env["state"] == "queued" && lookup(env, "admission.waiting") != nil
	}, 20*time.Second, 20*time.Millisecond, "%v", &env)
}

func getRaw(t *testing.T, p *platform, path string) string {
	t.Helper()
	code, _, body := get(t, p.base+path, p.token)
	require.Equal(t, http.StatusOK, code, string(body))
	return string(body)
}

// TestCLIEnvFailuresExitNonZeroWithTheReason: a create the budget
// refuses ends non-zero with the reason; bad input names the field; an
// unknown environment exits 3; a bad flag exits 2.
func TestCLIEnvFailuresExitNonZeroWithTheReason(t *testing.T) {
	p := cliPlatform(t)
	code, b := p.do(http.MethodPut, "/v1/budgets/poor", map[string]any{"amount": "0.00", "period": "monthly"})
	require.Equal(t, http.StatusOK, code, "%v", b)

	var out, errOut bytes.Buffer
	err := runEnv([]string{"create", "--team", "poor", "--name", "db", "--template", "redis-cache", "-o", "table"}, &out, &errOut)
	require.Error(t, err, out.String())
	assert.Regexp(t, `^environment env-[a-z0-9]+ is failed: .*budget exceeded: team poor's monthly budget is 0.00 USD`, err.Error())
	assert.Equal(t, exitFailure, exitCode(err))
	assertProgress(t, out.String(), nil, "failed")
	assert.Regexp(t, `(?m)^state:        failed: .*budget exceeded`, out.String())
	failed := strings.Fields(err.Error())[1]

	tests := []struct {
		name string
		args []string
		want string
		code int
	}{
		{"bad parameter", []string{"create", "--team", "poor", "--name", "x", "--template", "postgres-db", "--param", "size=xl"},
			`422 Invalid request: parameters.size: "xl" is not one of "small", "medium", "large"`, exitFailure},
		{"untyped parameter", []string{"create", "--team", "poor", "--name", "x", "--template", "postgres-db", "--param", "connection_limit=many"},
			"--param connection_limit=many: the template wants an integer", exitUsage},
		{"unknown template", []string{"create", "--team", "poor", "--name", "x", "--template", "nope", "--param", "a=b"},
			"404 Not Found", exitNotFound},
		{"unknown environment", []string{"get", "env-aaaaaaaaaaaa"}, "404 Not Found: no ", exitNotFound},
		{"unknown environment to extend", []string{"extend", "env-aaaaaaaaaaaa", "--ttl", "4h"}, "404 Not Found", exitNotFound},
		{"persistent cannot expire", []string{"extend", failed, "--keep"},
			"422 Invalid request: keep: the environment is persistent: it never expires", exitFailure},
		{"nothing to extend", []string{"extend", failed}, "env extend: give --ttl, --keep, or both", exitUsage},
		{"missing flag", []string{"create", "--team", "poor", "--name", "x"}, "env create: --template is required", exitUsage},
		{"unknown flag", []string{"list", "--colour"}, "env list: flag provided but not defined: -colour", exitUsage},
		{"no id", []string{"get"}, "env get: ID required", exitUsage},
		{"unknown subcommand", []string{"explode"}, `env: unknown subcommand "explode"`, exitUsage},
		{"bad state", []string{"list", "--state", "sleepy"}, `422 Invalid request: query.state: unknown state "sleepy"`, exitFailure},
		{"bad page size", []string{"list", "--page-size", "0"}, "env list: --page-size must be from 1 to 1000", exitUsage},
	}
	for _, tt := range tests {
		err := runEnv(tt.args, &out, &errOut)
		require.Error(t, err, tt.name)
		assert.Contains(t, err.Error(), tt.want, tt.name)
		assert.Equal(t, tt.code, exitCode(err), tt.name)
	}
}

// TestCLIEnvListFollowsPagesAndPrintsTheAPIsJSON: env list asks page
// after page and shows every environment, in a table for people and as
// the API's JSON for scripts.
func TestCLIEnvListFollowsPagesAndPrintsTheAPIsJSON(t *testing.T) {
	p := cliPlatform(t)
	var ids []string
	for _, name := range []string{"one", "two", "three"} {
		ids = append(ids, p.create(map[string]any{"team": "pages", "name": name, "template": "redis-cache", "stage": "dev"}))
	}
	for _, id := range ids {
		p.waitState(id, "ready")
	}

	// A proxy in front of the real gateway counts the list requests.
	target, err := url.Parse(p.base)
	require.NoError(t, err)
	var lists atomic.Int32
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/environments" {
			lists.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	t.Setenv("PAVE_SERVER", srv.URL)

	var out, errOut bytes.Buffer
	require.NoError(t, runEnv([]string{"list", "--team", "pages", "--page-size", "1", "-o", "json"}, &out, &errOut))
	assert.GreaterOrEqual(t, int(lists.Load()), 3, "one request per page")
	var got struct {
		Items []json.RawMessage `json:"items"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &got), out.String())
	var want struct {
		Items []json.RawMessage `json:"items"`
	}
	require.NoError(t, json.Unmarshal([]byte(getRaw(t, p, "/v1/environments?team=pages")), &want))
	require.Len(t, got.Items, 3)
	require.Len(t, want.Items, 3)
	for i := range want.Items {
		assert.JSONEq(t, string(want.Items[i]), string(got.Items[i]), "item %d is the API's", i)
	}

	// Costs of one team, by environment: one line per environment.
	out.Reset()
	require.NoError(t, runCosts([]string{"--window", "7d", "--by", "environment", "--team", "pages", "-o", "json"}, &out))
	var costs struct {
		Team      string   `json:"team"`
		Aggregate []string `json:"aggregate"`
		Items     []struct {
			Key map[string]string `json:"key"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &costs), out.String())
	assert.Equal(t, "pages", costs.Team)
	assert.Equal(t, []string{"team", "environment"}, costs.Aggregate)
	var costEnvs []string
	for _, it := range costs.Items {
		assert.Equal(t, "pages", it.Key["team"])
		costEnvs = append(costEnvs, it.Key["environment"])
	}
	assert.ElementsMatch(t, ids, costEnvs)
	out.Reset()
	require.NoError(t, runCosts([]string{"--window", "7d", "--team", "pages", "-o", "table"}, &out))
	assert.Regexp(t, `(?m)^TEAM\s+TOTAL \(USD\)\npages\s+\d+\.\d\d\s*$`, out.String())
	assert.Regexp(t, `(?m)^total:\s+\d+\.\d\d USD$`, out.String())

	out.Reset()
	require.NoError(t, runEnv([]string{"list", "--team", "pages", "--limit", "2", "-o", "table"}, &out, &errOut))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 3, "header and two rows: %s", out.String())
	assert.Regexp(t, `^ID\s+TEAM\s+NAME\s+TEMPLATE\s+VERSION\s+STAGE\s+STATE\s+EXPIRES\s+REASON$`, lines[0])
	col := strings.Index(lines[0], "STATE")
	for _, l := range lines[1:] {
		assert.Equal(t, "ready", strings.Fields(l[col:])[0], "columns are aligned: %q", l)
		assert.Contains(t, l, "pages")
	}
}
