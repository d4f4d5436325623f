// Package webhooks receives signed Git and CI webhooks and maps them to
// what Pave does for the repository.
//
//	POST /v1/webhooks/{github,gitlab,ci}
//	  ─ body ≤ 1 MiB ─ signature header present ─ JSON object ─ repository mapped (PAVE_REPOSITORIES_FILE)
//	  ─ signature valid (HMAC-SHA256 / X-Gitlab-Token / Standard Webhooks, constant time, two secrets in a rotation)
//	  ─ ping 200 │ unhandled event 204
//	  ─ Claim(provider/delivery id) in pkg/dedup (7 days) ─ seen: 200 {"duplicate": true}
//	  ─ store on CMD_GATEWAY (pave.cmd.gateway.webhook, acked) ─ failed: Release, 503 ─ 202
//
//	Processor (durable consumer gateway-webhooks, in order per repository)
//	  pull/merge request opened, reopened ─ create preview <application>-pr-<n> unless it exists
//	  new commits                         ─ update it to the commit (no-op if already there)
//	  closed, merged                      ─ tear it down (none left: done)
//	  push of a branch                    ─ dev.pave.gateway.git.pushed.v1
//	  CI run finished                     ─ dev.pave.gateway.ci.completed.v1
//	  deployment status                   ─ dev.pave.gateway.deployment.recorded.v1
//
// Vocabulary: a delivery is one webhook request; its id is the sender's
// (X-GitHub-Delivery, Idempotency-Key, X-Gitlab-Event-UUID, webhook-id,
// or delivery_id in a generic CI body). The processor acts toward
// lifecycle as the principal webhook:<provider>:<repository>, a developer
// of the mapped team only. Every action is idempotent: environments are
// looked up by team and name first, events carry ids derived from the
// delivery.
package webhooks
