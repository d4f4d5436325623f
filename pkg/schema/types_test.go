package schema_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/schema"
)

func TestSubjectFor(t *testing.T) {
	tests := []struct {
		give string
		want string
	}{
		{give: "dev.pave.platform.service.started.v1", want: "pave.evt.platform.service.started"},
		{give: "dev.pave.lifecycle.environment.ready.v2", want: "pave.evt.lifecycle.environment.ready"},
		{give: "dev.pave.cost.budget-threshold.crossed_80.v12", want: "pave.evt.cost.budget-threshold.crossed_80"},
		{give: "dev.pave.cmd.provisioning.create.v1", want: "pave.cmd.provisioning.create"},
		{give: "dev.pave.cmd.access.grant-jit.v3", want: "pave.cmd.access.grant-jit"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			got, err := schema.SubjectFor(tt.give)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.NoError(t, schema.ValidType(tt.give))
		})
	}
}

func TestSubjectForRefusesInvalidTypes(t *testing.T) {
	tests := []struct {
		give string
		want string // a part of the error that names the problem
	}{
		{give: "", want: `invalid event type "": must start with "dev.pave."`},
		{give: "com.example.thing.happened.v1", want: `must start with "dev.pave."`},
		{give: "dev.pave.platform.service.v1", want: "has 5 dot-separated tokens, want 6"},
		{give: "dev.pave.platform.service.started.extra.v1", want: "has 7 dot-separated tokens, want 6"},
		{give: "dev.pave.platform.service.started", want: "has 5 dot-separated tokens, want 6"},
		{give: "dev.pave.Platform.service.started.v1", want: `token "Platform" does not match [a-z][a-z0-9_-]*`},
		{give: "dev.pave.platform.1service.started.v1", want: `token "1service" does not match`},
		{give: "dev.pave.platform..started.v1", want: `token "" does not match`},
		{give: "dev.pave.platform.service.start*.v1", want: `token "start*" does not match`},
		{give: "dev.pave.platform.service.started.v0", want: `version "v0" is not v<N> with N ≥ 1`},
		{give: "dev.pave.platform.service.started.v01", want: `version "v01" is not v<N>`},
		{give: "dev.pave.platform.service.started.V1", want: `version "V1" is not v<N>`},
		{give: "dev.pave.platform.service.started.v", want: `version "v" is not v<N>`},
		{give: "dev.pave.platform.service.started.1", want: `version "1" is not v<N>`},
		{give: "dev.pave.cmd.Access.grant.v1", want: `token "Access" does not match`},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			got, err := schema.SubjectFor(tt.give)
			assert.Empty(t, got)
			assert.ErrorIs(t, err, schema.ErrInvalidType)
			assert.ErrorContains(t, err, tt.want)
			assert.Equal(t, err, schema.ValidType(tt.give))
		})
	}
}

func TestSchemaURL(t *testing.T) {
	assert.Equal(t, "https://pave.dev/schemas/events/dev.pave.platform.service.started.v1.json",
		schema.SchemaURL("dev.pave.platform.service.started.v1"))
}
