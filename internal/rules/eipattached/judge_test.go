package eipattached

import (
	"strings"
	"testing"
	"time"

	"github.com/rampart-aws/rampart/internal/rule"
)

func TestJudge(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	grace := 72 * time.Hour
	old := now.Add(-73 * time.Hour).Format(time.RFC3339)
	recent := now.Add(-71 * time.Hour).Format(time.RFC3339)
	for _, tc := range []struct {
		name    string
		a       address
		verdict rule.Verdict
		api     string // the one action, "" for none
		undo    string // its undo, "" for none
		value   string // the tag value the action sets or removes
	}{
		{"attached", address{AttachedTo: "i-1", Tags: map[string]string{}}, rule.Compliant, "", "", ""},
		{"attached with stale tag", address{AttachedTo: "eni-1", Tags: map[string]string{TagPending: old}}, rule.Compliant, apiDeleteTag, apiCreateTag, old},
		{"first seen unattached", address{Tags: map[string]string{}}, rule.Violation, apiCreateTag, apiDeleteTag, now.Format(time.RFC3339)},
		{"unreadable tag restarts the clock", address{Tags: map[string]string{TagPending: "yesterday"}}, rule.Violation, apiCreateTag, apiCreateTag, now.Format(time.RFC3339)},
		{"within grace", address{Tags: map[string]string{TagPending: recent}}, rule.Violation, "", "", ""},
		{"grace passed", address{Tags: map[string]string{TagPending: old}}, rule.Violation, apiRelease, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.a.AllocationID, tc.a.Seen = "eipalloc-1", now
			f := judgeFinding(tc.a, rule.Target{ID: "eipalloc-1"}, params{Grace: grace, AllowRelease: true}, rule.Facts{})
			if f.Verdict != tc.verdict {
				t.Fatalf("verdict = %s (%s)", f.Verdict, f.Reason)
			}
			if tc.api == "" {
				if len(f.Actions) != 0 {
					t.Fatalf("actions = %+v", f.Actions)
				}
				return
			}
			if len(f.Actions) != 1 || f.Actions[0].API != tc.api {
				t.Fatalf("actions = %+v", f.Actions)
			}
			a := f.Actions[0]
			if tc.undo == "" {
				if a.Undo != nil {
					t.Fatalf("release has an undo: %+v", a.Undo)
				}
				var p releaseParams
				if err := a.Decode(&p); err != nil || p.Since != old || p.AllocationID != "eipalloc-1" {
					t.Fatalf("release params = %+v, %v", p, err)
				}
				return
			}
			if a.Undo == nil || a.Undo.API != tc.undo {
				t.Fatalf("undo = %+v", a.Undo)
			}
			var p tagParams
			if err := a.Decode(&p); err != nil || p.Value != tc.value || p.Key != TagPending {
				t.Fatalf("params = %+v, %v", p, err)
			}
		})
	}
}

// TestReleaseNeedsTheOptIn: without allowRelease the judgement is the same
// but nothing irreversible is planned, and the reason says why.
func TestReleaseNeedsTheOptIn(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	old := now.Add(-100 * time.Hour).Format(time.RFC3339)
	a := address{AllocationID: "eipalloc-1", Tags: map[string]string{TagPending: old}, Seen: now}
	f := judgeFinding(a, rule.Target{}, params{Grace: 72 * time.Hour}, rule.Facts{})
	if f.Verdict != rule.Violation || len(f.Actions) != 0 || !strings.Contains(f.Reason, ParamAllowRelease+"=true") {
		t.Fatalf("finding %+v", f)
	}
	// The other plans are reversible and need no opt-in.
	if f := judgeFinding(address{AllocationID: "eipalloc-1", Tags: map[string]string{}, Seen: now}, rule.Target{}, params{Grace: 72 * time.Hour}, rule.Facts{}); len(f.Actions) != 1 || f.Actions[0].API != apiCreateTag {
		t.Fatalf("first seen: %+v", f)
	}
	// An EC2-Classic address has nothing to manage.
	if f := judgeFinding(address{PublicIP: "203.0.113.9", Seen: now}, rule.Target{}, params{Grace: time.Hour, AllowRelease: true}, rule.Facts{}); f.Verdict != rule.NotApplicable || len(f.Actions) != 0 {
		t.Fatalf("classic: %+v", f)
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	p, err := parse(rule.Params{ParamGrace: "48", ParamAllowRelease: "true"})
	if err != nil || p.Grace != 48*time.Hour || !p.AllowRelease {
		t.Fatalf("parse = %+v, %v", p, err)
	}
	if p, err := parse(rule.Params{ParamGrace: "72", ParamAllowRelease: "false"}); err != nil || p.AllowRelease {
		t.Fatalf("parse = %+v, %v", p, err)
	}
	for _, bad := range []rule.Params{{ParamGrace: "x", ParamAllowRelease: "false"}, {ParamGrace: "72", ParamAllowRelease: "yes"}, {}} {
		if _, err := parse(bad); err == nil {
			t.Errorf("parse(%v) accepted", bad)
		}
	}
}

// TestHonouredExemption: right before a release, only an exemption the
// engine would honour keeps the address.
func TestHonouredExemption(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	in30 := "DR standby; owner=net@example.com; expires=" + now.AddDate(0, 0, 30).Format(time.DateOnly)
	for _, tc := range []struct {
		name    string
		tags    map[string]string
		tag     string
		maxDays int
		keep    bool
	}{
		{"valid", map[string]string{"rampart:exempt": in30}, "rampart:exempt", 0, true},
		{"valid, differently cased key", map[string]string{"Rampart:Exempt": in30}, "rampart:exempt", 0, true},
		{"valid under the deployment's tag", map[string]string{"corp:keep": in30}, "corp:keep", 0, true},
		{"the default tag when the deployment names another", map[string]string{"rampart:exempt": in30}, "corp:keep", 0, false},
		{"within a longer horizon", map[string]string{"rampart:exempt": in30}, "rampart:exempt", 60, true},
		{"beyond the deployment's horizon", map[string]string{"rampart:exempt": in30}, "rampart:exempt", 7, false},
		{"beyond the default horizon", map[string]string{"rampart:exempt": "r; owner=o; expires=" + now.AddDate(0, 0, 120).Format(time.DateOnly)}, "rampart:exempt", 0, false},
		{"no owner or expiry", map[string]string{"rampart:exempt": "keep"}, "rampart:exempt", 0, false},
		{"no expiry", map[string]string{"rampart:exempt": "keep; owner=o"}, "rampart:exempt", 0, false},
		{"expired", map[string]string{"rampart:exempt": "r; owner=o; expires=2026-11-01"}, "rampart:exempt", 0, false},
		{"unreadable expiry", map[string]string{"rampart:exempt": "r; owner=o; expires=soon"}, "rampart:exempt", 0, false},
		{"no tag", map[string]string{TagPending: "2026-11-01T00:00:00Z"}, "rampart:exempt", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, got := (exemptionCheck{Tag: tc.tag, MaxDays: tc.maxDays, Now: now}).honoured(tc.tags); got != tc.keep {
				t.Fatalf("honoured = %v, want %v", got, tc.keep)
			}
		})
	}
}

func TestCheckBool(t *testing.T) {
	t.Parallel()
	for in, ok := range map[string]bool{"true": true, "false": true, "": false, "yes": false, "True": false, "1": false} {
		if err := checkBool(in); (err == nil) != ok {
			t.Errorf("checkBool(%q) = %v", in, err)
		}
	}
}

func TestCheckGrace(t *testing.T) {
	t.Parallel()
	for in, ok := range map[string]bool{"72": true, "1": true, "0": false, "-3": false, "1.5": false, "": false, "9000": false} {
		if err := checkGrace(in); (err == nil) != ok {
			t.Errorf("checkGrace(%q) = %v", in, err)
		}
	}
}
