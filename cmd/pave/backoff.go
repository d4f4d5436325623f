package main

import "time"

// backoff is how long a wait loop leaves between two polls: First, then
// doubling up to Max. A client waiting on a minute-long job thus asks 17
// times instead of 300, and one waiting an hour about 720 times.
type backoff struct {
	First, Max time.Duration
	next       time.Duration
}

// workloadPoll paces `pave workloads submit --wait` (the API has no event
// stream for workloads yet); promotionPoll `pave promote --wait`.
var (
	workloadPoll  = backoff{First: 200 * time.Millisecond, Max: 5 * time.Second}
	promotionPoll = backoff{First: 500 * time.Millisecond, Max: 5 * time.Second}
)

// envPollMax bounds the environment wait's backoff when its event stream
// is unavailable (it starts at pollInterval).
const envPollMax = 5 * time.Second

// Next is the wait before the next poll.
func (b *backoff) Next() time.Duration {
	if b.next == 0 {
		b.next = b.First
	}
	d := b.next
	b.next = min(2*b.next, b.Max)
	return d
}

// maxPolls is the most polls a loop paced by b can make in d: the first
// at once, then one after each wait that fits.
func (b backoff) maxPolls(d time.Duration) int {
	n, spent := 1, time.Duration(0)
	for {
		spent += b.Next()
		if spent > d {
			return n
		}
		n++
	}
}
