package cloudtrailkeyenabled

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

const (
	keyID  = "1234abcd-12ab-34cd-56ef-1234567890ab"
	keyArn = "arn:aws:kms:us-east-1:123456789012:key/" + keyID
)

func apis(as []rule.Action) []string {
	var out []string
	for _, a := range as {
		s := a.API
		if a.Undo != nil {
			s += "(" + a.Undo.API + ")"
		}
		out = append(out, s)
	}
	return out
}

func TestJudge(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		st      State
		verdict rule.Verdict
		want    []string
		reason  string
	}{
		{"not a trail's key", State{KeyState: "Disabled"}, rule.NotApplicable, nil, "encrypts no trail"},
		{"enabled", State{Guarded: true, Trails: []string{"org"}, KeyState: "Enabled"}, rule.Compliant, nil, "of trail org) is enabled"},
		{"disabled", State{Guarded: true, Trails: []string{"org"}, KeyState: "Disabled"}, rule.Violation, []string{"kms:EnableKey(kms:DisableKey)"}, "is disabled"},
		{"pending deletion: cancel, then enable (a cancelled key stays disabled)", State{Guarded: true, KeyState: "PendingDeletion", Window: 7}, rule.Violation,
			[]string{"kms:CancelKeyDeletion(kms:ScheduleKeyDeletion)", "kms:EnableKey(kms:DisableKey)"}, "pending deletion"},
		{"pending import: alert", State{Guarded: true, KeyState: "PendingImport"}, rule.Violation, []string{rule.AlertAPI}, "cannot restore"},
		{"unknown state: alert", State{Guarded: true}, rule.Violation, []string{rule.AlertAPI}, "unknown state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := Judge(tc.st, rule.Target{ID: keyArn, Region: "us-east-1"}, Params{}, rule.Facts{})
			if f.Verdict != tc.verdict || !slices.Equal(apis(f.Actions), tc.want) || !strings.Contains(f.Reason, tc.reason) {
				t.Fatalf("got %s %v %q, want %s %v containing %q", f.Verdict, apis(f.Actions), f.Reason, tc.verdict, tc.want, tc.reason)
			}
		})
	}
	// The undo of a cancellation schedules the deletion with the key's own
	// window, or the longest when KMS did not say.
	for _, w := range []int32{7, 0} {
		f := Judge(State{Guarded: true, KeyState: "PendingDeletion", Window: w}, rule.Target{ID: keyArn}, Params{}, rule.Facts{})
		var p DeleteParams
		if err := f.Actions[0].Undo.Decode(&p); err != nil || p.KeyID != keyArn || (w != 0 && p.Window != w) || (w == 0 && p.Window != DefaultWindow) {
			t.Errorf("window %d: undo params = %+v, %v", w, p, err)
		}
	}
}

func TestParams(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v  string
		ok bool
	}{
		{"", true}, {keyArn, true}, {"arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/" + keyID, true},
		{keyID, false}, {"alias/trail", false}, {"arn:aws:kms:us-east-1:123456789012:alias/trail", false}, {"arn:aws:kms:us-east-1:123456789012:key/", false},
	} {
		if _, err := meta.Resolve(map[string]string{ParamKey: tc.v}); (err == nil) != tc.ok {
			t.Errorf("%q: %v, want ok=%v", tc.v, err, tc.ok)
		}
	}
}

func TestTargetsAndPlan(t *testing.T) {
	t.Parallel()
	mk := func(name, req string) *trigger.APICall {
		return &trigger.APICall{EventSource: "kms.amazonaws.com", EventName: name, Region: "us-east-1", Account: "123456789012", Request: json.RawMessage(req)}
	}
	for _, tc := range []struct {
		call   *trigger.APICall
		id     string
		region string
	}{
		{mk("DisableKey", `{"keyId":"`+keyID+`"}`), keyArn, "us-east-1"},
		{mk("ScheduleKeyDeletion", `{"keyId":"`+keyArn+`","pendingWindowInDays":7}`), keyArn, "us-east-1"},
		{mk("DisableKey", `{"keyId":"arn:aws:kms:eu-west-1:123456789012:key/`+keyID+`"}`), "arn:aws:kms:eu-west-1:123456789012:key/" + keyID, "eu-west-1"},
	} {
		ts, err := targets(tc.call, Params{})
		if err != nil || len(ts) != 1 || ts[0].ID != tc.id || ts[0].Region != tc.region {
			t.Errorf("%s: targets = %+v, %v", tc.call.Request, ts, err)
		}
	}
	for _, req := range []string{`{}`, `{"keyId":"alias/x"}`, `{"keyId":"arn:aws:kms:us-east-1:123456789012:alias/x"}`, `[1]`, `{"keyId":5}`} {
		if _, err := targets(mk("DisableKey", req), Params{}); !errors.Is(err, trigger.ErrInput) {
			t.Errorf("%s: err = %v, want ErrInput", req, err)
		}
	}
	// Offline: only the deployment's key is known to be a trail's.
	ts, _ := targets(mk("ScheduleKeyDeletion", `{"keyId":"`+keyID+`","pendingWindowInDays":9}`), Params{})
	if _, err := plan(ts[0], Params{}); !errors.Is(err, rule.ErrUndecided) {
		t.Errorf("plan of an unknown key = %v, want undecided", err)
	}
	st, err := plan(ts[0], Params{Key: keyArn})
	if err != nil || !st.Guarded || st.KeyState != "PendingDeletion" || st.Window != 9 {
		t.Errorf("plan = %+v, %v", st, err)
	}
}
