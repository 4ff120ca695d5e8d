package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/notifystate"
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/securityhub"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// Security Hub as the big picture (RAMPART_SECURITY_HUB=1; docs/securityhub.md).
//
// Publishing: at the end of Handle, after the notifications, every decision
// that opens, changes or closes a finding is imported into the hub of its
// account and region as an ASFF finding of the account's default product
// (package securityhub), one finding per rule and resource, updated in
// place. Open states (violation, remediated, failed, exempt) are imported
// on every decision, which keeps Security Hub's UpdatedAt fresh; compliant
// and gone only when the state store says they close a finding (without a
// state store, always). Decisions are recorded before this step, and a
// finding Security Hub does not take never fails the decision: it is
// counted (SecurityHubFailed, alarmed like NotifyFailed), logged and kept
// to be imported again first thing by the next invocation. Security Hub
// is a view of the decisions, not one of their outcomes: failing the
// invocation would retry remediations and notifications for a view.
//
// The custom action: "Remediate with Rampart" on findings in the console
// sends them to EventBridge, which routes them to the functions whose rules
// cover their controls (rule.Meta.SecurityHubControls) or made them (Rampart's
// own findings). handleCustomAction accepts only the deployment's own
// action target in the function's own account and region, maps each finding
// to a rule and a resource, and decides that resource with that rule in
// enforce mode whatever the deployment's mode: an explicit, on-demand
// enforcement an operator chose, for that rule on that resource only.
// Exemptions still hold. An unknown control or resource is reported as
// ignored, with no call.

// EnvSecurityHub switches the Security Hub integration on ("1", "true").
const EnvSecurityHub = "RAMPART_SECURITY_HUB"

// readSecurityHubEnv reads RAMPART_SECURITY_HUB: unset is off, a value
// strconv.ParseBool does not read fails the cold start.
func readSecurityHubEnv(getenv func(string) string, c *Config) error {
	on, err := awsclient.Bool(getenv, EnvSecurityHub)
	if err != nil {
		return err
	}
	c.SecurityHub = on
	return nil
}

// FindingsImporter imports findings into the hub of a session's account
// and region (securityhub.Importer).
type FindingsImporter interface {
	Import(ctx context.Context, s *awsclient.Session, fs []shtypes.AwsSecurityFinding) ([]securityhub.Failure, error)
}

func (e *Engine) initSecurityHub() {
	if e.cfg.SecurityHub {
		e.Findings = &securityhub.Importer{}
	}
}

// sawState records the state a decision found in the state store (err set:
// unknown), for publishFindings.
func (e *Engine) sawState(ctx context.Context, i int, prev notifystate.State, err error) {
	rec := recorderOf(ctx)
	if rec == nil || e.Findings == nil {
		return
	}
	if err != nil {
		prev = notifystate.Violation // unknown: better a redundant import than a finding left open
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.prev == nil {
		rec.prev = map[int]notifystate.State{}
	}
	rec.prev[i] = prev
}

// findingState is the Security Hub state of a decision, or false when the
// decision says nothing about a finding (ignored, errored, quiet).
func findingState(d *report.Decision) (securityhub.State, bool) {
	if d.Rule == "" || d.Resource == "" || d.Error != "" {
		return "", false
	}
	switch d.Verdict {
	case rule.Violation:
		if d.Quiet {
			return "", false
		}
		switch st, _ := stateOf(d); st {
		case notifystate.Remediated:
			return securityhub.Remediated, true
		case notifystate.Failed:
			return securityhub.Failed, true
		case notifystate.None, notifystate.Violation, notifystate.Exempt, notifystate.Compliant:
		}
		return securityhub.Violation, true
	case rule.Compliant:
		return securityhub.Compliant, true
	case rule.NotApplicable:
		if d.Exempt != "" {
			return securityhub.Exempt, true
		}
		return securityhub.Gone, true
	case rule.Ignored:
	}
	return "", false
}

// hub is one Security Hub: an account and region.
type hub struct{ account, region string }

// publishFindings imports the findings of an invocation's decisions.
func (e *Engine) publishFindings(ctx context.Context, ds []report.Decision) {
	if e.Findings == nil || e.session.Offline {
		return
	}
	rec := recorderOf(ctx)
	// notifyTransitions observed the decisions in the state store only with
	// both a store and a notifier.
	observed := e.State != nil && e.Notifier != nil
	byHub := map[hub][]shtypes.AwsSecurityFinding{}
	rules := map[string]string{} // finding ID → rule, for the metric
	var hubs []hub
	for i := range ds {
		d := &ds[i]
		st, ok := findingState(d)
		if !ok {
			continue
		}
		if observed && (st == securityhub.Compliant || st == securityhub.Gone) {
			var prev notifystate.State
			seen := false
			if rec != nil {
				rec.mu.Lock()
				prev, seen = rec.prev[i]
				rec.mu.Unlock()
			}
			if !seen || prev == notifystate.None || prev == notifystate.Compliant {
				continue // no finding of Rampart's was open: none to close
			}
		}
		w := hub{d.Account, d.Region}
		if w.account == "" {
			w.account = e.session.Account
		}
		if w.region == "" {
			w.region = e.session.Region
		}
		if w.account == "" {
			e.Log.WarnContext(ctx, "securityhub", "rule", d.Rule, "resource", d.Resource, "skipped", "the account is unknown")
			continue
		}
		in := securityhub.Input{Partition: awsclient.PartitionOf(w.region), Region: w.region, Account: w.account,
			Rule: d.Rule, Severity: d.Severity, Resource: d.Resource, ResourceType: d.ResourceType, State: st,
			Reason: d.Reason, Mode: d.Mode, Actions: d.Actions, EventID: d.EventID, Now: e.Now(),
			ExemptSource: d.Exempt, ExemptOwner: d.ExemptOwner, ExemptExpires: d.ExemptExpires}
		if b := e.bound[d.Rule]; b != nil {
			m := b.Meta()
			in.Title, in.Remediation = m.Title, m.Remediation
			if in.ResourceType == "" {
				in.ResourceType = m.ResourceType
			}
		}
		f := securityhub.Build(in)
		if _, ok := byHub[w]; !ok {
			hubs = append(hubs, w)
		}
		byHub[w] = append(byHub[w], f)
		rules[aws.ToString(f.Id)] = d.Rule
	}
	for _, w := range hubs {
		e.importFindings(ctx, w, byHub[w], rules)
	}
}

// importFindings imports one hub's findings and settles those it did not
// take (see findingsFailed).
func (e *Engine) importFindings(ctx context.Context, w hub, fs []shtypes.AwsSecurityFinding, rules map[string]string) {
	sess, err := e.hubSession(ctx, w)
	var failed []securityhub.Failure
	if err == nil {
		failed, err = e.Findings.Import(ctx, sess, fs)
	}
	if err != nil && len(failed) == 0 {
		for _, f := range fs {
			failed = append(failed, securityhub.Failure{ID: aws.ToString(f.Id), Code: "RequestFailed", Message: err.Error()})
		}
	}
	if len(failed) == 0 {
		return
	}
	byID := map[string]shtypes.AwsSecurityFinding{}
	for _, f := range fs {
		byID[aws.ToString(f.Id)] = f
	}
	for _, fl := range failed {
		f, ok := byID[fl.ID]
		if !ok {
			continue
		}
		e.findingFailed(ctx, w, f, rules[fl.ID], fl)
	}
}

// hubSession is the session of a hub: the engine's own, or one acting in
// another covered account or region (with the default product ARN, only
// the finding's own account may import it).
func (e *Engine) hubSession(ctx context.Context, w hub) (*awsclient.Session, error) {
	s := e.session
	if (w.account == s.Account || s.Account == "") && w.region == s.Region {
		return s, nil
	}
	account := w.account
	if s.Account == "" {
		account = ""
	}
	return s.For(ctx, account, w.region)
}

// maxFindingsOutbox bounds the findings kept for the next invocation.
const maxFindingsOutbox = 500

// findingsOutbox holds the findings Security Hub did not take yet.
type findingsOutbox struct {
	mu      sync.Mutex
	pending []pendingFinding
}

type pendingFinding struct {
	hub     hub
	rule    string
	finding shtypes.AwsSecurityFinding
}

// findingFailed counts (SecurityHubFailed), logs in full and keeps one
// finding Security Hub did not take. The decision itself stands as made.
func (e *Engine) findingFailed(ctx context.Context, w hub, f shtypes.AwsSecurityFinding, ruleID string, fl securityhub.Failure) {
	if e.Metrics != nil {
		if werr := report.WriteEvent(e.Metrics, e.Now(), report.MetricSecurityHubFailed, ruleID, 1); werr != nil {
			e.Log.Warn("metrics", "error", werr.Error())
		}
	}
	body, _ := json.Marshal(f)
	e.Log.ErrorContext(ctx, "securityhub", "rule", ruleID, "finding", fl.ID, "code", fl.Code, "error", fl.Message, "asff", string(body))
	if fl.Code == "InvalidInput" {
		return // Security Hub refuses the finding itself: importing it again cannot help
	}
	o := &e.shOutbox
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.pending) >= maxFindingsOutbox {
		o.pending = o.pending[1:]
	}
	o.pending = append(o.pending, pendingFinding{hub: w, rule: ruleID, finding: f})
}

// flushFindings imports again the findings earlier invocations could not;
// those that fail again are counted again and kept.
func (e *Engine) flushFindings(ctx context.Context) {
	if e.Findings == nil || e.session.Offline {
		return
	}
	o := &e.shOutbox
	o.mu.Lock()
	pending := o.pending
	o.pending = nil
	o.mu.Unlock()
	if len(pending) == 0 {
		return
	}
	byHub := map[hub][]shtypes.AwsSecurityFinding{}
	rules := map[string]string{}
	var hubs []hub
	for _, p := range pending {
		if _, ok := byHub[p.hub]; !ok {
			hubs = append(hubs, p.hub)
		}
		byHub[p.hub] = append(byHub[p.hub], p.finding)
		rules[aws.ToString(p.finding.Id)] = p.rule
	}
	for _, w := range hubs {
		e.importFindings(ctx, w, byHub[w], rules)
	}
}

// PendingFindings is how many findings wait to be imported again.
func (e *Engine) PendingFindings() int {
	e.shOutbox.mu.Lock()
	defer e.shOutbox.mu.Unlock()
	return len(e.shOutbox.pending)
}

// onDemandKey carries the one (rule, resource) a custom action enforces.
type onDemandKey struct{}

type onDemand struct{ rule, resource string }

// modeAt is the mode a decision of rule ruleID on resource runs in: the
// rule's, or enforce when a custom action asked for exactly this rule on
// exactly this resource.
func (e *Engine) modeAt(ctx context.Context, ruleID, resource string) Mode {
	m := e.mode(ruleID)
	if od, ok := ctx.Value(onDemandKey{}).(onDemand); ok && m != Plan && od.rule == ruleID && od.resource == resource {
		return Enforce
	}
	return m
}

// handleCustomAction decides the findings of a "Remediate with Rampart"
// custom action (see the top of this file).
func (e *Engine) handleCustomAction(ctx context.Context, ev *trigger.Event) ([]report.Decision, error) {
	base := func(m *rule.Meta) report.Decision {
		d := report.Decision{Trigger: trigger.KindEvent, EventID: ev.ID, Actions: []rule.Action{}}
		if m != nil {
			d.Rule, d.Severity, d.ResourceType, d.Mode = m.ID, m.Severity, m.ResourceType, string(e.mode(m.ID))
		}
		return d
	}
	ignored := func(m *rule.Meta, resource, why string) report.Decision {
		d := base(m)
		d.Resource, d.Verdict, d.Reason = resource, rule.Ignored, why
		return d
	}
	s := e.session
	if !e.cfg.SecurityHub {
		return []report.Decision{ignored(nil, "", "Security Hub custom action ignored: the Security Hub integration is off ("+EnvSecurityHub+")")}, nil
	}
	want := securityhub.ActionTargetARN(s.Partition, s.Region, s.Account)
	if s.Offline || s.Account == "" || ev.Account != s.Account || ev.Region != s.Region || !slices.Contains(ev.Resources, want) {
		return []report.Decision{ignored(nil, "", fmt.Sprintf(
			"Security Hub custom action ignored: it is not this deployment's action target %s (event account %s, region %s, resources %s)",
			want, orUnknown(ev.Account), orUnknown(ev.Region), strings.Join(ev.Resources, ", ")))}, nil
	}
	findings, err := securityhub.DecodeAction(ev.Detail)
	if err != nil {
		return nil, err
	}
	type job struct {
		b    *rule.Bound
		t    rule.Target
		sess *awsclient.Session
		from string
	}
	var ds []report.Decision
	var jobs []job
	// Name every target before deciding any.
	for i := range findings {
		f := &findings[i]
		if f.Account == "" {
			f.Account = ev.Account
		}
		if f.Region == "" {
			f.Region = ev.Region
		}
		var bs []*rule.Bound
		what := ""
		switch {
		case f.IsOwn(awsclient.PartitionOf(f.Region)):
			what = "Rampart rule " + f.Rule
			if b := e.bound[f.Rule]; b != nil {
				bs = append(bs, b)
			}
		case f.ControlID != "":
			what = "control " + f.ControlID
			for _, r := range e.rules {
				if slices.Contains(r.Meta().SecurityHubControls, f.ControlID) {
					bs = append(bs, e.bound[r.Meta().ID])
				}
			}
		default:
			what = "a finding that names no control"
		}
		if len(bs) == 0 {
			ds = append(ds, ignored(nil, f.ID, fmt.Sprintf("Security Hub custom action: no rule of this function covers %s (finding %s); nothing done", what, f.ID)))
			continue
		}
		for _, b := range bs {
			m := b.Meta()
			t, ok := actionTarget(f, m)
			if !ok {
				ds = append(ds, ignored(m, f.ID, fmt.Sprintf("Security Hub custom action: the resource of finding %s is not one rule %s judges (%s); nothing done",
					f.ID, m.ID, describeResources(f))))
				continue
			}
			sess, out, err := e.route(ctx, f.Account, f.Region, m.Global)
			if err != nil || out != "" {
				d := ignored(m, t.ID, out)
				if err != nil {
					d.Verdict, d.Reason, d.Error = ErrorVerdict, "could not resolve hub the finding belongs", err.Error()
				}
				ds = append(ds, d)
				continue
			}
			t.Event = ev
			jobs = append(jobs, job{b, t, sess, f.ID})
		}
	}
	for _, j := range jobs {
		m := j.b.Meta()
		d := base(m)
		d.Mode = string(Enforce)
		jctx := context.WithValue(withSession(ctx, j.sess), onDemandKey{}, onDemand{rule: m.ID, resource: j.t.ID})
		e.decide(jctx, j.b, j.t, &d)
		d.Reason += "; enforced on demand: Security Hub custom action " + securityhub.ActionName + " on finding " + j.from
		ds = append(ds, d)
	}
	return ds, nil
}

// actionTarget is the resource of a custom action's finding as rule m
// judges it: the exact resource of a Rampart finding, else the first of
// the finding's resources whose type the rule judges.
func actionTarget(f *securityhub.ActionFinding, m *rule.Meta) (rule.Target, bool) {
	judged := strings.Split(m.ResourceType, ",")
	if m.Config != nil {
		judged = append(judged, m.Config.ResourceTypes...)
	}
	if f.OwnID != "" && f.OwnType != "" && f.Rule == m.ID {
		if slices.Contains(judged, f.OwnType) {
			return rule.Target{Type: f.OwnType, ID: f.OwnID, Region: f.Region}, true
		}
		return rule.Target{}, false
	}
	for _, r := range f.Resources {
		region := r.Region
		if region == "" {
			region = f.Region
		}
		t, ok := securityhub.TargetOf(r.Type, r.ID, f.Account, region)
		if !ok {
			continue
		}
		for _, typ := range t.Types {
			if slices.Contains(judged, typ) {
				return rule.Target{Type: typ, ID: t.ID, Region: region}, true
			}
		}
	}
	return rule.Target{}, false
}

func describeResources(f *securityhub.ActionFinding) string {
	if len(f.Resources) == 0 {
		return "it names no resource"
	}
	parts := make([]string, 0, len(f.Resources))
	for _, r := range f.Resources {
		parts = append(parts, r.Type+" "+r.ID)
	}
	return strings.Join(parts, ", ")
}
