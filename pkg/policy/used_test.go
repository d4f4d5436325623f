package policy

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Used tells the access service of a grant's use at most once a minute,
// and the notes it remembers stay bounded.
func TestUsedSendsEachGrantAtMostOnceAMinuteAndForgets(t *testing.T) {
	g := NewGrants(nil)
	var sent []GrantsUsed
	g.Notify(func(u GrantsUsed) { sent = append(sent, u) })
	at := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	g.Used([]string{"grt-1", "grt-2"}, at)
	g.Used([]string{"grt-1"}, at.Add(30*time.Second))
	g.Used([]string{"grt-1", "grt-3"}, at.Add(time.Minute))
	assert.Equal(t, []GrantsUsed{
		{GrantIDs: []string{"grt-1", "grt-2"}, At: at},
		{GrantIDs: []string{"grt-1", "grt-3"}, At: at.Add(time.Minute)},
	}, sent, "grt-1 again within its minute is not sent")

	for i := range maxLastSent + 10 {
		g.Used([]string{fmt.Sprintf("many-%d", i)}, at.Add(time.Hour+time.Duration(i)*time.Minute))
	}
	assert.LessOrEqual(t, len(g.lastSent), maxLastSent+1, "notes past their minute are forgotten")
}

// Without Notify (or an index), Used has nowhere to send and does nothing.
func TestUsedWithoutNotifyDoesNothing(t *testing.T) {
	g := NewGrants(nil)
	assert.NotPanics(t, func() { g.Used([]string{"grt-1"}, time.Now()) })
	assert.Empty(t, g.lastSent, "nothing is remembered as sent")
	var none *Grants
	assert.NotPanics(t, func() { none.Used([]string{"grt-1"}, time.Now()) })
}
