package rpc

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
)

// ETagOf is a strong entity tag of a representation: its content hash,
// quoted. The same JSON always has the same tag.
func ETagOf(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// WithETag adds the ETag header of rep's body to a successful answer.
func WithETag(rep Reply) Reply {
	if rep.Problem != nil || rep.Status >= 300 {
		return rep
	}
	if rep.Headers == nil {
		rep.Headers = map[string]string{}
	}
	rep.Headers["ETag"] = ETagOf(rep.Body)
	return rep
}

// Matches says whether an If-Match header value lets an update of a
// resource whose current tag is etag go ahead: no header, "*", or a
// list naming the tag (strong comparison; a weak tag never matches).
func Matches(ifMatch, etag string) bool {
	ifMatch = strings.TrimSpace(ifMatch)
	if ifMatch == "" || ifMatch == "*" {
		return true
	}
	for t := range strings.SplitSeq(ifMatch, ",") {
		if strings.TrimSpace(t) == etag {
			return true
		}
	}
	return false
}

// PreconditionFailed is the 412 answer to an update whose If-Match does
// not name the resource's current ETag: someone changed it since.
func PreconditionFailed(etag string) Reply {
	rep := Fail(http.StatusPreconditionFailed, "Precondition Failed",
		"If-Match does not name the current ETag "+etag+": the resource changed since it was read; read it again",
		FieldError{Field: "header.If-Match", Message: "stale: the current ETag is " + etag})
	rep.Headers = map[string]string{"ETag": etag}
	return rep
}

// CheckIfMatch compares req's If-Match with the current representation
// of the resource (the body a GET answers). It returns the 412 answer
// when they differ and ok=false.
func CheckIfMatch(req Request, current Reply) (Reply, bool) {
	if req.IfMatch == "" {
		return Reply{}, true
	}
	switch {
	case current.Status == http.StatusNotFound:
		// RFC 9110: If-Match on a resource with no representation fails.
		return PreconditionFailed(`""`), false
	case current.Problem != nil || current.Status != http.StatusOK:
		return current, false
	}
	tag := ETagOf(current.Body)
	if !Matches(req.IfMatch, tag) {
		return PreconditionFailed(tag), false
	}
	return Reply{}, true
}

// ETagOfValue is the entity tag of v's JSON: for a resource whose tag
// covers only the part an update sets (not usage that moves on its own).
func ETagOfValue(v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		return `""`
	}
	return ETagOf(raw)
}

// CheckTag compares req's If-Match with the current tag of a resource
// ("" when it does not exist) and answers 412 when they differ.
func CheckTag(req Request, tag string) (Reply, bool) {
	switch {
	case req.IfMatch == "":
		return Reply{}, true
	case tag == "":
		return PreconditionFailed(`""`), false
	case !Matches(req.IfMatch, tag):
		return PreconditionFailed(tag), false
	}
	return Reply{}, true
}
