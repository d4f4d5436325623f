package runner_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/services/scheduler/runner"
)

var runnerVars = []string{"PAVE_RUNNER_POOL", "PAVE_RUNNER_ID", "PAVE_RUNNER_SLOTS", "PAVE_RUNNER_HEARTBEAT",
	"PAVE_RUNNER_USER", "PAVE_RUNNER_WORK_DIR", "PAVE_RUNNER_LIMIT_CPU", "PAVE_RUNNER_LIMIT_MEMORY_MIB",
	"PAVE_RUNNER_LIMIT_PROCS", "PAVE_RUNNER_LIMIT_FILES", "PAVE_RUNNER_OUTPUT_MAX_BYTES", "PAVE_JOB_OUTPUT_TTL",
	"PAVE_JOB_OUTPUT_MAX_BYTES"}

// setEnv sets the runner's variables to give, unsetting the others, for
// the test's duration.
func setEnv(t *testing.T, give map[string]string) {
	for _, k := range runnerVars {
		t.Setenv(k, "")
		require.NoError(t, os.Unsetenv(k))
	}
	for k, v := range give {
		t.Setenv(k, v)
	}
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		name string
		give map[string]string
		want string
	}{
		{name: "no pool", give: map[string]string{}, want: "PAVE_RUNNER_POOL"},
		{name: "pool not a subject token", give: map[string]string{"PAVE_RUNNER_POOL": "gpu.a100"}, want: "PAVE_RUNNER_POOL"},
		{name: "negative slots", give: map[string]string{"PAVE_RUNNER_POOL": "p", "PAVE_RUNNER_SLOTS": "-1"}, want: "PAVE_RUNNER_SLOTS"},
		{name: "slots not a number", give: map[string]string{"PAVE_RUNNER_POOL": "p", "PAVE_RUNNER_SLOTS": "many"}, want: "PAVE_RUNNER_SLOTS"},
		{name: "zero heartbeat", give: map[string]string{"PAVE_RUNNER_POOL": "p", "PAVE_RUNNER_HEARTBEAT": "0s"}, want: "PAVE_RUNNER_HEARTBEAT"},
		{name: "heartbeat not a duration", give: map[string]string{"PAVE_RUNNER_POOL": "p", "PAVE_RUNNER_HEARTBEAT": "soon"}, want: "PAVE_RUNNER_HEARTBEAT"},
		{name: "root job user", give: map[string]string{"PAVE_RUNNER_POOL": "p", "PAVE_RUNNER_USER": "root"}, want: "PAVE_RUNNER_USER"},
		{name: "relative work dir", give: map[string]string{"PAVE_RUNNER_POOL": "p", "PAVE_RUNNER_WORK_DIR": "jobs"}, want: "PAVE_RUNNER_WORK_DIR"},
		{name: "cpu limit below a second", give: map[string]string{"PAVE_RUNNER_POOL": "p", "PAVE_RUNNER_LIMIT_CPU": "10ms"}, want: "PAVE_RUNNER_LIMIT_CPU"},
		{name: "id not a key", give: map[string]string{"PAVE_RUNNER_POOL": "p", "PAVE_RUNNER_ID": "my runner"}, want: "PAVE_RUNNER_ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setEnv(t, tt.give)
			_, err := runner.LoadConfig()
			var fe *config.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tt.want, fe.Var)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	setEnv(t, map[string]string{"PAVE_RUNNER_POOL": "gpu_a-100"})
	cfg, err := runner.LoadConfig()
	require.NoError(t, err)
	assert.Equal(t, "gpu_a-100", cfg.Pool)
	assert.Equal(t, 0, cfg.Slots)
	assert.Equal(t, time.Second, cfg.Heartbeat)
	assert.NotEmpty(t, cfg.ID)
	assert.NoError(t, cfg.Validate(), "the default id is a valid key")
}

func TestNewRejectsABadPool(t *testing.T) {
	_, err := runner.New(&bus.Bus{}, bus.DefaultStreamOptions(), runner.Config{Pool: "a b"}, nil)
	var fe *config.FieldError
	require.True(t, errors.As(err, &fe))
	assert.Equal(t, "PAVE_RUNNER_POOL", fe.Var)
}

func TestModuleRunsARunnerFromTheEnvironment(t *testing.T) {
	e := newEnv(t)
	setEnv(t, map[string]string{"PAVE_RUNNER_POOL": pool, "PAVE_RUNNER_ID": "fx-runner", "PAVE_RUNNER_SLOTS": "2"})
	var r *runner.Runner
	app := fxtest.New(t, fx.NopLogger, fx.Supply(e.bus, e.so, slog.New(slog.DiscardHandler)), runner.Module, fx.Populate(&r))
	app.RequireStart()
	assert.Equal(t, runner.Config{Pool: pool, ID: "fx-runner", Slots: 2, Heartbeat: time.Second,
		WorkDir: filepath.Join(os.TempDir(), "pave-runner"), SpoolDir: filepath.Join(os.TempDir(), "pave-runner-spool", pool),
		Limits: runner.Limits{CPU: runner.DefaultLimitCPU, MemoryMiB: runner.DefaultLimitMemoryMiB,
			Procs: runner.DefaultLimitProcs, Files: runner.DefaultLimitFiles},
		OutputMaxBytes: runner.DefaultOutputMaxBytes,
		Output:         runner.OutputStore{TTL: runner.DefaultOutputTTL, MaxBytes: runner.DefaultOutputStore}}, r.Config())
	kv, err := e.js.KeyValue(context.Background(), runner.RunnersBucket)
	require.NoError(t, err)
	_, err = kv.Get(context.Background(), "fx-runner")
	require.NoError(t, err, "the runner heartbeats under its id")
	app.RequireStop()
}
