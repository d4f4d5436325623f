package rpc

// Access API calls, answered by the access service.
const (
	TeamsCreate           = "pave.access.api.teams.create"
	TeamsList             = "pave.access.api.teams.list"
	TeamsGet              = "pave.access.api.teams.get"
	TeamsDelete           = "pave.access.api.teams.delete"
	MembersList           = "pave.access.api.members.list"
	MembersPut            = "pave.access.api.members.put"
	MembersDelete         = "pave.access.api.members.delete"
	ServiceAccountsCreate = "pave.access.api.serviceaccounts.create"
	ServiceAccountsList   = "pave.access.api.serviceaccounts.list"
	ServiceAccountsDelete = "pave.access.api.serviceaccounts.delete"
	UsersRolesPut         = "pave.access.api.users.roles.put"
	TokensCreate          = "pave.access.api.tokens.create"
	TokensList            = "pave.access.api.tokens.list"
	TokensRevoke          = "pave.access.api.tokens.revoke"
	Whoami                = "pave.access.api.whoami"
	AuditQuery            = "pave.access.api.audit.query"
	AuditVerify           = "pave.access.api.audit.verify"
	// AccessNotImplemented answers 501 for access routes not built.
	AccessNotImplemented = "pave.access.api.notimplemented"

	// Just-in-time access, break-glass and access reviews.
	AccessRequestsCreate  = "pave.access.api.requests.create"
	AccessRequestsList    = "pave.access.api.requests.list"
	AccessRequestsGet     = "pave.access.api.requests.get"
	AccessRequestsApprove = "pave.access.api.requests.approve"
	AccessRequestsDeny    = "pave.access.api.requests.deny"
	GrantsGet             = "pave.access.api.grants.get"
	GrantsRevoke          = "pave.access.api.grants.revoke"
	GrantsEnd             = "pave.access.api.grants.end"
	BreakGlass            = "pave.access.api.breakglass"
	AccessReviewsCreate   = "pave.access.api.reviews.create"
	AccessReviewsList     = "pave.access.api.reviews.list"
	AccessReviewsGet      = "pave.access.api.reviews.get"
	AccessReviewsDecide   = "pave.access.api.reviews.decide"
	AccessReviewsExport   = "pave.access.api.reviews.export"

	// GrantsList lists just-in-time grants (Query: team?, environment_id?,
	// principal?, active: "true") -> {"items": [grant...]}.
	GrantsList = "pave.access.grants.list"

	// Authorize is the decision point for services other than the
	// gateway: a decide.Request in, a decide.Decision out (not the rpc
	// envelope).
	Authorize = "pave.access.authorize"
)
