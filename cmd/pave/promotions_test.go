package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/schema"
)

// shopSvcYAML runs a database and an event stream whose max_age only
// the NATS driver checks: a revision with max_age "forever" fails when
// applied, which is how the test breaks a promotion.
const shopSvcYAML = `
name: shop-svc
version: 1.0.0
description: A database and an event stream.
owner: tests
cost_class: test
parameters:
  type: object
  properties:
    max_age: {type: string, default: 1h}
resources:
  - {name: db, driver: postgres, class: small, sanitize: drop}
  - name: events
    driver: nats
    class: small
    depends_on: [db]
    parameters: {max_age: "${params.max_age}"}
    sanitize: drop
lifecycle:
  stages: [dev, staging, prod]
`

const shopApplicationsYAML = `
applications:
  - name: shop
    team: payments
    repository: acme/shop
    stages:
      - {name: dev, environment: shop-dev}
      - {name: staging, environment: shop-staging, gates: {ci: true}}
      - {name: prod, environment: shop-prod, gates: {ci: true, approvals: 1, approver_role: maintainer}}
`

var (
	commitA = strings.Repeat("a", 40)
	commitB = strings.Repeat("b", 40)
	commitC = strings.Repeat("c", 40)
)

// promotionPlatform is pave dev with the shop application, its three
// environments, and production always inside a change window.
func promotionPlatform(t *testing.T) (*platform, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	templates := filepath.Join(dir, "templates")
	policies := filepath.Join(dir, "policies")
	require.NoError(t, os.MkdirAll(templates, 0o755))
	require.NoError(t, os.MkdirAll(policies, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(templates, "shop-svc.yaml"), []byte(shopSvcYAML), 0o644))
	for _, f := range []string{"production.cedar", "roles.cedar", "schema.cedarschema"} {
		raw, err := os.ReadFile(filepath.Join("../../deploy/policies", f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(policies, f), raw, 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(policies, "change-windows.yaml"),
		[]byte("windows:\n  - {days: [mon, tue, wed, thu, fri, sat, sun], from: \"00:00\", to: \"24:00\"}\n"), 0o644))
	apps := filepath.Join(dir, "applications.yaml")
	require.NoError(t, os.WriteFile(apps, []byte(shopApplicationsYAML), 0o644))
	p := startPlatform(t, templates, map[string]string{"PAVE_POLICIES_DIR": policies, "PAVE_APPLICATIONS_FILE": apps})

	admin := accessAPI{t: t, base: p.base, token: p.token}
	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams", map[string]any{"name": "payments"})
	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams", map[string]any{"name": "other"})
	tokens := map[string]string{}
	for user, role := range map[string]string{"alice": "developer", "carol": "maintainer", "dave": "maintainer"} {
		admin.must(http.StatusOK, http.MethodPut, "/v1/teams/payments/members/"+user, map[string]any{"role": role})
		tokens[user] = admin.issue(user, "1h")
	}
	admin.must(http.StatusOK, http.MethodPut, "/v1/teams/other/members/eve", map[string]any{"role": "admin"})
	tokens["eve"] = admin.issue("eve", "1h")
	return p, tokens
}

// publishCI publishes a CI result as the gateway's webhooks do, and waits
// until lifecycle has recorded it.
func publishCI(t *testing.T, p *platform, commit, conclusion string) {
	t.Helper()
	reg, err := schema.Default()
	require.NoError(t, err)
	b, err := bus.New(p.js.Conn(), reg, schema.SubjectFor)
	require.NoError(t, err)
	e, err := bus.NewEvent("ci-"+commit+"-"+conclusion, "pave/test", events.TypeCICompleted, events.CICompleted{
		Provider: "github", Repository: "acme/shop", Team: "payments", Application: "", Commit: commit,
		Conclusion: conclusion, Name: "build", URL: "https://ci.example/run/1", DeliveryID: "delivery-" + commit})
	require.NoError(t, err)
	// Bound to its sender, as the gateway stamps what it lets in.
	e.SetExtension(events.ExtPrincipal, "webhook:github:acme/shop")
	e.SetExtension(events.ExtTeam, "payments")
	ctx := context.Background()
	require.NoError(t, b.Publish(ctx, e))
	require.Eventually(t, func() bool {
		c, err := p.js.Consumer(ctx, "EVT_GATEWAY", "lifecycle-ci")
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	}, 20*time.Second, 20*time.Millisecond, "lifecycle never consumed the CI result")
}

// promoteAndWait asks for a promotion and waits for its end.
func promoteAndWait(t *testing.T, api accessAPI, body map[string]any, end ...string) map[string]any {
	t.Helper()
	out := api.must(http.StatusAccepted, http.MethodPost, "/v1/promotions", body)
	id := out["id"].(string)
	return waitPromotion(t, api, id, end...)
}

func waitPromotion(t *testing.T, api accessAPI, id string, end ...string) map[string]any {
	t.Helper()
	var got map[string]any
	require.Eventually(t, func() bool {
		got = api.must(http.StatusOK, http.MethodGet, "/v1/promotions/"+id, nil)
		for _, s := range end {
			if got["state"] == s {
				return true
			}
		}
		return false
	}, 60*time.Second, 50*time.Millisecond, "promotion %s never reached %v: %v", id, end, &got)
	return got
}

func revisionCommit(env map[string]any) (int, string) {
	revs := env["revisions"].([]any)
	last := revs[len(revs)-1].(map[string]any)
	c, _ := last["commit"].(string)
	return int(env["revision"].(float64)), c
}

// A pipeline end to end over the real API, bus, access policies and
// provisioning drivers: the CI gate, the policy gate, approvals with
// separation of duties, an automatic rollback, and the history.
func TestPromotionPipelineEndToEnd(t *testing.T) {
	p, tokens := promotionPlatform(t)
	admin := accessAPI{t: t, base: p.base, token: p.token}
	alice, carol, dave, eve := admin.as(tokens["alice"]), admin.as(tokens["carol"]), admin.as(tokens["dave"]), admin.as(tokens["eve"])

	ids := map[string]string{}
	for name, c := range map[string]string{"dev": commitA, "staging": commitB, "prod": commitB} {
		ids[name] = p.create(map[string]any{"team": "payments", "name": "shop-" + name, "template": "shop-svc",
			"stage": name, "commit": c})
	}
	for name, id := range ids {
		env := p.waitState(id, "ready")
		_, c := revisionCommit(env)
		assert.NotEmpty(t, c, "%s records its commit", name)
	}
	code, out := p.do(http.MethodPost, "/v1/environments", map[string]any{"team": "payments", "name": "x",
		"template": "shop-svc", "stage": "dev", "commit": "abc"})
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, fmt.Sprint(out["errors"]), "commit")

	apps := alice.must(http.StatusOK, http.MethodGet, "/v1/applications", nil)["items"].([]any)
	require.Len(t, apps, 1, "the applications file is loaded")
	assert.Equal(t, "shop", apps[0].(map[string]any)["name"])
	assert.Empty(t, eve.must(http.StatusOK, http.MethodGet, "/v1/applications", nil)["items"], "another team sees none")
	eve.must(http.StatusNotFound, http.MethodGet, "/v1/applications/shop", nil)

	// Applications set through the API are validated like the file.
	for _, tt := range []struct {
		body   any
		status int
		field  string
	}{
		{map[string]any{"team": "payments", "stages": []any{}}, http.StatusUnprocessableEntity, "stages"},
		{map[string]any{"team": "payments", "stages": []any{map[string]any{"name": "dev", "environment": "e", "gates": map[string]any{"approvals": -1}}}},
			http.StatusUnprocessableEntity, "stages[0].gates.approvals"},
		{map[string]any{"team": "payments", "colour": "red"}, http.StatusBadRequest, "body"},
	} {
		code, out := admin.call(http.MethodPut, "/v1/applications/web", tt.body)
		assert.Equal(t, tt.status, code, "%v", out)
		assert.Contains(t, fmt.Sprint(out["errors"]), "field:"+tt.field+" ", "%v", out)
	}
	admin.must(http.StatusOK, http.MethodPut, "/v1/applications/web", map[string]any{"team": "payments",
		"stages": []any{map[string]any{"name": "dev", "environment": "web-dev"}}})
	alice.must(http.StatusForbidden, http.MethodPut, "/v1/applications/web", map[string]any{"team": "payments",
		"stages": []any{map[string]any{"name": "dev", "environment": "web-dev"}}})
	eve.must(http.StatusConflict, http.MethodPut, "/v1/applications/web", map[string]any{"team": "other",
		"stages": []any{map[string]any{"name": "dev", "environment": "web-dev"}}})

	// 1. No CI success for the commit: rejected, nothing applied.
	rejected := promoteAndWait(t, alice, map[string]any{"application": "shop", "to": "staging"}, "rejected")
	assert.Contains(t, rejected["reason"], "ci gate: no CI run recorded for commit "+commitA)
	rev, _ := revisionCommit(p.waitState(ids["staging"], "ready"))
	assert.Equal(t, 1, rev)

	// 2. CI success published on the bus: promoted, staging runs commit A.
	publishCI(t, p, commitA, "success")
	promoted := promoteAndWait(t, alice, map[string]any{"application": "shop", "to": "staging"}, "promoted", "rejected", "rolled_back")
	require.Equal(t, "promoted", promoted["state"], "%v", promoted)
	rev, c := revisionCommit(p.waitState(ids["staging"], "ready"))
	assert.Equal(t, 2, rev)
	assert.Equal(t, commitA, c)

	// 3. Production by a developer: the policy gate refuses.
	denied := promoteAndWait(t, alice, map[string]any{"application": "shop", "to": "prod"}, "rejected", "awaiting_approval")
	require.Equal(t, "rejected", denied["state"])
	assert.Contains(t, denied["reason"], "policy gate")
	assert.Contains(t, denied["reason"], "production-needs-maintainer")

	// 4. Production by a maintainer waits for one approval by someone else.
	waiting := promoteAndWait(t, carol, map[string]any{"application": "shop", "to": "prod", "commit": commitA}, "awaiting_approval")
	id := waiting["id"].(string)
	carol.must(http.StatusForbidden, http.MethodPost, "/v1/promotions/"+id+"/approve", nil)
	alice.must(http.StatusForbidden, http.MethodPost, "/v1/promotions/"+id+"/approve", nil)
	eve.must(http.StatusNotFound, http.MethodPost, "/v1/promotions/"+id+"/approve", nil)
	assert.Equal(t, "awaiting_approval", carol.must(http.StatusOK, http.MethodGet, "/v1/promotions/"+id, nil)["state"])
	dave.must(http.StatusOK, http.MethodPost, "/v1/promotions/"+id+"/approve", nil)
	approved := waitPromotion(t, carol, id, "promoted", "rolled_back", "rejected")
	require.Equal(t, "promoted", approved["state"], "%v", approved)
	_, c = revisionCommit(p.waitState(ids["prod"], "ready"))
	assert.Equal(t, commitA, c)

	// 5. A revision that cannot run: dev's update to it rolls back, dev is
	// degraded on its previous revision, and promoting is refused, naming
	// why (issue 19, finding 4: it used to be promoted and fail in staging).
	code, out = p.do(http.MethodPatch, "/v1/environments/"+ids["dev"], map[string]any{
		"parameters": map[string]any{"max_age": "forever"}, "commit": commitC})
	require.Equal(t, http.StatusAccepted, code, "%v", out)
	p.waitState(ids["dev"], "degraded")
	publishCI(t, p, commitC, "success")
	refused := alice.must(http.StatusUnprocessableEntity, http.MethodPost, "/v1/promotions", map[string]any{"application": "shop", "to": "staging"})
	assert.Contains(t, fmt.Sprint(refused["errors"]), "not healthy in stage dev: the environment is degraded")
	refused = alice.must(http.StatusUnprocessableEntity, http.MethodPost, "/v1/promotions", map[string]any{"application": "shop", "to": "staging", "commit": commitC})
	assert.Contains(t, fmt.Sprint(refused["errors"]), "commit")
	staging := p.waitState(ids["staging"], "ready")
	rev, c = revisionCommit(staging)
	assert.Equal(t, 2, rev, "staging keeps what it ran")
	assert.Equal(t, commitA, c)
	assert.Equal(t, "1h", staging["parameters"].(map[string]any)["max_age"])

	// 6. The history has all of it, newest first; another team sees none.
	hist := alice.must(http.StatusOK, http.MethodGet, "/v1/promotions?application=shop", nil)["items"].([]any)
	states := []string{}
	for _, h := range hist {
		states = append(states, h.(map[string]any)["state"].(string))
	}
	assert.Equal(t, []string{"promoted", "rejected", "promoted", "rejected"}, states, "refused requests are not recorded")
	last := hist[0].(map[string]any)
	assert.Equal(t, "carol", last["by"])
	assert.Equal(t, "staging", last["from_stage"])
	assert.Equal(t, commitA, last["commit"])
	assert.Len(t, last["gates"], 3)
	assert.Empty(t, eve.must(http.StatusOK, http.MethodGet, "/v1/promotions?application=shop", nil)["items"])
	eve.must(http.StatusNotFound, http.MethodGet, "/v1/promotions/"+id, nil)

	// The CLI shows the same history as JSON, and names a bad commit.
	t.Setenv("PAVE_SERVER", p.base)
	t.Setenv("PAVE_TOKEN", tokens["alice"])
	var stdout bytes.Buffer
	require.NoError(t, runPromote("promotions", []string{"list", "--app", "shop", "-o", "json"}, &stdout))
	var listed struct{ Items []map[string]any }
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &listed), stdout.String())
	assert.Len(t, listed.Items, 4)
	err := runPromote("promote", []string{"shop", "--to", "staging", "--commit", "xyz"}, &stdout)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "commit")
}
