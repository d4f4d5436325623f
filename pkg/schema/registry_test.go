package schema_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/schema"
)

const started = "dev.pave.platform.service.started.v1"

func TestValidateAcceptsValidData(t *testing.T) {
	reg, err := schema.Default()
	require.NoError(t, err)
	tests := []struct {
		name string
		typ  string
		give string
	}{
		{name: "started", typ: started,
			give: `{"service":"gateway","instance":"gw-1","version":"1.2.3","started_at":"2025-01-02T03:04:05Z"}`},
		{name: "started with offset and fraction", typ: started,
			give: `{"service":"scheduler","instance":"s","version":"","started_at":"2025-01-02T03:04:05.123456789+02:00"}`},
		{name: "stopped", typ: "dev.pave.platform.service.stopped.v1",
			give: `{"service":"access","instance":"a","stopped_at":"2025-01-02T03:04:05Z","uptime_seconds":12.5}`},
		{name: "dead letter of a CloudEvent", typ: "dev.pave.platform.message.deadlettered.v1",
			give: `{"stream":"CMD_COST","consumer":"cost","subject":"pave.cmd.cost.estimate","stream_sequence":9,` +
				`"deliveries":5,"reason":"bad data","event_id":"e1","event_type":"dev.pave.cmd.cost.estimate.v1",` +
				`"dead_lettered_at":"2025-01-02T03:04:05Z"}`},
		{name: "dead letter of something else", typ: "dev.pave.platform.message.deadlettered.v1",
			give: `{"stream":"INGRESS","consumer":"gateway","subject":"pave.ingress.x","stream_sequence":1,` +
				`"deliveries":1,"reason":"not a CloudEvent","dead_lettered_at":"2025-01-02T03:04:05Z"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.NoError(t, reg.Validate(tt.typ, []byte(tt.give)))
		})
	}
}

func TestValidateRefusesInvalidData(t *testing.T) {
	reg, err := schema.Default()
	require.NoError(t, err)
	valid := `{"service":"gateway","instance":"gw-1","version":"1.2.3","started_at":"2025-01-02T03:04:05Z"}`
	tests := []struct {
		name string
		give string
		want []schema.Problem
	}{
		{name: "missing required", give: `{"service":"gateway","version":"1","started_at":"2025-01-02T03:04:05Z"}`,
			want: []schema.Problem{{Field: "/instance", Message: "required property is missing"}}},
		{name: "wrong enum", give: `{"service":"billing","instance":"b","version":"1","started_at":"2025-01-02T03:04:05Z"}`,
			want: []schema.Problem{{Field: "/service", Message: `value must be one of "gateway", "lifecycle", ` +
				`"provisioning", "access", "cost", "scheduler"`}}},
		{name: "extra property", give: `{"service":"cost","instance":"c","version":"1","started_at":"2025-01-02T03:04:05Z","pid":7}`,
			want: []schema.Problem{{Field: "/pid", Message: "property is not allowed"}}},
		{name: "empty string", give: `{"service":"cost","instance":"","version":"1","started_at":"2025-01-02T03:04:05Z"}`,
			want: []schema.Problem{{Field: "/instance", Message: "minLength: got 0, want 1"}}},
		{name: "wrong type", give: `{"service":"cost","instance":"c","version":1.5,"started_at":"2025-01-02T03:04:05Z"}`,
			want: []schema.Problem{{Field: "/version", Message: "got number, want string"}}},
		{name: "bad date-time", give: `{"service":"cost","instance":"c","version":"1","started_at":"yesterday"}`,
			want: []schema.Problem{{Field: "/started_at", Message: `"yesterday" is not a valid date-time: less than 20 characters long`}}},
		{name: "several problems", give: `{"service":"x","instance":"c","extra":true}`,
			want: []schema.Problem{
				{Field: "/extra", Message: "property is not allowed"},
				{Field: "/service", Message: `value must be one of "gateway", "lifecycle", ` +
					`"provisioning", "access", "cost", "scheduler"`},
				{Field: "/started_at", Message: "required property is missing"},
				{Field: "/version", Message: "required property is missing"},
			}},
		{name: "not an object", give: `[1,2]`,
			want: []schema.Problem{{Field: "", Message: "got array, want object"}}},
		{name: "not JSON", give: `{"service":`,
			want: []schema.Problem{{Field: "", Message: "data is not valid JSON: unexpected EOF"}}},
		{name: "trailing garbage", give: valid + `}`,
			want: []schema.Problem{{Field: "", Message: "data is not valid JSON: invalid character after top-level value"}}},
		{name: "empty", give: ``,
			want: []schema.Problem{{Field: "", Message: "data is not valid JSON: EOF"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := reg.Validate(started, []byte(tt.give))

			var verr *schema.ValidationError
			require.ErrorAs(t, err, &verr)
			assert.Equal(t, started, verr.Type)
			assert.Equal(t, tt.want, verr.Problems)
		})
	}
}

func TestValidateDeadLetterNeedsIDAndTypeTogether(t *testing.T) {
	reg, err := schema.Default()
	require.NoError(t, err)

	err = reg.Validate("dev.pave.platform.message.deadlettered.v1", []byte(`{"stream":"S","consumer":"c",`+
		`"subject":"s","stream_sequence":1,"deliveries":1,"reason":"r","event_id":"e1",`+
		`"dead_lettered_at":"2025-01-02T03:04:05Z"}`))

	var verr *schema.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, []schema.Problem{{Field: "/event_type", Message: `required property is missing ("event_id" is present)`}},
		verr.Problems)
}

func TestValidationErrorNamesTypeFieldAndProblem(t *testing.T) {
	reg, err := schema.Default()
	require.NoError(t, err)

	err = reg.Validate(started, []byte(`{"service":"billing","instance":"b","started_at":"2025-01-02T03:04:05Z"}`))

	assert.EqualError(t, err, `dev.pave.platform.service.started.v1: `+
		`/service: value must be one of "gateway", "lifecycle", "provisioning", "access", "cost", "scheduler"; `+
		`/version: required property is missing`)
}

func TestValidateUnknownType(t *testing.T) {
	reg, err := schema.Default()
	require.NoError(t, err)

	err = reg.Validate("dev.pave.nobody.thing.happened.v1", []byte(`{}`))

	assert.ErrorIs(t, err, schema.ErrUnknownType)
	assert.EqualError(t, err, `unknown event type "dev.pave.nobody.thing.happened.v1"`)
	assert.False(t, reg.Has("dev.pave.nobody.thing.happened.v1"))
}

func TestDefaultShipsThePlatformTypes(t *testing.T) {
	reg, err := schema.Default()
	require.NoError(t, err)

	var types, subjects []string
	for _, ti := range reg.Types() {
		types, subjects = append(types, ti.Type), append(subjects, ti.Subject)
		assert.True(t, json.Valid(ti.Schema), ti.Type)
		assert.True(t, reg.Has(ti.Type))
	}
	assert.Subset(t, types, []string{
		"dev.pave.platform.message.deadlettered.v1",
		"dev.pave.platform.service.started.v1",
		"dev.pave.platform.service.stopped.v1",
	})
	assert.Subset(t, subjects, []string{
		"pave.evt.platform.message.deadlettered",
		"pave.evt.platform.service.started",
		"pave.evt.platform.service.stopped",
	})
	assert.IsIncreasing(t, types, "sorted by type")
}

func schemaFor(eventType string) string {
	return fmt.Sprintf(`{"$schema":"https://json-schema.org/draft/2020-12/schema","$id":%q,"type":"object"}`,
		schema.SchemaURL(eventType))
}

func TestNewRegistryRefusesBadFiles(t *testing.T) {
	const good = "dev.pave.test.thing.done.v1"
	tests := []struct {
		name     string
		file     string
		contents string
		want     string
	}{
		{name: "invalid type name", file: "dev.pave.Test.thing.done.v1.json", contents: `{}`,
			want: `schema file dev.pave.Test.thing.done.v1.json: invalid event type "dev.pave.Test.thing.done.v1": token "Test"`},
		{name: "name without version", file: "thing.json", contents: `{}`,
			want: `schema file thing.json: invalid event type "thing": must start with "dev.pave."`},
		{name: "$id of another type", file: good + ".json", contents: schemaFor("dev.pave.test.thing.other.v1"),
			want: "schema file dev.pave.test.thing.done.v1.json: $id is https://pave.dev/schemas/events/dev.pave.test.thing.other.v1.json, " +
				"want https://pave.dev/schemas/events/dev.pave.test.thing.done.v1.json"},
		{name: "missing $id", file: good + ".json", contents: `{"type":"object"}`,
			want: "schema file dev.pave.test.thing.done.v1.json: $id is missing"},
		{name: "not JSON", file: good + ".json", contents: `{"type":`,
			want: "schema file dev.pave.test.thing.done.v1.json: schema is not valid JSON"},
		{name: "not a schema", file: good + ".json",
			contents: fmt.Sprintf(`{"$id":%q,"type":"thing"}`, schema.SchemaURL(good)),
			want:     "schema file dev.pave.test.thing.done.v1.json: compile schema"},
		{name: "reference to another document", file: good + ".json",
			contents: fmt.Sprintf(`{"$id":%q,"$ref":"file:///etc/passwd"}`, schema.SchemaURL(good)),
			want:     "event schemas must be self-contained"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"events/" + tt.file:                     {Data: []byte(tt.contents)},
				"events/dev.pave.test.thing.ok.v1.json": {Data: []byte(schemaFor("dev.pave.test.thing.ok.v1"))},
			}

			reg, err := schema.NewRegistry(fsys, "events")

			assert.Nil(t, reg)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

func TestNewRegistryIgnoresOtherFiles(t *testing.T) {
	const typ = "dev.pave.test.thing.done.v1"
	fsys := fstest.MapFS{
		"events/" + typ + ".json":   {Data: []byte(schemaFor(typ))},
		"events/README.md":          {Data: []byte("# not a schema")},
		"events/drafts/broken.json": {Data: []byte("{")},
	}

	reg, err := schema.NewRegistry(fsys, "events")

	require.NoError(t, err)
	assert.Equal(t, []schema.TypeInfo{{Type: typ, Subject: "pave.evt.test.thing.done", Schema: []byte(schemaFor(typ))}}, reg.Types())
}

func TestNewRegistryMissingDir(t *testing.T) {
	_, err := schema.NewRegistry(fstest.MapFS{}, "events")

	assert.ErrorContains(t, err, "read schemas")
}
