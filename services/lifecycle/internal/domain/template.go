package domain

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Driver provisions one kind of resource.
type Driver string

// Drivers a template may use.
const (
	DriverPostgres Driver = "postgres"
	DriverRedis    Driver = "redis"
	DriverNATS     Driver = "nats"
	DriverHTTP     Driver = "http"
	DriverExec     Driver = "exec"
)

// Sanitize says what teardown does with a resource's data.
type Sanitize string

// Sanitize policies: drop destroys the data; keep retains a sanitized copy.
const (
	SanitizeDrop Sanitize = "drop"
	SanitizeKeep Sanitize = "keep"
)

// Stage is where an environment sits on the path to production.
type Stage string

// Stages, in promotion order.
const (
	StageDev     Stage = "dev"
	StageTest    Stage = "test"
	StageStaging Stage = "staging"
	StageProd    Stage = "prod"
	StagePreview Stage = "preview"
)

// Stages lists every stage.
func Stages() []Stage {
	return []Stage{StageDev, StageTest, StageStaging, StageProd, StagePreview}
}

// Template is a parsed, validated golden path. Make one with ParseTemplate:
// Resolve needs the compiled parameter schema it carries.
type Template struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	Description string `json:"description"`
	Owner       string `json:"owner"`
	// Parameters is the JSON Schema (draft 2020-12) of the parameters.
	Parameters map[string]any `json:"parameters,omitempty"`
	Resources  []Resource     `json:"resources"`
	Lifecycle  Lifecycle      `json:"lifecycle"`
	CostClass  string         `json:"cost_class"`
	// HealthChecks are what a promotion's verify probes.
	HealthChecks []HealthCheck `json:"health_checks,omitempty"`
	// File is where the template was read from; Digest identifies its
	// content (SHA-256 of its canonical JSON form, so comments and layout
	// do not count).
	File   string `json:"-"`
	Digest string `json:"-"`

	params *paramSchema
}

// HealthCheck is an HTTP GET of a resource's output URL (plus Path) that
// must answer Status.
type HealthCheck struct {
	Name     string `json:"name"`
	Resource string `json:"resource"`
	Output   string `json:"output"`
	Path     string `json:"path,omitempty"`
	Status   int    `json:"status"`
}

// Resource is one resource of a template, before parameters are applied.
type Resource struct {
	Name       string         `json:"name"`
	Driver     Driver         `json:"driver"`
	Class      string         `json:"class"`
	Parameters map[string]any `json:"parameters,omitempty"`
	DependsOn  []string       `json:"depends_on,omitempty"`
	Sanitize   Sanitize       `json:"sanitize,omitempty"`
}

// Lifecycle says where and how long an environment of the template lives.
type Lifecycle struct {
	Stages          []Stage       `json:"stages"`
	Ephemeral       bool          `json:"ephemeral"`
	DefaultTTL      time.Duration `json:"default_ttl,omitempty"`
	MaxTTL          time.Duration `json:"max_ttl,omitempty"`
	RenewOnActivity bool          `json:"renew_on_activity,omitempty"`
}

// AllowsStage reports whether environments of the template may run in s.
func (l Lifecycle) AllowsStage(s Stage) bool {
	for _, allowed := range l.Stages {
		if allowed == s {
			return true
		}
	}
	return false
}

// Ref is "name@version".
func (t Template) Ref() string { return t.Name + "@" + t.Version }

//go:embed template.schema.json
var templateSchemaJSON []byte

// templateSchema is the compiled template.schema.json; it never changes.
var templateSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(templateSchemaJSON))
	if err != nil {
		return nil, fmt.Errorf("read template schema: %w", err)
	}
	s, err := compileSchema("https://pave.dev/schemas/template.json", doc)
	if err != nil {
		return nil, fmt.Errorf("compile template schema: %w", err)
	}
	return s[0], nil
})

// ParseTemplate reads one template file. file names it in errors. Every
// problem is reported at once in a *TemplateError.
func ParseTemplate(file string, data []byte) (Template, error) {
	fail := func(fields []FieldError) (Template, error) {
		return Template{}, &TemplateError{File: file, Fields: fields}
	}
	doc, canonical, err := readDocument(data)
	if err != nil {
		return fail([]FieldError{{Message: err.Error()}})
	}
	meta, err := templateSchema()
	if err != nil {
		return Template{}, err
	}
	if err := meta.Validate(doc); err != nil {
		return fail(schemaProblems(err, ""))
	}
	var raw templateDoc
	dec := json.NewDecoder(bytes.NewReader(canonical))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return fail([]FieldError{{Message: err.Error()}})
	}
	t, probs := raw.build()
	if len(probs) > 0 {
		return fail(probs)
	}
	sum := sha256.Sum256(canonical)
	t.File, t.Digest = file, hex.EncodeToString(sum[:])
	return t, nil
}

// readDocument decodes YAML into JSON values (numbers as json.Number, as
// jsonschema expects) and their canonical JSON text (sorted keys).
func readDocument(data []byte) (any, []byte, error) {
	v, err := decodeYAML(data)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, nil, fmt.Errorf("a template is a YAML mapping, not %s", describe(v))
	}
	canonical, err := json.Marshal(v)
	if err != nil {
		return nil, nil, fmt.Errorf("convert to JSON: %w", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(canonical))
	if err != nil {
		return nil, nil, fmt.Errorf("convert to JSON: %w", err)
	}
	return doc, canonical, nil
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "an empty document"
	case []any:
		return "a list"
	default:
		return "a scalar"
	}
}
