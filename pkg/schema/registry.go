package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pave-platform/pave/schemas"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Registry holds the compiled schema of every known CloudEvent type. It is
// safe for concurrent use. Validate reads an immutable snapshot without
// locking; Register copies the snapshot, so registering is the slow path.
// Make one with NewRegistry or Default; the zero value is not usable.
type Registry struct {
	mu      sync.Mutex // serialises writers of entries
	entries atomic.Pointer[map[string]*entry]
	printer *message.Printer
}

// TypeInfo describes a registered type.
type TypeInfo struct {
	Type    string
	Subject string
	Schema  json.RawMessage
}

type entry struct {
	subject string
	raw     []byte
	schema  *jsonschema.Schema
}

// Default is a registry of the types Pave ships, from schemas/events.
func Default() (*Registry, error) {
	return NewRegistry(schemas.Events, "events")
}

// NewRegistry compiles every <type>.json in dir of fsys. A file must be
// named after a valid type and carry $id SchemaURL(type).
func NewRegistry(fsys fs.FS, dir string) (*Registry, error) {
	files, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read schemas: %w", err)
	}
	r := newRegistry()
	var errs []error
	for _, f := range files {
		name := f.Name()
		eventType, ok := strings.CutSuffix(name, ".json")
		if f.IsDir() || !ok {
			continue
		}
		if err := r.registerFile(fsys, path.Join(dir, name), eventType); err != nil {
			errs = append(errs, fmt.Errorf("schema file %s: %w", name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}

func newRegistry() *Registry {
	r := &Registry{printer: message.NewPrinter(language.English)}
	r.entries.Store(&map[string]*entry{})
	return r
}

func (r *Registry) registerFile(fsys fs.FS, file, eventType string) error {
	raw, err := fs.ReadFile(fsys, file)
	if err != nil {
		return err
	}
	e, err := compile(eventType, raw, true)
	if err != nil {
		return err
	}
	return r.add(eventType, e)
}

// Register adds the schema of eventType. If schemaJSON has an $id, it must
// be SchemaURL(eventType). A type is registered once.
func (r *Registry) Register(eventType string, schemaJSON []byte) error {
	e, err := compile(eventType, schemaJSON, false)
	if err != nil {
		return fmt.Errorf("register %s: %w", eventType, err)
	}
	if err := r.add(eventType, e); err != nil {
		return fmt.Errorf("register %s: %w", eventType, err)
	}
	return nil
}

func (r *Registry) add(eventType string, e *entry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.entries.Load()
	if _, ok := old[eventType]; ok {
		return ErrAlreadyRegistered
	}
	next := maps.Clone(old)
	next[eventType] = e
	r.entries.Store(&next)
	return nil
}

// compile checks eventType and the schema's $id and compiles the schema.
// Schemas are self-contained: references to other documents are refused.
func compile(eventType string, raw []byte, requireID bool) (*entry, error) {
	subject, err := SubjectFor(eventType)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("schema is not valid JSON: %w", err)
	}
	url := SchemaURL(eventType)
	obj, _ := doc.(map[string]any)
	id, hasID := obj["$id"]
	switch {
	case requireID && !hasID:
		return nil, fmt.Errorf("$id is missing, want %s", url)
	case hasID && id != url:
		return nil, fmt.Errorf("$id is %v, want %s", id, url)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(noLoader{})
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	sch, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("compile schema: %w", err)
	}
	return &entry{subject: subject, raw: slices.Clone(raw), schema: sch}, nil
}

type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("load %s: event schemas must be self-contained", url)
}

// Validate checks data, the JSON data of an event of eventType, against
// its schema. It returns an error wrapping ErrUnknownType if the type has
// no schema, and a *ValidationError if the data does not satisfy it.
func (r *Registry) Validate(eventType string, data []byte) error {
	e, ok := (*r.entries.Load())[eventType]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownType, eventType)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return notJSON(eventType, err)
	}
	err = e.schema.Validate(doc)
	if err == nil {
		return nil
	}
	var verr *jsonschema.ValidationError
	if errors.As(err, &verr) {
		return flatten(eventType, verr, r.printer)
	}
	return fmt.Errorf("validate %s: %w", eventType, err)
}

// Has reports whether eventType has a schema.
func (r *Registry) Has(eventType string) bool {
	_, ok := (*r.entries.Load())[eventType]
	return ok
}

// Types lists the registered types, sorted by type.
func (r *Registry) Types() []TypeInfo {
	entries := *r.entries.Load()
	out := make([]TypeInfo, 0, len(entries))
	for _, t := range slices.Sorted(maps.Keys(entries)) {
		e := entries[t]
		out = append(out, TypeInfo{Type: t, Subject: e.subject, Schema: slices.Clone(e.raw)})
	}
	return out
}
