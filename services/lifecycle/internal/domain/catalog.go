package domain

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
)

// Catalog holds every version of every template. Build it once (Add),
// then share it read-only: it is not safe for concurrent Add.
type Catalog struct {
	byName map[string][]Template // each sorted by version precedence
}

// NewCatalog returns a catalog of ts; see Add.
func NewCatalog(ts ...Template) (*Catalog, error) {
	c := &Catalog{byName: map[string][]Template{}}
	for _, t := range ts {
		if err := c.Add(t); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Add publishes a template version. Versions are immutable: adding the
// same name and version again is a no-op if the content is the same
// (equal Digest), and ErrVersionConflict otherwise.
func (c *Catalog) Add(t Template) error {
	versions := c.byName[t.Name]
	i, found := slices.BinarySearchFunc(versions, t.Version, byVersion)
	if found {
		old := versions[i]
		if old.Digest == t.Digest {
			return nil
		}
		return fmt.Errorf("%s: %w (first read from %s)", t.Ref(), ErrVersionConflict, old.File)
	}
	c.byName[t.Name] = slices.Insert(versions, i, t)
	return nil
}

func byVersion(t Template, version string) int {
	return cmp.Or(CompareVersions(t.Version, version), cmp.Compare(t.Version, version))
}

// Get returns a template version; version "" means Latest.
func (c *Catalog) Get(name, version string) (Template, error) {
	if version == "" {
		return c.Latest(name)
	}
	versions, ok := c.byName[name]
	if !ok {
		return Template{}, fmt.Errorf("%w %q", ErrUnknownTemplate, name)
	}
	i, found := slices.BinarySearchFunc(versions, version, byVersion)
	if !found {
		return Template{}, fmt.Errorf("%w %s@%s", ErrUnknownVersion, name, version)
	}
	return versions[i], nil
}

// Latest is the highest release version of a template, or its highest
// pre-release if it has no release yet.
func (c *Catalog) Latest(name string) (Template, error) {
	versions, ok := c.byName[name]
	if !ok {
		return Template{}, fmt.Errorf("%w %q", ErrUnknownTemplate, name)
	}
	for _, t := range slices.Backward(versions) {
		if !isPrerelease(t.Version) {
			return t, nil
		}
	}
	return versions[len(versions)-1], nil
}

// Versions lists a template's versions, lowest first.
func (c *Catalog) Versions(name string) []string {
	out := make([]string, 0, len(c.byName[name]))
	for _, t := range c.byName[name] {
		out = append(out, t.Version)
	}
	return out
}

// Names lists the templates, sorted.
func (c *Catalog) Names() []string {
	return slices.Sorted(maps.Keys(c.byName))
}
