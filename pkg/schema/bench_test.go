package schema_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/schema"
)

// benchType stands for a typical ~1 KiB domain event: nested objects, an
// array, enums, formats and integers.
const benchType = "dev.pave.lifecycle.environment.ready.v1"

const benchSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object", "additionalProperties": false,
  "required": ["environment_id", "team", "template", "stage", "ready_at", "resources"],
  "properties": {
    "environment_id": {"type": "string", "minLength": 1},
    "team": {"type": "string", "pattern": "^[a-z][a-z0-9-]*$"},
    "template": {"type": "string"},
    "stage": {"enum": ["dev", "test", "staging", "prod"]},
    "ready_at": {"type": "string", "format": "date-time"},
    "expires_at": {"type": "string", "format": "date-time"},
    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    "resources": {"type": "array", "items": {
      "type": "object", "additionalProperties": false,
      "required": ["name", "kind", "external_id", "cost_per_hour"],
      "properties": {
        "name": {"type": "string"}, "kind": {"enum": ["postgres", "redis", "bucket", "queue"]},
        "external_id": {"type": "string"}, "cost_per_hour": {"type": "number", "minimum": 0},
        "replicas": {"type": "integer", "minimum": 1}
      }}}
  }
}`

func benchData() []byte {
	var res []string
	for i, k := range []string{"postgres", "redis", "bucket", "queue", "postgres"} {
		res = append(res, fmt.Sprintf(`{"name":"res-%d","kind":%q,"external_id":"ext-%08d-abcdef",`+
			`"cost_per_hour":0.125,"replicas":%d}`, i, k, i*7919, i+1))
	}
	return []byte(`{"environment_id":"env-01J9Z3K4M5N6P7Q8R9S0T1V2W3","team":"payments","template":"web-service",` +
		`"stage":"staging","ready_at":"2025-01-02T03:04:05.123456Z","expires_at":"2025-01-09T03:04:05Z",` +
		`"labels":{"owner":"alice","cost-center":"cc-42","repo":"github.com/acme/payments"},` +
		`"resources":[` + strings.Join(res, ",") + `]}`)
}

func BenchmarkValidate(b *testing.B) {
	reg, err := schema.Default()
	require.NoError(b, err)
	require.NoError(b, reg.Register(benchType, []byte(benchSchema)))
	cases := []struct {
		name string
		typ  string
		data []byte
	}{
		{name: "service.started", typ: "dev.pave.platform.service.started.v1",
			data: []byte(`{"service":"gateway","instance":"gw-7f9c-1","version":"1.4.2","started_at":"2025-01-02T03:04:05Z"}`)},
		{name: "environment.ready", typ: benchType, data: benchData()},
	}
	for _, c := range cases {
		require.NoError(b, reg.Validate(c.typ, c.data))
		b.Run(fmt.Sprintf("%s/%dB", c.name, len(c.data)), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.data)))
			for b.Loop() {
				if err := reg.Validate(c.typ, c.data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("%s/%dB/parallel", c.name, len(c.data)), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.data)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := reg.Validate(c.typ, c.data); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

func BenchmarkValidateInvalid(b *testing.B) {
	reg, err := schema.Default()
	require.NoError(b, err)
	data := []byte(`{"service":"billing","instance":"","started_at":"yesterday","pid":7}`)
	b.ReportAllocs()
	for b.Loop() {
		if reg.Validate("dev.pave.platform.service.started.v1", data) == nil {
			b.Fatal("want an error")
		}
	}
}
