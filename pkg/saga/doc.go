// Package saga runs long, multi-service operations — environment create,
// update, teardown, promotion — as sagas: ordered steps, each a command to
// another service, undone in reverse when the saga cannot finish.
//
//	Start / Deliver(answer) / timer(Timeout)
//	        │
//	        ▼
//	KV get ─ Transition(def, instance, input, now) ─ KV update(rev) ──┐  conflict: get and apply again
//	         pure: no I/O, deterministic             │                │
//	         → next instance + effects ──────────────┘                │
//	           (effects are appended to the instance's outbox)        ▼
//	                                        publish outbox in order (ids are deterministic:
//	                                        the stream drops a re-publish) ─ KV update: remove them
//
//	background (Launch/Stop or Run): watch the bucket ─ initial values: publish left-over
//	outboxes, fire passed deadlines ─ updates: keep one timer per saga, on every replica
//
// Vocabulary:
//   - definition: the saga in code — steps with Do and Undo builders, a
//     timeout and retry policies. Instances store the definition's name.
//   - instance: one run, stored as JSON under its id in a KV bucket; every
//     write is a compare-and-set on the revision.
//   - Ref: saga id, step, attempt and whether it compensates. It travels in
//     the command data as "saga" and comes back in the answer. Command ids
//     are <saga>/<step>/<attempt> and <saga>/<step>/undo/<attempt>.
//   - outbox: effects of committed transitions not yet published: commands,
//     progress events (<saga>/progress/<seq>, one per transition) and
//     alerts (<saga>/alert/<seq>). Publishing happens after the write, so a
//     crash in between loses nothing; the next publish is deduplicated.
//   - deadline: when the engine delivers Timeout — the attempt in flight
//     timed out, or a retry's backoff is over. A Timeout carries the
//     deadline it was set for; a second replica firing it finds it stale.
//   - compensation: undoing, one step at a time and highest first, every
//     step that issued a forward command — succeeded, failed or still in
//     flight, since any of them may have taken effect.
//   - null compensation: a step that never issued a command is skipped, as
//     nothing can exist. A step that issued one is undone even if it
//     failed; its receiver answers an Undo for nothing with success.
//   - hanging: a forward answer that arrives after the step's undo was
//     issued. The receiver may have run the command after the undo, so the
//     step is undone again (after the undo in flight, or by reopening a
//     compensated saga). After compensation_failed a late_effect alert
//     goes out instead.
//   - compensation_failed: an undo failed for good or ran out of tries. An
//     alert names the step and the reason, the other steps are undone all
//     the same, and the saga ends naming every step left. Late answers then
//     raise alerts, never actions.
//   - resume: a Resume input undoes the steps left once more (reconcile
//     sends it with backoff once their servers may be back); a round that
//     succeeds ends compensated, one that fails ends compensation_failed
//     again without a second alert.
//
// Statuses: running → completed, or running → compensating → compensated or
// compensation_failed → (Resume) compensating. A compensated saga returns
// to compensating when a hanging answer arrives.
package saga
