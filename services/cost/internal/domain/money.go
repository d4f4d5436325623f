package domain

import (
	"slices"

	"github.com/shopspring/decimal"
)

// Denominator makes every amount exact: an hour is 3,600,000 ms, a
// CPU-second 1,000 millicores × 1,000 ms, a GB-second 1,024 MiB × 1,000
// ms, and their least common multiple is 1,152,000,000. An amount is kept
// as its value times Denominator, a terminating decimal.
const Denominator = 1_152_000_000

var denominator = decimal.NewFromInt(Denominator)

// Exact is an amount of money kept exactly: its value times Denominator.
type Exact struct{ n decimal.Decimal }

// ExactOf is the exact form of d.
func ExactOf(d decimal.Decimal) Exact { return Exact{n: d.Mul(denominator)} }

// Add is a + b.
func (a Exact) Add(b Exact) Exact { return Exact{n: a.n.Add(b.n)} }

// Sub is a − b.
func (a Exact) Sub(b Exact) Exact { return Exact{n: a.n.Sub(b.n)} }

// Cmp compares a with b.
func (a Exact) Cmp(b Exact) int { return a.n.Cmp(b.n) }

// Sign is -1, 0 or 1.
func (a Exact) Sign() int { return a.n.Sign() }

// MulRatio is a × num / den, rounded to the exact unit (an estimate).
func (a Exact) MulRatio(num, den int64) Exact {
	if den == 0 {
		return Exact{}
	}
	return Exact{n: a.n.Mul(decimal.NewFromInt(num)).DivRound(decimal.NewFromInt(den), 0)}
}

// Round is the amount rounded to places decimals, half away from zero.
func (a Exact) Round(places int32) decimal.Decimal { return a.n.DivRound(denominator, places) }

// Money formats a rounded amount with exactly places decimals.
func Money(d decimal.Decimal, places int32) string { return d.StringFixed(places) }

// Allocate rounds each part to places decimals so that the rounded parts
// sum exactly to the rounded sum of the parts (largest remainder: the
// units lost by rounding down go to the parts that lost most, ties to the
// earlier part). Parts are never negative.
func Allocate(parts []Exact, places int32) []decimal.Decimal {
	var total Exact
	for _, p := range parts {
		total = total.Add(p)
	}
	return AllocateTo(parts, total.Round(places), places)
}

// AllocateTo is Allocate towards a given rounded total, which must lie
// between the sum of the parts rounded down and that plus one unit per
// part (a group's total as its own parent allocated it).
func AllocateTo(parts []Exact, target decimal.Decimal, places int32) []decimal.Decimal {
	out := make([]decimal.Decimal, len(parts))
	if len(parts) == 0 {
		return out
	}
	unit := decimal.New(1, -places)
	rems := make([]decimal.Decimal, len(parts))
	sum := decimal.Zero
	for i, p := range parts {
		q, r := p.n.QuoRem(denominator, places)
		out[i], rems[i] = q, r
		sum = sum.Add(q)
	}
	missing := target.Sub(sum).Div(unit).IntPart()
	order := make([]int, len(parts))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return rems[b].Cmp(rems[a]) })
	for k := int64(0); k < missing && int(k) < len(order); k++ {
		out[order[k]] = out[order[k]].Add(unit)
	}
	return out
}

// minorUnits are the ISO 4217 currencies whose smallest unit is not a
// hundredth.
var minorUnits = map[string]int32{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

// MinorUnit is how many decimals the currency's smallest unit has.
func MinorUnit(currency string) int32 {
	if n, ok := minorUnits[currency]; ok {
		return n
	}
	return 2
}
