package automate

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
)

func TestTheShippedAutomationsFileLoadsAndMatches(t *testing.T) {
	rules, err := LoadFile("../../../../deploy/automations.yaml")
	require.NoError(t, err)
	require.Len(t, rules, 1)
	a := rules[0]
	assert.Equal(t, "payments.preview-on-label", a.ID)
	assert.Equal(t, OriginConfig, a.Origin)

	e, err := bus.NewEvent("e-1", "github.com/acme/shop", "pave.custom.payments.preview.requested.v1", map[string]any{"pr": 7, "label": "preview"})
	require.NoError(t, err)
	assert.True(t, a.Matches(e, "payments"))
	assert.False(t, a.Matches(e, "other"), "only events bound to the automation's team")
	call, err := a.Do.Render(e)
	require.NoError(t, err)
	assert.Equal(t, "POST", call.Method)
	assert.Equal(t, "/v1/environments", call.Path)
	assert.JSONEq(t, `{"team":"payments","name":"pr-7","template":"redis-cache","stage":"preview","ttl":"4h"}`, string(call.Body))

	other, err := bus.NewEvent("e-2", "github.com/acme/shop", "pave.custom.payments.preview.requested.v1", map[string]any{"pr": 8, "label": "wip"})
	require.NoError(t, err)
	assert.False(t, a.Matches(other, "payments"), "data.label must equal preview")
}

func TestABadAutomationsFileNamesTheField(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a.yaml")
	require.NoError(t, os.WriteFile(file, []byte("automations:\n  - {team: payments, name: x, service_account: ci, on: {type: a.*}, do: {action: format-disk}}\n"), 0o600))
	_, err := LoadFile(file)
	assert.ErrorContains(t, err, "automations[0].do.action")
}

func TestAPlaceholderMissingFromTheEventFailsTheRender(t *testing.T) {
	e, err := bus.NewEvent("e-1", "s", "pave.custom.payments.x.v1", map[string]any{"pr": 7})
	require.NoError(t, err)
	_, err = Action{Kind: "delete-environment", Environment: "{{data.env}}"}.Render(e)
	assert.ErrorContains(t, err, "{{data.env}}: not in the event")
}
