package webhooks

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkGitHubDeliveryStored is one signed push delivery through the
// receiver: verify, claim in KV, store on JetStream (acked), answer.
func BenchmarkGitHubDeliveryStored(b *testing.B) {
	r := newRig(b, nil)
	body := fixture(b, "github/push_with-new-branch.json")
	sig := SignGitHub([]byte(secretNew), body)
	h := r.handler
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		req := httptest.NewRequest(http.MethodPost, "/v1/webhooks/github", bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-GitHub-Delivery", newDelivery())
		req.Header.Set("X-Hub-Signature-256", sig)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusAccepted {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
