// Command kueuebench replays Kueue's own baseline performance scenario
// end to end through Pave: an embedded JetStream server (file storage,
// sync always), the scheduler service, and one `pave runner` per pool that
// runs every job as a real OS process (`sleep` for the job's runtime).
//
// Scenario (Kueue test/performance/scheduler, baseline): 5 pools of 120
// units; 6 teams per pool, each with nominal 20 and borrowing limit 100;
// each team receives 350 small (1 unit, 200 ms, priority 50), 100 medium
// (5 units, 500 ms, priority 100) and 50 large (20 units, 1 s, priority
// 200) workloads: 15,000 in all, all submitted at the start.
//
// Figures, as RESULT lines: wall time from the first submit to the last
// finish; mean usage of the nominal quota (admitted units over time,
// divided by the 600 units of quota, over the wall time); mean time from
// submit to admission per class. Kueue's published figures for the same
// scenario are printed beside them.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/natsfx"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/services/scheduler"
	"github.com/pave-platform/pave/services/scheduler/runner"
)

type class struct {
	name     string
	count    int
	units    int64
	runtime  time.Duration
	priority int
}

var classes = []class{
	{"large", 50, 20, time.Second, 200},
	{"medium", 100, 5, 500 * time.Millisecond, 100},
	{"small", 350, 1, 200 * time.Millisecond, 50},
}

// Kueue's published baseline figures.
var kueue = map[string]float64{"wall_s": 351, "usage_pct": 58.7, "large_s": 6.7, "medium_s": 76.8, "small_s": 215.5}

func main() {
	pools := flag.Int("pools", 5, "pools")
	teams := flag.Int("teams", 6, "teams per pool")
	scale := flag.Float64("scale", 1, "fraction of each class's count to submit (1 = the full scenario)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "kueuebench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*pools, *teams, *scale); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "kueuebench:", err)
		os.Exit(1)
	}
}

func run(nPools, nTeams int, scale float64) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "kueuebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := natsfx.StartEmbedded(natsfx.EmbeddedConfig{StoreDir: dir, Port: -1})
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	newBus := func() (*nats.Conn, *bus.Bus, error) {
		nc, err := nats.Connect(srv.ClientURL())
		if err != nil {
			return nil, nil, err
		}
		reg, err := schema.Default()
		if err != nil {
			return nil, nil, err
		}
		b, err := bus.New(nc, reg, schema.SubjectFor, bus.WithLogger(log))
		return nc, b, err
	}
	so := bus.DefaultStreamOptions()

	file := filepath.Join(dir, "pools.yaml")
	if err := os.WriteFile(file, []byte(poolsFile(nPools, nTeams)), 0o600); err != nil {
		return err
	}
	nc, b, err := newBus()
	if err != nil {
		return err
	}
	defer nc.Close()
	sched, err := scheduler.New(nc, b, so, nil, scheduler.Config{File: file, Tick: time.Second,
		RunnerTimeout: 10 * time.Second, LeaseTTL: 3 * time.Second}, log)
	if err != nil {
		return err
	}
	if err := sched.Start(ctx); err != nil {
		return err
	}
	defer func() { _ = sched.Stop(context.Background()) }()
	for p := range nPools {
		rnc, rb, err := newBus()
		if err != nil {
			return err
		}
		defer rnc.Close()
		r, err := runner.New(rb, so, runner.Config{Pool: pool(p), ID: "bench-" + pool(p),
			SpoolDir: filepath.Join(dir, "spool", pool(p))}, log)
		if err != nil {
			return err
		}
		if err := r.Start(ctx); err != nil {
			return err
		}
		defer func() { _ = r.Stop(context.Background()) }()
	}
	for !sched.Leading() {
		time.Sleep(10 * time.Millisecond)
	}

	var specs []events.WorkloadSpec
	for p := range nPools {
		for t := range nTeams {
			for _, c := range classes {
				for i := range max(1, int(float64(c.count)*scale)) {
					specs = append(specs, events.WorkloadSpec{
						ID: fmt.Sprintf("%s-%s-%d", team(p, t), c.name, i), Team: team(p, t), Pool: pool(p),
						Kind: events.WorkloadKindJob, Demand: map[string]int64{"units": c.units}, Priority: c.priority,
						Labels: map[string]string{"class": c.name},
						Job:    &events.JobSpec{Command: "sleep", Args: []string{fmt.Sprintf("%.3f", c.runtime.Seconds())}},
					})
				}
			}
		}
	}
	rec := newRecorder(specs)
	stopWatch, err := rec.watch(ctx, nc, b.JetStream())
	if err != nil {
		return err
	}
	defer stopWatch()

	start := time.Now()
	if err := submitAll(ctx, b, specs); err != nil {
		return err
	}
	submitted := time.Since(start)
	select {
	case <-rec.done:
	case <-time.After(15 * time.Minute):
		return fmt.Errorf("not done after 15 minutes: %d of %d finished", rec.finishedCount(), len(specs))
	}
	wall := time.Since(start)
	rec.report(wall, submitted, float64(nPools*nTeams*20), scale)
	if st, err := b.JetStream().Stream(ctx, "EVT_SCHEDULER"); err == nil {
		if info, err := st.Info(ctx); err == nil {
			fmt.Printf("RESULT scheduler.kueue_baseline.log_bytes_per_workload %.0f (EVT_SCHEDULER %d bytes, %d events)\n",
				float64(info.State.Bytes)/float64(len(specs)), info.State.Bytes, info.State.Msgs)
		}
	}
	return nil
}

func pool(p int) string    { return fmt.Sprintf("p%d", p) }
func team(p, t int) string { return fmt.Sprintf("p%d-t%d", p, t) }

func poolsFile(nPools, nTeams int) string {
	var s strings.Builder
	s.WriteString("pools:\n")
	for p := range nPools {
		fmt.Fprintf(&s, "  - name: %s\n    capacity: {units: %d}\n", pool(p), 20*nTeams)
	}
	s.WriteString("teams:\n")
	for p := range nPools {
		for t := range nTeams {
			fmt.Fprintf(&s, "  - name: %s\n    nominal: {%s: {units: 20}}\n    borrowingLimit: {%s: {units: 100}}\n",
				team(p, t), pool(p), pool(p))
		}
	}
	return s.String()
}

func submitAll(ctx context.Context, b *bus.Bus, specs []events.WorkloadSpec) error {
	work := make(chan events.WorkloadSpec)
	errs := make(chan error, 64)
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for s := range work {
				e, err := bus.NewEvent(s.ID+"/submit", "kueuebench", events.TypeSubmitCommand,
					events.SubmitCommand{Workload: s, SubmittedBy: "kueuebench"})
				if err == nil {
					e.SetSubject(s.ID)
					err = b.Publish(ctx, e)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for _, s := range specs {
		select {
		case work <- s:
		case err := <-errs:
			close(work)
			wg.Wait()
			return err
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// recorder follows the scheduler's log: admissions, ends, and the admitted
// units over time.
type recorder struct {
	mu        sync.Mutex
	class     map[string]string
	units     map[string]int64
	waited    map[string][]time.Duration
	admitted  map[string]bool
	finished  map[string]bool
	running   int64
	area      float64 // unit-seconds admitted
	last      time.Time
	first     time.Time
	total     int
	done      chan struct{}
	failures  []string
	preempted int
	// Where an admission's time goes besides the job itself: from the
	// admission to the runner's start (dispatch), and from the job's end
	// to the scheduler's record of it (report).
	startedAt map[string]time.Time
	reported  map[string][]time.Duration
	// stamps of each admission (workload/admission), to split the
	// admission-to-start time into its legs.
	stamps map[string]*stamps
}

// stamps are the moments of one admission on its way to the job's start:
// the pass that admitted it, the log's store of the admitted event
// (JetStream's clock), the run command's arrival at NATS (this process's
// clock), and the job's process start (the runner's); one machine's clock.
type stamps struct {
	class                                 string
	admitted, logged, dispatched, started time.Time
}

func admissionKey(id string, admission int) string { return fmt.Sprintf("%s/%d", id, admission) }

func (r *recorder) stampsOf(id string, admission int) *stamps {
	k := admissionKey(id, admission)
	s := r.stamps[k]
	if s == nil {
		s = &stamps{class: r.class[id]}
		r.stamps[k] = s
	}
	return s
}

func newRecorder(specs []events.WorkloadSpec) *recorder {
	r := &recorder{class: map[string]string{}, units: map[string]int64{}, waited: map[string][]time.Duration{},
		admitted: map[string]bool{}, finished: map[string]bool{}, total: len(specs), done: make(chan struct{}),
		startedAt: map[string]time.Time{},
		reported:  map[string][]time.Duration{}, stamps: map[string]*stamps{}}
	for _, s := range specs {
		r.class[s.ID] = s.Labels["class"]
		r.units[s.ID] = s.Demand["units"]
	}
	return r
}

func (r *recorder) watch(ctx context.Context, nc *nats.Conn, js jetstream.JetStream) (func(), error) {
	c, err := js.OrderedConsumer(ctx, "EVT_SCHEDULER", jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"pave.evt.scheduler.workload.>"}, DeliverPolicy: jetstream.DeliverNewPolicy})
	if err != nil {
		return nil, err
	}
	cc, err := c.Consume(func(m jetstream.Msg) {
		e, err := bus.Decode(m.Headers(), m.Data())
		md, merr := m.Metadata()
		if err == nil && merr == nil {
			r.apply(e.Type(), e.Data(), md.Timestamp)
		}
	})
	if err != nil {
		return nil, err
	}
	// CMD_RUNNER is a work queue, which admits no second consumer: the
	// run commands are seen as NATS carries them to it.
	sub, err := nc.Subscribe(events.RunnerSubjectRun+">", func(m *nats.Msg) {
		at := time.Now()
		e, err := bus.Decode(m.Header, m.Data)
		var cmd events.RunCommand
		if err == nil && json.Unmarshal(e.Data(), &cmd) == nil {
			r.dispatched(cmd.WorkloadID, cmd.Admission, at)
		}
	})
	if err != nil {
		cc.Stop()
		return nil, err
	}
	return func() { cc.Stop(); _ = sub.Unsubscribe() }, nil
}

func (r *recorder) dispatched(id string, admission int, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.class[id] != "" {
		r.stampsOf(id, admission).dispatched = at
	}
}

func (r *recorder) advance(at time.Time) {
	if !r.last.IsZero() && at.After(r.last) {
		r.area += float64(r.running) * at.Sub(r.last).Seconds()
	}
	if at.After(r.last) {
		r.last = at
	}
}

func (r *recorder) apply(typ string, data []byte, stored time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var d struct {
		WorkloadID string    `json:"workload_id"`
		WaitedMS   int64     `json:"waited_ms"`
		Admission  int       `json:"admission"`
		Reason     string    `json:"reason"`
		DurationMS int64     `json:"duration_ms"`
		At         time.Time `json:"at"`
	}
	if json.Unmarshal(data, &d) != nil || r.class[d.WorkloadID] == "" {
		return
	}
	switch typ {
	case events.TypeWorkloadAdmitted:
		if r.first.IsZero() {
			r.first = d.At
		}
		r.advance(d.At)
		r.running += r.units[d.WorkloadID]
		st := r.stampsOf(d.WorkloadID, d.Admission)
		st.admitted, st.logged = d.At, stored
		if !r.admitted[d.WorkloadID] {
			r.admitted[d.WorkloadID] = true
			r.waited[r.class[d.WorkloadID]] = append(r.waited[r.class[d.WorkloadID]], time.Duration(d.WaitedMS)*time.Millisecond)
		}
	case events.TypeWorkloadStarted:
		r.startedAt[d.WorkloadID] = d.At
		r.stampsOf(d.WorkloadID, d.Admission).started = d.At
	case events.TypeWorkloadPreempted, events.TypeWorkloadRequeued:
		r.advance(d.At)
		r.running -= r.units[d.WorkloadID]
		r.preempted++
	case events.TypeWorkloadFinished, events.TypeWorkloadFailed:
		r.advance(d.At)
		r.running -= r.units[d.WorkloadID]
		if at, ok := r.startedAt[d.WorkloadID]; ok && typ == events.TypeWorkloadFinished {
			c := r.class[d.WorkloadID]
			r.reported[c] = append(r.reported[c], d.At.Sub(at)-time.Duration(d.DurationMS)*time.Millisecond)
		}
		if typ == events.TypeWorkloadFailed {
			r.failures = append(r.failures, d.WorkloadID+": "+d.Reason)
		}
		if !r.finished[d.WorkloadID] {
			r.finished[d.WorkloadID] = true
			if len(r.finished) == r.total {
				close(r.done)
			}
		}
	}
}

func mean(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum.Seconds() / float64(len(ds))
}

// quantile is the q-quantile of ds (nearest rank); 0 for none.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// legs are an admission's ways to its start, per class: in all, and split
// where the admission was logged and its run command stored.
type legs struct{ total, log, dispatch, pickup []time.Duration }

func (r *recorder) legs() map[string]*legs {
	out := map[string]*legs{}
	for _, s := range r.stamps {
		if s.admitted.IsZero() || s.started.IsZero() {
			continue
		}
		l := out[s.class]
		if l == nil {
			l = &legs{}
			out[s.class] = l
		}
		l.total = append(l.total, s.started.Sub(s.admitted))
		if !s.logged.IsZero() && !s.dispatched.IsZero() {
			l.log = append(l.log, s.logged.Sub(s.admitted))
			l.dispatch = append(l.dispatch, s.dispatched.Sub(s.logged))
			l.pickup = append(l.pickup, s.started.Sub(s.dispatched))
		}
	}
	for _, c := range classes {
		if out[c.name] == nil {
			out[c.name] = &legs{}
		}
	}
	return out
}

func (r *recorder) finishedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.finished)
}

func (r *recorder) report(wall, submitted time.Duration, quota, scale float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	usage := 100 * r.area / (quota * wall.Seconds())
	// The scenario's own lower bound: its work (unit-seconds) over the
	// capacity (the quota, all of it lent and borrowed), with no overhead.
	var work float64
	for id, c := range r.class {
		for _, k := range classes {
			if k.name == c {
				work += float64(r.units[id]) * k.runtime.Seconds()
			}
		}
	}
	bound := work / quota
	fmt.Printf("RESULT scheduler.kueue_baseline.lower_bound_s %.1f s (work / capacity)\n", bound)
	fmt.Printf("RESULT scheduler.kueue_baseline.wall_over_bound %.2f x (target <= 1.35)\n", wall.Seconds()/bound)
	if up, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("RESULT scheduler.kueue_baseline.loadavg %s (1, 5, 15 min, as /proc/loadavg says at the end)\n",
			strings.Join(strings.Fields(string(up))[:3], " "))
	}
	fmt.Printf("RESULT scheduler.kueue_baseline.wall_s %.1f s (kueue %.0f; target <= 90) workloads=%d scale=%g submit_s=%.1f\n",
		wall.Seconds(), kueue["wall_s"], r.total, scale, submitted.Seconds())
	fmt.Printf("RESULT scheduler.kueue_baseline.usage_pct %.1f %% (kueue %.1f; target >= 80)\n", usage, kueue["usage_pct"])
	names := make([]string, 0, len(r.waited))
	for n := range r.waited {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Printf("RESULT scheduler.kueue_baseline.time_to_admission_%s_s %.1f s (kueue %.1f)\n", n, mean(r.waited[n]), kueue[n+"_s"])
	}
	legs := r.legs()
	for _, n := range names {
		l := legs[n]
		fmt.Printf("RESULT scheduler.kueue_baseline.admission_to_start_%s_ms %.0f ms (mean; the admitted event to the job's process start)\n",
			n, 1000*mean(l.total))
		fmt.Printf("RESULT scheduler.kueue_baseline.admission_to_start_%s_p50_ms %.0f ms\n", n, ms(quantile(l.total, 0.5)))
		fmt.Printf("RESULT scheduler.kueue_baseline.admission_to_start_%s_p99_ms %.0f ms\n", n, ms(quantile(l.total, 0.99)))
		fmt.Printf("RESULT scheduler.kueue_baseline.admission_to_start_%s_legs_ms log=%.0f/%.0f dispatch=%.0f/%.0f pickup=%.0f/%.0f (p50/p99: pass to logged; logged to run command sent; sent to process start)\n",
			n, ms(quantile(l.log, 0.5)), ms(quantile(l.log, 0.99)), ms(quantile(l.dispatch, 0.5)), ms(quantile(l.dispatch, 0.99)),
			ms(quantile(l.pickup, 0.5)), ms(quantile(l.pickup, 0.99)))
	}
	for _, n := range names {
		fmt.Printf("RESULT scheduler.kueue_baseline.overhead_%s_ms dispatch=%.0f report=%.0f (mean: admitted to started; job end to recorded)\n",
			n, 1000*mean(legs[n].total), 1000*mean(r.reported[n]))
	}
	fmt.Printf("RESULT scheduler.kueue_baseline.failed %d (preemptions %d)\n", len(r.failures), r.preempted)
	for i, f := range r.failures {
		if i == 5 {
			break
		}
		fmt.Println("  failed:", f)
	}
}
