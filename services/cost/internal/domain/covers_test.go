package domain_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/pave-platform/pave/services/cost/internal/domain"
)

func TestCoversOnlyMovesCostDoesNotRead(t *testing.T) {
	base := domain.Environment{ID: "env-a", Team: "pay", Name: "a", Template: "web", Version: "1.0.0", Stage: "dev"}
	in := func(state string) domain.Environment { e := base; e.State = state; return e }
	tests := []struct {
		give, next domain.Environment
		want       bool
	}{
		{in("requested"), in("queued"), true},
		{in("queued"), in("provisioning"), true},
		{in("provisioning"), in("ready"), false},
		{in("ready"), in("decommissioning"), true},
		{in("ready"), in("updating"), true},
		{in("decommissioning"), in("deleted"), false},
		{in("failed"), in("deleted"), false},
		{in("compensation_failed"), in("failed"), false},
		{in("ready"), func() domain.Environment { e := in("updating"); e.Version = "1.1.0"; return e }(), false},
		{in("ready"), func() domain.Environment { e := in("ready"); e.Stage = "prod"; return e }(), false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.give.Covers(tt.next), "%s -> %s", tt.give.State, tt.next.State)
	}
}
