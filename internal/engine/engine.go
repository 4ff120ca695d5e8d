// Package engine runs the flow every trigger goes through: decode, pick the
// rules, name the targets, guard against Rampart's own calls, honour
// exemptions, evaluate current state, plan, apply (enforce) or only report,
// and report every decision (log, metrics, SNS, Config evaluations).
//
// It is the only place that applies actions, and it is the same code for the
// Lambda functions and the CLI. It knows rules only through package rule.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/notifystate"
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// ErrFailed is returned (with the full result) when any decision could not be
// carried out, so that Lambda retries the event and, in the end, its
// dead-letter queue keeps it.
var ErrFailed = errors.New("one or more decisions failed")

// ErrorVerdict marks a decision whose evaluation failed.
const ErrorVerdict rule.Verdict = "error"

// Result is what one trigger led to.
type Result struct {
	Decisions []report.Decision `json:"decisions"`
}

// Engine carries a set of rules with their deployment's configuration.
type Engine struct {
	rules   []rule.Rule
	bound   map[string]*rule.Bound // each rule with the deployment's parameters
	cfg     Config
	session *awsclient.Session

	// Notifier, Evaluator, Log and Metrics default from the session and
	// configuration in New; tests may replace them.
	Notifier  report.Notifier
	Evaluator report.Evaluator
	Log       *slog.Logger
	Metrics   io.Writer
	Now       func() time.Time
	// ListAccounts lists the organization's ACTIVE accounts (organization
	// mode); nil lists them with organizations:ListAccounts. Cached for
	// OrganizationTTL.
	ListAccounts func(context.Context) ([]string, error)
	org          orgCache

	Sweeping        // sweep concurrency and deadline budget (sweep.go)
	outbox   outbox // undelivered notifications (record.go)
	// State remembers what was notified (see notifications.go); nil
	// notifies every violation. DigestFrom are other regions' stores the
	// daily digest reads too.
	State      notifystate.Store
	DigestFrom []notifystate.Store
	// Findings imports findings into Security Hub (RAMPART_SECURITY_HUB);
	// nil publishes none. Tests may replace it.
	Findings FindingsImporter
	shOutbox findingsOutbox // findings not yet taken (securityhub.go)
}

// New builds an engine. Parameters are resolved and validated now, so a bad
// deployment fails at cold start rather than at the first event.
func New(cfg Config, s *awsclient.Session, rules ...rule.Rule) (*Engine, error) {
	e := &Engine{rules: rules, bound: map[string]*rule.Bound{}, cfg: cfg, session: s,
		Log: slog.New(slog.NewJSONHandler(os.Stdout, nil)), Metrics: os.Stdout, Now: time.Now}
	if err := checkOwnRoles(cfg.OwnRoles, s); err != nil {
		return nil, err
	}
	if cfg.MemberRole != "" {
		s.MemberRole = cfg.MemberRole
	}
	seen := map[string]bool{}
	for _, r := range rules {
		m := r.Meta()
		if seen[m.ID] {
			return nil, fmt.Errorf("rule %s registered twice", m.ID)
		}
		seen[m.ID] = true
		b, err := rule.BindWith(r, cfg.Params[m.ID])
		if err != nil {
			return nil, err
		}
		e.bound[m.ID] = b
	}
	if !s.Offline {
		if cfg.TopicARN != "" {
			e.Notifier = &report.Retry{Next: &report.SNS{Session: s, TopicARN: cfg.TopicARN}}
		}
		e.Evaluator = &report.ConfigService{Session: s}
		e.initNotifications()
		e.initSecurityHub()
	}
	if cfg.OrgID != "" && cfg.SweepQueueURL == "" {
		for _, r := range rules {
			if e.bound[r.Meta().ID].Sweep != nil && r.Meta().Schedule != "" && e.sweepsHere(r.Meta()) {
				return nil, fmt.Errorf("organization mode: rule %s sweeps in %s but %s is not set: its sweeps could not fan out", r.Meta().ID, s.Region, EnvSweepQueueURL)
			}
		}
	}
	return e, nil
}

// Rules are the engine's rules.
func (e *Engine) Rules() []rule.Rule { return e.rules }

func (e *Engine) mode(id string) Mode {
	if e.session.Offline {
		return Plan
	}
	return e.cfg.ModeFor(id)
}

// Handle runs one raw payload through the flow. Bad input is an error
// wrapping trigger.ErrInput, returned before any AWS call. Otherwise every
// decision is reported, and ErrFailed comes back with the result when any
// decision failed.
func (e *Engine) Handle(ctx context.Context, raw []byte) (*Result, error) {
	t, err := trigger.Decode(raw)
	if err != nil {
		return nil, err
	}
	ctx = e.begin(ctx) // decisions are recorded as they are made (record.go)
	var ds []report.Decision
	switch t.Kind {
	case trigger.KindAPICall, trigger.KindSignIn:
		ds, err = e.handleCall(ctx, t)
	case trigger.KindConfig:
		ds, err = e.handleConfig(ctx, t.Config)
	case trigger.KindSchedule:
		ds, err = e.handleSchedule(ctx, t.Schedule)
	case trigger.KindSweep:
		ds, err = e.handleSweep(ctx, t.Sweeps)
	case trigger.KindEvent:
		ds, err = e.handleEvent(ctx, t.Event)
	}
	if err != nil {
		return nil, err
	}
	ds = e.notifyTransitions(ctx, t, ds)
	e.publishFindings(ctx, ds) // Security Hub (securityhub.go)
	res := &Result{Decisions: ds}
	e.recordRest(ctx, ds)
	for i := range ds {
		if ds[i].Failed() {
			return res, ErrFailed
		}
	}
	return res, nil
}

// target is one resource to decide, with the rule that judges it.
type target struct {
	rule rule.Rule
	t    rule.Target
	sess *awsclient.Session // acts in the event's account and region
	note string             // why a Rampart look-alike caller was judged anyway
}

func (e *Engine) handleCall(ctx context.Context, t *trigger.Trigger) ([]report.Decision, error) {
	call := t.Call
	detail := trigger.DetailAPICall
	if t.Kind == trigger.KindSignIn {
		detail = trigger.DetailSignIn
	}
	base := func(r rule.Rule) report.Decision {
		d := report.Decision{Trigger: t.Kind, EventID: call.EventID, Call: call, Actions: []rule.Action{}}
		if r != nil {
			m := r.Meta()
			d.Rule, d.Severity, d.ResourceType, d.Mode = m.ID, m.Severity, m.ResourceType, string(e.mode(m.ID))
		}
		return d
	}
	var matched []rule.Rule
	for _, r := range e.rules {
		if r.Meta().MatchesCall(detail, call) {
			matched = append(matched, r)
		}
	}
	if len(matched) == 0 {
		d := base(nil)
		d.Verdict, d.Reason = rule.Ignored, fmt.Sprintf("no rule here handles %s %s", call.EventSource, call.EventName)
		return []report.Decision{d}, nil
	}
	var ds []report.Decision
	var todo []target
	// Name every target before acting on any: malformed input must stop the
	// whole event before a single mutating call.
	for _, r := range matched {
		id := r.Meta().ID
		if call.Failed() {
			d := base(r)
			d.Verdict, d.Reason = rule.Ignored, fmt.Sprintf("the call failed (%s), so it changed nothing", call.ErrorCode)
			ds = append(ds, d)
			continue
		}
		sess, out, err := e.route(ctx, call.Account, call.Region, r.Meta().Global || t.Kind == trigger.KindSignIn)
		if err != nil || out != "" {
			d := base(r)
			d.Verdict, d.Reason = rule.Ignored, out
			if err != nil {
				d.Verdict, d.Reason, d.Error = ErrorVerdict, "could not resolve where the event belongs", err.Error()
			}
			ds = append(ds, d)
			continue
		}
		who, own, note := e.ownCall(call, sess)
		if own {
			d := base(r)
			d.Verdict, d.Reason = rule.Ignored, "the call was made by Rampart's own role "+who
			ds = append(ds, d)
			continue
		}
		var targets []rule.Target
		if b := e.bound[id]; b.Targets != nil {
			if targets, err = b.Targets(call); err != nil {
				return nil, fmt.Errorf("rule %s: %w", id, err)
			}
		}
		if len(targets) == 0 {
			d := base(r)
			d.Verdict, d.Reason = rule.Ignored, "the call concerns no resource this rule judges"
			ds = append(ds, d)
		}
		for _, tg := range targets {
			tg.Call = call
			todo = append(todo, target{r, tg, sess, note})
		}
	}
	for _, tg := range todo {
		id := tg.rule.Meta().ID
		ctx := withSession(ctx, tg.sess)
		targets, err := e.expand(ctx, e.bound[id], tg.t)
		if err != nil {
			d := base(tg.rule)
			d.Resource, d.Verdict, d.Reason, d.Error = tg.t.ID, ErrorVerdict, "could not find the resources the call concerns", err.Error()
			ds = append(ds, d)
			continue
		}
		for _, t := range targets {
			d := base(tg.rule)
			e.decide(ctx, e.bound[id], t, &d)
			if tg.note != "" {
				d.Reason += "; " + tg.note
			}
			ds = append(ds, d)
		}
	}
	return ds, nil
}

// expand asks a rule with Expand which resources a live target stands for.
func (e *Engine) expand(ctx context.Context, b *rule.Bound, t rule.Target) (out []rule.Target, err error) {
	if b.Expand == nil || e.session.Offline {
		return []rule.Target{t}, nil
	}
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("rule %s panicked expanding %s: %v", b.Meta().ID, t.ID, v)
		}
	}()
	out, err = b.Expand(ctx, e.env(ctx), t)
	if err != nil || len(out) == 0 {
		return []rule.Target{t}, err
	}
	for i := range out {
		out[i].Call, out[i].Event = t.Call, t.Event
	}
	return out, nil
}

// decide evaluates one target, applies the exemptions and the mode, and
// notifies. It fills d in place.
func (e *Engine) decide(ctx context.Context, b *rule.Bound, t rule.Target, d *report.Decision) {
	defer e.record(ctx, d)
	m := b.Meta()
	d.Resource = t.ID
	if t.Type != "" {
		d.ResourceType = t.Type
	}
	if s := e.sessionFrom(ctx); s != nil {
		d.Account, d.Region = s.Account, s.Region
	}
	if outOfTime(ctx, d) {
		return
	}
	f, err := e.evaluate(ctx, b, t)
	if f.Resource != "" {
		d.Resource = f.Resource
	}
	if err != nil {
		d.Verdict, d.Reason, d.Error = ErrorVerdict, "could not evaluate the current state", err.Error()
		return
	}
	d.Verdict, d.Reason, d.Quiet = f.Verdict, f.Reason, f.Quiet
	if e.exempt(m, t, f, d) {
		return // an exemption is notified when it starts (the tag event, the deployment), not on every evaluation
	}
	if f.Verdict != rule.Violation && len(f.Actions) == 0 {
		return
	}
	// A compliant finding may carry housekeeping actions (removing a marker
	// tag a rule set earlier): applied like any plan, without a notification.
	d.Actions = append(d.Actions, f.Actions...)
	mode := e.modeAt(ctx, m.ID, t.ID) // the rule's mode, or enforce on demand (securityhub.go)
	failed := false
	for i := range d.Actions {
		a := &d.Actions[i]
		switch {
		case a.API == rule.AlertAPI:
			continue // delivered with the notification below
		case mode != Enforce:
			a.Outcome = rule.Planned
		case failed:
			a.Outcome = rule.Skipped
		default:
			failed = !e.apply(ctx, b, a)
		}
	}
	if (f.Verdict == rule.Violation && !f.Quiet) || slices.ContainsFunc(d.Actions, func(a rule.Action) bool { return a.API == rule.AlertAPI }) {
		e.notifyNow(ctx, d)
	}
}

func (e *Engine) evaluate(ctx context.Context, b *rule.Bound, t rule.Target) (f rule.Finding, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("rule %s panicked evaluating %s: %v", b.Meta().ID, t.ID, v)
		}
	}()
	return b.Evaluate(ctx, e.env(ctx), t)
}

// env is the rule environment of ctx's session.
func (e *Engine) env(ctx context.Context) rule.Env {
	return rule.Env{Session: e.sessionFrom(ctx), ExemptTag: e.cfg.ExemptTag, ExemptMaxDays: e.cfg.ExemptMaxDays}
}

func safeApply(ctx context.Context, b *rule.Bound, env rule.Env, a rule.Action) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("rule %s panicked applying %s: %v", b.Meta().ID, a.API, v)
		}
	}()
	if b.Apply == nil {
		return fmt.Errorf("rule %s only reports; it applies no %s", b.Meta().ID, a.API)
	}
	return b.Apply(ctx, env, a)
}

// notify sends the decision's notification and settles its alert actions.
func (e *Engine) notify(ctx context.Context, d *report.Decision) {
	var err error
	sent := false
	if e.Notifier != nil && !e.session.Offline {
		err = e.Notifier.Notify(ctx, d)
		sent = err == nil
	}
	for i := range d.Actions {
		a := &d.Actions[i]
		if a.API != rule.AlertAPI {
			continue
		}
		switch {
		case e.session.Offline:
			a.Outcome = rule.Planned
		case sent:
			a.Outcome = rule.Applied
		case err != nil:
			a.Outcome, a.Error = rule.Failed, err.Error()
		default:
			a.Outcome, a.Error = rule.Skipped, "no topic configured ("+EnvTopicARN+"); the alert is in the log only"
		}
	}
	if err != nil {
		e.notifyFailed(ctx, d, err) // counted, kept and failing the invocation (record.go)
	}
}

func (e *Engine) ruleByConfigName(name string) rule.Rule {
	for _, r := range e.rules {
		m := r.Meta()
		if m.Config != nil && (m.ConfigRuleName() == name || m.ID == name) {
			return r
		}
	}
	return nil
}

func (e *Engine) handleConfig(ctx context.Context, inv *trigger.ConfigInvocation) ([]report.Decision, error) {
	if inv.MessageType == trigger.MsgSnapshotReady {
		return []report.Decision{{Trigger: trigger.KindConfig, Verdict: rule.Ignored, Actions: []rule.Action{},
			Reason: "configuration snapshot deliveries need no evaluation"}}, nil
	}
	r := e.ruleByConfigName(inv.RuleName)
	if r == nil {
		return nil, fmt.Errorf("%w: no Config rule named %q in this function", trigger.ErrInput, inv.RuleName)
	}
	m := r.Meta()
	overrides := map[string]string{}
	for k, v := range e.cfg.Params[m.ID] {
		overrides[k] = v
	}
	for k, v := range inv.Params {
		overrides[k] = v
	}
	b, err := rule.BindWith(r, overrides)
	if err != nil {
		return nil, fmt.Errorf("%w: ruleParameters: %w", trigger.ErrInput, err)
	}
	item := inv.Item
	if item == nil {
		item = inv.Summary
	}
	sess, out, err := e.routeConfig(ctx, inv, item, m.Global)
	if err != nil {
		return nil, err
	}
	if out != "" {
		// No evaluation is put: the result token belongs to an account
		// this deployment does not act in.
		return []report.Decision{{Rule: m.ID, Severity: m.Severity, ResourceType: m.ResourceType, Mode: string(e.mode(m.ID)),
			Trigger: trigger.KindConfig, EventID: inv.RuleName + "/" + inv.MessageType, Actions: []rule.Action{},
			Verdict: rule.Ignored, Reason: out}}, nil
	}
	ctx = withSession(ctx, sess)
	base := func(item *trigger.ConfigItem) report.Decision {
		return report.Decision{Rule: m.ID, Severity: m.Severity, ResourceType: m.ResourceType, Mode: string(e.mode(m.ID)),
			Trigger: trigger.KindConfig, EventID: inv.RuleName + "/" + inv.MessageType, Actions: []rule.Action{},
			OrderingTime: report.EvaluationTime(inv, item, e.Now())}
	}
	var ds []report.Decision
	switch inv.MessageType {
	case trigger.MsgChange, trigger.MsgOversized:
		item := inv.Item
		if item == nil {
			item = inv.Summary
		}
		d := base(item)
		d.Resource, d.ResourceType = item.ResourceID, item.ResourceType
		switch {
		case inv.EventLeftScope:
			d.Verdict, d.Reason = rule.NotApplicable, "the resource left the rule's scope"
		case item.Gone():
			d.Verdict, d.Reason = rule.NotApplicable, "the resource is "+item.Status
		case m.Config.ResourceTypes != nil && !slices.Contains(m.Config.ResourceTypes, item.ResourceType):
			d.Verdict, d.Reason = rule.NotApplicable, "the rule does not judge "+item.ResourceType
		default:
			e.decide(ctx, b, rule.Target{Type: item.ResourceType, ID: item.ResourceID, Region: item.Region, Item: item}, &d)
		}
		ds = append(ds, d)
	case trigger.MsgScheduled:
		if b.Sweep == nil {
			return nil, fmt.Errorf("%w: rule %s is not periodic", trigger.ErrInput, m.ID)
		}
		targets, d, err := e.sweep(ctx, b, base(nil))
		switch {
		case err != nil:
			return nil, err
		case d != nil:
			return []report.Decision{*d}, nil // nothing for Config to record
		}
		ds = append(ds, e.decideAll(ctx, b, targets, func() report.Decision { return base(nil) })...)
	}
	if err := e.putEvaluations(ctx, inv.ResultToken, ds); err != nil {
		return nil, err
	}
	return ds, nil
}

// putEvaluations reports Config decisions. Decisions that errored are left
// out: Config keeps the previous result and Lambda retries the invocation.
func (e *Engine) putEvaluations(ctx context.Context, token string, ds []report.Decision) error {
	if e.Evaluator == nil || len(ds) == 0 {
		return nil
	}
	evals := make([]cfgtypes.Evaluation, 0, len(ds))
	for i := range ds {
		if ds[i].Verdict != ErrorVerdict {
			evals = append(evals, report.Evaluation(&ds[i]))
		}
	}
	if len(evals) == 0 {
		return nil
	}
	return e.evaluatorFor(ctx).PutEvaluations(ctx, token, evals)
}

// handleSchedule sweeps the rules that declare a schedule. When the schedule
// rule's name ends in a rule ID, only that rule is swept.
func (e *Engine) handleSchedule(ctx context.Context, s *trigger.Scheduled) ([]report.Decision, error) {
	if e.cfg.OrgID != "" && !e.session.Offline {
		return e.fanOut(ctx, s)
	}
	var ds []report.Decision
	for _, r := range e.rules {
		m := r.Meta()
		b := e.bound[m.ID]
		if m.Schedule == "" || b.Sweep == nil || !scheduledFor(s, m.ID) || !e.sweepsHere(m) {
			continue
		}
		base := report.Decision{Rule: m.ID, Severity: m.Severity, ResourceType: m.ResourceType, Mode: string(e.mode(m.ID)),
			Trigger: trigger.KindSchedule, EventID: s.ID, Actions: []rule.Action{}}
		targets, d, err := e.sweep(ctx, b, base)
		if err != nil {
			return nil, err
		}
		if d != nil {
			ds = append(ds, *d)
			continue
		}
		ds = append(ds, e.decideAll(ctx, b, targets, func() report.Decision {
			d := base
			d.Actions = []rule.Action{}
			return d
		})...)
	}
	if len(ds) == 0 {
		ds = append(ds, report.Decision{Trigger: trigger.KindSchedule, EventID: s.ID, Verdict: rule.Ignored,
			Actions: []rule.Action{}, Reason: "no rule here sweeps on a schedule"})
	}
	return ds, nil
}

// scheduledFor reports whether a schedule event is meant for the rule: true
// when the event names no Rampart schedule, or names this rule's.
func scheduledFor(s *trigger.Scheduled, ruleID string) bool {
	named := false
	for _, arn := range s.Resources {
		_, name, _ := strings.Cut(arn, ":rule/")
		if strings.HasPrefix(name, "rampart-") {
			named = true
			if strings.Contains(name, ruleID) {
				return true
			}
		}
	}
	return !named
}
