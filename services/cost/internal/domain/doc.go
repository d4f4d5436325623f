// Package domain is the cost service's pure core: rate cards, money,
// meters, accrual, queries, budgets, spikes and the FOCUS export.
//
//	events ─▶ meters (marks, job runs, plans) ─▶ Lines (segments priced by SKU)
//	Lines × Grid(window, step) ─▶ usage per group, step and SKU (integers)
//	usage × rate card ─▶ Exact amounts ─▶ rounded with largest remainder
//
// Vocabulary:
//   - SKU: what a price is per — a driver's class per hour, a CPU-second,
//     a GB-second.
//   - Mark: a moment in a resource's life (start, change of class, stop),
//     keyed by the id of the event that told it, so a duplicate is a
//     no-op and order of arrival does not matter (marks sort by time).
//   - Plan: the resources a saga's cost check named, with their classes;
//     provisioning's results carry no class, so marks find theirs here.
//   - Segment: an interval in which a line uses one SKU at a constant
//     quantity per millisecond; open segments accrue up to "now", so the
//     spend so far is right at any moment.
//   - Exact: an amount times Denominator, exact in decimal; only answers
//     round, to the currency's minor unit, so that parts always sum to
//     their rounded total (largest remainder).
package domain
