package events_test

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/schema"
)

// samples holds one value per type with every field set, optional ones
// included, for the round trip.
var samples = map[string]any{
	events.TypeServiceStarted: events.ServiceStarted{Service: "gateway", Instance: "gw-7f9c", Version: "1.4.2",
		StartedAt: time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC)},
	events.TypeServiceStopped: events.ServiceStopped{Service: "scheduler", Instance: "sch-1",
		StoppedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), UptimeSeconds: 3600.25},
	events.TypeMessageDeadLettered: events.MessageDeadLettered{Stream: "CMD_COST", Consumer: "cost",
		Subject: "pave.cmd.cost.estimate", StreamSequence: 42, Deliveries: 5, Reason: "bad data",
		EventID: "saga-1/estimate/1", EventType: "dev.pave.cmd.cost.estimate.v1",
		DeadLetteredAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)},
	events.TypeStreamFilling: events.StreamFill{Stream: "EVT_RUNNER", FillRatio: 0.81, WarnRatio: 0.8,
		Bytes: 869_000_000, MaxBytes: 1 << 30, Messages: 11_000, MaxMessages: 1_000_000,
		ObservedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)},
	events.TypeStreamCleared: events.StreamFill{Stream: "EVT_RUNNER", FillRatio: 0.4, WarnRatio: 0.8,
		Bytes: 430_000_000, MaxBytes: 1 << 30, Messages: 5_000, MaxMessages: 1_000_000,
		ObservedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)},
	events.TypeEnvironmentTransitioned: events.EnvironmentTransitioned{EnvironmentID: "env-abcdefghijkl",
		Team: "payments", Name: "checkout", Template: "web-service", Version: "1.0.0", Stage: "dev",
		From: "provisioning", To: "ready", Reason: "all resources ready", OperationID: "env-abcdefghijkl.create.1",
		Revision: 1, ExpiresAt: time.Date(2025, 1, 3, 3, 4, 5, 0, time.UTC), Seq: 3,
		At: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)},
}

func TestEverySchemaHasAGoTypeAndViceVersa(t *testing.T) {
	reg, err := schema.Default()
	require.NoError(t, err)
	goTypes := events.Types()

	var schemaTypes []string
	for _, ti := range reg.Types() {
		schemaTypes = append(schemaTypes, ti.Type)
		assert.Contains(t, goTypes, ti.Type, "schemas/events/%s.json has no Go type in events.Types()", ti.Type)
	}
	for typ := range goTypes {
		assert.Contains(t, schemaTypes, typ, "events.Types() has %s, but schemas/events/%s.json does not exist", typ, typ)
	}
}

func TestGoTypesMatchSchemas(t *testing.T) {
	reg, err := schema.Default()
	require.NoError(t, err)
	goTypes := events.Types()
	for _, ti := range reg.Types() {
		t.Run(ti.Type, func(t *testing.T) {
			zero, ok := goTypes[ti.Type]
			require.True(t, ok, "no Go type for %s", ti.Type)

			got := mismatches(ti.Type, reflect.TypeOf(zero), ti.Schema)
			assert.Empty(t, got, "Go type and schema disagree:\n%s", strings.Join(got, "\n"))
		})
	}
}

func TestGoValuesRoundTripThroughSchemas(t *testing.T) {
	reg, err := schema.Default()
	require.NoError(t, err)
	goTypes := events.Types()
	assert.ElementsMatch(t, slices.Collect(maps.Keys(goTypes)), slices.Collect(maps.Keys(allSamples())),
		"every type needs a sample")
	for typ, sample := range allSamples() {
		t.Run(typ, func(t *testing.T) {
			v := reflect.ValueOf(sample)
			require.Equal(t, reflect.TypeOf(goTypes[typ]), v.Type(), "sample of %s has the wrong Go type", typ)
			for i := range v.NumField() {
				assert.False(t, v.Field(i).IsZero(), "sample of %s leaves %s zero", typ, v.Type().Field(i).Name)
			}

			data, err := json.Marshal(sample)
			require.NoError(t, err)
			require.NoError(t, reg.Validate(typ, data), "%s", data)

			back := reflect.New(v.Type())
			require.NoError(t, json.Unmarshal(data, back.Interface()))
			assert.Equal(t, sample, back.Elem().Interface())
		})
	}
}

// TestMismatchesFindsDisagreements proves the contract check can fail, and
// says where.
func TestMismatchesFindsDisagreements(t *testing.T) {
	type badServiceStarted struct {
		Service   int    `json:"service"`
		Instance  string `json:"instance,omitempty"`
		StartedAt string `json:"started_at"`
		PID       int    `json:"pid"`
	}
	reg, err := schema.Default()
	require.NoError(t, err)
	var started json.RawMessage
	for _, ti := range reg.Types() {
		if ti.Type == events.TypeServiceStarted {
			started = ti.Schema
		}
	}
	require.NotNil(t, started)

	got := mismatches(events.TypeServiceStarted, reflect.TypeFor[badServiceStarted](), started)

	assert.Equal(t, []string{
		"dev.pave.platform.service.started.v1: field instance: schema requires it, but Go field badServiceStarted.Instance has omitempty",
		"dev.pave.platform.service.started.v1: field pid: Go field badServiceStarted.PID is not in the schema's properties",
		`dev.pave.platform.service.started.v1: field service: Go type int is JSON "integer", schema type is "string"`,
		"dev.pave.platform.service.started.v1: field started_at: schema format date-time needs Go type time.Time, Go type is string",
		"dev.pave.platform.service.started.v1: field version: schema property has no field in Go type badServiceStarted",
	}, got)
}

func TestMismatchesChecksNestedAndNumericFields(t *testing.T) {
	type resource struct {
		Name  string `json:"name"`
		Count uint   `json:"count"`
	}
	type env struct {
		At        time.Time  `json:"at"`
		Resources []resource `json:"resources"`
		Optional  bool       `json:"optional"`
		Size      float64    `json:"size,omitzero"`
	}
	schemaJSON := []byte(`{"type":"object","required":["at","resources","optional"],"properties":{
		"at":{"type":"string"},
		"resources":{"type":"array","items":{"type":"object","required":["name","count"],"properties":{
			"name":{"type":"string"},"count":{"type":"integer"}}}},
		"optional":{"type":"boolean"},
		"size":{"type":"integer"}}}`)

	got := mismatches("dev.pave.test.env.ready.v1", reflect.TypeFor[env](), schemaJSON)

	assert.Equal(t, []string{
		`dev.pave.test.env.ready.v1: field at: Go type time.Time needs schema format "date-time", schema has ""`,
		`dev.pave.test.env.ready.v1: field resources[].count: Go type uint cannot hold the negative integers the schema allows: add "minimum": 0`,
		`dev.pave.test.env.ready.v1: field size: Go type float64 is JSON "number", schema type is "integer"`,
	}, got)
}
