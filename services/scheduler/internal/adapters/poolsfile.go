package adapters

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pave-platform/pave/services/scheduler/internal/app"
	"github.com/pave-platform/pave/services/scheduler/internal/domain"
)

// PoolsFile is the scheduler's configuration file: the pools, the teams
// with their quotas, and optionally the quota of teams it does not list.
//
//	starvationAfter: 2m
//	pools:
//	  - name: batch
//	    capacity: {cpu: 8000, memory: 16384}
//	teams:
//	  - name: payments
//	    weight: 2
//	    nominal: {batch: {cpu: 4000, memory: 8192}}
//	    borrowingLimit: {batch: {cpu: 2000}}
//	    lendingLimit: {batch: {cpu: 1000}}
//	defaultTeam:
//	  weight: 1
//	  nominal: {batch: {cpu: 1000, memory: 2048}}
type PoolsFile struct {
	StarvationAfter string `yaml:"starvationAfter"`
	// EnforceQuotas keeps every submitter within its team's quota
	// (domain.Config.EnforceQuotas). On unless the file says false.
	EnforceQuotas *bool     `yaml:"enforceQuotas"`
	Pools         []poolDoc `yaml:"pools"`
	Teams         []teamDoc `yaml:"teams"`
	DefaultTeam   *teamDoc  `yaml:"defaultTeam"`
}

type poolDoc struct {
	Name     string        `yaml:"name"`
	Capacity domain.Vector `yaml:"capacity"`
	// Kinds are the workload kinds the pool serves: "job" when runners
	// are deployed for it, "environment" for provisioning. Empty: both.
	Kinds []string `yaml:"kinds"`
}

type teamDoc struct {
	Name           string                   `yaml:"name"`
	Weight         float64                  `yaml:"weight"`
	Nominal        map[string]domain.Vector `yaml:"nominal"`
	BorrowingLimit map[string]domain.Vector `yaml:"borrowingLimit"`
	LendingLimit   map[string]domain.Vector `yaml:"lendingLimit"`
}

// SchedulerConfig is a loaded and validated PoolsFile (declared beside
// the app that uses it).
type SchedulerConfig = app.SchedulerConfig

// LoadPoolsFile reads and validates the file at path. Every error names
// the file and the field.
func LoadPoolsFile(path string) (SchedulerConfig, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return SchedulerConfig{}, fmt.Errorf("scheduler config: %w", err)
	}
	cfg, err := ParsePools(raw)
	if err != nil {
		return SchedulerConfig{}, fmt.Errorf("scheduler config %s: %w", path, err)
	}
	return cfg, nil
}

// ParsePools parses and validates a PoolsFile document.
func ParsePools(raw []byte) (SchedulerConfig, error) {
	var doc PoolsFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return SchedulerConfig{}, err
	}
	var cfg SchedulerConfig
	cfg.Core.EnforceQuotas = doc.EnforceQuotas == nil || *doc.EnforceQuotas
	if doc.StarvationAfter != "" {
		d, err := time.ParseDuration(doc.StarvationAfter)
		if err != nil || d < 0 {
			return cfg, fmt.Errorf("starvationAfter: %q is not a non-negative duration", doc.StarvationAfter)
		}
		cfg.Core.StarvationAfter = d
	}
	if len(doc.Pools) == 0 {
		return cfg, errors.New("pools: at least one pool is required")
	}
	seen := map[string]bool{}
	for i, p := range doc.Pools {
		if seen[p.Name] {
			return cfg, fmt.Errorf("pools[%d].name: %q appears twice", i, p.Name)
		}
		seen[p.Name] = true
		cfg.Pools = append(cfg.Pools, domain.Pool{Name: p.Name, Capacity: p.Capacity})
		for j, k := range p.Kinds {
			if k != "job" && k != "environment" {
				return cfg, fmt.Errorf("pools[%d].kinds[%d]: %q is not a workload kind (job or environment)", i, j, k)
			}
		}
		if len(p.Kinds) > 0 {
			if cfg.Kinds == nil {
				cfg.Kinds = map[string][]string{}
			}
			cfg.Kinds[p.Name] = slices.Clone(p.Kinds)
		}
	}
	seen = map[string]bool{}
	for i, t := range doc.Teams {
		if seen[t.Name] {
			return cfg, fmt.Errorf("teams[%d].name: %q appears twice", i, t.Name)
		}
		seen[t.Name] = true
		cfg.Teams = append(cfg.Teams, t.team(t.Name))
	}
	// NewState checks pools and teams together and names the field.
	if _, err := domain.NewState(cfg.Core, cfg.Pools, cfg.Teams); err != nil {
		return cfg, err
	}
	if doc.DefaultTeam != nil {
		if doc.DefaultTeam.Name != "" {
			return cfg, errors.New("defaultTeam.name: a default team has no name")
		}
		t := doc.DefaultTeam.team("default")
		if _, err := domain.NewState(cfg.Core, cfg.Pools, []domain.Team{t}); err != nil {
			return cfg, fmt.Errorf("defaultTeam: %w", err)
		}
		t.Name = ""
		cfg.DefaultTeam = &t
	}
	return cfg, nil
}

func (t teamDoc) team(name string) domain.Team {
	return domain.Team{Name: name, Weight: t.Weight, Nominal: t.Nominal,
		BorrowingLimit: t.BorrowingLimit, LendingLimit: t.LendingLimit}
}
