package eipattached

import (
	"strings"
	"testing"
	"time"

	"github.com/rampart-aws/rampart/internal/rule"
)

func TestJudge(t *testing.T) {
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
			tc.a.AllocationID = "eipalloc-1"
			f := judge(tc.a, now, grace, true)
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
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	old := now.Add(-100 * time.Hour).Format(time.RFC3339)
	a := address{AllocationID: "eipalloc-1", Tags: map[string]string{TagPending: old}}
	f := judge(a, now, 72*time.Hour, false)
	if f.Verdict != rule.Violation || len(f.Actions) != 0 || !strings.Contains(f.Reason, ParamAllowRelease+"=true") {
		t.Fatalf("finding %+v", f)
	}
	// The other plans are reversible and need no opt-in.
	if f := judge(address{AllocationID: "eipalloc-1", Tags: map[string]string{}}, now, 72*time.Hour, false); len(f.Actions) != 1 || f.Actions[0].API != apiCreateTag {
		t.Fatalf("first seen: %+v", f)
	}
}

func TestCheckBool(t *testing.T) {
	for in, ok := range map[string]bool{"true": true, "false": true, "": false, "yes": false, "True": false, "1": false} {
		if err := checkBool(in); (err == nil) != ok {
			t.Errorf("checkBool(%q) = %v", in, err)
		}
	}
}

func TestCheckGrace(t *testing.T) {
	for in, ok := range map[string]bool{"72": true, "1": true, "0": false, "-3": false, "1.5": false, "": false, "9000": false} {
		if err := checkGrace(in); (err == nil) != ok {
			t.Errorf("checkGrace(%q) = %v", in, err)
		}
	}
}
