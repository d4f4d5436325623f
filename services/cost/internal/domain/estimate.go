package domain

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// HoursPerMonth is the FinOps convention for a month's hours (365×24/12).
const HoursPerMonth = 730

// ResourceEstimate is one resource's price.
type ResourceEstimate struct {
	Name    string
	Driver  string
	Class   string
	Hourly  decimal.Decimal
	Monthly decimal.Decimal
}

// Estimate is a set of resources' price per hour and per month.
type Estimate struct {
	Resources []ResourceEstimate
	Hourly    decimal.Decimal
	Monthly   decimal.Decimal
}

// EstimateOf prices resources; a class the card has no price for is an
// error naming resources.<name>.class.
func EstimateOf(card RateCard, rs []PlannedResource) (Estimate, error) {
	var est Estimate
	var errs []FieldError
	for _, r := range rs {
		p, ok := card.Price(SKU{Kind: SKUHours, Driver: r.Driver, Class: r.Class})
		if !ok {
			errs = append(errs, FieldError{Field: "resources." + r.Name + ".class",
				Message: fmt.Sprintf("the rate card has no price for %s class %q", r.Driver, r.Class)})
			continue
		}
		est.Resources = append(est.Resources, ResourceEstimate{Name: r.Name, Driver: r.Driver, Class: r.Class,
			Hourly: p, Monthly: p.Mul(decimal.NewFromInt(HoursPerMonth))})
		est.Hourly = est.Hourly.Add(p)
	}
	est.Monthly = est.Hourly.Mul(decimal.NewFromInt(HoursPerMonth))
	if len(errs) > 0 {
		return est, &InputError{Fields: errs}
	}
	return est, nil
}

// hourlyFor is what rs cost per hour; unpriced classes count nothing.
func hourlyFor(card RateCard, rs []PlannedResource) decimal.Decimal {
	sum := decimal.Zero
	for _, r := range rs {
		if p, ok := card.Price(SKU{Kind: SKUHours, Driver: r.Driver, Class: r.Class}); ok {
			sum = sum.Add(p)
		}
	}
	return sum
}

// overHours is an hourly price over a span, exactly.
func overHours(hourly decimal.Decimal, d time.Duration) Exact {
	if d <= 0 {
		return Exact{}
	}
	return Exact{n: hourly.Mul(decimal.NewFromInt(d.Milliseconds() * (Denominator / 3_600_000)))}
}
