// Package consolesignin holds console-signin: every AWS Management Console sign-in
// is judged as it happens. A root sign-in is an alert, whatever the MFA; an
// IAM user who signs in without MFA is an alert; a failed sign-in is a quiet
// violation, recorded in the decision log and counted by an aggregate alarm
// rather than alerted one by one.
//
// A sign-in is a fact, not a state: no AWS API describes it afterwards and
// nothing Rampart could describe would change the verdict (the session was
// opened, with or without MFA, from that address). So Evaluate decides from
// the event alone, live and offline alike, and makes no AWS call. A duplicate
// delivery of the same sign-in judges the same way; that is the price of not
// keeping state, and the engine keeps none.
//
// The package only reads the trigger; it never changes a resource.
package consolesignin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// Resource types a sign-in is reported against.
const (
	userType    = "AWS::IAM::User"
	accountType = "AWS::::Account"
	roleType    = "AWS::IAM::Role"
)

// FailedPrefix starts the reason of every failed sign-in decision, so the
// rule's log alarm (a CloudWatch Logs metric filter on the decision log)
// counts them.
const FailedPrefix = "failed console sign-in"

// Rule is console-signin. The sign-in is the state: it happened, and
// nothing read later changes what it was, so live and offline runs decide
// alike from the event.
var Rule = rule.Define(rule.Spec[signIn, struct{}]{
	Meta:    &meta,
	Targets: func(call *trigger.APICall, _ struct{}) ([]rule.Target, error) { return targets(call) },
	Observe: func(_ context.Context, _ rule.Env, t rule.Target, _ struct{}) (signIn, error) { return fromEvent(t) },
	Plan:    func(t rule.Target, _ struct{}) (signIn, error) { return fromEvent(t) },
	Judge:   func(ev signIn, t rule.Target, _ struct{}, _ rule.Facts) rule.Finding { return judge(t.ID, ev) },
})

var meta = rule.Meta{
	ID:           "console-signin",
	Title:        "Console sign-ins use MFA and never the root user",
	Severity:     rule.High,
	Rationale:    "The root user can do anything, including closing the account, and should sign in only for the few tasks that need it; an IAM user signing in with a password alone is one phished or reused password away from an intruder.",
	Remediation:  "Alerts on every root sign-in and on every IAM-user sign-in without MFA (who, when, from where); records failed sign-ins and alarms on five within five minutes instead of alerting on each.",
	ResourceType: userType,
	Function:     "signin",
	CloudTrail: []rule.CloudTrailTrigger{{DetailType: trigger.DetailSignIn, Source: "signin.amazonaws.com",
		Events: []string{"ConsoleLogin"}, Region: "us-east-1"}},
	// Failed sign-ins are quiet violations; this alarm aggregates them
	// (a password-guessing burst raises it once, not once per attempt).
	LogAlarms: []rule.LogAlarm{{
		Name:        "failed-signins",
		Description: "Five or more failed console sign-ins within five minutes: someone may be guessing passwords. The decision log of the signin function names who, from where and why.",
		Pattern:     `{ ($.rule = "console-signin") && ($.verdict = "violation") && ($.reason = "` + FailedPrefix + `*") }`,
		Threshold:   5,
		Minutes:     5,
	}},
	// Evaluate reads nothing and Apply changes nothing: the rule's whole
	// remediation is the alert, which the engine publishes (sns:Publish, the
	// API of every alert action).
	ReadActions:  []string{},
	WriteActions: []string{rule.AlertAPI},
}

// Outcomes of a sign-in, as responseElements.ConsoleLogin gives them.
const (
	success = "Success"
	failure = "Failure"
)

// signIn is what a ConsoleLogin record says: the evidence Evaluate decides from.
type signIn struct {
	Outcome   string // Success or Failure
	ActorType string // Root, IAMUser, AssumedRole, FederatedUser, …
	Who       string
	MFAUsed   bool
	// MFARecorded is false when additionalEventData carries no MFAUsed.
	MFARecorded bool
	Error       string // errorMessage of a failure, e.g. "Failed authentication"
	SourceIP    string
}

// targets names the principal that signed in (or tried to).
// A record whose responseElements or additionalEventData is not an object, or
// that says neither Success nor Failure, is bad input.
func targets(call *trigger.APICall) ([]rule.Target, error) {
	if call.EventName != "ConsoleLogin" {
		return nil, nil
	}
	var resp struct {
		ConsoleLogin string `json:"ConsoleLogin"`
	}
	if err := decodeObject(call.Response, &resp); err != nil {
		return nil, fmt.Errorf("%w: ConsoleLogin responseElements: %w", trigger.ErrInput, err)
	}
	var extra struct {
		MFAUsed *string `json:"MFAUsed"`
	}
	if err := decodeObject(call.Additional, &extra); err != nil {
		return nil, fmt.Errorf("%w: ConsoleLogin additionalEventData: %w", trigger.ErrInput, err)
	}
	ev := signIn{ActorType: call.Actor.Type, Who: who(call.Actor, call.Region), Error: call.ErrorMessage, SourceIP: call.SourceIP}
	switch {
	case resp.ConsoleLogin == failure || call.ErrorMessage != "":
		ev.Outcome = failure
	case resp.ConsoleLogin == success:
		ev.Outcome = success
	default:
		return nil, fmt.Errorf("%w: ConsoleLogin record says neither Success nor Failure (responseElements.ConsoleLogin %q, no errorMessage)",
			trigger.ErrInput, resp.ConsoleLogin)
	}
	if extra.MFAUsed != nil {
		ev.MFARecorded = true
		ev.MFAUsed = strings.EqualFold(*extra.MFAUsed, "Yes")
	}
	t := rule.Target{Type: userType, ID: ev.Who, Region: call.Region, Evidence: ev}
	switch call.Actor.Type {
	case "Root":
		t.Type = accountType
	case "AssumedRole":
		t.Type = roleType
	}
	return []rule.Target{t}, nil
}

// decodeObject reads a JSON object into v; null or absent is an empty object.
func decodeObject(raw json.RawMessage, v any) error {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return nil
	}
	if !strings.HasPrefix(s, "{") {
		return fmt.Errorf("not a JSON object: %.40s", s)
	}
	return json.Unmarshal(raw, v)
}

// who names the principal: its ARN, or — for a failed sign-in, where
// CloudTrail gives no ARN — the user name tried (HIDDEN_DUE_TO_SECURITY_REASONS
// when it is no IAM user of the account).
func who(a trigger.Actor, region string) string {
	switch {
	case a.ARN != "":
		return a.ARN
	case a.UserName != "":
		return a.UserName
	case a.Type == "Root" && a.AccountID != "":
		return arn.ARN{Partition: awsclient.PartitionOf(region), Service: "iam", AccountID: a.AccountID, Resource: "root"}.String()
	case a.AccountID != "":
		return a.Type + "@" + a.AccountID
	}
	return "unknown principal"
}

// fromEvent is the sign-in the target's event recorded.
func fromEvent(t rule.Target) (signIn, error) {
	if ev, ok := t.Evidence.(signIn); ok {
		return ev, nil
	}
	return signIn{}, rule.Undecided("no sign-in to judge: this rule decides from ConsoleLogin events only")
}

// judge is the whole rule.
func judge(target string, ev signIn) rule.Finding {
	from := ""
	if ev.SourceIP != "" {
		from = " from " + ev.SourceIP
	}
	if ev.Outcome == failure {
		// A quiet violation: recorded (decision log, metrics), not alerted
		// one by one; the failed-sign-ins log alarm counts them. The
		// decision log keeps who, where from and why.
		why := ev.Error
		if why == "" {
			why = "no reason given"
		}
		return rule.Finding{Verdict: rule.Violation, Resource: target, Quiet: true,
			Reason: fmt.Sprintf("%s by %s%s (%s): no session was opened; counted by the failed sign-in alarm, not alerted one by one", FailedPrefix, target, from, why)}
	}
	mfa := "without MFA"
	if ev.MFAUsed {
		mfa = "with MFA"
	}
	switch ev.ActorType {
	case "Root":
		reason := fmt.Sprintf("the root user signed in to the console%s (%s); root should be used only for the few tasks that need it", from, mfa)
		return violation(target, reason)
	case "IAMUser":
		if ev.MFAUsed {
			return rule.Finding{Verdict: rule.Compliant, Resource: target, Reason: fmt.Sprintf("IAM user %s signed in%s with MFA", target, from)}
		}
		reason := fmt.Sprintf("IAM user %s signed in to the console%s without MFA", target, from)
		if !ev.MFARecorded {
			reason = fmt.Sprintf("IAM user %s signed in to the console%s and the record does not say MFA was used", target, from)
		}
		return violation(target, reason)
	}
	return rule.Finding{Verdict: rule.NotApplicable, Resource: target,
		Reason: fmt.Sprintf("%s sign-in%s: federated principals prove MFA to their identity provider, which CloudTrail's MFAUsed does not see", orDash(ev.ActorType), from)}
}

func violation(target, reason string) rule.Finding {
	return rule.Finding{Verdict: rule.Violation, Resource: target, Reason: reason,
		Actions: []rule.Action{rule.Alert(target, reason)}}
}

func orDash(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
