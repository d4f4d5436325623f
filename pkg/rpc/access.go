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
	// AccessNotImplemented answers the routes of just-in-time access,
	// break-glass and access reviews, which are not built yet: 501.
	AccessNotImplemented = "pave.access.api.notimplemented"

	// Authorize is the decision point for services other than the
	// gateway: a decide.Request in, a decide.Decision out (not the rpc
	// envelope).
	Authorize = "pave.access.authorize"
)
