package domain

import "time"

// Schedule says when a failed delivery is tried again: after Base,
// doubling per attempt up to Max, until MaxAge has passed since the
// first attempt; then it is dead.
type Schedule struct {
	Base, Max, MaxAge time.Duration
}

// Next is when attempt number attempts+1 is due after attempts failed,
// and false once the delivery is older than MaxAge.
func (s Schedule) Next(attempts int, first, now time.Time) (time.Time, bool) {
	if now.Sub(first) >= s.MaxAge {
		return time.Time{}, false
	}
	d := s.Base
	for i := 1; i < attempts && d < s.Max; i++ {
		d *= 2
	}
	d = min(d, s.Max)
	next := now.Add(d)
	if deadline := first.Add(s.MaxAge); next.After(deadline) {
		next = deadline
	}
	return next, true
}
