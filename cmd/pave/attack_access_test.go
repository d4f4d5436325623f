package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/access/audit"
)

// Attack suite, issue 16 finding 2, as reproduced against `pave dev`: a
// developer breaks the glass as admin and makes himself a permanent admin,
// creates a service account and mints its year-long token. Now break-glass
// refuses admin and team-wide roles, and the maintainer grant it does give
// (one stage) never reaches members, service accounts or tokens; the holder
// ends it early, and its review is decided by someone else (finding 11).
func TestAttackBreakGlassNeverReachesIdentity(t *testing.T) {
	admin := startAccess(t)
	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams", map[string]any{"name": "alpha"})
	admin.must(http.StatusOK, http.MethodPut, "/v1/teams/alpha/members/dave", map[string]any{"role": "developer"})
	admin.must(http.StatusOK, http.MethodPut, "/v1/teams/alpha/members/mona", map[string]any{"role": "maintainer"})
	dave := admin.as(admin.issue("dave", "1h"))
	mona := admin.as(admin.issue("mona", "1h"))

	out := dave.must(http.StatusUnprocessableEntity, http.MethodPost, "/v1/break-glass", map[string]any{
		"incident_id": "INC-1", "reason": "outage", "role": "admin", "scope": map[string]any{"team": "alpha"}})
	assert.Contains(t, fieldsOf(out), "role")
	out = dave.must(http.StatusUnprocessableEntity, http.MethodPost, "/v1/break-glass", map[string]any{
		"incident_id": "INC-1", "reason": "outage", "scope": map[string]any{"team": "alpha"}})
	assert.Contains(t, fieldsOf(out), "scope", "the default is one environment or stage, not the team")
	out = dave.must(http.StatusUnprocessableEntity, http.MethodPost, "/v1/access-requests", map[string]any{
		"role": "admin", "scope": map[string]any{"team": "alpha"}, "duration": "1h", "reason": "make me admin"})
	assert.Contains(t, fieldsOf(out), "role")

	grant := dave.must(http.StatusCreated, http.MethodPost, "/v1/break-glass", map[string]any{
		"incident_id": "INC-1", "reason": "outage", "scope": map[string]any{"team": "alpha", "stage": "prod"}})
	grantID := grant["id"].(string)
	assert.Equal(t, "maintainer", grant["role"])

	// The reproduction: with the grant active, every identity change is refused.
	for _, rt := range []struct {
		method, path string
		body         any
	}{
		{http.MethodPut, "/v1/teams/alpha/members/dave", map[string]any{"role": "admin"}},
		{http.MethodPut, "/v1/teams/alpha/members/eve", map[string]any{"role": "maintainer"}},
		{http.MethodDelete, "/v1/teams/alpha/members/mona", nil},
		{http.MethodPost, "/v1/teams/alpha/service-accounts", map[string]any{"name": "backdoor", "role": "admin"}},
		{http.MethodPost, "/v1/tokens", map[string]any{"service_account": "alpha/backdoor", "expires_in": "8760h"}},
		{http.MethodPost, "/v1/access-reviews", map[string]any{"team": "alpha", "deadline": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}},
	} {
		code, body := dave.call(rt.method, rt.path, rt.body)
		assert.Equal(t, http.StatusForbidden, code, "%s %s: %v", rt.method, rt.path, body)
	}
	who := dave.must(http.StatusOK, http.MethodGet, "/v1/whoami", nil)
	assert.Equal(t, map[string]any{"alpha": "developer"}, who["team_roles"], "still a developer")

	// Its review: dave's own decision is refused, mona's counts.
	reviews := mona.must(http.StatusOK, http.MethodGet, "/v1/access-reviews?team=alpha", nil)["items"].([]any)
	require.Len(t, reviews, 1, "the break-glass opened a review")
	rv := reviews[0].(map[string]any)
	assert.Equal(t, "break_glass:"+grantID, rv["trigger"])
	rvPath := "/v1/access-reviews/" + rv["id"].(string) + "/decisions"

	// The holder ends it early; nobody else can with /end.
	mona.must(http.StatusForbidden, http.MethodPost, "/v1/grants/"+grantID+"/end", nil)
	ended := dave.must(http.StatusOK, http.MethodPost, "/v1/grants/"+grantID+"/end", nil)
	assert.Equal(t, false, ended["active"])
	assert.Equal(t, "dave", ended["ended_by"])
	mona.must(http.StatusOK, http.MethodPost, rvPath, map[string]any{"item_id": grantID, "decision": "keep"})
}

// Attack suite, finding 11: a campaign covers memberships, service
// accounts and tokens as well as grants; a maintainer cannot keep his own
// membership, and revoking a membership or a token takes effect.
func TestAttackReviewsCoverStandingAccessAndNobodyDecidesAlone(t *testing.T) {
	admin := startAccess(t)
	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams", map[string]any{"name": "alpha"})
	for user, role := range map[string]string{"mona": "maintainer", "max": "maintainer", "dave": "developer"} {
		admin.must(http.StatusOK, http.MethodPut, "/v1/teams/alpha/members/"+user, map[string]any{"role": role})
	}
	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams/alpha/service-accounts", map[string]any{"name": "ci", "role": "developer"})
	saToken := admin.must(http.StatusCreated, http.MethodPost, "/v1/tokens", map[string]any{"service_account": "alpha/ci"})
	mona := admin.as(admin.issue("mona", "1h"))
	max := admin.as(admin.issue("max", "1h"))
	dave := admin.as(admin.issue("dave", "1h"))

	rv := mona.must(http.StatusCreated, http.MethodPost, "/v1/access-reviews", map[string]any{
		"team": "alpha", "deadline": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	subjects := map[string]int{}
	for _, it := range rv["items"].([]any) {
		subjects[it.(map[string]any)["subject"].(string)]++
	}
	assert.Equal(t, map[string]int{"membership": 3, "service_account": 1, "token": 1}, subjects,
		"the service account's token; members' own tokens serve their other teams too")
	path := "/v1/access-reviews/" + rv["id"].(string) + "/decisions"

	out := mona.must(http.StatusForbidden, http.MethodPost, path, map[string]any{"item_id": "member:mona", "decision": "keep"})
	assert.Contains(t, out["detail"], "their own")
	max.must(http.StatusOK, http.MethodPost, path, map[string]any{"item_id": "member:mona", "decision": "keep"})
	max.must(http.StatusOK, http.MethodPost, path, map[string]any{"item_id": "member:dave", "decision": "revoke"})
	saTokenID := saToken["record"].(map[string]any)["id"].(string)
	max.must(http.StatusOK, http.MethodPost, path, map[string]any{"item_id": saTokenID, "decision": "revoke"})

	require.Eventually(t, func() bool {
		code, _ := dave.call(http.MethodGet, "/v1/teams/alpha", nil)
		return code == http.StatusNotFound
	}, 10*time.Second, 50*time.Millisecond, "dave is still a member of alpha after the review revoked it")
	code, _ := admin.as(saToken["token"].(string)).call(http.MethodGet, "/v1/whoami", nil)
	assert.Equal(t, http.StatusUnauthorized, code, "the revoked token is refused")
}

// fieldsOf lists the fields a problem body names.
func fieldsOf(problem map[string]any) []string {
	var out []string
	errs, _ := problem["errors"].([]any)
	for _, e := range errs {
		if m, ok := e.(map[string]any); ok {
			if f, ok := m["field"].(string); ok {
				out = append(out, f)
			}
		}
	}
	return out
}

// Attack suite, finding 6: anyone on the bus, knowing the last record's
// hash, publishes a record on pave.audit.decision that chains correctly.
// `pave audit verify` now fails and names it: only the access service
// signs (the gateway's decisions go through it, and verify).
func TestAttackForgedAuditRecordFailsPaveAuditVerify(t *testing.T) {
	dir := t.TempDir()
	base, app, js := startDevJS(t, dir)
	t.Cleanup(func() { stopDev(t, app) })
	token, err := readToken(dir)
	require.NoError(t, err)
	admin := accessAPI{t: t, base: base, token: token}
	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams", map[string]any{"name": "alpha"})
	admin.must(http.StatusOK, http.MethodGet, "/v1/whoami", nil)
	st, err := os.Stat(filepath.Join(dir, "audit-signing.key"))
	require.NoError(t, err, "the signing key is generated under the data dir")
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	t.Setenv("PAVE_SERVER", base)
	t.Setenv("PAVE_TOKEN", token)
	var out bytes.Buffer
	require.NoError(t, runAccess("audit", []string{"verify"}, &out), "the gateway's and the service's records verify")
	assert.Contains(t, out.String(), "audit chain ok")

	ctx := context.Background()
	s, err := js.Stream(ctx, audit.Stream)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	last, err := s.GetMsg(ctx, info.State.LastSeq)
	require.NoError(t, err)
	recs, err := audit.Records(last.Data)
	require.NoError(t, err)
	forged := audit.Record{ID: "aud-forged", Time: time.Now().UTC(), Kind: audit.KindDecision, Actor: "mallory",
		Team: "alpha", Action: "member:write", Decision: "allow", Prev: recs[len(recs)-1].Hash}
	forged.Hash = forged.ComputeHash()
	raw, err := json.Marshal(forged)
	require.NoError(t, err)
	_, err = js.Publish(ctx, audit.Subject(audit.KindDecision), raw, jetstream.WithExpectLastSequence(info.State.LastSeq))
	require.NoError(t, err)

	err = runAccess("audit", []string{"verify"}, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "aud-forged")
	assert.Contains(t, err.Error(), "not signed by the access service")
}

// Attack suite, finding 8 (token half): a user mints fresh tokens to get
// around per-token limits. At most PAVE_ACCESS_MAX_TOKENS_PER_USER (10)
// live tokens per identity; the next is 409 naming the field, and one
// revoked makes room again.
func TestAttackAUserCannotMintUnboundedTokens(t *testing.T) {
	admin := startAccess(t)
	dave := admin.as(admin.issue("dave", "1h"))
	var first string
	for i := 1; i < 10; i++ {
		out := dave.must(http.StatusCreated, http.MethodPost, "/v1/tokens", map[string]any{"expires_in": "1h"})
		if first == "" {
			first = out["record"].(map[string]any)["id"].(string)
		}
	}
	out := dave.must(http.StatusConflict, http.MethodPost, "/v1/tokens", map[string]any{"expires_in": "1h"})
	assert.Equal(t, []string{"user"}, fieldsOf(out))
	assert.Contains(t, out["detail"], "PAVE_ACCESS_MAX_TOKENS_PER_USER")
	admin.must(http.StatusConflict, http.MethodPost, "/v1/tokens", map[string]any{"user": "dave", "expires_in": "1h"})

	dave.must(http.StatusOK, http.MethodDelete, "/v1/tokens/"+first, nil)
	dave.must(http.StatusCreated, http.MethodPost, "/v1/tokens", map[string]any{"expires_in": "1h"})
}

// Attack suite, finding 10: deleting a team left its environments running,
// and a new team of the same name inherited them, credentials included.
// Now a team with environments, workloads or grants is not deleted (409
// naming them; cascade to environments is refused as not implemented),
// and a re-created name has a new id and none of the old team's
// memberships, grants or service-account tokens.
func TestAttackDeletedTeamLeavesNothingToItsNamesake(t *testing.T) {
	p := startPlatform(t, "../../deploy/templates", nil)
	admin := accessAPI{t: t, base: p.base, token: p.token}
	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams", map[string]any{"name": "alpha"})
	oldID := admin.must(http.StatusOK, http.MethodGet, "/v1/teams/alpha", nil)["id"]
	require.NotEmpty(t, oldID)
	admin.must(http.StatusOK, http.MethodPut, "/v1/teams/alpha/members/dave", map[string]any{"role": "developer"})
	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams/alpha/service-accounts", map[string]any{"name": "ci", "role": "developer"})
	saToken := admin.must(http.StatusCreated, http.MethodPost, "/v1/tokens", map[string]any{"service_account": "alpha/ci"})["token"].(string)
	dave := admin.as(admin.issue("dave", "1h"))
	grant := dave.must(http.StatusCreated, http.MethodPost, "/v1/break-glass", map[string]any{
		"incident_id": "INC-3", "reason": "outage", "scope": map[string]any{"team": "alpha", "stage": "prod"}})
	env := admin.must(http.StatusAccepted, http.MethodPost, "/v1/environments",
		map[string]any{"team": "alpha", "name": "cache", "template": "redis-cache", "stage": "dev"})
	envID := env["environment"].(map[string]any)["id"].(string)
	p.waitState(envID, "ready")

	var out map[string]any
	out = admin.must(http.StatusConflict, http.MethodDelete, "/v1/teams/alpha", nil)
	assert.Equal(t, []string{"environments", "grants", "workloads"}, fieldsOf(out))
	assert.Contains(t, out["detail"], envID)
	assert.Contains(t, fieldsOf(out), "grants")
	out = admin.must(http.StatusConflict, http.MethodDelete, "/v1/teams/alpha?cascade=true", nil)
	assert.Contains(t, out["detail"], "not implemented")
	admin.must(http.StatusOK, http.MethodGet, "/v1/teams/alpha", nil)

	admin.must(http.StatusAccepted, http.MethodDelete, "/v1/environments/"+envID, nil)
	require.Eventually(t, func() bool {
		var code int
		code, out = admin.call(http.MethodDelete, "/v1/teams/alpha", nil)
		return code == http.StatusConflict && !contains(fieldsOf(out), "environments") && !contains(fieldsOf(out), "workloads")
	}, 90*time.Second, 250*time.Millisecond, "the torn-down environment still blocks the deletion: %v", out)
	assert.Equal(t, []string{"grants"}, fieldsOf(out), "only the grant is left")
	admin.must(http.StatusNoContent, http.MethodDelete, "/v1/teams/alpha?cascade=true", nil)
	ended := admin.must(http.StatusOK, http.MethodGet, "/v1/grants/"+grant["id"].(string), nil)
	assert.Equal(t, false, ended["active"], "cascade revoked the grant")

	// The namesake inherits nothing.
	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams", map[string]any{"name": "alpha"})
	assert.NotEqual(t, oldID, admin.must(http.StatusOK, http.MethodGet, "/v1/teams/alpha", nil)["id"])
	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams/alpha/service-accounts", map[string]any{"name": "ci", "role": "developer"})
	code, _ := admin.as(saToken).call(http.MethodGet, "/v1/whoami", nil)
	assert.Equal(t, http.StatusUnauthorized, code, "the old service account's token does not log into the new one")
	code, _ = dave.call(http.MethodGet, "/v1/teams/alpha", nil)
	assert.Equal(t, http.StatusNotFound, code, "dave is not a member of the new team")
	active := admin.must(http.StatusOK, http.MethodGet, "/v1/grants?team=alpha&active=true", nil)["items"].([]any)
	assert.Empty(t, active)
}
