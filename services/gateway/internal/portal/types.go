package portal

import "time"

// These are the parts of the API's answers the pages show (see
// schemas/openapi.yaml).

type environment struct {
	ID         string         `json:"id"`
	Team       string         `json:"team"`
	Name       string         `json:"name"`
	Template   string         `json:"template"`
	Version    string         `json:"version"`
	Stage      string         `json:"stage"`
	State      string         `json:"state"`
	Reason     string         `json:"reason"`
	Parameters map[string]any `json:"parameters"`
	Revision   int            `json:"revision"`
	Revisions  []revision     `json:"revisions"`
	Resources  []resource     `json:"resources"`
	Ephemeral  bool           `json:"ephemeral"`
	ExpiresAt  time.Time      `json:"expires_at"`
	Keep       bool           `json:"keep"`
	Operation  *operationRef  `json:"operation"`
	Admission  *admission     `json:"admission"`
	CreatedAt  time.Time      `json:"created_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
	Params     []keyValue     `json:"-"`
}

type revision struct {
	Number    int       `json:"number"`
	CreatedAt time.Time `json:"created_at"`
	By        string    `json:"by"`
}

type resource struct {
	Name        string            `json:"name"`
	ID          string            `json:"id"`
	Driver      string            `json:"driver"`
	Class       string            `json:"class"`
	State       string            `json:"state"`
	Outputs     map[string]string `json:"outputs"`
	Credentials map[string]any    `json:"credentials"`
}

type operationRef struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	StartedAt time.Time `json:"started_at"`
}

type admission struct {
	Pool     string `json:"pool"`
	Waiting  string `json:"waiting"`
	Position int    `json:"position"`
}

type environmentList struct {
	Items      []environment `json:"items"`
	NextCursor string        `json:"next_cursor"`
}

type catalogTemplate struct {
	Name        string         `json:"name"`
	Version     string         `json:"version"`
	Versions    []string       `json:"versions"`
	Description string         `json:"description"`
	Owner       string         `json:"owner"`
	Parameters  map[string]any `json:"parameters"`
	Lifecycle   struct {
		Stages    []string `json:"stages"`
		Ephemeral bool     `json:"ephemeral"`
	} `json:"lifecycle"`
	CostClass string `json:"cost_class"`
}

type templateList struct {
	Items      []catalogTemplate `json:"items"`
	NextCursor string            `json:"next_cursor"`
}

type budget struct {
	Team     string `json:"team"`
	Period   string `json:"period"`
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	Spent    string `json:"spent"`
	Forecast string `json:"forecast"`
	Crossed  []int  `json:"crossed"`
	// The rest is shown on the Costs page.
	Thresholds []int     `json:"thresholds"`
	Policy     string    `json:"policy"`
	Committed  string    `json:"committed"`
	Remaining  string    `json:"remaining"`
	PeriodEnd  time.Time `json:"period_end"`
}

type budgetList struct {
	Items []budget `json:"items"`
}

type accessRequest struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Requester string    `json:"requester"`
	Team      string    `json:"team"`
	Role      string    `json:"role"`
	Duration  string    `json:"duration"`
	Reason    string    `json:"reason"`
	State     string    `json:"state"`
	CreatedAt time.Time `json:"created_at"`
}

type accessRequestList struct {
	Items []accessRequest `json:"items"`
}

type estimate struct {
	Currency  string `json:"currency"`
	Hourly    string `json:"hourly"`
	Monthly   string `json:"monthly"`
	Resources []struct {
		Name    string `json:"name"`
		Class   string `json:"class"`
		Monthly string `json:"monthly"`
	} `json:"resources"`
}

type keyValue struct {
	Key   string
	Value string
}
