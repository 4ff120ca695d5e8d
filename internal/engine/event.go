package engine

import (
	"context"
	"fmt"

	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// handleEvent decides another AWS service's event (an EC2 state change, a
// Health event, a finding…) with the rules that declare it (Meta.Events),
// in the event's account and region. Every target is named before any is
// decided: a malformed detail stops the whole event before any call.
func (e *Engine) handleEvent(ctx context.Context, ev *trigger.Event) ([]report.Decision, error) {
	base := func(b *rule.Bound) report.Decision {
		m := b.Meta()
		return report.Decision{Trigger: trigger.KindEvent, EventID: ev.ID, Actions: []rule.Action{},
			Rule: m.ID, Severity: m.Severity, ResourceType: m.ResourceType, Mode: string(e.mode(m.ID))}
	}
	type todo struct {
		b  *rule.Bound
		ts []rule.Target
	}
	var work []todo
	var unmatched []report.Decision
	for _, r := range e.rules {
		m := r.Meta()
		b := e.bound[m.ID]
		if !m.TakesEventType(ev) || b.OnEvent == nil {
			continue
		}
		if !m.MatchesEvent(ev) {
			// The bus filters on the same pattern: an event that got here
			// anyway (a hand-edited rule, a CLI replay) is not this rule's.
			d := base(b)
			d.Verdict, d.Reason = rule.Ignored, "the event's detail does not match the rule's event pattern"
			unmatched = append(unmatched, d)
			continue
		}
		ts, err := b.OnEvent(ev)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", m.ID, err)
		}
		work = append(work, todo{b, ts})
	}
	if len(work) == 0 && len(unmatched) > 0 {
		return unmatched, nil
	}
	if len(work) == 0 {
		return nil, fmt.Errorf("%w: unsupported EventBridge detail-type %q (source %q): no rule of this function handles it",
			trigger.ErrInput, ev.DetailType, ev.Source)
	}
	ds := unmatched
	for _, w := range work {
		m := w.b.Meta()
		sess, out, err := e.route(ctx, ev.Account, ev.Region, m.Global)
		if err != nil || out != "" {
			d := base(w.b)
			d.Verdict, d.Reason = rule.Ignored, out
			if err != nil {
				d.Verdict, d.Reason, d.Error = ErrorVerdict, "could not resolve where the event belongs", err.Error()
			}
			ds = append(ds, d)
			continue
		}
		if len(w.ts) == 0 {
			d := base(w.b)
			d.Verdict, d.Reason = rule.Ignored, "the event concerns no resource this rule judges"
			ds = append(ds, d)
			continue
		}
		sctx := withSession(ctx, sess)
		for _, t := range w.ts {
			t.Event = ev
			ts, err := e.expand(sctx, w.b, t)
			if err != nil {
				d := base(w.b)
				d.Resource, d.Verdict, d.Reason, d.Error = t.ID, ErrorVerdict, "could not find the resources the event concerns", err.Error()
				ds = append(ds, d)
				continue
			}
			for _, t := range ts {
				d := base(w.b)
				e.decide(sctx, w.b, t, &d)
				ds = append(ds, d)
			}
		}
	}
	return ds, nil
}
