package domain

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Prefix starts the name of every real object Pave creates. The orphan
// sweeper looks for it.
const Prefix = "pave_"

// Drivers are the driver names a resource can ask for.
var Drivers = []string{"postgres", "redis", "nats", "http", "exec"}

// idPattern keeps ids usable as SQL identifiers, Redis key prefixes, NATS
// subject tokens and KV keys without escaping. No underscore, so that
// ObjectName can be undone.
var idPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,46}[a-z0-9])?$`)

// Resource is what a provision or update command asks for.
type Resource struct {
	ID            string
	EnvironmentID string
	Team          string
	Name          string
	Driver        string
	Class         string
	Parameters    map[string]any
}

// Validate reports the first rule r breaks, as a permanent error.
func (r Resource) Validate() error {
	if err := ValidateID(r.ID); err != nil {
		return err
	}
	if r.EnvironmentID == "" {
		return Permanent(fmt.Errorf("resource %s: environment id is empty", r.ID))
	}
	if !slices.Contains(Drivers, r.Driver) {
		return Permanent(fmt.Errorf("resource %s: unknown driver %q", r.ID, r.Driver))
	}
	return nil
}

// ValidateID reports why id cannot name a resource.
func ValidateID(id string) error {
	if !idPattern.MatchString(id) {
		return Permanent(fmt.Errorf("resource id %q: want 1 to 48 of [a-z0-9-], starting and ending with a letter or digit", id))
	}
	return nil
}

// ObjectName is the name of the real objects of resource id: the
// database, role, ACL user or stream.
func ObjectName(id string) string {
	return Prefix + strings.ReplaceAll(id, "-", "_")
}

// ResourceIDFromObjectName undoes ObjectName. ok is false for a name Pave
// did not derive from a valid id.
func ResourceIDFromObjectName(name string) (id string, ok bool) {
	rest, found := strings.CutPrefix(name, Prefix)
	if !found {
		return "", false
	}
	id = strings.ReplaceAll(rest, "_", "-")
	return id, ValidateID(id) == nil
}

// ExternalID is the id a driver reports for an object of kind.
func ExternalID(kind, name string) string { return kind + ":" + name }

// SplitExternalID undoes ExternalID.
func SplitExternalID(ext string) (kind, name string, ok bool) {
	return strings.Cut(ext, ":")
}

// ResourceIDOf reads the resource id an external id of the given kind
// encodes (an orphan to remove by deprovisioning it); anything else is a
// permanent error, so a sweep never touches an object Pave did not make.
func ResourceIDOf(externalID, kind string) (string, error) {
	k, name, _ := SplitExternalID(externalID)
	id, ok := ResourceIDFromObjectName(name)
	if k != kind || !ok {
		return "", Permanent(fmt.Errorf("remove %q: not a Pave %s object", externalID, kind))
	}
	return id, nil
}
