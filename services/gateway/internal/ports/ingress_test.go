package ports

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/gateway/internal/ingress"
)

const ciEventData = `{"provider":"ci","repository":"Codertocat/Hello-World","team":"demo","application":"",` +
	`"commit":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","conclusion":"success","name":"build","url":"","delivery_id":"b-1"}`

// ingressServer serves POST /v1/events over a real socket as the given
// principal, storing on an embedded JetStream server.
func ingressServer(t *testing.T, as authn.Principal) (string, func() uint64) {
	t.Helper()
	nc := testkit.NATS(t).Conn(t)
	reg, err := schema.Default()
	require.NoError(t, err)
	b, err := bus.New(nc, reg, schema.SubjectFor)
	require.NoError(t, err)
	require.NoError(t, bus.EnsureStreams(context.Background(), b.JetStream(), bus.CoreStreams(bus.DefaultStreamOptions())...))
	allowed := ingress.ParseAllowedTypes(map[string]string{"ci/builder": events.TypeCICompleted})
	h := ingestEvents(reg, b, allowed, door{stamp: ingress.NewStamperWithKey([]byte("test key"))}, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, as)))
	}))
	t.Cleanup(srv.Close)
	stored := func() uint64 {
		st, err := b.JetStream().Stream(context.Background(), "INGRESS")
		require.NoError(t, err)
		info, err := st.Info(context.Background())
		require.NoError(t, err)
		return info.State.Msgs
	}
	return srv.URL, stored
}

func postEvents(t *testing.T, url string, h http.Header, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/v1/events", bytes.NewReader([]byte(body)))
	require.NoError(t, err)
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func binaryHeaders(id, typ string) http.Header {
	return http.Header{"Ce-Specversion": {"1.0"}, "Ce-Id": {id}, "Ce-Source": {"ci/builder"},
		"Ce-Type": {typ}, "Content-Type": {"application/json"}}
}

func ceJSON(id, data string) string {
	return `{"specversion":"1.0","id":"` + id + `","source":"ci/builder","type":"` + events.TypeCICompleted + `","data":` + data + `}`
}

// ciBuilder is a service account of team demo, where the events are about.
var ciBuilder = authn.Principal{ID: "ci/builder", Kind: authn.KindServiceAccount, Teams: []string{"demo"},
	TeamRoles: map[string]string{"demo": "developer"}}

func TestIngestStoresEventsDurablyAndAnswersTheirIDs(t *testing.T) {
	url, stored := ingressServer(t, ciBuilder)
	code, out := postEvents(t, url, binaryHeaders("e-1", events.TypeCICompleted), ciEventData)
	require.Equal(t, http.StatusAccepted, code, "%v", out)
	assert.Equal(t, []any{"e-1"}, out["ids"])
	assert.Equal(t, uint64(1), stored())

	code, _ = postEvents(t, url, binaryHeaders("e-1", events.TypeCICompleted), ciEventData)
	assert.Equal(t, http.StatusAccepted, code)
	assert.Equal(t, uint64(1), stored(), "a resend is deduplicated by id")

	code, out = postEvents(t, url, http.Header{"Content-Type": {ingress.ContentTypeStructured}}, ceJSON("e-2", ciEventData))
	require.Equal(t, http.StatusAccepted, code, "%v", out)
	code, out = postEvents(t, url, http.Header{"Content-Type": {ingress.ContentTypeBatch}},
		"["+ceJSON("e-3", ciEventData)+","+ceJSON("e-4", ciEventData)+"]")
	require.Equal(t, http.StatusAccepted, code, "%v", out)
	assert.Equal(t, []any{"e-3", "e-4"}, out["ids"])
	assert.Equal(t, uint64(4), stored())
}

func TestIngestRefusesMalformedEventsAndStoresNothing(t *testing.T) {
	url, stored := ingressServer(t, authn.Principal{ID: "root", Kind: authn.KindUser, Roles: []string{authn.RolePlatformAdmin}})
	noCommit := `{"provider":"ci","repository":"r/r","team":"demo","application":"","conclusion":"success","name":"","url":"","delivery_id":"b"}`
	code, out := postEvents(t, url, binaryHeaders("e-1", events.TypeCICompleted), noCommit)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Equal(t, "data/commit: required property is missing", out["detail"])

	code, out = postEvents(t, url, http.Header{"Content-Type": {ingress.ContentTypeBatch}},
		"["+ceJSON("e-2", ciEventData)+","+ceJSON("e-3", noCommit)+"]")
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Equal(t, float64(1), out["index"])
	assert.Equal(t, "[1].data/commit", out["errors"].([]any)[0].(map[string]any)["field"])
	assert.Equal(t, uint64(0), stored(), "no event of a refused batch is stored")
}

func TestIngestKeepsServiceAccountsToTheirTypes(t *testing.T) {
	url, stored := ingressServer(t, ciBuilder)
	data := `{"provider":"ci","repository":"r/r","team":"demo","application":"","commit":"6113728f27ae82c7b1a177c8d03f9e96e0adf246",` +
		`"environment":"prod","state":"success","url":"","delivery_id":"d"}`
	code, out := postEvents(t, url, binaryHeaders("e-1", events.TypeDeploymentRecorded), data)
	assert.Equal(t, http.StatusForbidden, code, "%v", out)
	assert.Contains(t, out["detail"], events.TypeDeploymentRecorded)
	assert.Equal(t, uint64(0), stored())
}

// An allowed-types entry that can never match a service account stops
// the start, naming the variable and the entry.
func TestIngressConfigRefusesEntriesThatCannotMatch(t *testing.T) {
	ok := IngressConfig{AllowedTypes: map[string]string{"payments/ci": "dev.pave.gateway.ci.completed.v1", "ops/*": "dev.pave.*", "*": "dev.pave.gateway.git.pushed.v1"}}
	require.NoError(t, ok.Validate())
	for key, types := range map[string]string{"payments-ci": "dev.pave.x.v1", "/ci": "dev.pave.x.v1", "payments/ci": " | "} {
		err := IngressConfig{AllowedTypes: map[string]string{key: types}}.Validate()
		require.Error(t, err, key)
		assert.Contains(t, err.Error(), "PAVE_INGEST_ALLOWED_TYPES")
		assert.Contains(t, err.Error(), key)
	}
}

// Finding 3 of issue 16 at the door: a service account speaks only for
// its own team. Claiming another team's CI result is refused with 403
// naming the field, and nothing is stored.
func TestAttackIngestRefusesClaimsBeyondTheSendersTeam(t *testing.T) {
	url, stored := ingressServer(t, ciBuilder)
	beta := strings.Replace(ciEventData, `"team":"demo"`, `"team":"beta"`, 1)
	code, out := postEvents(t, url, binaryHeaders("e-1", events.TypeCICompleted), beta)
	assert.Equal(t, http.StatusForbidden, code, "%v", out)
	assert.Contains(t, out["detail"], "may not send events for team beta")
	assert.Equal(t, "data/team", out["errors"].([]any)[0].(map[string]any)["field"])

	viewer := ciBuilder
	viewer.TeamRoles = map[string]string{"demo": "viewer"}
	vurl, vstored := ingressServer(t, viewer)
	code, out = postEvents(t, vurl, binaryHeaders("e-3", events.TypeCICompleted), ciEventData)
	assert.Equal(t, http.StatusForbidden, code, "a viewer account reports no CI results: %v", out)
	assert.Equal(t, uint64(0), stored()+vstored(), "nothing refused is stored")
}
