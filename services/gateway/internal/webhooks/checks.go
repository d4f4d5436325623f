package webhooks

import (
	"encoding/json"
	"net/http"

	"github.com/pave-platform/pave/pkg/events"
)

const (
	hdrGitHubSignature = "X-Hub-Signature-256"
	hdrGitHubEvent     = "X-GitHub-Event"
	hdrGitHubDelivery  = "X-GitHub-Delivery"
	hdrGitLabEvent     = "X-Gitlab-Event"
	hdrGitLabToken     = "X-Gitlab-Token"
	hdrGitLabUUID      = "X-Gitlab-Event-UUID"
	hdrIdempotencyKey  = "Idempotency-Key"
	hdrWebhookID       = "webhook-id"
	hdrWebhookTime     = "webhook-timestamp"
	hdrWebhookSig      = "webhook-signature"
	// HeaderCISignature signs a generic CI delivery like GitHub does.
	HeaderCISignature = "X-Pave-Signature-256"
)

func missingHeader(status int, name string) *refusal {
	return refuse(status, "header."+name, "required")
}

func notJSONObject() *refusal {
	return refuse(http.StatusBadRequest, "body", "not a JSON object")
}

func unknownRepository(provider, name string) *refusal {
	return refuse(http.StatusNotFound, "repository", "no "+provider+" repository "+quote(name)+" is mapped to a team")
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

func (rc *Receiver) checkGitHub(r *http.Request, body []byte) (delivery, *refusal) {
	sig := r.Header.Get(hdrGitHubSignature)
	if sig == "" {
		return delivery{}, missingHeader(http.StatusUnauthorized, hdrGitHubSignature)
	}
	d := delivery{event: r.Header.Get(hdrGitHubEvent), id: r.Header.Get(hdrGitHubDelivery)}
	if d.event == "" {
		return d, missingHeader(http.StatusBadRequest, hdrGitHubEvent)
	}
	var head struct {
		Repository struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
	}
	if json.Unmarshal(body, &head) != nil {
		return d, notJSONObject()
	}
	d.repository = head.Repository.FullName
	repo, ok := rc.repos.Lookup(events.ProviderGitHub, d.repository)
	if !ok {
		return d, unknownRepository(events.ProviderGitHub, d.repository)
	}
	if !hmacHexValid(sig, body, repo.secrets) {
		return d, refuse(http.StatusUnauthorized, "header."+hdrGitHubSignature, "does not match the repository's secret")
	}
	if d.id == "" {
		return d, missingHeader(http.StatusBadRequest, hdrGitHubDelivery)
	}
	d.repository = repo.Name
	d.ping = d.event == "ping"
	d.unsupported = !githubEvents[d.event]
	return d, nil
}

func (rc *Receiver) checkGitLab(r *http.Request, body []byte) (delivery, *refusal) {
	d := delivery{event: r.Header.Get(hdrGitLabEvent)}
	if d.event == "" {
		return d, missingHeader(http.StatusBadRequest, hdrGitLabEvent)
	}
	var head struct {
		Project struct {
			PathWithNamespace string `json:"path_with_namespace"`
		} `json:"project"`
	}
	if json.Unmarshal(body, &head) != nil {
		return d, notJSONObject()
	}
	d.repository = head.Project.PathWithNamespace
	repo, ok := rc.repos.Lookup(events.ProviderGitLab, d.repository)
	if !ok {
		return d, unknownRepository(events.ProviderGitLab, d.repository)
	}
	if ref := rc.verifyGitLab(r, body, repo); ref != nil {
		return d, ref
	}
	for _, h := range []string{hdrIdempotencyKey, hdrGitLabUUID, hdrWebhookID} {
		if d.id = r.Header.Get(h); d.id != "" {
			break
		}
	}
	if d.id == "" {
		return d, missingHeader(http.StatusBadRequest, hdrIdempotencyKey)
	}
	d.repository = repo.Name
	d.unsupported = !gitlabEvents[d.event]
	return d, nil
}

// verifyGitLab: the Standard Webhooks signature when the repository has a
// signing secret, otherwise the X-Gitlab-Token.
func (rc *Receiver) verifyGitLab(r *http.Request, body []byte, repo *Repository) *refusal {
	if len(repo.signing) > 0 {
		for _, h := range []string{hdrWebhookSig, hdrWebhookID, hdrWebhookTime} {
			if r.Header.Get(h) == "" {
				return missingHeader(http.StatusUnauthorized, h)
			}
		}
		field, why := standardProblem(r.Header.Get(hdrWebhookID), r.Header.Get(hdrWebhookTime),
			r.Header.Get(hdrWebhookSig), body, repo.signing, rc.now())
		if field != "" {
			return refuse(http.StatusUnauthorized, "header."+field, why)
		}
		return nil
	}
	token := r.Header.Get(hdrGitLabToken)
	if token == "" {
		return missingHeader(http.StatusUnauthorized, hdrGitLabToken)
	}
	if !tokenValid(token, repo.secrets) {
		return refuse(http.StatusUnauthorized, "header."+hdrGitLabToken, "does not match the repository's secret")
	}
	return nil
}

func (rc *Receiver) checkCI(r *http.Request, body []byte) (delivery, *refusal) {
	sig := r.Header.Get(HeaderCISignature)
	if sig == "" {
		return delivery{}, missingHeader(http.StatusUnauthorized, HeaderCISignature)
	}
	var ci CIDelivery
	if json.Unmarshal(body, &ci) != nil {
		return delivery{}, notJSONObject()
	}
	if ps := ci.problems(); len(ps) > 0 {
		return delivery{}, refuse(http.StatusBadRequest, ps[0].Field, ps[0].Message)
	}
	repo, ok := rc.repos.Lookup(events.ProviderCI, ci.Repository)
	if !ok {
		return delivery{}, unknownRepository(events.ProviderCI, ci.Repository)
	}
	if !hmacHexValid(sig, body, repo.secrets) {
		return delivery{}, refuse(http.StatusUnauthorized, "header."+HeaderCISignature, "does not match the repository's secret")
	}
	return delivery{event: "ci", id: ci.DeliveryID, repository: repo.Name}, nil
}
