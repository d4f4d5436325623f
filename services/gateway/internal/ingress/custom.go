package ingress

import (
	"fmt"
	"regexp"
	"strings"
)

// CustomPrefix starts every type a team registers: pave.custom.<team>.
// <name>[.<name>…].v<N>. The team is the namespace: only its members (and
// platform admins) register, delete and send the team's types, and no
// custom type can pass for one of Pave's own (dev.pave.…).
const CustomPrefix = "pave.custom."

var (
	teamToken = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$`)
	nameToken = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`)
	version   = regexp.MustCompile(`^v[1-9][0-9]{0,3}$`)
)

// CustomTeam is the team of a custom type ("" and false when eventType
// does not start with CustomPrefix).
func CustomTeam(eventType string) (string, bool) {
	rest, ok := strings.CutPrefix(eventType, CustomPrefix)
	if !ok {
		return "", false
	}
	team, _, _ := strings.Cut(rest, ".")
	return team, true
}

// ValidCustomType says what is wrong with a custom type name, or nil.
func ValidCustomType(eventType string) error {
	rest, ok := strings.CutPrefix(eventType, CustomPrefix)
	if !ok {
		return fmt.Errorf("must start with %q followed by your team", CustomPrefix)
	}
	toks := strings.Split(rest, ".")
	if len(toks) < 3 || len(toks) > 6 {
		return fmt.Errorf("must be %s<team>.<name>[.<name>…].v<N> with 1 to 4 name parts", CustomPrefix)
	}
	if !teamToken.MatchString(toks[0]) {
		return fmt.Errorf("team %q is not a team name", toks[0])
	}
	for _, t := range toks[1 : len(toks)-1] {
		if !nameToken.MatchString(t) {
			return fmt.Errorf("part %q does not match [a-z][a-z0-9_-]*", t)
		}
	}
	if v := toks[len(toks)-1]; !version.MatchString(v) {
		return fmt.Errorf("version %q is not v<N> with N ≥ 1", v)
	}
	return nil
}
