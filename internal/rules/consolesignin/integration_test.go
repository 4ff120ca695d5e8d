package consolesignin_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/consolesignin"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

func newEngine(t *testing.T, s *awsclient.Session, mode engine.Mode, topic string) *engine.Engine {
	t.Helper()
	e, _ := enginetest.New(t, s, engine.Config{Mode: mode, TopicARN: topic}, consolesignin.Rule)
	return e
}

// Every alerting sign-in is published to the topic: the subject names the
// rule and the resource, the body the five W's. The only AWS call is the
// publish itself.
func TestAlertsArePublished(t *testing.T) {
	for _, c := range []struct{ file, resource, from string }{
		{"console-login-root.json", "arn:aws:iam::123456789012:root", "198.51.100.61"},
		{"console-login-root-doc-spelling.json", "arn:aws:iam::123456789012:root", "198.51.100.61"},
		{"console-login-iam-no-mfa.json", "arn:aws:iam::123456789012:user/alice", "198.51.100.23"},
	} {
		t.Run(c.file, func(t *testing.T) {
			s := mototest.Session(t)
			topic := mototest.NewTopic(t, s, "rampart-alerts")
			res, calls := enginetest.RecordedOne(t, newEngine(t, s, engine.Enforce, topic.ARN), enginetest.Sample(t, "events/signin/"+c.file))
			d := res.Decisions[0]
			if d.Rule != "console-signin" || d.Verdict != rule.Violation || d.Resource != c.resource {
				t.Fatalf("decision = %+v", d)
			}
			if len(d.Actions) != 1 || d.Actions[0].API != rule.AlertAPI || d.Actions[0].Outcome != rule.Applied {
				t.Fatalf("actions = %+v", d.Actions)
			}
			if !slices.Equal(calls, []string{"Publish"}) {
				t.Fatalf("calls = %v, want exactly one Publish", calls)
			}
			got := topic.Received(t)
			if len(got) != 1 {
				t.Fatalf("notifications = %+v", got)
			}
			n := got[0]
			if !strings.Contains(n.Subject, "console-signin") || n.Attributes["rule"] != "console-signin" || n.Attributes["verdict"] != "violation" {
				t.Fatalf("notification = %+v", n)
			}
			for _, want := range []string{c.resource, c.from, "signin:ConsoleLogin", "sns:Publish"} {
				if !strings.Contains(n.Message, want) {
					t.Errorf("message lacks %q:\n%s", want, n.Message)
				}
			}
		})
	}
}

// A failed sign-in reaches the rule (it has no errorCode) and is recorded
// with a countable reason, but nothing is published and no call is made.
func TestFailedSignInIsRecordedNotAlerted(t *testing.T) {
	s := mototest.Session(t)
	topic := mototest.NewTopic(t, s, "rampart-alerts")
	res, calls := enginetest.RecordedOne(t, newEngine(t, s, engine.Enforce, topic.ARN), enginetest.Sample(t, "events/signin/console-login-failure.json"))
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || !strings.HasPrefix(d.Reason, consolesignin.FailedPrefix) || len(d.Actions) != 0 {
		t.Fatalf("decision = %+v", d)
	}
	if !strings.Contains(d.Reason, "185.220.101.34") || !strings.Contains(d.Reason, "Failed authentication") {
		t.Fatalf("reason lacks where from and why: %q", d.Reason)
	}
	if len(calls) != 0 {
		t.Fatalf("calls = %v, want none", calls)
	}
	if got := topic.Received(t); len(got) != 0 {
		t.Fatalf("a failed sign-in was alerted: %+v", got)
	}
}

// Report mode changes nothing a sign-in rule could change: the alert is the
// whole remediation, so it is still sent.
func TestReportModeStillAlerts(t *testing.T) {
	s := mototest.Session(t)
	topic := mototest.NewTopic(t, s, "rampart-alerts")
	res, _ := enginetest.RecordedOne(t, newEngine(t, s, engine.Report, topic.ARN), enginetest.Sample(t, "events/signin/console-login-root.json"))
	if d := res.Decisions[0]; d.Mode != "report" || d.Actions[0].Outcome != rule.Applied {
		t.Fatalf("decision = %+v", d)
	}
	if got := topic.Received(t); len(got) != 1 {
		t.Fatalf("notifications = %d, want 1", len(got))
	}
}

// Without a topic the alert is in the decision log only, and says so.
func TestNoTopicSkipsTheAlert(t *testing.T) {
	s := mototest.Session(t)
	res, calls := enginetest.RecordedOne(t, newEngine(t, s, engine.Enforce, ""), enginetest.Sample(t, "events/signin/console-login-iam-no-mfa.json"))
	if a := res.Decisions[0].Actions[0]; a.Outcome != rule.Skipped || !strings.Contains(a.Error, "no topic") {
		t.Fatalf("action = %+v", a)
	}
	if len(calls) != 0 {
		t.Fatalf("calls = %v", calls)
	}
}

// rampart plan decides the same from the event alone and makes no call.
func TestOfflinePlanMakesNoCall(t *testing.T) {
	mototest.Session(t) // reset
	e := newEngine(t, awsclient.NewOffline("us-east-1"), engine.Enforce, "arn:aws:sns:us-east-1:123456789012:unused")
	for _, file := range []string{"console-login-root.json", "console-login-iam-no-mfa.json", "console-login-failure.json", "console-login-iam-mfa.json", "console-login-federated-sso.json"} {
		res, calls := enginetest.Recorded(t, e, enginetest.Sample(t, "events/signin/"+file))
		if len(calls) != 0 {
			t.Fatalf("%s: offline calls = %v", file, calls)
		}
		d := res.Decisions[0]
		if d.Mode != "plan" {
			t.Fatalf("%s: mode = %s", file, d.Mode)
		}
		for _, a := range d.Actions {
			if a.Outcome != rule.Planned {
				t.Fatalf("%s: action = %+v", file, a)
			}
		}
	}
}

// A duplicate delivery is judged the same way and changes nothing: there is
// no state to reconcile. (Each delivery is published: the engine keeps no
// record of what it has already alerted.)
func TestDuplicateDeliveryJudgesTheSame(t *testing.T) {
	s := mototest.Session(t)
	e := newEngine(t, s, engine.Enforce, "")
	first, _ := enginetest.RecordedOne(t, e, enginetest.Sample(t, "events/signin/console-login-iam-no-mfa.json"))
	second, calls := enginetest.RecordedOne(t, e, enginetest.Sample(t, "events/signin/console-login-iam-no-mfa.json"))
	if first.Decisions[0].Verdict != second.Decisions[0].Verdict || first.Decisions[0].Reason != second.Decisions[0].Reason {
		t.Fatalf("first %+v\nsecond %+v", first.Decisions[0], second.Decisions[0])
	}
	if len(calls) != 0 {
		t.Fatalf("calls = %v", calls)
	}
}

// The exemption list covers a principal by ARN, e.g. a break-glass user
// whose sign-ins are expected and watched elsewhere.
func TestExemptPrincipal(t *testing.T) {
	s := mototest.Session(t)
	e, _ := enginetest.New(t, s, engine.Config{Mode: engine.Enforce, Exemptions: []engine.Exemption{{Rule: "console-signin",
		Resource: "arn:aws:iam::123456789012:user/alice", Reason: "break-glass user", Owner: "secops@example.com", Expires: "2099-01-01"}}}, consolesignin.Rule)
	res, _ := enginetest.RecordedOne(t, e, enginetest.Sample(t, "events/signin/console-login-iam-no-mfa.json"))
	if d := res.Decisions[0]; d.Verdict != rule.NotApplicable || !strings.Contains(d.Reason, "break-glass") || len(d.Actions) != 0 {
		t.Fatalf("decision = %+v", d)
	}
}

// Sign-ins with MFA, and federated ones, are judged and publish nothing.
func TestCompliantSignInsPublishNothing(t *testing.T) {
	for file, want := range map[string]rule.Verdict{"console-login-iam-mfa.json": rule.Compliant, "console-login-federated-sso.json": rule.NotApplicable} {
		s := mototest.Session(t)
		topic := mototest.NewTopic(t, s, "rampart-alerts")
		res, calls := enginetest.RecordedOne(t, newEngine(t, s, engine.Enforce, topic.ARN), enginetest.Sample(t, "events/signin/"+file))
		if d := res.Decisions[0]; d.Verdict != want || len(d.Actions) != 0 {
			t.Fatalf("%s: decision = %+v", file, d)
		}
		if len(calls) != 0 {
			t.Fatalf("%s: calls = %v", file, calls)
		}
		if n := topic.Received(t); len(n) != 0 {
			t.Fatalf("%s: notifications = %+v", file, n)
		}
	}
}
