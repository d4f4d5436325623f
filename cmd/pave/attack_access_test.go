package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	assert.Equal(t, map[string]int{"membership": 3, "service_account": 1, "token": 4}, subjects)
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
