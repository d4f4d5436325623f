package domain

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Application is one team's deployable thing and its promotion pipeline:
// an ordered list of stages, each an environment of the team with the
// gates a revision passes before it runs there.
type Application struct {
	Name string `json:"name" yaml:"name"`
	Team string `json:"team" yaml:"team"`
	// Repository links webhook events (owner/name); empty when none.
	Repository string          `json:"repository,omitempty" yaml:"repository"`
	Stages     []PipelineStage `json:"stages" yaml:"stages"`
}

// PipelineStage is one step of the pipeline: the environment (by name,
// in the application's team) that runs the application at this stage.
type PipelineStage struct {
	Name        string `json:"name" yaml:"name"`
	Environment string `json:"environment" yaml:"environment"`
	Gates       Gates  `json:"gates" yaml:"gates"`
}

// Gates are what a promotion into a stage must pass. Policy (access's
// environment:promote decision) is always asked.
type Gates struct {
	// CI: a successful CI run must be recorded for the revision's commit.
	CI bool `json:"ci" yaml:"ci"`
	// Approvals people other than the promoter must approve.
	Approvals int `json:"approvals" yaml:"approvals"`
	// ApproverRole is the least team role an approver holds
	// (developer, maintainer or admin); default maintainer.
	ApproverRole string `json:"approver_role,omitempty" yaml:"approver_role"`
}

var (
	appNamePattern   = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	repoPattern      = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$`)
	commitPattern    = regexp.MustCompile(`^[0-9a-f]{40}$`)
	teamRoleRank     = map[string]int{"viewer": 1, "developer": 2, "maintainer": 3, "admin": 4}
	defaultApprovers = "maintainer"
)

// ValidCommit reports whether s is a full 40-hex lower-case commit sha.
func ValidCommit(s string) bool { return commitPattern.MatchString(s) }

// RoleSatisfies reports whether a team role is at least the wanted one.
func RoleSatisfies(have, want string) bool {
	return teamRoleRank[have] > 0 && teamRoleRank[have] >= teamRoleRank[want]
}

// Validate lists every problem of the application, naming fields by path
// (stages[1].gates.approvals). Defaults are filled in the returned copy.
func (a Application) Validate() (Application, error) {
	var p problems
	if !appNamePattern.MatchString(a.Name) {
		p.add("name", "must be 1 to 63 lower-case letters, digits or '-', starting with a letter")
	}
	if strings.TrimSpace(a.Team) == "" {
		p.add("team", "is required")
	}
	if a.Repository != "" && !repoPattern.MatchString(a.Repository) {
		p.add("repository", "must be owner/name")
	}
	if len(a.Stages) == 0 {
		p.add("stages", "at least one stage is required")
	}
	seen := map[string]bool{}
	out := a
	out.Stages = make([]PipelineStage, len(a.Stages))
	for i, s := range a.Stages {
		path := index("stages", i)
		switch {
		case !appNamePattern.MatchString(s.Name):
			p.add(path+".name", "must be 1 to 63 lower-case letters, digits or '-', starting with a letter")
		case seen[s.Name]:
			p.add(path+".name", "stage %q appears twice", s.Name)
		}
		seen[s.Name] = true
		if strings.TrimSpace(s.Environment) == "" {
			p.add(path+".environment", "is required: the name of an environment of team %q", a.Team)
		}
		if s.Gates.Approvals < 0 {
			p.add(path+".gates.approvals", "must be 0 or more")
		}
		if s.Gates.ApproverRole == "" {
			s.Gates.ApproverRole = defaultApprovers
		} else if teamRoleRank[s.Gates.ApproverRole] < teamRoleRank["developer"] {
			p.add(path+".gates.approver_role", "must be developer, maintainer or admin")
		}
		out.Stages[i] = s
	}
	if len(p) > 0 {
		return a, &ValidationError{Fields: p.sorted()}
	}
	return out, nil
}

// Stage returns the named stage and its position.
func (a Application) Stage(name string) (PipelineStage, int, bool) {
	for i, s := range a.Stages {
		if s.Name == name {
			return s, i, true
		}
	}
	return PipelineStage{}, -1, false
}

// Previous is the stage before the named one; ok is false for the first
// stage (or an unknown one).
func (a Application) Previous(name string) (PipelineStage, bool) {
	_, i, found := a.Stage(name)
	if !found || i == 0 {
		return PipelineStage{}, false
	}
	return a.Stages[i-1], true
}

// applicationsFile is the YAML file of applications.
type applicationsFile struct {
	Applications []Application `yaml:"applications"`
}

// ParseApplications reads an applications file strictly: unknown keys,
// duplicate names and invalid applications are errors naming the file
// and the field.
func ParseApplications(file string, data []byte) ([]Application, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f applicationsFile
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var errs []error
	names := map[string]bool{}
	out := make([]Application, 0, len(f.Applications))
	for i, a := range f.Applications {
		path := index("applications", i)
		v, err := a.Validate()
		var verr *ValidationError
		if errors.As(err, &verr) {
			for _, fe := range verr.Fields {
				errs = append(errs, fmt.Errorf("%s: %s.%s: %s", file, path, fe.Field, fe.Message))
			}
			continue
		}
		if names[a.Name] {
			errs = append(errs, fmt.Errorf("%s: %s.name: application %q appears twice", file, path, a.Name))
			continue
		}
		names[a.Name] = true
		out = append(out, v)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// Candidate is the newest commit pushed to an application's default
// branch: what a promotion into the first stage would take.
type Candidate struct {
	Commit   string    `json:"commit"`
	Branch   string    `json:"branch"`
	Sender   string    `json:"sender,omitempty"`
	Provider string    `json:"provider"`
	At       time.Time `json:"at"`
}
