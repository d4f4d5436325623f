package domain

import (
	"regexp"

	"golang.org/x/mod/semver"
)

// semverPattern is the official Semantic Versioning 2.0.0 grammar
// (semver.org), without a leading "v": MAJOR.MINOR.PATCH[-pre][+build].
var semverPattern = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

// ValidVersion reports whether v is a full semantic version like 1.4.2.
func ValidVersion(v string) bool {
	return semverPattern.MatchString(v)
}

// CompareVersions orders two valid versions by semver precedence
// (pre-releases before their release; build metadata ignored).
func CompareVersions(a, b string) int {
	return semver.Compare("v"+a, "v"+b)
}

func isPrerelease(v string) bool {
	return semver.Prerelease("v"+v) != ""
}
