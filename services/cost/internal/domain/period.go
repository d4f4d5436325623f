package domain

import "time"

// Budget periods.
const (
	PeriodMonthly = "monthly"
	PeriodWeekly  = "weekly"
)

// PeriodBounds is the budget period holding t: a calendar month, or an
// ISO week from Monday, in UTC.
func PeriodBounds(period string, t time.Time) (time.Time, time.Time) {
	t = t.UTC()
	if period == PeriodWeekly {
		day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		start := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
		return start, start.AddDate(0, 0, 7)
	}
	start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(0, 1, 0)
}
