package engine

import (
	"context"
	"fmt"
	"sync"

	"github.com/rampart-aws/rampart/internal/notifystate"
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
)

// The audit trail: every decision is logged and counted the moment it is
// final, not when the invocation ends, so that a PutEvaluations failure, a
// panic or a timeout after remediations were applied loses none of them.
//
// Metrics cost: each decision writes its own EMF record (one short line
// beside its log record) rather than one record per rule at the end. EMF
// is billed as log ingestion plus one custom metric per name and dimension
// set, whatever the number of records, so a 10,000-resource sweep adds
// about 3 MB of log lines and no metric.

// recorder is one invocation's audit state.
type recorder struct {
	mu sync.Mutex
	// done counts the decisions already recorded, by identity, so Handle
	// records the rest (the ones no rule evaluated) exactly once.
	done map[string]int
	// notifyFailed counts undelivered notifications.
	notifyFailed int
	// prev is the state each decision (by index) found in the state
	// store: which compliant decisions close an open Security Hub finding.
	prev map[int]notifystate.State
}

type recorderKey struct{}

// begin starts an invocation's recorder and its deadline budget, and first
// retries the notifications earlier invocations could not deliver.
func (e *Engine) begin(ctx context.Context) context.Context {
	ctx = context.WithValue(ctx, recorderKey{}, &recorder{done: map[string]int{}})
	ctx = e.withBudget(ctx)
	e.flushOutbox(ctx)
	e.flushFindings(ctx)
	return ctx
}

func recorderOf(ctx context.Context) *recorder {
	r, _ := ctx.Value(recorderKey{}).(*recorder)
	return r
}

func decisionKey(d *report.Decision) string {
	return d.Rule + "\x00" + d.ResourceType + "\x00" + d.Resource
}

// record logs and counts one final decision. decide calls it on every
// way out; it is safe from concurrent sweeps.
func (e *Engine) record(ctx context.Context, d *report.Decision) {
	rec := recorderOf(ctx)
	if rec != nil {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		rec.done[decisionKey(d)]++
	}
	e.write(ctx, d)
}

func (e *Engine) write(ctx context.Context, d *report.Decision) {
	report.Log(ctx, e.Log, d)
	if !e.session.Offline && e.Metrics != nil {
		if err := report.WriteMetrics(e.Metrics, e.Now(), []report.Decision{*d}); err != nil {
			e.Log.Warn("metrics", "error", err.Error())
		}
	}
}

// recordRest records the decisions of ds that decide did not (ignored
// calls, deleted Config items, …).
func (e *Engine) recordRest(ctx context.Context, ds []report.Decision) {
	rec := recorderOf(ctx)
	if rec == nil {
		for i := range ds {
			e.write(ctx, &ds[i])
		}
		return
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i := range ds {
		k := decisionKey(&ds[i])
		if rec.done[k] > 0 {
			rec.done[k]--
			continue
		}
		e.write(ctx, &ds[i])
	}
}

// maxOutbox bounds the undelivered notifications kept for a later
// invocation of the same (warm) function.
const maxOutbox = 100

// notifyFailed settles a notification that could not be delivered even
// after retries: it is counted (NotifyFailed, alarmed), logged in full so
// the message itself is never lost, kept to be re-sent first thing by the
// next invocation, and it fails the decision, so the invocation fails and
// Lambda retries it. The retry finds any remediation already applied
// (level-triggered: nothing is applied twice) and re-sends the message.
func (e *Engine) notifyFailed(ctx context.Context, d *report.Decision, err error) {
	if d.Error == "" {
		d.Error = "notification not delivered: " + err.Error()
	}
	if rec := recorderOf(ctx); rec != nil {
		rec.mu.Lock()
		rec.notifyFailed++
		rec.mu.Unlock()
	}
	if !e.session.Offline && e.Metrics != nil {
		if werr := report.WriteEvent(e.Metrics, e.Now(), report.MetricNotifyFailed, d.Rule, 1); werr != nil {
			e.Log.Warn("metrics", "error", werr.Error())
		}
	}
	// The message as it is to be delivered: its alerts are what it carries.
	pending := *d
	pending.Error = ""
	pending.Actions = append(pending.Actions[:0:0], d.Actions...)
	for i := range pending.Actions {
		if a := &pending.Actions[i]; a.API == rule.AlertAPI {
			a.Outcome, a.Error = rule.Applied, ""
		}
	}
	e.Log.ErrorContext(ctx, "notify", "rule", d.Rule, "resource", d.Resource, "error", err.Error(),
		"subject", report.Subject(&pending), "message", report.Message(&pending))
	o := &e.outbox
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.pending) >= maxOutbox {
		e.Log.ErrorContext(ctx, "notify", "dropped", report.Subject(&o.pending[0]), "error", "outbox full; the message is in the log")
		o.pending = o.pending[1:]
	}
	o.pending = append(o.pending, pending)
}

// flushOutbox re-sends the notifications earlier invocations could not
// deliver; those that fail again stay for the next.
func (e *Engine) flushOutbox(ctx context.Context) {
	if e.Notifier == nil || e.session.Offline {
		return
	}
	o := &e.outbox
	o.mu.Lock()
	pending := o.pending
	o.pending = nil
	o.mu.Unlock()
	var keep []report.Decision
	for i := range pending {
		d := &pending[i]
		if err := e.Notifier.Notify(ctx, d); err != nil {
			e.Log.ErrorContext(ctx, "notify", "rule", d.Rule, "resource", d.Resource, "retry", "failed again", "error", err.Error())
			keep = append(keep, *d)
			continue
		}
		e.Log.InfoContext(ctx, "notify", "rule", d.Rule, "resource", d.Resource, "retry", fmt.Sprintf("delivered %q", report.Subject(d)))
	}
	o.mu.Lock()
	o.pending = append(keep, o.pending...)
	o.mu.Unlock()
}

// outbox holds the notifications not yet delivered (see notifyFailed).
type outbox struct {
	mu      sync.Mutex
	pending []report.Decision
}

// Pending is how many notifications wait for redelivery.
func (e *Engine) Pending() int {
	e.outbox.mu.Lock()
	defer e.outbox.mu.Unlock()
	return len(e.outbox.pending)
}
