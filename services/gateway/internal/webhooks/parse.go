package webhooks

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/pave-platform/pave/pkg/events"
)

// changeKind is what a delivery asks Pave to do.
type changeKind int

const (
	ignored       changeKind = iota // recorded, nothing to do
	previewOpen                     // pull/merge request opened or reopened
	previewUpdate                   // new commits on an open pull/merge request
	previewClose                    // closed or merged
	pushed                          // a branch was pushed
	ciCompleted                     // a CI run finished
	deployment                      // a deployment's status changed
)

// change is a delivery reduced to what the processor needs.
type change struct {
	kind          changeKind
	number        int
	branch        string
	commit        string
	defaultBranch bool
	sender        string
	conclusion    string
	name, url     string
	environment   string
	state         string
}

var shaRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// githubEvents are the X-GitHub-Event values the receiver stores; any
// other is answered 204 and not stored.
var githubEvents = map[string]bool{"ping": true, "pull_request": true, "push": true,
	"workflow_run": true, "check_suite": true, "deployment_status": true}

// gitlabEvents are the X-Gitlab-Event values the receiver stores.
var gitlabEvents = map[string]bool{"Merge Request Hook": true, "Push Hook": true,
	"Pipeline Hook": true, "Deployment Hook": true}

// githubPayload is the part of GitHub's payloads the processor reads.
type githubPayload struct {
	Action     string `json:"action"`
	Number     int    `json:"number"`
	Ref        string `json:"ref"`
	After      string `json:"after"`
	Repository struct {
		FullName      string `json:"full_name"`
		DefaultBranch string `json:"default_branch"`
	} `json:"repository"`
	Sender      struct{ Login string } `json:"sender"`
	PullRequest struct {
		Head struct{ Ref, SHA string } `json:"head"`
	} `json:"pull_request"`
	WorkflowRun struct {
		Name       string `json:"name"`
		Conclusion string `json:"conclusion"`
		HeadSHA    string `json:"head_sha"`
		HTMLURL    string `json:"html_url"`
	} `json:"workflow_run"`
	Workflow   struct{ Name string } `json:"workflow"`
	CheckSuite struct {
		Conclusion string                `json:"conclusion"`
		HeadSHA    string                `json:"head_sha"`
		URL        string                `json:"url"`
		App        struct{ Name string } `json:"app"`
	} `json:"check_suite"`
	Deployment struct {
		SHA         string `json:"sha"`
		Environment string `json:"environment"`
	} `json:"deployment"`
	DeploymentStatus struct {
		State          string `json:"state"`
		Environment    string `json:"environment"`
		TargetURL      string `json:"target_url"`
		EnvironmentURL string `json:"environment_url"`
	} `json:"deployment_status"`
}

func parseGitHub(event string, body []byte) (change, error) {
	var p githubPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return change{}, fmt.Errorf("github %s payload: %w", event, err)
	}
	switch event {
	case "pull_request":
		c := change{number: p.Number, branch: p.PullRequest.Head.Ref, commit: p.PullRequest.Head.SHA, sender: p.Sender.Login}
		switch p.Action {
		case "opened", "reopened":
			c.kind = previewOpen
		case "synchronize":
			c.kind = previewUpdate
		case "closed":
			c.kind = previewClose
		}
		return c, nil
	case "push":
		return branchPush(p.Ref, p.After, p.Repository.DefaultBranch, p.Sender.Login), nil
	case "workflow_run":
		if p.Action != "completed" {
			return change{}, nil
		}
		name := p.WorkflowRun.Name
		if name == "" {
			name = p.Workflow.Name
		}
		return ciChange(p.WorkflowRun.HeadSHA, githubConclusion(p.WorkflowRun.Conclusion), name, p.WorkflowRun.HTMLURL), nil
	case "check_suite":
		if p.Action != "completed" {
			return change{}, nil
		}
		return ciChange(p.CheckSuite.HeadSHA, githubConclusion(p.CheckSuite.Conclusion), p.CheckSuite.App.Name, p.CheckSuite.URL), nil
	case "deployment_status":
		env := p.DeploymentStatus.Environment
		if env == "" {
			env = p.Deployment.Environment
		}
		url := p.DeploymentStatus.TargetURL
		if url == "" {
			url = p.DeploymentStatus.EnvironmentURL
		}
		return deploymentChange(p.Deployment.SHA, env, p.DeploymentStatus.State, url), nil
	}
	return change{}, nil
}

func branchPush(ref, after, defaultBranch, sender string) change {
	branch, ok := strings.CutPrefix(ref, "refs/heads/")
	if !ok || !shaRE.MatchString(after) || strings.Trim(after, "0") == "" {
		return change{} // a tag, or a deleted branch
	}
	return change{kind: pushed, branch: branch, commit: after, defaultBranch: branch == defaultBranch, sender: sender}
}

func ciChange(sha, conclusion, name, url string) change {
	if !shaRE.MatchString(sha) {
		return change{}
	}
	return change{kind: ciCompleted, commit: sha, conclusion: conclusion, name: name, url: url}
}

func deploymentChange(sha, env, state, url string) change {
	if !shaRE.MatchString(sha) || state == "" {
		return change{}
	}
	return change{kind: deployment, commit: sha, environment: env, state: state, url: url}
}

func githubConclusion(c string) string {
	switch c {
	case "success", "failure", "cancelled", "skipped":
		return c
	case "timed_out", "startup_failure":
		return events.ConclusionFailure
	}
	return events.ConclusionOther
}

// gitlabPayload is the part of GitLab's payloads the processor reads.
type gitlabPayload struct {
	Ref          string                    `json:"ref"`
	After        string                    `json:"after"`
	UserUsername string                    `json:"user_username"`
	User         struct{ Username string } `json:"user"`
	Project      struct {
		PathWithNamespace string `json:"path_with_namespace"`
		DefaultBranch     string `json:"default_branch"`
	} `json:"project"`
	ObjectAttributes struct {
		Action       string              `json:"action"`
		IID          int                 `json:"iid"`
		SourceBranch string              `json:"source_branch"`
		OldRev       *string             `json:"oldrev"`
		LastCommit   struct{ ID string } `json:"last_commit"`
		Status       string              `json:"status"`
		SHA          string              `json:"sha"`
		Name         string              `json:"name"`
		URL          string              `json:"url"`
	} `json:"object_attributes"`
	Status        string `json:"status"`
	Environment   string `json:"environment"`
	CommitURL     string `json:"commit_url"`
	DeployableURL string `json:"deployable_url"`
}

func parseGitLab(event string, body []byte) (change, error) {
	var p gitlabPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return change{}, fmt.Errorf("gitlab %s payload: %w", event, err)
	}
	oa := p.ObjectAttributes
	switch event {
	case "Merge Request Hook":
		c := change{number: oa.IID, branch: oa.SourceBranch, commit: oa.LastCommit.ID, sender: p.User.Username}
		switch {
		case oa.Action == "open" || oa.Action == "reopen":
			c.kind = previewOpen
		case oa.Action == "update" && oa.OldRev != nil: // new commits, not a title edit
			c.kind = previewUpdate
		case oa.Action == "close" || oa.Action == "merge":
			c.kind = previewClose
		}
		return c, nil
	case "Push Hook":
		sender := p.UserUsername
		return branchPush(p.Ref, p.After, p.Project.DefaultBranch, sender), nil
	case "Pipeline Hook":
		conclusion, done := gitlabConclusion(oa.Status)
		if !done {
			return change{}, nil
		}
		name := oa.Name
		if name == "" {
			name = "pipeline"
		}
		return ciChange(oa.SHA, conclusion, name, oa.URL), nil
	case "Deployment Hook":
		sha := p.CommitURL[strings.LastIndex(p.CommitURL, "/")+1:]
		return deploymentChange(sha, p.Environment, p.Status, p.DeployableURL), nil
	}
	return change{}, nil
}

// gitlabConclusion maps a finished pipeline's status; running ones are not done.
func gitlabConclusion(status string) (string, bool) {
	switch status {
	case "success":
		return events.ConclusionSuccess, true
	case "failed":
		return events.ConclusionFailure, true
	case "canceled":
		return events.ConclusionCancelled, true
	case "skipped":
		return events.ConclusionSkipped, true
	case "manual":
		return events.ConclusionOther, true
	}
	return "", false
}

// CIDelivery is the body of POST /v1/webhooks/ci, signed like GitHub's
// with X-Pave-Signature-256: sha256=<hex HMAC-SHA256 of the body>.
type CIDelivery struct {
	DeliveryID string `json:"delivery_id"`
	Repository string `json:"repository"`
	Commit     string `json:"commit"`
	Conclusion string `json:"conclusion"`
	Name       string `json:"name"`
	URL        string `json:"url"`
}

// problems names each field of a generic CI delivery that is wrong.
func (d CIDelivery) problems() []fieldProblem {
	var out []fieldProblem
	if d.DeliveryID == "" || len(d.DeliveryID) > 200 {
		out = append(out, fieldProblem{"delivery_id", "required, at most 200 characters"})
	}
	if d.Repository == "" {
		out = append(out, fieldProblem{"repository", "required (owner/name)"})
	}
	if !shaRE.MatchString(d.Commit) {
		out = append(out, fieldProblem{"commit", "must be a 40-character lowercase hex commit sha"})
	}
	switch d.Conclusion {
	case "success", "failure", "cancelled", "skipped", "other":
	default:
		out = append(out, fieldProblem{"conclusion", "must be one of success, failure, cancelled, skipped, other"})
	}
	return out
}

type fieldProblem struct{ Field, Message string }

func parseCI(body []byte) (change, error) {
	var d CIDelivery
	if err := json.Unmarshal(body, &d); err != nil {
		return change{}, fmt.Errorf("ci payload: %w", err)
	}
	return ciChange(d.Commit, d.Conclusion, d.Name, d.URL), nil
}
