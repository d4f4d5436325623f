package provisioning_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/schema"
)

// The round trip of every type through its schema is pkg/events' test;
// this one checks what the contract must refuse.
func TestSchemasRefuseWhatTheContractForbids(t *testing.T) {
	reg, err := schema.Default()
	require.NoError(t, err)
	tests := []struct {
		typ, give string
	}{
		{events.TypeResourceProvisioned, `{"saga":{"id":"s","step":"p","attempt":1,"compensation":false},"environment_id":"e","resource_id":"r","driver":"postgres","external_ids":[],"outputs":{},"has_credentials":true,"password":"x"}`},
		{events.TypeResourceProvisioned, `{"saga":{"id":"s","step":"p","attempt":1,"compensation":false},"environment_id":"e","resource_id":"r","driver":"postgres","external_ids":[],"outputs":{"port":5432},"has_credentials":true}`},
		{events.TypeProvisionCommand, `{"saga":{"id":"s","step":"p","attempt":0,"compensation":false},"environment_id":"e","team":"t","resource":{"id":"r","name":"db","driver":"postgres","class":""}}`},
		{events.TypeProvisionCommand, `{"saga":{"id":"s","step":"p","attempt":1,"compensation":false},"environment_id":"e","team":"t","resource":{"id":"Has_Underscore","name":"db","driver":"postgres","class":""}}`},
		{events.TypeDeprovisionCommand, `{"saga":{"id":"s","step":"p","attempt":1,"compensation":false},"environment_id":"e","resource_id":"r","driver":"mysql"}`},
	}
	for _, tt := range tests {
		assert.Error(t, reg.Validate(tt.typ, []byte(tt.give)), "%s %s", tt.typ, tt.give)
	}
}
