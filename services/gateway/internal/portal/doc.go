// Package portal is Pave's web portal: server-rendered html/template
// pages with htmx (pinned, embedded: nothing is fetched at run time and
// there is no build step), mounted by the gateway at /.
//
//	browser ──cookie──▶ portal handler ──Authorization: Bearer──▶ /v1 handler (in-process)
//	                      │ session: AES-GCM cookie (token, CSRF value, expiry)
//	                      └ page: layout.html + <page>.html, or an htmx fragment
//
// The portal has no access of its own: every page is made of /v1 calls
// with the signed-in user's token, so authentication, Cedar decisions,
// validation, rate limits and the audit ledger apply to it unchanged.
//
// Vocabulary: a session is the encrypted cookie; its CSRF value goes in a
// hidden form field (or the X-CSRF-Token header) of every state change
// and is compared in constant time. A fragment is a named template htmx
// swaps into a page (the cost estimate, revealed credentials).
package portal
