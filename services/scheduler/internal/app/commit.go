package app

import "github.com/pave-platform/pave/pkg/events"

// queuedRun is a job to dispatch once the first logged events of its
// batch are in the log: those up to its admission.
type queuedRun struct {
	run    events.RunCommand
	logged int
}

// dispatch queues a run command behind the events emitted so far.
func (t *tx) dispatch(r events.RunCommand) {
	t.runs = append(t.runs, queuedRun{run: r, logged: len(t.msgs)})
}

// commitChunk is how many events are appended before the jobs admitted
// among them are dispatched: a large batch's first admissions need not
// wait for its last events.
const commitChunk = 128

// commit appends the batch's events, dispatching each admitted job as soon
// as its admission is in the log, then answers the batch's inputs. A
// failed append means the state is ahead of the log: the leader stops and
// a new one rebuilds.
func (l *Leader) commit(t *tx) error {
	runs := t.runs
	for start := 0; start < len(t.msgs); start += commitChunk {
		end := min(start+commitChunk, len(t.msgs))
		if err := l.log.Append(t.ctx, t.msgs[start:end]); err != nil {
			l.release(t.inputs, err)
			return err
		}
		for len(runs) > 0 && runs[0].logged <= end {
			l.dispatch <- runs[0].run
			runs = runs[1:]
		}
	}
	for _, r := range runs { // held runs of a batch that logged nothing
		l.dispatch <- r.run
	}
	l.release(t.inputs, nil)
	l.opts.Metrics.committed(t.admitted)
	return nil
}

// committer commits the loop's batches one after the other while the
// loop works out the next one, so the log's writes (an fsync each) and
// the decisions overlap instead of taking turns. What an answer or a
// dispatch stands for is still in the log before it goes out: a batch is
// committed only after the one before it, and the state it saw is that
// of the batches before it. After a failed append no later batch is
// appended; their inputs get the error.
type committer struct {
	l      *Leader
	next   chan *tx   // unbuffered: taken once the committer is free
	failed chan error // the failed append, once
	done   chan struct{}
	// The loop's side: the batch decided but not handed over yet; what
	// failed, once the loop has read it.
	pending *tx
	err     error
}

func (l *Leader) startCommitter() *committer {
	c := &committer{l: l, next: make(chan *tx), failed: make(chan error, 1), done: make(chan struct{})}
	go c.run()
	return c
}

func (c *committer) run() {
	defer close(c.done)
	var err error
	for t := range c.next {
		switch {
		case t.flushed != nil:
			close(t.flushed)
		case err != nil:
			c.l.release(t.inputs, err)
		default:
			if err = c.l.commit(t); err != nil {
				c.failed <- err
			}
		}
	}
}

// add takes a batch the loop decided: it goes over at once if the
// committer is free, else it waits for the loop's next handPending. It
// returns the error of an append that failed, and then answers the
// inputs with it.
func (c *committer) add(t *tx) error {
	if c.err != nil {
		c.l.release(t.inputs, c.err)
		return c.err
	}
	if len(t.msgs)+len(t.inputs)+len(t.runs) == 0 {
		return nil
	}
	c.pending = t
	select {
	case c.next <- t:
		c.pending = nil
		return nil
	case err := <-c.failed:
		return c.fail(err)
	default:
		return nil
	}
}

// handPending waits until the committer takes the pending batch.
func (c *committer) handPending() error {
	if c.err != nil || c.pending == nil {
		return c.fail(c.err)
	}
	select {
	case c.next <- c.pending:
		c.pending = nil
		return nil
	case err := <-c.failed:
		return c.fail(err)
	}
}

// fail records what failed and answers the pending inputs with it.
func (c *committer) fail(err error) error {
	if err == nil {
		return nil
	}
	c.err = err
	if c.pending != nil {
		c.l.release(c.pending.inputs, err)
		c.pending = nil
	}
	return err
}

// flush returns once every batch decided is committed, or with the error
// of the append that failed.
func (c *committer) flush() error {
	if err := c.handPending(); err != nil {
		return err
	}
	mark := &tx{flushed: make(chan struct{})}
	select {
	case c.next <- mark:
	case err := <-c.failed:
		return c.fail(err)
	}
	<-mark.flushed
	select {
	case err := <-c.failed:
		return c.fail(err)
	default:
		return c.err
	}
}

// stop commits what was decided and ends the committer; the error is that
// of a failed append the loop has not returned yet.
func (c *committer) stop() error {
	err := c.handPending()
	close(c.next)
	<-c.done
	select {
	case ferr := <-c.failed:
		err = c.fail(ferr)
	default:
	}
	return err
}
