package schema

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidType is wrapped by the errors of ValidType and SubjectFor.
var ErrInvalidType = errors.New("invalid event type")

const (
	typePrefix   = "dev.pave."
	cmdToken     = "cmd"
	schemaURLFmt = "https://pave.dev/schemas/events/%s.json"
)

// ValidType reports why eventType is not a Pave CloudEvent type, or nil:
// an event is dev.pave.<service>.<entity>.<event>.v<N>, a command is
// dev.pave.cmd.<service>.<action>.v<N>.
func ValidType(eventType string) error {
	_, err := SubjectFor(eventType)
	return err
}

// SubjectFor is the NATS subject that carries eventType: pave.evt.<service>.<entity>.<event>
// for an event, pave.cmd.<service>.<action> for a command.
func SubjectFor(eventType string) (string, error) {
	rest, ok := strings.CutPrefix(eventType, typePrefix)
	if !ok {
		return "", invalidType(eventType, `must start with "dev.pave."`)
	}
	toks := strings.Split(rest, ".")
	if len(toks) != 4 {
		return "", invalidType(eventType, fmt.Sprintf("has %d dot-separated tokens, want 6: "+
			"dev.pave.<service>.<entity>.<event>.v<N> or dev.pave.cmd.<service>.<action>.v<N>", len(toks)+2))
	}
	for _, tok := range toks[:3] {
		if !validToken(tok) {
			return "", invalidType(eventType, fmt.Sprintf("token %q does not match [a-z][a-z0-9_-]*", tok))
		}
	}
	if ver := toks[3]; !validVersion(ver) {
		return "", invalidType(eventType, fmt.Sprintf("version %q is not v<N> with N ≥ 1", ver))
	}
	if toks[0] == cmdToken {
		return "pave.cmd." + toks[1] + "." + toks[2], nil
	}
	return "pave.evt." + toks[0] + "." + toks[1] + "." + toks[2], nil
}

// SchemaURL is the $id of eventType's schema, and the CloudEvent
// `dataschema` of its events.
func SchemaURL(eventType string) string {
	return fmt.Sprintf(schemaURLFmt, eventType)
}

func invalidType(eventType, problem string) error {
	return fmt.Errorf("%w %q: %s", ErrInvalidType, eventType, problem)
}

func validToken(tok string) bool {
	if tok == "" || tok[0] < 'a' || tok[0] > 'z' {
		return false
	}
	for _, c := range []byte(tok[1:]) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func validVersion(ver string) bool {
	n, ok := strings.CutPrefix(ver, "v")
	if !ok || n == "" || n[0] == '0' {
		return false
	}
	for _, c := range []byte(n) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
