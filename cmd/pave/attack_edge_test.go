package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
)

// The attack suite of the HTTP edge (issue 16): each test performs an
// attack against pave dev over a real socket and asserts the refusal.

// edgeTeam is team alpha with a viewer, a developer and two maintainers
// (one approves the other's requests), each with a token.
func edgeTeam(t *testing.T, admin accessAPI, team string) map[string]accessAPI {
	t.Helper()
	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams", map[string]any{"name": team})
	as := map[string]accessAPI{}
	for user, role := range map[string]string{"vic": "viewer", "dan": "developer", "mia": "maintainer", "max": "maintainer"} {
		admin.must(http.StatusOK, http.MethodPut, "/v1/teams/"+team+"/members/"+user, map[string]any{"role": role})
		as[user] = admin.as(admin.issue(user, "1h"))
	}
	return as
}

// grantFor has user ask for role on one environment and approver approve.
func grantFor(t *testing.T, user, approver accessAPI, team, envID, role string) string {
	t.Helper()
	req := user.must(http.StatusCreated, http.MethodPost, "/v1/access-requests", map[string]any{
		"role": role, "scope": map[string]any{"team": team, "environment_id": envID}, "duration": "1h", "reason": "INC-16"})
	out := approver.must(http.StatusOK, http.MethodPost, "/v1/access-requests/"+req["id"].(string)+"/approve", map[string]any{"reason": "ok"})
	return out["grant_id"].(string)
}

// getRawAs is the body of a GET as one caller.
func getRawAs(t *testing.T, api accessAPI, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, api.base+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+api.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, buf.String()
}

// loginOf is the credentials of the resource named name in an answer.
func loginOf(env map[string]any, name string) map[string]any {
	for _, r := range env["resources"].([]any) {
		res := r.(map[string]any)
		if res["name"] == name {
			c, _ := res["credentials"].(map[string]any)
			return c
		}
	}
	return nil
}

// Finding 5: a viewer (or any developer, also for prod) read the database
// owner's password from GET /v1/environments/{id}, the SSE snapshot and
// pave env get -o json. Now no answer holds a secret unless asked for;
// the owner login goes to maintainers (production: only with a grant),
// developers and viewers get only their own grant logins, and each read
// is audited.
func TestAttackCredentialsOnlyByRoleAndOnlyWhenAsked(t *testing.T) {
	p := startPlatform(t, "../../deploy/templates", nil)
	admin := accessAPI{t: t, base: p.base, token: p.token}
	team := edgeTeam(t, admin, "alpha")
	devID := p.create(map[string]any{"team": "alpha", "name": "orders", "template": "postgres-db", "stage": "dev"})
	prodID := p.create(map[string]any{"team": "alpha", "name": "ledger", "template": "postgres-db", "stage": "prod"})
	p.waitState(devID, "ready")
	p.waitState(prodID, "ready")

	// Unasked, nobody gets a secret: not the API, not the stream, not the CLI.
	for _, who := range []string{"vic", "dan", "mia"} {
		for _, id := range []string{devID, prodID} {
			code, body := getRawAs(t, team[who], "/v1/environments/"+id)
			require.Equal(t, http.StatusOK, code, body)
			assert.NotContains(t, body, "password", "%s reads %s", who, id)
			assert.NotContains(t, body, "credentials", "%s reads %s", who, id)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			events, _, err := (&specClient{t: t, base: p.base, token: team[who].token}).streamN(ctx, id, "", 1)
			cancel()
			require.NoError(t, err)
			require.Len(t, events, 1)
			assert.Equal(t, "snapshot", events[0].event)
			assert.NotContains(t, events[0].data, "password", "%s streams %s", who, id)
		}
	}
	cliEnv(t)
	t.Setenv("PAVE_SERVER", p.base)
	t.Setenv("PAVE_TOKEN", team["mia"].token)
	var out, errOut bytes.Buffer
	require.NoError(t, runEnv([]string{"get", devID, "-o", "json"}, &out, &errOut))
	assert.NotContains(t, out.String(), "password", "pave env get -o json is the API's answer without secrets")

	// The attack: a viewer and a developer ask for the owner login.
	for _, who := range []string{"vic", "dan"} {
		code, out := team[who].call(http.MethodGet, "/v1/environments/"+devID+"?credentials=true", nil)
		assert.Equal(t, http.StatusForbidden, code, "%s: %v", who, out)
		assert.Contains(t, out["detail"], "no grant login", who)
		assert.NotContains(t, mustJSON(t, out), "password", who)
	}
	code, out2 := team["dan"].call(http.MethodGet, "/v1/environments/"+devID+"?credentials=yes", nil)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, mustJSON(t, out2), "query.credentials")

	// A maintainer gets the owner login of dev when asking for it (also
	// through the CLI), and it is a real login.
	env := team["mia"].must(http.StatusOK, http.MethodGet, "/v1/environments/"+devID+"?credentials=true", nil)
	owner := loginOf(env, "db")
	require.NotNil(t, owner, "%v", env)
	assert.Equal(t, "owner", owner["kind"])
	conn, err := pgx.Connect(context.Background(), owner["url"].(string))
	require.NoError(t, err)
	require.NoError(t, conn.Close(context.Background()))
	out.Reset()
	require.NoError(t, runEnv([]string{"get", devID, "--credentials", "-o", "json"}, &out, &errOut))
	assert.Contains(t, out.String(), `"password"`, "--credentials asks for the login")

	// Production: not even a maintainer without a grant.
	code, out3 := team["mia"].call(http.MethodGet, "/v1/environments/"+prodID+"?credentials=true", nil)
	assert.Equal(t, http.StatusForbidden, code, "%v", out3)

	// A developer with a grant gets her own grant login, not the owner's.
	grantFor(t, team["dan"], team["mia"], "alpha", devID, "developer")
	var mine map[string]any
	require.Eventually(t, func() bool {
		code, out := team["dan"].call(http.MethodGet, "/v1/environments/"+devID+"?credentials=true", nil)
		mine = out
		return code == http.StatusOK
	}, 60*time.Second, 100*time.Millisecond, "the developer's grant login never came: %v", &mine)
	login := loginOf(mine, "db")
	require.NotNil(t, login, "%v", mine)
	assert.Equal(t, "grant", login["kind"])
	assert.NotEmpty(t, login["grant_id"])
	assert.NotEqual(t, owner["username"], login["username"], "a grant login is not the owner's")

	// A maintainer with a maintainer grant on production gets its owner login.
	grantFor(t, team["mia"], team["max"], "alpha", prodID, "maintainer")
	require.Eventually(t, func() bool {
		code, out := team["mia"].call(http.MethodGet, "/v1/environments/"+prodID+"?credentials=true", nil)
		mine = out
		return code == http.StatusOK && loginOf(out, "db")["kind"] == "owner"
	}, 30*time.Second, 100*time.Millisecond, "the grant never opened production's owner login: %v", &mine)

	// Every credential read is a decision in the audit ledger.
	recs := admin.must(http.StatusOK, http.MethodGet, "/v1/audit?team=alpha&limit=10000", nil)["items"].([]any)
	seen := map[string]int{}
	for _, r := range recs {
		rec := r.(map[string]any)
		if rec["route"] == "GET /v1/environments/{id}?credentials=true" {
			seen[rec["actor"].(string)+" "+rec["action"].(string)+" "+rec["decision"].(string)]++
		}
	}
	assert.Positive(t, seen["vic environment:credentials deny"], "%v", seen)
	assert.Positive(t, seen["dan environment:grant-credentials allow"], "%v", seen)
	assert.Positive(t, seen["mia environment:credentials allow"], "%v", seen)
	assert.Positive(t, seen["mia environment:credentials deny"], "production without a grant: %v", seen)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	return strings.TrimSpace(string(raw))
}

// postEvent posts one CloudEvent in binary mode as api's token.
func postEvent(t *testing.T, api accessAPI, id, typ string, data any) (int, map[string]any) {
	t.Helper()
	raw, err := json.Marshal(data)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, api.base+"/v1/events", bytes.NewReader(raw))
	require.NoError(t, err)
	for k, v := range map[string]string{"Authorization": "Bearer " + api.token, "Content-Type": "application/json",
		"Ce-Specversion": "1.0", "Ce-Id": id, "Ce-Source": "ci/other", "Ce-Type": typ} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// Finding 3: a service account of one team, allowed to send ci.completed,
// posted a successful run for another team's application (202), and that
// team's promotion passed its CI gate. Now the claim is refused at the
// door and the promotion still has no successful run.
func TestAttackAnotherTeamsCIAccountCannotPassTheCIGate(t *testing.T) {
	t.Setenv("PAVE_INGEST_ALLOWED_TYPES", "other/ci="+events.TypeCICompleted)
	p, tokens := promotionPlatform(t)
	admin := accessAPI{t: t, base: p.base, token: p.token}
	alice := admin.as(tokens["alice"])
	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams/other/service-accounts", map[string]any{"name": "ci", "role": "developer"})
	ci := admin.as(admin.must(http.StatusCreated, http.MethodPost, "/v1/tokens",
		map[string]any{"service_account": "other/ci", "expires_in": "1h"})["token"].(string))
	for name, c := range map[string]string{"dev": commitA, "staging": commitB} {
		p.waitState(p.create(map[string]any{"team": "payments", "name": "shop-" + name, "template": "shop-svc",
			"stage": name, "commit": c}), "ready")
	}

	forged := events.CICompleted{Provider: "ci", Repository: "acme/shop", Team: "payments", Application: "shop",
		Commit: commitA, Conclusion: "success", Name: "build", URL: "https://ci.example/1", DeliveryID: "forged-1"}
	code, out := postEvent(t, ci, "forged-1", events.TypeCICompleted, forged)
	assert.Equal(t, http.StatusForbidden, code, "%v", out)
	assert.Contains(t, out["detail"], "may not send events for team payments")
	forged.Team = "other" // its own team, another team's application
	code, out = postEvent(t, ci, "forged-2", events.TypeCICompleted, forged)
	assert.Equal(t, http.StatusForbidden, code, "%v", out)
	assert.Contains(t, out["detail"], `team other has no application "shop"`)
	forged.Application, forged.Repository = "", "other/tool" // its own: let in
	code, out = postEvent(t, ci, "own-1", events.TypeCICompleted, forged)
	assert.Equal(t, http.StatusAccepted, code, "%v", out)

	got := promoteAndWait(t, alice, map[string]any{"application": "shop", "to": "staging", "commit": commitA}, "rejected", "promoted")
	assert.Equal(t, "rejected", got["state"])
	assert.Contains(t, got["reason"], "ci gate: no CI run recorded for commit "+commitA)
}

// rawAs is a GET as token ("" sends none): status and body.
func rawAs(t *testing.T, base, token, path string) (int, string) {
	t.Helper()
	return getRawAs(t, accessAPI{t: t, base: base, token: token}, path)
}

// Findings 7 and 8 at the edge: before authentication nothing tells an
// existing object from a missing one; a 404 for another team's object
// names only what was asked for, never the team; and the rate limit is
// per principal, so minting tokens buys no requests.
func TestAttackEdgeRevealsNothingAndLimitsPerPrincipal(t *testing.T) {
	const burst = 20
	t.Setenv("PAVE_RATE_LIMIT_PER_MINUTE", "1")
	t.Setenv("PAVE_RATE_LIMIT_BURST", "20")
	admin := startAccess(t)
	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams", map[string]any{"name": "a"})
	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams", map[string]any{"name": "hidden-team"})
	admin.must(http.StatusOK, http.MethodPut, "/v1/teams/a/members/amy", map[string]any{"role": "developer"})
	admin.must(http.StatusOK, http.MethodPut, "/v1/teams/hidden-team/members/bob", map[string]any{"role": "maintainer"})
	bob := admin.as(admin.issue("bob", "1h"))
	var amy []accessAPI
	for range 5 {
		amy = append(amy, admin.as(admin.issue("amy", "1h")))
	}
	req := bob.must(http.StatusCreated, http.MethodPost, "/v1/access-requests", map[string]any{"role": "maintainer",
		"scope": map[string]any{"team": "hidden-team"}, "duration": "1h", "reason": "on call"})
	id := req["id"].(string)

	// Unauthenticated: the same 401 for an existing object, a missing one
	// and a route that does not exist.
	var bodies []string
	for _, path := range []string{"/v1/access-requests/" + id, "/v1/access-requests/areq-missing", "/v1/no-such-route"} {
		code, body := rawAs(t, admin.base, "", path)
		assert.Equal(t, http.StatusUnauthorized, code, path)
		bodies = append(bodies, body)
	}
	assert.Equal(t, bodies[0], bodies[1], "an existing object looks like a missing one")
	assert.Equal(t, bodies[0], bodies[2], "and like a missing route")
	assert.NotContains(t, bodies[0], "hidden-team")

	// Another team's object: 404 naming what was asked for, not its team.
	code, out := amy[0].call(http.MethodGet, "/v1/access-requests/"+id, nil)
	assert.Equal(t, http.StatusNotFound, code, "%v", out)
	assert.Equal(t, `no access request "`+id+`"`, out["detail"])
	assert.NotContains(t, mustJSON(t, out), "hidden-team")

	// The rate limit: five tokens of one user share one budget.
	first429 := 0
	for i := 1; i <= 5*burst && first429 == 0; i++ {
		resp, err := http.DefaultClient.Do(mustRequest(t, amy[i%5], "/v1/whoami"))
		require.NoError(t, err)
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			first429 = i
			assert.NotEmpty(t, resp.Header.Get("Retry-After"))
		}
	}
	require.NotZero(t, first429, "five tokens got %d requests without a 429", 5*burst)
	assert.LessOrEqual(t, first429, 2*burst, "the budget is the user's, not each token's")
	bob.must(http.StatusOK, http.MethodGet, "/v1/whoami", nil) // another principal is unaffected
}

func mustRequest(t *testing.T, api accessAPI, path string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, api.base+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+api.token)
	return req
}
