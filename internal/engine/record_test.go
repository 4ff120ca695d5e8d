package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/legacyrule"
)

// syncBuffer is a log sink safe for concurrent sweeps.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines are the JSON records written, as maps.
func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// audited is an engine whose decision log and metrics are kept.
func audited(t *testing.T, cfg Config, rules ...rule.Rule) (*Engine, *notes, *syncBuffer, *syncBuffer) {
	e, n, _ := newEngine(t, cfg, false, rules...)
	logs, metrics := &syncBuffer{}, &syncBuffer{}
	e.Log, e.Metrics = slog.New(slog.NewJSONHandler(logs, nil)), metrics
	return e, n, logs, metrics
}

func count(recs []map[string]any, key, value string) int {
	n := 0
	for _, r := range recs {
		if fmt.Sprint(r[key]) == value {
			n++
		}
	}
	return n
}

type failingEvals struct{}

func (failingEvals) PutEvaluations(context.Context, string, []cfgtypes.Evaluation) error {
	return errors.New("throttled for good")
}

const scheduled = `{"invokingEvent":"{\"messageType\":\"ScheduledNotification\",\"notificationCreationTime\":\"2026-11-26T11:30:00.000Z\"}","resultToken":"tok","configRuleName":"rampart-fake"}`

func TestDecisionsAreRecordedEvenWhenReportingFails(t *testing.T) {
	f := newFake("fake")
	for i := range 6 {
		f.state[fmt.Sprint("r", i)] = i%2 == 0
	}
	e, _, logs, metrics := audited(t, Config{Mode: Enforce}, f)
	e.Evaluator = failingEvals{}
	_, err := e.Handle(context.Background(), []byte(scheduled))
	if err == nil || !strings.Contains(err.Error(), "throttled for good") {
		t.Fatalf("err = %v", err)
	}
	// The three remediations were applied before PutEvaluations failed:
	// each is in the log and the metrics all the same.
	recs := logs.lines(t)
	if got := count(recs, "msg", "decision"); got != 6 {
		t.Fatalf("%d decision records, want 6: %v", got, recs)
	}
	if got := count(recs, "verdict", "violation"); got != 3 || len(f.applied) != 6 {
		t.Fatalf("%d violations logged, applied %v", got, f.applied)
	}
	sums := map[string]float64{}
	for _, m := range metrics.lines(t) {
		for _, k := range []string{"Decisions", "Violations", "Remediated"} {
			v, _ := m[k].(float64)
			sums[k] += v
		}
	}
	if sums["Decisions"] != 6 || sums["Violations"] != 3 || sums["Remediated"] != 3 {
		t.Fatalf("metrics %v", sums)
	}
}

func TestEveryDecisionIsRecordedOnce(t *testing.T) {
	// An ignored call (no rule evaluates it) and an evaluated one: each
	// record exactly once, whichever path made it.
	f := newFake("fake")
	f.state["r1"] = true
	e, _, logs, _ := audited(t, Config{Mode: Report}, f)
	if _, err := e.Handle(context.Background(), call("r1", alice, opsRole, "")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Handle(context.Background(), call("r1", alice, opsRole, "AccessDenied")); err != nil {
		t.Fatal(err)
	}
	recs := logs.lines(t)
	if count(recs, "msg", "decision") != 2 || count(recs, "verdict", "violation") != 1 || count(recs, "verdict", "ignored") != 1 {
		t.Fatalf("records %v", recs)
	}
}

// slow evaluates each target in d and counts how many run at once.
type slow struct {
	*fakeRule
	d             time.Duration
	running, peak atomic.Int32
}

func (s *slow) Evaluate(ctx context.Context, sess *awsclient.Session, t rule.Target, p rule.Params) (rule.Finding, error) {
	n := s.running.Add(1)
	defer s.running.Add(-1)
	for {
		old := s.peak.Load()
		if n <= old || s.peak.CompareAndSwap(old, n) {
			break
		}
	}
	time.Sleep(s.d)
	return s.fakeRule.Evaluate(ctx, sess, t, p)
}

func TestSweepsAreConcurrentBoundedAndInOrder(t *testing.T) {
	for _, limit := range []int{1, 4} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			s := &slow{fakeRule: newFake("fake"), d: 20 * time.Millisecond}
			for i := range 24 {
				s.state[fmt.Sprintf("r%02d", i)] = i%3 == 0
			}
			e, _, ev := newEngine(t, Config{Mode: Enforce}, false, s)
			e.SweepConcurrency = limit
			res, err := e.Handle(context.Background(), []byte(scheduled))
			if err != nil {
				t.Fatal(err)
			}
			if p := s.peak.Load(); p != int32(limit) {
				t.Fatalf("peak concurrency %d, want %d", p, limit)
			}
			// The result keeps the sweep's order, and so do the evaluations.
			targets, _ := s.Sweep(context.Background(), nil, nil)
			if len(res.Decisions) != 24 || len(ev.got) != 24 {
				t.Fatalf("%d decisions, %d evaluations", len(res.Decisions), len(ev.got))
			}
			for i, d := range res.Decisions {
				_ = targets
				if *ev.got[i].ComplianceResourceId != d.Resource {
					t.Fatalf("evaluation %d is %s, decision %s", i, *ev.got[i].ComplianceResourceId, d.Resource)
				}
				if want := s.state[d.Resource]; want {
					t.Fatalf("%s still violating after enforce", d.Resource)
				}
			}
		})
	}
}

// fixedOrder sweeps its targets in a known order.
type fixedOrder struct {
	*slow
	ids []string
}

func (f fixedOrder) Sweep(context.Context, *awsclient.Session, rule.Params) ([]rule.Target, error) {
	var out []rule.Target
	for _, id := range f.ids {
		out = append(out, rule.Target{Type: "AWS::Test::Thing", ID: id})
	}
	return out, nil
}

func TestDecisionOrderFollowsTheSweep(t *testing.T) {
	s := &slow{fakeRule: newFake("fake"), d: time.Millisecond}
	var ids []string
	for i := range 40 {
		ids = append(ids, fmt.Sprintf("z%02d", 39-i))
		s.state[ids[i]] = false
	}
	e, _, _ := newEngine(t, Config{Mode: Report}, false, fixedOrder{s, ids})
	e.SweepConcurrency = 8
	res, err := e.Handle(context.Background(), []byte(scheduled))
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range res.Decisions {
		if d.Resource != ids[i] {
			t.Fatalf("decision %d is %s, want %s", i, d.Resource, ids[i])
		}
	}
}

func TestTheDeadlineBudgetStopsNewWork(t *testing.T) {
	s := &slow{fakeRule: newFake("fake"), d: 50 * time.Millisecond}
	for i := range 40 {
		s.state[fmt.Sprintf("r%02d", i)] = true
	}
	e, n, ev := newEngine(t, Config{Mode: Enforce}, false, s)
	e.SweepConcurrency, e.ReportReserve = 2, 300*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 800*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := e.Handle(ctx, []byte(scheduled))
	if !errors.Is(err, ErrFailed) || res == nil {
		t.Fatalf("err = %v", err)
	}
	if took := time.Since(start); took > 650*time.Millisecond {
		t.Fatalf("took %s: work went on into the reporting reserve", took)
	}
	var done, skipped int
	for _, d := range res.Decisions {
		switch {
		case d.Reason == NotEvaluatedReason && d.Verdict == ErrorVerdict && d.Failed():
			skipped++
		case d.Verdict == rule.Violation && d.Actions[0].Outcome == rule.Applied:
			done++
		default:
			t.Fatalf("decision %+v", d)
		}
	}
	// About 500ms of budget at 2 × 50ms: some 20 decided, the rest not.
	if done < 10 || skipped < 10 || done+skipped != 40 {
		t.Fatalf("%d decided, %d not evaluated", done, skipped)
	}
	if len(ev.got) != done || len(n.sent) != done {
		t.Fatalf("%d evaluations, %d notifications for %d decisions", len(ev.got), len(n.sent), done)
	}
}

type failingNotes struct {
	mu    sync.Mutex
	fail  bool
	tries int
	sent  []string
}

func (n *failingNotes) Notify(_ context.Context, d *report.Decision) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.tries++
	if n.fail {
		return errors.New("topic not found")
	}
	n.sent = append(n.sent, report.Subject(d))
	return nil
}

func TestAnUndeliveredNotificationFailsTheInvocationAndIsResent(t *testing.T) {
	f := newFake("fake")
	f.state["r1"] = true
	e, _, logs, metrics := audited(t, Config{Mode: Enforce}, f)
	fn := &failingNotes{fail: true}
	e.Notifier = &report.Retry{Next: fn, Attempts: 3, Backoff: time.Millisecond}
	res, err := e.Handle(context.Background(), call("r1", alice, opsRole, ""))
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("err = %v", err)
	}
	d := res.Decisions[0]
	if d.Actions[0].Outcome != rule.Applied || !strings.Contains(d.Error, "notification not delivered") || fn.tries != 3 {
		t.Fatalf("decision %+v after %d tries", d, fn.tries)
	}
	if e.Pending() != 1 || count(metrics.lines(t), "NotifyFailed", "1") != 1 {
		t.Fatalf("pending %d, metrics %v", e.Pending(), metrics.lines(t))
	}
	// The message itself is in the log.
	if recs := logs.lines(t); count(recs, "msg", "notify") != 1 || !strings.Contains(fmt.Sprint(recs), "remediated") {
		t.Fatalf("log %v", recs)
	}
	// Lambda retries the same event once SNS works again: nothing is
	// applied twice, and the notification goes out.
	fn.fail = false
	f.applied = nil
	res, err = e.Handle(context.Background(), call("r1", alice, opsRole, ""))
	if err != nil || res.Decisions[0].Verdict != rule.Compliant || len(f.applied) != 0 {
		t.Fatalf("retry: %v %+v applied %v", err, res, f.applied)
	}
	if len(fn.sent) != 1 || !strings.Contains(fn.sent[0], "remediated") || e.Pending() != 0 {
		t.Fatalf("re-sent %v, pending %d", fn.sent, e.Pending())
	}
}

// Bind adapts the fake (legacyrule.Adapt).
func (s *slow) Bind(p rule.Params) (*rule.Bound, error) { return legacyrule.Adapt(s).Bind(p) }

// Bind adapts the fake (legacyrule.Adapt).
func (f fixedOrder) Bind(p rule.Params) (*rule.Bound, error) { return legacyrule.Adapt(f).Bind(p) }
