package domain

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/shopspring/decimal"
	"go.yaml.in/yaml/v3"
)

// SKUKind is what a price is per.
type SKUKind uint8

// SKU kinds and the unit their quantities are counted in.
const (
	// SKUHours is a resource class per hour; quantity in milliseconds.
	SKUHours SKUKind = iota + 1
	// SKUCPU is a CPU-second; quantity in millicore-milliseconds.
	SKUCPU
	// SKUMemory is a GB-second (GiB); quantity in MiB-milliseconds.
	SKUMemory
)

// SKU is one priced thing.
type SKU struct {
	Kind   SKUKind
	Driver string
	Class  string
}

// factor turns a quantity of the SKU's unit into the Denominator's scale:
// Denominator divided by units per priced unit.
func (s SKU) factor() int64 {
	switch s.Kind {
	case SKUCPU:
		return Denominator / 1_000_000
	case SKUMemory:
		return Denominator / 1_024_000
	}
	return Denominator / 3_600_000
}

// Unit is the FOCUS pricing unit of the SKU (FOCUS unit format: a
// GiB is 1,024 MiB, which is what the card's gb_second prices).
func (s SKU) Unit() string {
	switch s.Kind {
	case SKUCPU:
		return "CPU-Seconds"
	case SKUMemory:
		return "GiB-Seconds"
	}
	return "Hours"
}

// Quantity converts a raw quantity into the SKU's pricing unit, rounded
// to places decimals (an hour is 3,600,000 ms, so hours do not always
// terminate).
func (s SKU) Quantity(raw int64, places int32) decimal.Decimal {
	per := map[SKUKind]int64{SKUHours: 3_600_000, SKUCPU: 1_000_000, SKUMemory: 1_024_000}[s.Kind]
	return decimal.NewFromInt(raw).DivRound(decimal.NewFromInt(per), places)
}

// RateCard holds every price, validated.
type RateCard struct {
	Currency string
	// Hourly is the price per hour of each driver's classes.
	Hourly    map[string]map[string]decimal.Decimal
	CPUSecond decimal.Decimal
	GBSecond  decimal.Decimal
}

// Places is how many decimals the currency's amounts are rounded to.
func (c RateCard) Places() int32 { return MinorUnit(c.Currency) }

// Price is the SKU's price; ok is false when the card has none.
func (c RateCard) Price(s SKU) (decimal.Decimal, bool) {
	switch s.Kind {
	case SKUCPU:
		return c.CPUSecond, true
	case SKUMemory:
		return c.GBSecond, true
	}
	p, ok := c.Hourly[s.Driver][s.Class]
	return p, ok
}

// Amount is the exact cost of raw units of the SKU; zero when unpriced.
func (c RateCard) Amount(s SKU, raw int64) Exact {
	p, ok := c.Price(s)
	if !ok || raw == 0 {
		return Exact{}
	}
	return Exact{n: p.Mul(decimal.NewFromInt(raw * s.factor()))}
}

// AmountOf is like Amount for quantities too large to multiply in int64.
func (c RateCard) AmountOf(s SKU, raw decimal.Decimal) Exact {
	p, ok := c.Price(s)
	if !ok {
		return Exact{}
	}
	return Exact{n: p.Mul(raw).Mul(decimal.NewFromInt(s.factor()))}
}

// FieldError names a field of an input and what is wrong with it.
type FieldError struct {
	Field   string
	Message string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// InputError is one or more field errors.
type InputError struct{ Fields []FieldError }

func (e *InputError) Error() string {
	msgs := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		msgs[i] = f.Error()
	}
	return strings.Join(msgs, "; ")
}

var (
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
	nameRE     = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// ErrRateCard marks a rate card that cannot be used.
var ErrRateCard = errors.New("invalid rate card")

// ParseRateCard reads a rate card (YAML). Prices are read from their text,
// never through a float. Every problem names its field.
func ParseRateCard(data []byte) (RateCard, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return RateCard{}, fmt.Errorf("%w: %v", ErrRateCard, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return RateCard{}, fmt.Errorf("%w: the file is not a YAML mapping", ErrRateCard)
	}
	c := RateCard{Hourly: map[string]map[string]decimal.Decimal{}}
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	seen := map[string]bool{}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i].Value, root.Content[i+1]
		seen[key] = true
		switch key {
		case "currency":
			c.Currency = val.Value
			if !currencyRE.MatchString(c.Currency) {
				add("currency", "%q is not an ISO 4217 code like USD", val.Value)
			}
		case "drivers":
			c.Hourly = drivers(val, add)
		case "jobs":
			c.CPUSecond, c.GBSecond = jobs(val, add)
		default:
			add(key, "unknown field (currency, drivers and jobs are known)")
		}
	}
	for _, k := range []string{"currency", "drivers", "jobs"} {
		if !seen[k] {
			add(k, "is required")
		}
	}
	if len(errs) > 0 {
		return RateCard{}, fmt.Errorf("%w: %w", ErrRateCard, &InputError{Fields: errs})
	}
	return c, nil
}

func drivers(n *yaml.Node, add func(string, string, ...any)) map[string]map[string]decimal.Decimal {
	out := map[string]map[string]decimal.Decimal{}
	if n.Kind != yaml.MappingNode {
		add("drivers", "must map each driver to its classes")
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		drv, classes := n.Content[i].Value, n.Content[i+1]
		field := "drivers." + drv
		if !slices.Contains([]string{"postgres", "redis", "nats", "http", "exec"}, drv) {
			add(field, "unknown driver (postgres, redis, nats, http, exec)")
			continue
		}
		if classes.Kind != yaml.MappingNode || len(classes.Content) == 0 {
			add(field, "must map each class to its price per hour")
			continue
		}
		out[drv] = map[string]decimal.Decimal{}
		for j := 0; j+1 < len(classes.Content); j += 2 {
			class := classes.Content[j].Value
			if !nameRE.MatchString(class) {
				add(field+"."+class, "a class is a DNS label")
				continue
			}
			if p, ok := price(classes.Content[j+1], field+"."+class, add); ok {
				out[drv][class] = p
			}
		}
	}
	return out
}

func jobs(n *yaml.Node, add func(string, string, ...any)) (cpu, gb decimal.Decimal) {
	if n.Kind != yaml.MappingNode {
		add("jobs", "must give cpu_second and gb_second")
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i].Value
		seen[key] = true
		switch key {
		case "cpu_second":
			cpu, _ = price(n.Content[i+1], "jobs.cpu_second", add)
		case "gb_second":
			gb, _ = price(n.Content[i+1], "jobs.gb_second", add)
		default:
			add("jobs."+key, "unknown field (cpu_second and gb_second are known)")
		}
	}
	for _, k := range []string{"cpu_second", "gb_second"} {
		if !seen[k] {
			add("jobs."+k, "is required")
		}
	}
	return cpu, gb
}

// price reads a scalar's text as a decimal price: never negative.
func price(n *yaml.Node, field string, add func(string, string, ...any)) (decimal.Decimal, bool) {
	if n.Kind != yaml.ScalarNode {
		add(field, "must be a price, like 0.025")
		return decimal.Decimal{}, false
	}
	p, err := decimal.NewFromString(n.Value)
	switch {
	case err != nil:
		add(field, "%q is not a decimal price", n.Value)
		return decimal.Decimal{}, false
	case p.IsNegative():
		add(field, "price %s is negative", n.Value)
		return decimal.Decimal{}, false
	}
	return p, true
}
