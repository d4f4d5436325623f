package schema_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/schema"
)

func TestRegister(t *testing.T) {
	reg, err := schema.Default()
	require.NoError(t, err)
	const typ = "dev.pave.cmd.cost.estimate.v1"

	shipped := len(reg.Types())
	err = reg.Register(typ, []byte(`{"type":"object","required":["team"],"properties":{"team":{"type":"string"}}}`))

	require.NoError(t, err)
	assert.True(t, reg.Has(typ))
	assert.NoError(t, reg.Validate(typ, []byte(`{"team":"payments"}`)))
	assert.EqualError(t, reg.Validate(typ, []byte(`{}`)), typ+": /team: required property is missing")
	assert.Len(t, reg.Types(), shipped+1)
}

func TestRegisterRefuses(t *testing.T) {
	const typ = "dev.pave.test.thing.done.v1"
	tests := []struct {
		name   string
		typ    string
		schema string
		want   string
	}{
		{name: "invalid type", typ: "dev.pave.test.thing.done", schema: `{}`,
			want: `register dev.pave.test.thing.done: invalid event type`},
		{name: "already registered", typ: "dev.pave.platform.service.started.v1", schema: `{}`,
			want: "register dev.pave.platform.service.started.v1: schema already registered"},
		{name: "$id of another type", typ: typ, schema: schemaFor("dev.pave.test.thing.other.v1"),
			want: "register dev.pave.test.thing.done.v1: $id is https://pave.dev/schemas/events/dev.pave.test.thing.other.v1.json"},
		{name: "not JSON", typ: typ, schema: `nope`, want: "schema is not valid JSON"},
		{name: "not a schema", typ: typ, schema: `{"minLength":-1}`, want: "compile schema"},
		{name: "remote reference", typ: typ, schema: `{"$ref":"https://example.com/s.json"}`,
			want: "load https://example.com/s.json: event schemas must be self-contained"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, err := schema.Default()
			require.NoError(t, err)
			shipped := len(reg.Types())

			err = reg.Register(tt.typ, []byte(tt.schema))

			assert.ErrorContains(t, err, tt.want)
			assert.Len(t, reg.Types(), shipped, "a refused schema is not registered")
		})
	}
}

func TestRegistryConcurrentRegisterAndValidate(t *testing.T) {
	reg, err := schema.Default()
	require.NoError(t, err)
	data := []byte(`{"service":"gateway","instance":"gw-1","version":"1","started_at":"2025-01-02T03:04:05Z"}`)
	const writers, readers = 8, 8
	shipped := len(reg.Types())

	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			typ := fmt.Sprintf("dev.pave.test.writer%d.done.v1", w)
			assert.NoError(t, reg.Register(typ, []byte(`{"type":"object"}`)))
		})
	}
	for range readers {
		wg.Go(func() {
			for range 100 {
				assert.NoError(t, reg.Validate(started, data))
				_ = reg.Types()
			}
		})
	}
	wg.Wait()

	assert.Len(t, reg.Types(), shipped+writers)
}

func TestValidateQuotesValuesAsJSON(t *testing.T) {
	reg, err := schema.Default()
	require.NoError(t, err)
	const typ = "dev.pave.test.thing.done.v1"
	require.NoError(t, reg.Register(typ, []byte(`{"type":"object","properties":{`+
		`"mode":{"const":"fast"},"size":{"enum":[1,"two",null]},"id":{"type":"string","format":"uuid"}}}`)))

	err = reg.Validate(typ, []byte(`{"mode":"slow","size":3,"id":"x"}`))

	assert.EqualError(t, err, typ+`: /id: "x" is not a valid uuid: `+
		`must have 5 elements; /mode: value must be "fast"; /size: value must be one of 1, "two", null`)
}
