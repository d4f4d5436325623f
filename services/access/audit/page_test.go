package audit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/access/audit"
)

// GET /v1/audit pages newest first: following next_cursor gives every
// matching record once, in reverse order of the chain, including records
// that share a message (group commit), and the last page has no cursor.
func TestQueryPagesNewestFirstWithACursor(t *testing.T) {
	js := auditStream(t)
	ctx := context.Background()
	l := audit.NewLedger(js)
	for i := range 30 {
		actor := "amy"
		if i%3 == 0 {
			actor = "bob"
		}
		require.NoError(t, l.Append(ctx, audit.Record{Kind: audit.KindDecision, Actor: actor, Action: fmt.Sprintf("a%02d", i)}))
	}
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			assert.NoError(t, l.Append(ctx, audit.Record{Kind: audit.KindDecision, Actor: "amy", Action: fmt.Sprintf("b%02d", i)}))
		})
	}
	wg.Wait()

	all, err := audit.Query(ctx, js, audit.Stream, audit.Filter{Actor: "amy"})
	require.NoError(t, err)
	require.Len(t, all, 60)
	var want []string
	for i := len(all) - 1; i >= 0; i-- {
		want = append(want, all[i].ID)
	}

	var got []string
	var after audit.Cursor
	pages := 0
	for {
		recs, next, err := audit.QueryPage(ctx, js, audit.Stream, audit.Filter{Actor: "amy", Limit: 7}, after)
		require.NoError(t, err)
		pages++
		require.LessOrEqual(t, len(recs), 7)
		for _, r := range recs {
			got = append(got, r.ID)
		}
		if next == nil {
			break
		}
		after, err = audit.ParseCursor(next.String())
		require.NoError(t, err)
		require.Less(t, pages, 20, "the cursor does not advance")
	}
	assert.Equal(t, want, got, "every record of amy once, newest first")
	assert.Equal(t, 9, pages, "60 records in pages of 7")

	_, err = audit.ParseCursor("nonsense")
	assert.Error(t, err)
}
