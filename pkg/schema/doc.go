// Package schema names, routes and validates Pave's CloudEvent types.
//
// Every CloudEvent type maps to one NATS subject and one JSON Schema:
//
//	dev.pave.<service>.<entity>.<event>.v<N>  →  pave.evt.<service>.<entity>.<event>
//	dev.pave.cmd.<service>.<action>.v<N>      →  pave.cmd.<service>.<action>
//	                                          →  schemas/events/<type>.json
//
// Vocabulary:
//   - type: the CloudEvent `type` attribute. Its tokens are lowercase
//     [a-z][a-z0-9_-]*; the version v<N> (N ≥ 1) changes when the data
//     changes incompatibly, and is not part of the subject, so consumers of
//     a subject see every version and pick by type.
//   - subject: where the event travels on NATS (SubjectFor).
//   - schema: the JSON Schema (draft 2020-12) its data must satisfy; its
//     $id is SchemaURL(type), which is also the CloudEvent `dataschema`.
//   - Registry: the compiled schemas, asked on every publish and consume.
package schema
