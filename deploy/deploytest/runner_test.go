package deploytest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// The chart runs `pave runner` for each pool in .Values.runners: the pave
// binary with the runner command, its pool and slots, an id from the pod
// name, the same NATS and streams as the services, probes on /healthz and
// /readyz, non-root with a read-only root filesystem, and a PDB.
func TestHelmRunnerDeployment(t *testing.T) {
	bin := helmBinary(t)
	chart := chartCopy(t)
	// --set replaces a list element whole, so the list comes from a file.
	values := filepath.Join(t.TempDir(), "runners.yaml")
	require.NoError(t, os.WriteFile(values, []byte(`runners:
  - {pool: batch, replicas: 1, slots: 8, resources: {limits: {memory: 1Gi}}}
  - {pool: gpu, replicas: 2}
  - {pool: idle, replicas: 1, enabled: false}
`), 0o600))
	docs := renderValues(t, bin, chart, values)

	for _, tt := range []struct {
		pool, slots string
		replicas    int
	}{{"batch", "8", 1}, {"gpu", "0", 2}} {
		t.Run(tt.pool, func(t *testing.T) {
			name := "pave-runner-" + tt.pool
			d := find(docs, "Deployment", name)
			require.NotNil(t, d, "Deployment %s", name)
			assert.EqualValues(t, tt.replicas, dig(d, "spec", "replicas"))
			pod := dig(d, "spec", "template", "spec")
			assert.Equal(t, true, dig(pod, "securityContext", "runAsNonRoot"))
			c := dig(pod, "containers", 0)
			assert.Equal(t, []any{"pave", "runner"}, dig(c, "command"))
			assert.Equal(t, "/healthz", dig(c, "livenessProbe", "httpGet", "path"))
			assert.Equal(t, "/readyz", dig(c, "readinessProbe", "httpGet", "path"))
			assert.Equal(t, true, dig(c, "securityContext", "readOnlyRootFilesystem"))
			env := envOf(c)
			assert.Equal(t, tt.pool, env["PAVE_RUNNER_POOL"])
			assert.Equal(t, tt.slots, env["PAVE_RUNNER_SLOTS"])
			assert.Equal(t, "1s", env["PAVE_RUNNER_HEARTBEAT"])
			assert.Equal(t, "metadata.name", dig(env["PAVE_RUNNER_ID"], "fieldRef", "fieldPath"), "the pod name")
			assert.Equal(t, "nats://nats.example:4222", env["PAVE_NATS_URL"])
			assert.Equal(t, "3", env["PAVE_STREAM_REPLICAS"])
			assert.Equal(t, ":8080", env["PAVE_HTTP_ADDR"])

			pdb := find(docs, "PodDisruptionBudget", name)
			require.NotNil(t, pdb, "PDB %s", name)
			assert.Equal(t, dig(d, "spec", "selector", "matchLabels"), dig(pdb, "spec", "selector", "matchLabels"))
			assert.NotEqual(t, dig(find(docs, "Deployment", "pave-scheduler"), "spec", "selector", "matchLabels"),
				dig(d, "spec", "selector", "matchLabels"), "a runner's selector matches only its own pods")
		})
	}
	assert.Nil(t, find(docs, "Deployment", "pave-runner-idle"), "a disabled runner renders nothing")
	assert.NotNil(t, find(render(t, bin, chart, external...), "Deployment", "pave-runner-batch"), "the default values run the batch pool's runner")
}

func TestHelmRunnerSchemaRejects(t *testing.T) {
	bin := helmBinary(t)
	chart := chartCopy(t)
	tests := []struct{ name, give string }{
		{"bad pool name", "{pool: Not_A_Name, replicas: 1}"},
		{"negative slots", "{pool: batch, replicas: 1, slots: -1}"},
		{"heartbeat not a duration", "{pool: batch, replicas: 1, heartbeat: soon}"},
		{"no replicas", "{pool: batch}"},
	}
	for _, tt := range tests {
		bad := tt.give
		// helm splits -f on commas: the file's path must have none.
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			values := filepath.Join(t.TempDir(), "runners.yaml")
			require.NoError(t, os.WriteFile(values, []byte("runners:\n  - "+bad+"\n"), 0o600))
			out, err := helm(t, bin, "template", "pave", chart, "--set", external[0], "--set", external[1], "-f", values)
			assert.Error(t, err, "accepted %s", bad)
			assert.Contains(t, out, "values don't meet the specifications of the schema")
		})
	}
}

// renderValues is render with a values file, and the external NATS.
func renderValues(t *testing.T, bin, chart, values string) []manifest {
	t.Helper()
	out, err := helm(t, bin, "template", "pave", chart, "--namespace", "pave",
		"--set", external[0], "--set", external[1], "-f", values)
	require.NoError(t, err, out)
	var docs []manifest
	dec := yaml.NewDecoder(strings.NewReader(out))
	for {
		var m manifest
		if err := dec.Decode(&m); err != nil {
			require.ErrorContains(t, err, "EOF")
			return docs
		}
		if m != nil {
			docs = append(docs, m)
		}
	}
}

// docker-compose runs `pave runner` for the batch pool from the same image,
// configured like the services, probed on /readyz, started once the
// scheduler is healthy, and scraped by Prometheus.
func TestComposeRunner(t *testing.T) {
	p := loadCompose(t, map[string]string{})
	s, err := p.GetService("runner")
	require.NoError(t, err)
	assert.Equal(t, types.ShellCommand{"pave", "runner"}, s.Command)
	require.NotNil(t, s.Build)
	assert.Equal(t, "deploy/Dockerfile", s.Build.Dockerfile)
	assert.True(t, s.ReadOnly, "read-only root filesystem")
	for _, v := range append(slices.Clone(common), "PAVE_RUNNER_POOL", "PAVE_RUNNER_SLOTS", "PAVE_RUNNER_HEARTBEAT") {
		if val := s.Environment[v]; assert.NotNil(t, val, "%s must be set", v) {
			assert.NotEmpty(t, *val, "%s must not be empty", v)
		}
	}
	assert.Equal(t, "batch", *s.Environment["PAVE_RUNNER_POOL"])
	require.NotNil(t, s.HealthCheck)
	assert.Equal(t, types.HealthCheckTest{"CMD", "healthcheck", "http://127.0.0.1:8080/readyz"}, s.HealthCheck.Test)
	assert.Equal(t, ":8080", *s.Environment["PAVE_HTTP_ADDR"])
	assert.Equal(t, types.ServiceConditionHealthy, s.DependsOn["scheduler"].Condition, "jobs come from the scheduler")
	assert.Equal(t, types.ServiceConditionHealthy, s.DependsOn["nats"].Condition)
	assert.Contains(t, readFile(t, "deploy/prometheus/prometheus.yml"), "runner:8080", "Prometheus scrapes the runner")
}

// Under Tilt the runner is restarted when live_update replaces the pave
// binary, and it is a resource of its own.
func TestTiltRunsTheRunner(t *testing.T) {
	calls := runTiltfile(t)
	var names []string
	for _, c := range calls["k8s_resource"] {
		names = append(names, str(c.args[0]))
	}
	assert.Contains(t, names, "pave-runner-batch")

	bin := helmBinary(t)
	args := []string{"template", "pave", chartCopy(t)}
	for _, s := range strs(calls["helm"][0].kwargs["set"]) {
		args = append(args, "--set", s)
	}
	out, err := helm(t, bin, args...)
	require.NoError(t, err, out)
	assert.Contains(t, out, `"$b" runner & pid=$!`, "dev.liveReload wraps pave runner")
}
