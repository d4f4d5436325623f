package policy

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/cedar-policy/cedar-go"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
	"github.com/cedar-policy/cedar-go/x/exp/schema"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"
)

// SchemaFile is the Cedar schema every policy folder holds.
const SchemaFile = "schema.cedarschema"

// builtin is the shipped policy folder (a copy of deploy/policies; a test
// keeps the two equal), used when no folder is configured.
//
//go:embed policies
var builtin embed.FS

// Config says where the policies are.
type Config struct {
	// PoliciesDir holds *.cedar policy files and schema.cedarschema; empty
	// means the built-in copy of deploy/policies.
	PoliciesDir string `env:"PAVE_POLICIES_DIR"`
}

// PolicyError names the file, line and reason of a policy that does not
// load.
type PolicyError struct {
	File   string
	Line   int
	Reason string
}

func (e *PolicyError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("policy %s:%d: %s", e.File, e.Line, e.Reason)
	}
	return fmt.Sprintf("policy %s: %s", e.File, e.Reason)
}

// Policies is a validated policy set.
type Policies struct {
	set   *cedar.PolicySet
	count int
	// actions are the schema's Action entities with their groups, which
	// Cedar needs to answer `action in Action::"group"`.
	actions map[cedar.EntityUID]cedar.Entity
	index   *policyIndex
}

// HasAction reports whether the schema declares the action.
func (p *Policies) HasAction(name string) bool {
	_, ok := p.actions[cedar.NewEntityUID("Action", cedar.String(name))]
	return ok
}

// Len is the number of policies.
func (p *Policies) Len() int { return p.count }

// Load reads and validates the policies of cfg (the built-in ones when no
// folder is set).
func Load(cfg Config) (*Policies, error) {
	if cfg.PoliciesDir == "" {
		sub, err := fs.Sub(builtin, "policies")
		if err != nil {
			return nil, err
		}
		return LoadFS(sub, "builtin")
	}
	return LoadFS(osDirFS(cfg.PoliciesDir), cfg.PoliciesDir)
}

// LoadFS reads schema.cedarschema and every *.cedar file of fsys; label
// prefixes file names in errors. Every policy needs a unique @id.
func LoadFS(fsys fs.FS, label string) (*Policies, error) {
	v, actions, err := loadSchema(fsys, label)
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(fsys, "*.cedar")
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, &PolicyError{File: label, Reason: "no *.cedar policy files"}
	}
	sort.Strings(names)
	set := cedar.NewPolicySet()
	n := 0
	for _, name := range names {
		file := path.Join(label, name)
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", file, err)
		}
		added, err := addFile(set, v, file, raw)
		if err != nil {
			return nil, err
		}
		n += added
	}
	return &Policies{set: set, count: n, actions: actions, index: newPolicyIndex(set, actions)}, nil
}

func loadSchema(fsys fs.FS, label string) (*validate.Validator, map[cedar.EntityUID]cedar.Entity, error) {
	file := path.Join(label, SchemaFile)
	raw, err := fs.ReadFile(fsys, SchemaFile)
	if err != nil {
		return nil, nil, &PolicyError{File: file, Reason: "the Cedar schema is missing: " + err.Error()}
	}
	var s schema.Schema
	s.SetFilename(file)
	if err := s.UnmarshalCedar(raw); err != nil {
		return nil, nil, &PolicyError{File: file, Line: lineOf(err.Error()), Reason: err.Error()}
	}
	resolved, err := s.Resolve()
	if err != nil {
		return nil, nil, &PolicyError{File: file, Reason: err.Error()}
	}
	actions := make(map[cedar.EntityUID]cedar.Entity, len(resolved.Actions))
	for uid, a := range resolved.Actions {
		actions[uid] = a.Entity
	}
	return validate.New(resolved), actions, nil
}

func addFile(set *cedar.PolicySet, v *validate.Validator, file string, raw []byte) (int, error) {
	list, err := cedar.NewPolicyListFromBytes(file, raw)
	if err != nil {
		return 0, &PolicyError{File: file, Line: lineOf(err.Error()), Reason: err.Error()}
	}
	for _, p := range list {
		line := p.Position().Line
		id, ok := p.Annotations()["id"]
		if !ok || id == "" {
			return 0, &PolicyError{File: file, Line: line, Reason: `the policy has no @id("...") annotation`}
		}
		if err := v.Policy(string(id), (*xast.Policy)(p.AST())); err != nil {
			return 0, &PolicyError{File: file, Line: line, Reason: strings.ReplaceAll(err.Error(), "\n", "; ")}
		}
		if !set.Add(cedar.PolicyID(id), p) {
			return 0, &PolicyError{File: file, Line: line, Reason: fmt.Sprintf("duplicate policy id %q", id)}
		}
	}
	return len(list), nil
}

// lineOf finds the line in a parser message such as "parser error: file:3:14: ...".
func lineOf(msg string) int {
	for _, part := range strings.Split(msg, ":") {
		var n int
		if _, err := fmt.Sscanf(strings.TrimSpace(part), "%d", &n); err == nil && n > 0 {
			return n
		}
	}
	return 0
}

// ErrNoPolicies is returned by a decision point built without policies.
var ErrNoPolicies = errors.New("no policies loaded")

func osDirFS(dir string) fs.FS { return os.DirFS(dir) }

// ActionsIn lists the schema's actions in group (directly or through
// other groups), sorted.
func (p *Policies) ActionsIn(group string) []string {
	g := cedar.NewEntityUID("Action", cedar.String(group))
	var out []string
	for uid := range p.actions {
		if uid != g && p.index.actionIn(uid, g) {
			out = append(out, string(uid.ID))
		}
	}
	sort.Strings(out)
	return out
}
