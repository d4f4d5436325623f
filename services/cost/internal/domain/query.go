package domain

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// ErrTooLarge means a quantity does not fit the counters.
var ErrTooLarge = errors.New("quantity too large to count")

// Query asks for spend over a grid, grouped by keys.
type Query struct {
	Grid      Grid
	Aggregate []string
	// Visible says whose spend the caller may see; nil sees everything.
	Visible func(team string) bool
	// Limit bounds the groups answered (largest first); 0 answers all.
	Limit int
	Now   time.Time
}

// Group is one answer row: its key values, total and total per step.
type Group struct {
	Key   map[string]string
	Total decimal.Decimal
	Steps []decimal.Decimal
	Exact Exact
}

// Result is a query's answer.
type Result struct {
	Currency string
	Places   int32
	Grid     Grid
	Total    decimal.Decimal
	Exact    Exact
	Groups   []Group
	// Omitted counts the groups beyond Limit.
	Omitted int
}

// usage counts a quantity per SKU.
type usage map[SKU]int64

func (u usage) add(s SKU, q int64) error {
	if q > 0 && u[s] > math.MaxInt64-q {
		return ErrTooLarge
	}
	u[s] += q
	return nil
}

func (u usage) amount(card RateCard) Exact {
	var e Exact
	for s, q := range u {
		e = e.Add(card.Amount(s, q))
	}
	return e
}

type groupAcc struct {
	key   string
	lines []int
	use   usage
	exact Exact
}

// Run answers q over lines priced by card.
func Run(card RateCard, lines []Line, q Query) (Result, error) {
	res := Result{Currency: card.Currency, Places: card.Places(), Grid: q.Grid}
	groups, err := totals(lines, q)
	if err != nil {
		return res, err
	}
	parts := make([]Exact, len(groups))
	for i, g := range groups {
		g.exact = g.use.amount(card)
		parts[i] = g.exact
		res.Exact = res.Exact.Add(g.exact)
	}
	slices.SortStableFunc(groups, func(a, b *groupAcc) int { return cmp.Or(b.exact.Cmp(a.exact), cmp.Compare(a.key, b.key)) })
	for i, g := range groups {
		parts[i] = g.exact
	}
	rounded := Allocate(parts, res.Places)
	res.Total = res.Exact.Round(res.Places)
	keep := len(groups)
	if q.Limit > 0 && keep > q.Limit {
		keep, res.Omitted = q.Limit, keep-q.Limit
	}
	for i, g := range groups[:keep] {
		steps, err := perStep(card, lines, g, q)
		if err != nil {
			return res, err
		}
		res.Groups = append(res.Groups, Group{Key: keyMap(g.key, q.Aggregate), Total: rounded[i], Exact: g.exact,
			Steps: AllocateTo(steps, rounded[i], res.Places)})
	}
	return res, nil
}

// totals groups the visible lines and counts each group's usage.
func totals(lines []Line, q Query) ([]*groupAcc, error) {
	byKey := map[string]*groupAcc{}
	var out []*groupAcc
	vals := make([]string, len(q.Aggregate))
	for i, l := range lines {
		if q.Visible != nil && !q.Visible(l.Attr.Team) {
			continue
		}
		for k, name := range q.Aggregate {
			vals[k] = keyOf(l.Attr, name)
		}
		key := strings.Join(vals, "\x00")
		g := byKey[key]
		if g == nil {
			g = &groupAcc{key: key, use: usage{}}
			byKey[key] = g
			out = append(out, g)
		}
		g.lines = append(g.lines, i)
		for _, seg := range l.Segments {
			if err := g.use.add(seg.SKU, q.Grid.overlap(seg, q.Now)*seg.PerMS); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// perStep is a group's exact amount in each step.
func perStep(card RateCard, lines []Line, g *groupAcc, q Query) ([]Exact, error) {
	bySKU := map[SKU][]int64{}
	var err error
	for _, li := range g.lines {
		for _, seg := range lines[li].Segments {
			cells := bySKU[seg.SKU]
			if cells == nil {
				cells = make([]int64, q.Grid.N)
				bySKU[seg.SKU] = cells
			}
			q.Grid.each(seg, q.Now, func(i int, ms int64) {
				if v := ms * seg.PerMS; cells[i] > math.MaxInt64-v {
					err = ErrTooLarge
				} else {
					cells[i] += v
				}
			})
		}
	}
	out := make([]Exact, q.Grid.N)
	for sku, cells := range bySKU {
		for i, c := range cells {
			if c != 0 {
				out[i] = out[i].Add(card.Amount(sku, c))
			}
		}
	}
	return out, err
}

func keyMap(key string, names []string) map[string]string {
	out := map[string]string{}
	if len(names) == 0 {
		return out
	}
	for i, v := range strings.Split(key, "\x00") {
		out[names[i]] = v
	}
	return out
}
