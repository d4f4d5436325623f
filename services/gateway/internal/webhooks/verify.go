package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// hmacHexValid checks a "sha256=<hex>" signature of body against each
// secret, in constant time (GitHub's X-Hub-Signature-256, and the generic
// CI receiver's X-Pave-Signature-256).
func hmacHexValid(header string, body []byte, secrets [][]byte) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	valid := false
	for _, s := range secrets {
		mac := hmac.New(sha256.New, s)
		mac.Write(body)
		// Every secret is tried, so the time does not say which matched.
		if hmac.Equal(mac.Sum(nil), got) {
			valid = true
		}
	}
	return valid
}

// tokenValid compares a GitLab X-Gitlab-Token with each secret in
// constant time (digests first, so the length leaks nothing either).
func tokenValid(token string, secrets [][]byte) bool {
	got := sha256.Sum256([]byte(token))
	valid := false
	for _, s := range secrets {
		want := sha256.Sum256(s)
		if hmac.Equal(got[:], want[:]) {
			valid = true
		}
	}
	return valid
}

// StandardTolerance is how far a Standard Webhooks timestamp may be from now.
const StandardTolerance = 5 * time.Minute

// standardProblem checks a Standard Webhooks signature: webhook-signature
// holds space-separated "v1,<base64 HMAC-SHA256 of id.timestamp.body>".
// It answers "" when valid, else the header at fault and why.
func standardProblem(id, timestamp, signatures string, body []byte, secrets [][]byte, now time.Time) (string, string) {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return "webhook-timestamp", "not a Unix time in seconds"
	}
	if d := now.Sub(time.Unix(sec, 0)); d > StandardTolerance || d < -StandardTolerance {
		return "webhook-timestamp", "more than 5 minutes from the server's clock"
	}
	valid := false
	for _, s := range secrets {
		mac := hmac.New(sha256.New, signingKey(s))
		mac.Write([]byte(id + "." + timestamp + "."))
		mac.Write(body)
		want := mac.Sum(nil)
		for _, sig := range strings.Fields(signatures) {
			v, b64, ok := strings.Cut(sig, ",")
			if !ok || v != "v1" {
				continue
			}
			got, err := base64.StdEncoding.DecodeString(b64)
			if err == nil && hmac.Equal(got, want) {
				valid = true
			}
		}
	}
	if !valid {
		return "webhook-signature", "does not match any signing secret"
	}
	return "", ""
}

// SignGitHub is the X-Hub-Signature-256 value for body (tests, bench, CLI).
func SignGitHub(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// SignStandard is the webhook-signature value for a Standard Webhooks delivery.
func SignStandard(secret []byte, id, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, signingKey(secret))
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
