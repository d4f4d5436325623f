package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every standalone service binary starts on its own (embedded JetStream
// when PAVE_NATS_URL is empty), becomes ready, and on SIGTERM stops its
// service cleanly and exits 0.
func TestServiceBinariesDrainOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every service binary")
	}
	services := []string{"access", "cost", "gateway", "lifecycle", "provisioning", "scheduler"}
	bin := buildServices(t, services...)

	for _, s := range services {
		t.Run(s, func(t *testing.T) {
			addr := freeAddr(t)
			cmd := exec.Command(filepath.Join(bin, s))
			cmd.Env = append(cmd.Environ(),
				"PAVE_DATA_DIR="+t.TempDir(), "PAVE_HTTP_ADDR="+addr,
				"PAVE_NATS_EMBEDDED_ADDR=off", "PAVE_LOG_FORMAT=text", "PAVE_TEMPLATES_DIR=../../deploy/templates",
				"PAVE_SCHEDULER_CONFIG=../../deploy/scheduler/pools.yaml")
			var logs bytes.Buffer
			cmd.Stdout, cmd.Stderr = &logs, &logs
			require.NoError(t, cmd.Start())
			require.Eventually(t, func() bool {
				resp, err := http.Get("http://" + addr + "/readyz")
				if err != nil {
					return false
				}
				resp.Body.Close()
				return resp.StatusCode == http.StatusOK
			}, 20*time.Second, 50*time.Millisecond, "never ready:\n%s", &logs)

			require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				assert.NoError(t, err, "exit status\n%s", &logs)
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("did not exit after SIGTERM:\n%s", &logs)
			}
			assert.Contains(t, logs.String(), fmt.Sprintf(`msg="service stopped" service=%s`, s))
		})
	}
}

// buildServices builds the standalone binaries of the named services into
// a temporary folder and returns it.
func buildServices(t *testing.T, services ...string) string {
	t.Helper()
	bin := t.TempDir()
	args := []string{"build", "-o", bin + "/"}
	for _, s := range services {
		args = append(args, "github.com/pave-platform/pave/services/"+s+"/cmd/"+s)
	}
	out, err := exec.Command("go", args...).CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}
