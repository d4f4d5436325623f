package notify

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A chain numbers each delivery once: a repeat gets its number back,
// also from a chain stored in the earlier form, and the tail stays
// bounded.
func TestChainNumbersEachDeliveryOnce(t *testing.T) {
	c := Chain{Next: 7, Done: 5, Recent: []Assigned{{ID: "a", N: 6}, {ID: "b", N: 7}}}
	tests := []struct {
		give      string
		want      uint64
		wantFresh bool
	}{
		{give: "a", want: 6},
		{give: "c", want: 8, wantFresh: true},
		{give: "b", want: 7},
		{give: "c", want: 8},
		{give: "d", want: 9, wantFresh: true},
	}
	for _, tt := range tests {
		n, fresh := c.number(tt.give)
		assert.Equal(t, tt.want, n, tt.give)
		assert.Equal(t, tt.wantFresh, fresh, tt.give)
	}
	assert.Nil(t, c.Recent, "the earlier form is not written again")
	for i := range 2 * maxRecent {
		c.number(fmt.Sprint("x", i))
	}
	assert.Len(t, c.Tail, maxRecent)
	n, fresh := c.number(fmt.Sprint("x", 2*maxRecent-1))
	assert.Equal(t, c.Next, n)
	assert.False(t, fresh)
}
