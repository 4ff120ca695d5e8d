package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/notifystate"
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// Notifications on transitions.
//
// Without a state table (RAMPART_STATE_TABLE unset: the CLI, tests, a
// deployment that wants every repeat) decide notifies every violation at
// once, as it always did. With one, decide notifies nothing; at the end of
// Handle, notifyTransitions hands every decision to the state store, which
// says which ones are transitions worth a message (notifystate.Notable), and
// sends one message per resource listing every rule that fired on it. A
// Lambda retry of an event whose message went out is silent; one whose
// publish failed sends it again.

// NotifyConfig configures notifications on transitions.
type NotifyConfig struct {
	// StateTable is the DynamoDB table of notifystate; empty notifies every
	// violation, as before.
	StateTable string
	// DigestRegions are the regions whose state tables the daily digest
	// reads (default: the function's own region).
	DigestRegions []string
	// FailureLimit is how many consecutive failed evaluations (distinct
	// events; a retry counts once) of one rule on one resource make Rampart
	// report the resource as not evaluable: a NOT_APPLICABLE Config
	// evaluation saying so, and one notification.
	FailureLimit int
}

// Environment variables of NotifyConfig.
const (
	EnvStateTable    = "RAMPART_STATE_TABLE"
	EnvDigestRegions = "RAMPART_DIGEST_REGIONS"
	EnvFailureLimit  = "RAMPART_FAILURE_LIMIT"
)

// DefaultFailureLimit is NotifyConfig.FailureLimit's default.
const DefaultFailureLimit = 3

// DigestSchedule is the name of the EventBridge schedule whose tick sends
// the daily digest of open findings.
const DigestSchedule = "rampart-digest"

// maxDigest bounds the findings a digest lists per region: one message,
// one scan of a sparse index.
const maxDigest = 500

// readNotifyEnv reads NotifyConfig from the environment.
func readNotifyEnv(getenv func(string) string, c *Config) error {
	n := NotifyConfig{StateTable: strings.TrimSpace(getenv(EnvStateTable)), FailureLimit: DefaultFailureLimit}
	for _, r := range strings.Split(getenv(EnvDigestRegions), ",") {
		if r = strings.TrimSpace(r); r != "" {
			n.DigestRegions = append(n.DigestRegions, r)
		}
	}
	if v := strings.TrimSpace(getenv(EnvFailureLimit)); v != "" {
		l, err := strconv.Atoi(v)
		if err != nil || l < 1 {
			return fmt.Errorf("%s: %q is not a positive number", EnvFailureLimit, v)
		}
		n.FailureLimit = l
	}
	c.Notify = n
	return nil
}

// initNotifications builds the state store from the configuration.
func (e *Engine) initNotifications() {
	table := e.cfg.Notify.StateTable
	if table == "" || e.session.Offline {
		return
	}
	e.State = &notifystate.Dynamo{Client: awsclient.Client(e.session, dynamodb.NewFromConfig), Table: table}
	for _, r := range e.cfg.Notify.DigestRegions {
		if r != e.session.Region {
			client := dynamodb.NewFromConfig(e.session.Config(), func(o *dynamodb.Options) { o.Region = r })
			e.DigestFrom = append(e.DigestFrom, &notifystate.Dynamo{Client: client, Table: table})
		}
	}
}

// notifyNow is decide's notification: at once when no state store is
// configured; otherwise notifyTransitions does it at the end of Handle.
func (e *Engine) notifyNow(ctx context.Context, d *report.Decision) {
	if e.State == nil {
		e.notify(ctx, d)
	}
}

// origin is where a trigger happened: account, region, the event ID that
// names it across Lambda retries, and its cause (see notifystate.Cause):
// the change every overlapping rule's invocation about it shares.
type origin struct {
	account, region, eventID, cause string
	// firsthand is set for a CloudTrail event: its message carries who did
	// it, so it is sent even when a Config invocation about the same change
	// came first.
	firsthand bool
}

func originOf(t *trigger.Trigger, s *awsclient.Session) origin {
	o := origin{region: s.Region}
	switch {
	case t.Call != nil:
		o.account, o.eventID = t.Call.Account, t.Call.EventID
		o.cause, o.firsthand = t.Call.EventID, true
		if t.Call.Region != "" {
			o.region = t.Call.Region
		}
	case t.Config != nil:
		inv := t.Config
		o.account = inv.AccountID
		// Config's own event ID is no more than rule and message type; its
		// result token is unique per invocation and kept across retries.
		sum := sha256.Sum256([]byte(inv.ResultToken + "|" + inv.RuleName + "|" + inv.MessageType + "|" + inv.NotificationTime.String()))
		o.eventID = "config:" + hex.EncodeToString(sum[:12])
		it := inv.Item
		if it == nil {
			it = inv.Summary
		}
		switch {
		case it == nil:
			// A periodic evaluation: the day's sweep is the cause.
			day := inv.NotificationTime
			if day.IsZero() {
				day = time.Now()
			}
			o.cause = "sweep:" + day.UTC().Format(time.DateOnly)
		case len(it.RelatedEvents) > 0:
			// The CloudTrail event behind the change: the event path's cause.
			o.cause = it.RelatedEvents[0]
		default:
			// Every Config rule about one change gets the same item.
			o.cause = "item:" + it.CaptureTime.UTC().Format(time.RFC3339Nano)
		}
		if it != nil && it.Region != "" {
			o.region = it.Region
		}
		if it != nil && o.account == "" {
			o.account = it.AccountID
		}
	case t.Event != nil:
		// Another service's event: its EventBridge ID is kept across
		// retries, and the event itself is the change every rule about it
		// shares.
		o.account, o.eventID, o.cause = t.Event.Account, t.Event.ID, "event:"+t.Event.ID
		if t.Event.Region != "" {
			o.region = t.Event.Region
		}
	case t.Schedule != nil:
		o.account, o.eventID = t.Schedule.Account, t.Schedule.ID
		o.cause = "sweep:" + t.Schedule.Time.UTC().Format(time.DateOnly)
		if t.Schedule.Region != "" {
			o.region = t.Schedule.Region
		}
	}
	return o
}

// stateOf maps a decision to the state it leaves its (rule, resource) in,
// and whether it is news whatever the previous state (an alert, or a
// remediation Rampart applied: someone opened what Rampart closes).
func stateOf(d *report.Decision) (notifystate.State, bool) {
	switch d.Verdict {
	case rule.Violation:
		alert, fixes, applied, noop := false, 0, false, false
		for _, a := range d.Actions {
			switch {
			case a.API == rule.AlertAPI:
				alert = true
			case a.Outcome == rule.Failed:
				return notifystate.Failed, false
			default:
				fixes++
				applied = applied || a.Outcome == rule.Applied
				noop = noop || a.Outcome == rule.NoOp
			}
		}
		switch {
		case applied:
			return notifystate.Remediated, true
		case noop:
			// Already fixed (a retry, or a concurrent invocation fixed it).
			return notifystate.Remediated, false
		}
		return notifystate.Violation, alert && fixes == 0
	case rule.NotApplicable:
		if d.Exempt != "" { // set by exempt.go: "tag" or "list"
			return notifystate.Exempt, false
		}
	default: // compliant, ignored: nothing open
	}
	return notifystate.Compliant, false
}

// pending is one resource's notification being assembled.
type pending struct {
	notice report.Notice
	idx    []int             // the decisions it reports
	keys   []notifystate.Key // their keys, to mark notified (zero Key: nothing to mark)
}

// notifyTransitions is Handle's last step when a state store is
// configured: it records every decision, and notifies the transitions, one
// message per resource. A digest tick sends the daily digest instead.
func (e *Engine) notifyTransitions(ctx context.Context, t *trigger.Trigger, ds []report.Decision) []report.Decision {
	if e.State == nil || e.session.Offline {
		return ds
	}
	if e.Notifier == nil {
		// No topic: nothing to deduplicate; settle the alerts as notify does.
		for i := range ds {
			if d := &ds[i]; (d.Verdict == rule.Violation && !d.Quiet) || hasAlert(d) {
				e.notify(ctx, d)
			}
		}
		return ds
	}
	if t.Schedule != nil && isDigest(t.Schedule) {
		return e.digest(ctx, t.Schedule, ds)
	}
	o := originOf(t, e.session)
	now := e.Now()
	// One invocation has one origin (account, region, event): grouping by
	// resource is grouping by (account, region, resource).
	var groups []*pending
	byResource := map[string]*pending{}
	add := func(i int, k notifystate.Key, ev notifystate.Event) {
		d := &ds[i]
		g := byResource[d.Resource]
		if g == nil {
			g = &pending{notice: report.Notice{Account: o.account, Region: o.region}}
			byResource[d.Resource] = g
			groups = append(groups, g)
		}
		g.notice.Items = append(g.notice.Items, report.NoticeItem{Event: string(ev), Decision: d})
		g.idx, g.keys = append(g.idx, i), append(g.keys, k)
	}
	var unevaluable []cfgtypes.Evaluation
	for i := range ds {
		d := &ds[i]
		if d.Rule == "" || d.Resource == "" || d.Verdict == rule.Ignored || (d.Verdict == rule.Violation && d.Quiet) {
			continue
		}
		k := notifystate.Key{Account: o.account, Region: o.region, Rule: d.Rule, Resource: d.Resource}
		if d.Verdict == ErrorVerdict {
			n, counted, err := e.State.Fail(ctx, k, o.eventID, now)
			if err != nil {
				e.Log.Error("notification state", "rule", d.Rule, "resource", d.Resource, "error", err.Error())
				continue
			}
			limit := e.cfg.Notify.FailureLimit
			if limit < 1 {
				limit = DefaultFailureLimit
			}
			if n >= limit && t.Config != nil {
				unevaluable = append(unevaluable, unevaluableEvaluation(d, n, now))
			}
			if counted && n == limit {
				add(i, notifystate.Key{}, notifystate.Unevaluable)
			}
			continue
		}
		st, perEvent := stateOf(d)
		ch, err := e.State.Observe(ctx, notifystate.Observation{Key: k, State: st, EventID: o.eventID, PerEvent: perEvent,
			Severity: string(d.Severity), Reason: d.Reason, Now: now})
		e.sawState(ctx, i, ch.Prev, err) // for Security Hub (securityhub.go)
		if err != nil {
			// Better a repeated message than a missed one: without the
			// state, notify what today's rule would have.
			e.Log.Error("notification state", "rule", d.Rule, "resource", d.Resource, "error", err.Error())
			if d.Verdict == rule.Violation || hasAlert(d) {
				ev, _ := notifystate.Notable(notifystate.None, st)
				add(i, notifystate.Key{}, ev)
			}
			continue
		}
		if ch.Notify {
			add(i, k, ch.Event)
			continue
		}
		settleAlerts(d, false, nil, "already notified for this event")
	}
	if len(unevaluable) > 0 && e.Evaluator != nil {
		if err := e.Evaluator.PutEvaluations(ctx, t.Config.ResultToken, unevaluable); err != nil {
			e.Log.Error("put not-evaluable evaluations", "error", err.Error())
		}
	}
	for _, g := range groups {
		if !e.ownsCause(ctx, o, g, now) {
			// Another invocation already told a human about this change to
			// this resource (another overlapping rule's): fold these
			// transitions into that message. The digest lists them.
			for n, i := range g.idx {
				settleAlerts(&ds[i], false, nil, "notified with the message about the same change")
				if k := g.keys[n]; k != (notifystate.Key{}) {
					if err := e.State.MarkNotified(ctx, k, o.eventID); err != nil {
						e.Log.Error("notification state", "rule", ds[i].Rule, "resource", ds[i].Resource, "error", err.Error())
					}
				}
			}
			continue
		}
		err := e.publish(ctx, &g.notice, ds, g.idx)
		for n, i := range g.idx {
			d := &ds[i]
			settleAlerts(d, err == nil, err, "")
			if err != nil {
				// The invocation fails, Lambda retries it, and the retry
				// (same event ID, not marked notified) sends the message.
				if d.Error == "" {
					d.Error = "notify: " + err.Error()
				}
				continue
			}
			if k := g.keys[n]; k != (notifystate.Key{}) {
				if err := e.State.MarkNotified(ctx, k, o.eventID); err != nil {
					e.Log.Error("notification state", "rule", d.Rule, "resource", d.Resource, "error", err.Error())
				}
			}
		}
		if err != nil {
			e.Log.Error("notify", "resource", g.notice.Items[0].Decision.Resource, "error", err.Error())
		}
	}
	return ds
}

// ownsCause claims the group's cause and reports whether this invocation is
// to send its message: it is the first about the change, or the CloudTrail
// event itself. A group of "cannot evaluate" items only is always sent.
func (e *Engine) ownsCause(ctx context.Context, o origin, g *pending, now time.Time) bool {
	if o.cause == "" || !slices.ContainsFunc(g.keys, func(k notifystate.Key) bool { return k != (notifystate.Key{}) }) {
		return true
	}
	c := notifystate.Cause{Account: o.account, Region: o.region, Resource: g.notice.Items[0].Decision.Resource, ID: o.cause}
	owned, err := e.State.Claim(ctx, c, o.eventID, now)
	if err != nil {
		e.Log.Error("notification state", "resource", c.Resource, "error", err.Error())
		return true // better a repeated message than a missed one
	}
	return owned || o.firsthand
}

// publish sends one notice: as one message when the notifier takes
// notices, else each decision through Notify.
func (e *Engine) publish(ctx context.Context, n *report.Notice, ds []report.Decision, idx []int) error {
	if e.Notifier == nil {
		return nil
	}
	if nn, ok := e.Notifier.(report.NoticeNotifier); ok {
		return nn.NotifyNotice(ctx, n)
	}
	for _, i := range idx {
		if err := e.Notifier.Notify(ctx, &ds[i]); err != nil {
			return err
		}
	}
	return nil
}

func hasAlert(d *report.Decision) bool {
	return slices.ContainsFunc(d.Actions, func(a rule.Action) bool { return a.API == rule.AlertAPI })
}

// settleAlerts sets the outcome of a decision's alert actions, as notify
// does: delivered with the message, failed with it, or not needed.
func settleAlerts(d *report.Decision, sent bool, err error, noop string) {
	for i := range d.Actions {
		a := &d.Actions[i]
		if a.API != rule.AlertAPI {
			continue
		}
		switch {
		case noop != "":
			a.Outcome, a.Reason = rule.NoOp, a.Reason+" ("+noop+")"
		case err != nil:
			a.Outcome, a.Error = rule.Failed, err.Error()
		case sent:
			a.Outcome = rule.Applied
		}
	}
}

// unevaluableEvaluation replaces whatever result Config holds for a resource
// Rampart has failed to evaluate n times in a row: Config accepts no
// INSUFFICIENT_DATA from PutEvaluations, so NOT_APPLICABLE, with an
// annotation saying why.
func unevaluableEvaluation(d *report.Decision, n int, now time.Time) cfgtypes.Evaluation {
	ann := fmt.Sprintf("Rampart cannot evaluate this resource (%d failures in a row; the last result no longer stands): %s", n, d.Error)
	ann = report.Truncate(ann, report.MaxAnnotation)
	ts := d.OrderingTime
	if ts.IsZero() {
		ts = now
	}
	return cfgtypes.Evaluation{
		ComplianceResourceType: aws.String(d.ResourceType),
		ComplianceResourceId:   aws.String(d.Resource),
		ComplianceType:         cfgtypes.ComplianceTypeNotApplicable,
		Annotation:             aws.String(ann),
		OrderingTimestamp:      aws.Time(ts),
	}
}

// isDigest reports whether a schedule tick is the digest's.
func isDigest(s *trigger.Scheduled) bool {
	for _, arn := range s.Resources {
		if _, name, _ := strings.Cut(arn, ":rule/"); name == DigestSchedule {
			return true
		}
	}
	return false
}

// digest sends the daily digest: one message per account listing its open
// findings in every region the digest reads. Nothing open, no message.
func (e *Engine) digest(ctx context.Context, s *trigger.Scheduled, _ []report.Decision) []report.Decision {
	d := report.Decision{Trigger: trigger.KindSchedule, EventID: s.ID, Verdict: rule.Ignored, Actions: []rule.Action{}}
	byAccount := map[string]*report.Digest{}
	var accounts []string
	for _, st := range append([]notifystate.Store{e.State}, e.DigestFrom...) {
		recs, more, err := st.Open(ctx, maxDigest)
		if err != nil {
			d.Reason, d.Error = "could not read the open findings", err.Error()
			return []report.Decision{d}
		}
		for _, r := range recs {
			dg := byAccount[r.Key.Account]
			if dg == nil {
				dg = &report.Digest{Account: r.Key.Account, Day: e.Now()}
				byAccount[r.Key.Account] = dg
				accounts = append(accounts, r.Key.Account)
			}
			dg.Items = append(dg.Items, report.DigestItem{Region: r.Key.Region, Rule: r.Key.Rule, Resource: r.Key.Resource,
				Severity: r.Severity, State: string(r.State), Reason: r.Reason, Since: r.Since})
			dg.More = dg.More || more
		}
	}
	slices.Sort(accounts)
	dn, ok := e.Notifier.(report.DigestNotifier)
	sent := 0
	for _, a := range accounts {
		if !ok {
			break
		}
		if err := dn.NotifyDigest(ctx, byAccount[a]); err != nil {
			d.Error = "notify: " + err.Error()
			break
		}
		sent++
	}
	switch {
	case len(accounts) == 0:
		d.Reason = "daily digest: no open findings, nothing sent"
	case !ok:
		d.Reason = fmt.Sprintf("daily digest: open findings in %d accounts, but no topic to send them to", len(accounts))
	default:
		d.Reason = fmt.Sprintf("daily digest: sent %d of %d accounts' open findings", sent, len(accounts))
	}
	return []report.Decision{d}
}
