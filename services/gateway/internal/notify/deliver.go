package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/kv"
	"github.com/pave-platform/pave/services/gateway/internal/notify/domain"
)

// Retryable outcomes the bus redelivers (after at most PAVE_NOTIFY_POLL).
var (
	errWaiting = errors.New("waiting for the delivery before it in its ordering key")
	errNotYet  = errors.New("next attempt not due yet")
)

// Deliverer sends delivery commands: in chain order per ordering key,
// signed, retried on the schedule until RetryFor, then dead-lettered
// with the reason. Its progress lives in the chains and deliveries
// tables, so a restart of the deliverer or of NATS loses nothing and
// sends a delivered event again only if it crashed between the
// receiver's answer and the record (at least once; webhook-id is the
// event id, for the receiver to deduplicate).
type Deliverer struct {
	st     *Stores
	index  *Index
	pub    Publisher
	client *http.Client
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
}

// NewDeliverer is the deliverer; client must be the guarded one.
func NewDeliverer(st *Stores, index *Index, pub Publisher, client *http.Client, cfg Config, log *slog.Logger) *Deliverer {
	return &Deliverer{st: st, index: index, pub: pub, client: client, cfg: cfg, log: log, now: time.Now}
}

// Handle is the bus handler of one delivery command.
func (d *Deliverer) Handle(ctx context.Context, e event.Event) error {
	var cmd events.NotifyDeliver
	if err := json.Unmarshal(e.Data(), &cmd); err != nil {
		return bus.Permanent(fmt.Errorf("delivery %s: %w", e.ID(), err))
	}
	var orig event.Event
	if err := json.Unmarshal(cmd.Event, &orig); err != nil {
		return bus.Permanent(fmt.Errorf("delivery %s: event: %w", e.ID(), err))
	}
	chain, chainRev, err := d.st.Chains.Get(ctx, cmd.Key)
	if err != nil && !errors.Is(err, kv.ErrNotFound) {
		return err
	}
	switch {
	case chain.Done >= cmd.Seq:
		return nil // done before a crash or a redelivery
	case chain.Done+1 < cmd.Seq:
		return errWaiting
	}
	sub, err := d.subscription(ctx, cmd.Subscription)
	if errors.Is(err, kv.ErrNotFound) {
		return d.st.Complete(ctx, cmd.Key, cmd.Seq) // deleted: nothing to send
	}
	if err != nil {
		return err
	}
	return d.deliver(ctx, sub, cmd, orig, chainAt{chain, chainRev})
}

// chainAt is the chain as read before the attempt: finishing writes it
// at that revision (one round trip), or updates it when it changed.
type chainAt struct {
	c   Chain
	rev uint64
}

func (d *Deliverer) subscription(ctx context.Context, id string) (domain.Subscription, error) {
	if s, ok := d.index.Get(id); ok {
		return s, nil
	}
	s, _, err := d.st.Subs.Get(ctx, id)
	return s, err
}

func (d *Deliverer) deliver(ctx context.Context, sub domain.Subscription, cmd events.NotifyDeliver, orig event.Event, ch chainAt) error {
	key := deliveryKey(sub.ID, orig.ID(), cmd.Replay)
	now := d.now().UTC()
	del, rev, err := d.st.Deliveries.Get(ctx, key)
	switch {
	case errors.Is(err, kv.ErrNotFound):
		del = Delivery{ID: key, Subscription: sub.ID, EventID: orig.ID(), EventType: orig.Type(), Subject: orig.Subject(),
			Replay: cmd.Replay, Seq: cmd.Seq, State: DeliveryPending, CreatedAt: now, EventTime: orig.Time().UTC()}
	case err != nil:
		return err
	case del.State != DeliveryPending:
		return d.complete(ctx, cmd, ch)
	case del.NextAttempt != nil && now.Before(*del.NextAttempt):
		return errNotYet
	}
	if sub.State != domain.StateActive {
		del.State, del.Reason, del.UpdatedAt = DeliverySkipped, "subscription disabled: "+sub.DisabledReason, now
		return d.finish(ctx, del, rev, cmd, ch)
	}
	start := d.now()
	status, aerr := d.attempt(ctx, sub, orig, now)
	a := Attempt{At: now, Status: status, DurationMS: d.now().Sub(start).Milliseconds()}
	if aerr != nil {
		a.Error = aerr.Error()
	}
	del.record(a)
	del.UpdatedAt = now
	if del.FirstAttempt == nil {
		del.FirstAttempt = &now
	}
	if aerr == nil {
		del.State, del.NextAttempt, del.Reason = DeliveryDelivered, nil, ""
		if err := d.finish(ctx, del, rev, cmd, ch); err != nil {
			return err
		}
		return d.succeeded(ctx, sub)
	}
	next, ok := d.cfg.schedule().Next(del.AttemptCount, *del.FirstAttempt, now)
	if !ok {
		del.State, del.NextAttempt = DeliveryDead, nil
		del.Reason = fmt.Sprintf("gave up after %d attempts over %s: %v", del.AttemptCount, now.Sub(*del.FirstAttempt).Round(time.Second), aerr)
		if err := d.finish(ctx, del, rev, cmd, ch); err != nil {
			return err
		}
		_ = d.failed(ctx, sub, aerr, now)
		return bus.Permanent(fmt.Errorf("delivery %s to %s: %s", orig.ID(), sub.ID, del.Reason))
	}
	del.NextAttempt = &next
	if _, err := d.st.Deliveries.Write(ctx, key, del, rev); err != nil {
		return err
	}
	if err := d.failed(ctx, sub, aerr, now); err != nil {
		return err
	}
	return fmt.Errorf("delivery %s to %s, attempt %d: %w", orig.ID(), sub.ID, del.AttemptCount, aerr)
}

// finish stores the final state and lets the next delivery of the chain go.
func (d *Deliverer) finish(ctx context.Context, del Delivery, rev uint64, cmd events.NotifyDeliver, ch chainAt) error {
	if _, err := d.st.Deliveries.Write(ctx, del.ID, del, rev); err != nil {
		return err
	}
	return d.complete(ctx, cmd, ch)
}

// complete marks the delivery done in its chain: at the revision read
// first, else (the fan-out numbered another meanwhile) by update.
func (d *Deliverer) complete(ctx context.Context, cmd events.NotifyDeliver, ch chainAt) error {
	if ch.rev != 0 {
		c := ch.c
		c.Done = cmd.Seq
		if _, err := d.st.Chains.Write(ctx, cmd.Key, c, ch.rev); err == nil {
			return nil
		}
	}
	return d.st.Complete(ctx, cmd.Key, cmd.Seq)
}

// attempt sends the event once; nil only for a 2xx answer.
func (d *Deliverer) attempt(ctx context.Context, sub domain.Subscription, e event.Event, now time.Time) (int, error) {
	r, err := domain.Render(sub.Format, e)
	if err != nil {
		return 0, err
	}
	sig, err := domain.Sign(sub.ValidSecrets(now), e.ID(), now, r.Body)
	if err != nil {
		return 0, err
	}
	actx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, sub.URL, bytes.NewReader(r.Body))
	if err != nil {
		return 0, err
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	req.Header.Set(domain.HeaderID, e.ID())
	req.Header.Set(domain.HeaderTimestamp, fmt.Sprint(now.Unix()))
	req.Header.Set(domain.HeaderSignature, sig)
	req.Header.Set("User-Agent", "Pave-Notify/1")
	resp, err := d.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is the subscription's, not news
		}
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return resp.StatusCode, nil
}

// succeeded clears the subscription's failing mark.
func (d *Deliverer) succeeded(ctx context.Context, sub domain.Subscription) error {
	if sub.FailingSince == nil {
		return nil
	}
	s, _, err := d.st.Subs.Update(ctx, sub.ID, func(s *domain.Subscription) error {
		if s.FailingSince == nil {
			return kv.ErrUnchanged
		}
		s.FailingSince = nil
		return nil
	})
	if err == nil {
		d.index.Put(s)
	}
	return err
}

// failed marks the subscription failing and, once it has failed for
// DisableAfter, disables it and tells its owner (an event, folded into an
// alert).
func (d *Deliverer) failed(ctx context.Context, sub domain.Subscription, cause error, now time.Time) error {
	if sub.FailingSince != nil && now.Sub(*sub.FailingSince) < d.cfg.DisableAfter {
		return nil
	}
	disabled := false
	s, _, err := d.st.Subs.Update(ctx, sub.ID, func(s *domain.Subscription) error {
		switch {
		case s.State != domain.StateActive:
			return kv.ErrUnchanged
		case s.FailingSince == nil:
			s.FailingSince = &now
		case now.Sub(*s.FailingSince) >= d.cfg.DisableAfter:
			s.State, s.DisabledAt, disabled = domain.StateDisabled, &now, true
			s.DisabledReason = fmt.Sprintf("failing since %s: %v", s.FailingSince.Format(time.RFC3339), cause)
		default:
			return kv.ErrUnchanged
		}
		return nil
	})
	if err != nil {
		return err
	}
	d.index.Put(s)
	if !disabled {
		return nil
	}
	u, _ := url.Parse(s.URL)
	notice, err := bus.NewEvent("subscription-disabled/"+s.ID+"/"+fmt.Sprint(s.FailingSince.Unix()), "pave/gateway/notify",
		events.TypeSubscriptionDisabled, events.SubscriptionDisabled{Subscription: s.ID, Team: s.Team, Owner: s.CreatedBy,
			Host: u.Host, Reason: s.DisabledReason, FailingSince: *s.FailingSince, DisabledAt: now})
	if err != nil {
		return err
	}
	notice.SetSubject(s.ID)
	d.log.WarnContext(ctx, "subscription disabled", "subscription", s.ID, "reason", s.DisabledReason)
	return d.pub.Publish(ctx, notice)
}
