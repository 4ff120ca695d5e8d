package demo

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/lambdatest"
)

func TestWrap(t *testing.T) {
	tests := []struct {
		line  string
		width int
		want  []string
	}{
		{"short", 10, []string{"short"}},
		{"tcp 22 from 0.0.0.0/0 — outside", 16, []string{"tcp 22 from", "  0.0.0.0/0 —", "  outside"}},
		{"  config:StartConfigurationRecorder", 20, []string{"  config:", "  StartConfiguration", "  Recorder"}},
		{"s3-bucket-public-access", 20, []string{"s3-bucket-public-", "  access"}},
		{"abcdefghij", 4, []string{"abcd", "  ef", "  gh", "  ij"}},
	}
	for _, tt := range tests {
		got := wrap(tt.line, tt.width)
		if !slices.Equal(got, tt.want) {
			t.Errorf("wrap(%q, %d) = %q, want %q", tt.line, tt.width, got, tt.want)
		}
		for _, l := range got {
			if utf8.RuneCountInString(l) > tt.width {
				t.Errorf("wrap(%q, %d): %q is wider than %d", tt.line, tt.width, l, tt.width)
			}
		}
	}
}

func TestDiff(t *testing.T) {
	before := []string{"logging: off", "multi-region: yes", "tcp 22 from 0.0.0.0/0", "tcp 443 from 0.0.0.0/0"}
	after := []string{"logging: on", "multi-region: yes", "tcp 443 from 0.0.0.0/0", "flow logs: ALL"}
	want := []string{"logging: off → on", "multi-region: yes", "tcp 22 from 0.0.0.0/0 → removed", "tcp 443 from 0.0.0.0/0", "+ flow logs: ALL"}
	if got := Diff(before, after); !slices.Equal(got, want) {
		t.Fatalf("Diff = %q\nwant   %q", got, want)
	}
}

func TestRewrite(t *testing.T) {
	ev := []byte(`{"name":"arn:aws:cloudtrail:us-east-1:123456789012:trail/management-events","trail":"management-events","sg":"sg-1"}`)
	got, found := Rewrite(ev, map[string]string{
		"management-events": "app-trail",
		"sg-1":              "sg-1234", // a new ID that contains the old one is not rewritten again
	})
	want := `{"name":"arn:aws:cloudtrail:us-east-1:123456789012:trail/app-trail","trail":"app-trail","sg":"sg-1234"}`
	if string(got) != want {
		t.Fatalf("Rewrite = %s\nwant      %s", got, want)
	}
	slices.Sort(found)
	if !slices.Equal(found, []string{"management-events", "sg-1"}) {
		t.Fatalf("found %v", found)
	}
}

// Every scenario names a rule of the catalog, event files that exist, a
// unique name and a wanted state; the payloads' IDs are checked when seeded
// (e2e).
func TestScenariosAreWellFormed(t *testing.T) {
	root, err := lambdatest.Root()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, sc := range Scenarios() {
		if names[sc.Name] {
			t.Errorf("two scenarios are named %q", sc.Name)
		}
		names[sc.Name] = true
		if sc.Function() == "" {
			t.Errorf("%q: rule %q is not in the catalog", sc.Name, sc.Rule)
		}
		if len(sc.Events) == 0 || sc.Seed == nil || (sc.State == nil) != (len(sc.Want) == 0) {
			t.Errorf("%q: events and Seed are required, and Want with State", sc.Name)
		}
		for _, e := range sc.Events {
			if _, err := os.Stat(filepath.Join(root, "events", e)); err != nil {
				t.Errorf("%q: %v", sc.Name, err)
			}
		}
		if r := RuleByID(sc.Rule); r != nil {
			if _, err := r.Meta().Resolve(sc.Params); err != nil {
				t.Errorf("%q: params: %v", sc.Name, err)
			}
		}
	}
}

func TestPrint(t *testing.T) {
	sum := &Summary{
		Outcomes: []Outcome{{
			Scenario: Scenario{Rule: "sg-open-world", Name: "world-open SSH", State: ingress},
			Fixture:  Fixture{Label: "sg-0123 (web)"},
			Before:   []string{"tcp 22 from 0.0.0.0/0", "tcp 22 from 10.0.0.0/8"},
			After:    []string{"tcp 22 from 10.0.0.0/8"},
			Decisions: []report.Decision{{Rule: "sg-open-world", Verdict: rule.Violation, Reason: "tcp 22 from 0.0.0.0/0", Resource: "sg-0123",
				Actions: []rule.Action{{API: "ec2:RevokeSecurityGroupIngress", Target: "sg-0123", Reason: "revoke tcp 22 from 0.0.0.0/0", Outcome: rule.Applied}}}},
		}, {
			Scenario: Scenario{Rule: "cloudtrail-integrity", Name: "stopped trail", State: trailState},
			Fixture:  Fixture{Label: "trail org-audit"},
			Before:   []string{"logging: off"}, After: []string{"logging: off"},
			Err: errors.New("state after Rampart is not the wanted one"),
		}, {
			Scenario:      Scenario{Rule: "console-signin", Name: "root console sign-in"},
			Fixture:       Fixture{Label: "root user"},
			Decisions:     []report.Decision{{Rule: "console-signin", Verdict: rule.Violation, Reason: "root signed in", Actions: []rule.Action{alertApplied()}}},
			Notifications: []string{"Rampart [high] console-signin on root: reported"},
		}},
		Timings: []Timing{{Function: "securitygroup", Cold: 20e6, Warm: 5e6, Invocations: 2}},
		Replays: 2,
	}
	var b bytes.Buffer
	Print(&b, sum)
	out := b.String()
	for _, want := range []string{
		"RESOURCE", "BEFORE → AFTER", "sg-0123 (web)", "applied: revoke tcp 22 from", "ec2:RevokeSecurityGroupIngress",
		"tcp 22 from 0.0.0.0/0 → removed", "2 of 3 scenarios: 1 fixed in enforce mode, 1 reported", "0 compliant and left alone, 1 FAILED", "FIXED", "REPORTED", "cold start 20.0 ms, warm median 5.0 ms",
		"SNS: Rampart [high] console-signin", "applied: alert to the deployment's",
		"UNEXPECTED: state after Rampart", `FAILED "stopped trail"`,
		"sns:Publish",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	total := 0
	for _, c := range columns {
		total += c.width + 2
	}
	for _, l := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(l); n > total && !strings.HasPrefix(l, "FAILED") {
			t.Errorf("line wider than the table (%d > %d): %q", n, total, l)
		}
	}
}

func TestClass(t *testing.T) {
	applied := func(api, target string) rule.Action {
		return rule.Action{API: api, Target: target, Outcome: rule.Applied}
	}
	tests := []struct {
		name string
		o    Outcome
		want string
	}{
		{"revoked on the group", Outcome{Decisions: []report.Decision{{Verdict: rule.Violation, Resource: "sg-1",
			Actions: []rule.Action{applied("ec2:RevokeSecurityGroupIngress", "sg-1")}}}}, Fixed},
		// The volume stays unencrypted: enabling the region's default is prevention, not a fix.
		{"unencrypted volume", Outcome{Decisions: []report.Decision{{Verdict: rule.Violation, Resource: "vol-1",
			Actions: []rule.Action{applied("ec2:EnableEbsEncryptionByDefault", "us-east-1")}}}}, Reported},
		{"trail by name, action by ARN", Outcome{Decisions: []report.Decision{{Verdict: rule.Violation, Resource: "org-audit",
			Actions: []rule.Action{applied("cloudtrail:StartLogging", "arn:aws:cloudtrail:us-east-1:123456789012:trail/org-audit")}}}}, Fixed},
		{"tagged for a later release", Outcome{Decisions: []report.Decision{{Verdict: rule.Violation, Resource: "eipalloc-1",
			Actions: []rule.Action{applied("ec2:CreateTags", "eipalloc-1")}}}}, Reported},
		{"another resource of the same prefix", Outcome{Decisions: []report.Decision{{Verdict: rule.Violation, Resource: "audit",
			Actions: []rule.Action{applied("cloudtrail:StartLogging", "arn:aws:cloudtrail:us-east-1:123456789012:trail/org-audit")}}}}, Reported},
		{"alert only", Outcome{Decisions: []report.Decision{{Verdict: rule.Violation, Resource: "root", Actions: []rule.Action{alertApplied()}}}}, Reported},
		{"planned, not applied", Outcome{Decisions: []report.Decision{{Verdict: rule.Violation, Resource: "sg-1",
			Actions: []rule.Action{{API: "ec2:RevokeSecurityGroupIngress", Target: "sg-1", Outcome: rule.Planned}}}}}, Reported},
		{"compliant", Outcome{Decisions: []report.Decision{{Verdict: rule.Compliant, Resource: "sg-1"}}}, Compliant},
		{"failed", Outcome{Err: errors.New("x"), Decisions: []report.Decision{{Verdict: rule.Violation, Resource: "sg-1",
			Actions: []rule.Action{applied("ec2:RevokeSecurityGroupIngress", "sg-1")}}}}, Failed},
	}
	for _, tt := range tests {
		if got := Class(tt.o); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestPrerequisites(t *testing.T) {
	lookPath := func(have ...string) func(string) (string, error) {
		return func(name string) (string, error) {
			for _, h := range have {
				if h == name {
					return "/usr/bin/" + name, nil
				}
			}
			return "", errors.New("not found")
		}
	}
	if err := Prerequisites(lookPath("moto_server", "go")); err != nil {
		t.Errorf("all there: %v", err)
	}
	err := Prerequisites(lookPath("python3", "go"))
	if err == nil || !strings.Contains(err.Error(), "python3 -m pip install 'moto[server]==5.2.1'") || strings.Contains(err.Error(), "python3 is not on PATH") {
		t.Errorf("moto missing: %v", err)
	}
	if err := Prerequisites(lookPath()); err == nil || !strings.Contains(err.Error(), "python3 is not on PATH") || !strings.Contains(err.Error(), "go is not on PATH") {
		t.Errorf("nothing there: %v", err)
	}
}

func alertApplied() rule.Action {
	a := rule.Alert("root", "root signed in")
	a.Outcome = rule.Applied
	return a
}
