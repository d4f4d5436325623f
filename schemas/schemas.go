// Package schemas holds the JSON Schemas of Pave's public contracts.
//
// schemas/events is the single source of truth for event data: one JSON
// Schema (draft 2020-12) per CloudEvent type, in a file named after the
// type. The bus validates every published and consumed event against it,
// and the Go types in pkg/events are tested to agree with it.
package schemas

import "embed"

// Events holds events/<type>.json for every CloudEvent type Pave ships.
//
//go:embed events/*.json
var Events embed.FS
