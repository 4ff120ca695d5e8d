package e2e

import (
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/demo"
)

// forEachScenario runs the test once per demo scenario whose rule is in the
// catalog, as a subtest named function/scenario.
func forEachScenario(t *testing.T, test func(t *testing.T, sc demo.Scenario)) {
	for _, sc := range demo.Scenarios() {
		fn := sc.Function()
		if fn == "" {
			t.Errorf("scenario %q: rule %s is not in the catalog", sc.Name, sc.Rule)
			continue
		}
		t.Run(fn+"/"+sc.Name, func(t *testing.T) { test(t, sc) })
	}
}

// In enforce mode the function fixes exactly the violation, leaves the
// legitimate configuration alone, and a second delivery of the same events
// changes nothing (it may still report what cannot be fixed, as an
// unencrypted volume, but applies nothing).
func TestEnforceFixesExactlyTheViolation(t *testing.T) {
	forEachScenario(t, func(t *testing.T, sc demo.Scenario) {
		s := seed(t, sc)
		f := deploy(t, sc.Function(), s.deployment(engine.Enforce))
		var all []report.Decision
		for i, p := range s.payloads {
			ds := succeed(t, f, p)
			if !hasRule(ds, sc.Rule) {
				t.Fatalf("%s: no decision of %s:%s", sc.Events[i], sc.Rule, summarize(ds))
			}
			all = append(all, ds...)
		}
		applied := 0
		for _, d := range all {
			if d.Failed() {
				t.Fatalf("a decision failed:%s", summarize(all))
			}
			for _, a := range d.Actions {
				if a.Outcome == rule.Applied {
					applied++
				}
			}
		}
		if applied == 0 {
			t.Fatalf("nothing was applied:%s", summarize(all))
		}
		s.notified(t, all)
		after := s.state(t)
		if !demo.SameState(after, sc.Want) {
			t.Fatalf("state after enforce\n got %q\nwant %q\n(before %q)%s", after, sc.Want, s.before, summarize(all))
		}

		var again []report.Decision
		calls := record(t, func() {
			for _, p := range s.payloads {
				again = append(again, succeed(t, f, p)...)
			}
		})
		if c := changes(calls); len(c) > 0 {
			t.Fatalf("a duplicate delivery made mutating calls %v:%s", c, summarize(again))
		}
		for _, d := range again {
			for _, a := range d.Actions {
				if a.Outcome == rule.Applied && a.API != rule.AlertAPI {
					t.Fatalf("a duplicate delivery applied %s:%s", a.API, summarize(again))
				}
			}
		}
		if got := s.state(t); !demo.SameState(got, after) {
			t.Fatalf("a duplicate delivery changed the state: %q → %q", after, got)
		}
	})
}

// In report mode the function plans the same fix and changes nothing.
func TestReportModeChangesNothing(t *testing.T) {
	forEachScenario(t, func(t *testing.T, sc demo.Scenario) {
		s := seed(t, sc)
		f := deploy(t, sc.Function(), s.deployment(engine.Report))
		var all []report.Decision
		calls := record(t, func() {
			for _, p := range s.payloads {
				all = append(all, succeed(t, f, p)...)
			}
		})
		planned := 0
		for _, d := range all {
			if d.Mode != string(engine.Report) && d.Rule != "" {
				t.Fatalf("decision in mode %q:%s", d.Mode, summarize(all))
			}
			for _, a := range d.Actions {
				switch {
				case a.API == rule.AlertAPI:
				case a.Outcome != rule.Planned:
					t.Fatalf("report mode %s %s:%s", a.Outcome, a.API, summarize(all))
				default:
					planned++
				}
			}
		}
		if planned == 0 && !sc.AlertOnly() {
			t.Fatalf("report mode planned nothing:%s", summarize(all))
		}
		// Report mode reports: the notifications go out all the same.
		s.notified(t, all)
		if c := changes(calls); len(c) > 0 {
			t.Fatalf("report mode made mutating calls %v", c)
		}
		if got := s.state(t); !demo.SameState(got, s.before) {
			t.Fatalf("report mode changed the state: %q → %q", s.before, got)
		}
	})
}

// A remediation AWS refuses (here: the function's role lacks the write
// permission, enforced by moto's IAM) must fail the invocation, so that
// EventBridge retries it and the dead-letter queue keeps it; the resource is
// left as it was, and the retry succeeds once the cause is gone. For a rule
// that only alerts, the alert is the remediation: a refused sns:Publish
// fails the invocation the same way.
//
// moto answers a denied EC2 call with AccessDenied where EC2 says
// UnauthorizedOperation, and a denied call of a JSON-protocol service
// (CloudTrail) with an XML body the SDK cannot decode ("StatusCode: 403,
// deserialization failed") where AWS sends AccessDeniedException; each is a
// failed action to the engine, which is what is tested.
func TestFailedRemediationIsALambdaError(t *testing.T) {
	forEachScenario(t, func(t *testing.T, sc demo.Scenario) {
		if sc.IAMGap != "" {
			t.Skip(sc.IAMGap)
		}
		s := seed(t, sc)
		readOnly := iamUser(t, s.sess, "rampart-"+sc.Function()+"-readonly", declaredActions(sc.Function(), false))
		f := deploy(t, sc.Function(), s.deployment(engine.Enforce), readOnly)
		enforceIAM(t)
		inv, _ := invoke(t, f, s.payloads[0])
		setAuth(t, "inf")
		if !inv.FunctionError {
			t.Fatalf("a denied remediation returned no error: %s", inv.Body)
		}
		if !strings.Contains(inv.ErrorMessage, engine.ErrFailed.Error()) || !denied(inv.ErrorMessage) {
			t.Fatalf("error %s: %s", inv.ErrorType, inv.ErrorMessage)
		}
		if got := s.state(t); !demo.SameState(got, s.before) {
			t.Fatalf("a denied remediation changed the state: %q → %q", s.before, got)
		}
		// EventBridge's retry, once the permission is there (IAM no longer
		// enforced), fixes it: the same warm function, the same events.
		var retried []report.Decision
		for _, p := range s.payloads {
			retried = append(retried, succeed(t, f, p)...)
		}
		if got := s.state(t); !demo.SameState(got, sc.Want) {
			t.Fatalf("after the retry\n got %q\nwant %q", got, sc.Want)
		}
		s.notified(t, retried)
	})
}

// The function works with exactly the IAM actions its rules declare and
// the reporting ones infra adds (what infra grants it): evaluation,
// remediation and notification make no undeclared call.
func TestDeclaredIAMActionsSuffice(t *testing.T) {
	forEachScenario(t, func(t *testing.T, sc demo.Scenario) {
		if sc.IAMGap != "" {
			t.Skip(sc.IAMGap)
		}
		s := seed(t, sc)
		declared := iamUser(t, s.sess, "rampart-"+sc.Function(), declaredActions(sc.Function(), true))
		f := deploy(t, sc.Function(), s.deployment(engine.Enforce), declared)
		enforceIAM(t)
		var all []report.Decision
		for _, p := range s.payloads {
			inv, r := invoke(t, f, p)
			if inv.FunctionError {
				setAuth(t, "inf")
				t.Fatalf("with the declared actions %v: %s", declaredActions(sc.Function(), true), inv.ErrorMessage)
			}
			all = append(all, r.Decisions...)
		}
		setAuth(t, "inf")
		if got := s.state(t); !demo.SameState(got, sc.Want) {
			t.Fatalf("state\n got %q\nwant %q%s", got, sc.Want, summarize(all))
		}
		s.notified(t, all)
	})
}

// denied reports whether an error message tells of an authorization failure.
func denied(msg string) bool {
	for _, s := range []string{"not authorized", "AccessDenied", "UnauthorizedOperation", "StatusCode: 403"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func hasRule(ds []report.Decision, id string) bool {
	for _, d := range ds {
		if d.Rule == id {
			return true
		}
	}
	return false
}
