package detectorsenabled

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

func params(t *testing.T, over map[string]string) Params {
	t.Helper()
	raw, err := meta.Resolve(over)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// apis lists a plan as "API(undo API)".
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

var facts = rule.Facts{Account: "123456789012", Partition: "aws", Region: "us-east-1"}

func TestJudge(t *testing.T) {
	t.Parallel()
	all := map[string]string{ParamBaseline: "guardduty,securityhub,inspector2,accessanalyzer"}
	on := State{Detectors: []Detector{{ID: "d1", Enabled: true}}, HubEnabled: true,
		Scans:     map[string]string{"EC2": "ENABLED", "ECR": "ENABLING", "LAMBDA": "ENABLED"},
		Analyzers: []Analyzer{{Name: "a", Type: "ACCOUNT", Status: "ACTIVE"}}}
	with := func(f func(*State)) State {
		s := on
		s.Scans = map[string]string{"EC2": "ENABLED", "ECR": "ENABLING", "LAMBDA": "ENABLED"}
		f(&s)
		return s
	}
	for _, tc := range []struct {
		name    string
		service string
		st      State
		over    map[string]string
		ev      Evidence
		verdict rule.Verdict
		want    []string
		reason  string
	}{
		{"detector enabled", GuardDuty, on, all, Evidence{}, rule.Compliant, nil, "enabled"},
		{"a 6-hour finding frequency is not a violation", GuardDuty, on, all, Evidence{Event: "UpdateDetector", DetectorID: "d1"}, rule.Compliant, nil, "enabled"},
		{"detector disabled", GuardDuty, with(func(s *State) { s.Detectors = []Detector{{ID: "d1"}} }), all, Evidence{}, rule.Violation,
			[]string{"guardduty:UpdateDetector(guardduty:UpdateDetector)"}, "d1 is disabled"},
		{"detector deleted", GuardDuty, with(func(s *State) { s.Detectors = nil }), all, Evidence{}, rule.Violation,
			[]string{"guardduty:CreateDetector(guardduty:DeleteDetector)"}, "no detector"},
		{"deleted and re-created disabled", GuardDuty, with(func(s *State) { s.Detectors = []Detector{{ID: "d2"}} }), all,
			Evidence{Event: "CreateDetector", DetectorID: "d2", Enable: ptr(false)}, rule.Violation,
			[]string{"guardduty:UpdateDetector(guardduty:UpdateDetector)"}, "d2 is disabled"},
		{"not in the baseline: alert only", GuardDuty, with(func(s *State) { s.Detectors = nil }), map[string]string{ParamBaseline: "securityhub"}, Evidence{},
			rule.Violation, []string{rule.AlertAPI}, "not in the deployment's baseline"},
		{"publishing destination removed: alert", GuardDuty, on, all, Evidence{Event: "DeletePublishingDestination", DetectorID: "d1", Destination: "dest"},
			rule.Violation, []string{rule.AlertAPI}, "publishing destination dest"},
		{"destination removed from a disabled detector", GuardDuty, with(func(s *State) { s.Detectors = []Detector{{ID: "d1"}} }), all,
			Evidence{Event: "DeletePublishingDestination", DetectorID: "d1", Destination: "dest"},
			rule.Violation, []string{"guardduty:UpdateDetector(guardduty:UpdateDetector)", rule.AlertAPI}, "d1 is disabled in us-east-1; publishing destination"},
		{"destination removed, not in the baseline: one alert", GuardDuty, with(func(s *State) { s.Detectors = []Detector{{ID: "d1"}} }), nil,
			Evidence{Event: "DeletePublishingDestination", DetectorID: "d1", Destination: "dest"}, rule.Violation, []string{rule.AlertAPI}, "alert only); publishing destination"},
		{"hub enabled", SecurityHub, on, all, Evidence{}, rule.Compliant, nil, "Security Hub is enabled"},
		{"hub disabled", SecurityHub, with(func(s *State) { s.HubEnabled = false }), all, Evidence{}, rule.Violation,
			[]string{"securityhub:EnableSecurityHub(securityhub:DisableSecurityHub)"}, "Security Hub is disabled"},
		{"hub disabled, no baseline", SecurityHub, with(func(s *State) { s.HubEnabled = false }), nil, Evidence{}, rule.Violation,
			[]string{rule.AlertAPI}, "alert only"},
		{"inspector scans the baseline types", Inspector2, on, all, Evidence{}, rule.Compliant, nil, "EC2, ECR, LAMBDA"},
		{"inspector ec2 off", Inspector2, with(func(s *State) { s.Scans["EC2"] = "DISABLED" }), all, Evidence{}, rule.Violation,
			[]string{"inspector2:Enable(inspector2:Disable)"}, "does not scan EC2 in"},
		{"inspector never enabled", Inspector2, with(func(s *State) { s.Scans = nil }), all, Evidence{}, rule.Violation,
			[]string{"inspector2:Enable(inspector2:Disable)"}, "EC2, ECR, LAMBDA"},
		{"inspector: a type outside the baseline's types is not judged", Inspector2, with(func(s *State) { s.Scans["LAMBDA"] = "SUSPENDED" }),
			map[string]string{ParamBaseline: "inspector2", ParamInspectorTypes: "EC2,ECR"}, Evidence{}, rule.Compliant, nil, "EC2, ECR"},
		{"analyzer active", AccessAnalyzer, on, all, Evidence{}, rule.Compliant, nil, "active"},
		{"organization analyzer counts", AccessAnalyzer, with(func(s *State) { s.Analyzers = []Analyzer{{Name: "org", Type: "ORGANIZATION", Status: "ACTIVE"}} }), all,
			Evidence{}, rule.Compliant, nil, "active"},
		{"unused-access analyzer does not count", AccessAnalyzer, with(func(s *State) {
			s.Analyzers = nil
		}), all, Evidence{}, rule.Violation, []string{"access-analyzer:CreateAnalyzer(access-analyzer:DeleteAnalyzer)"}, "no analyzer"},
		{"analyzer disabled: alert, nothing replaced", AccessAnalyzer, with(func(s *State) { s.Analyzers = []Analyzer{{Name: "a", Type: "ACCOUNT", Status: "DISABLED"}} }), all,
			Evidence{}, rule.Violation, []string{rule.AlertAPI}, "a (ACCOUNT, DISABLED)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := params(t, tc.over)
			f := Judge(tc.st, rule.Target{ID: tc.service, Region: "us-east-1", Evidence: tc.ev}, p, facts)
			if f.Verdict != tc.verdict || !slices.Equal(apis(f.Actions), tc.want) || !strings.Contains(f.Reason, tc.reason) {
				t.Fatalf("got %s %v %q, want %s %v containing %q", f.Verdict, apis(f.Actions), f.Reason, tc.verdict, tc.want, tc.reason)
			}
		})
	}
}

const (
	dest    = "arn:aws:s3:::findings-archive/guardduty/"
	destKey = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

func TestJudgePublishingDestination(t *testing.T) {
	t.Parallel()
	withDest := map[string]string{ParamBaseline: "guardduty", ParamDestination: dest, ParamDestinationKey: destKey}
	for _, tc := range []struct {
		name    string
		st      State
		over    map[string]string
		ev      Evidence
		verdict rule.Verdict
		want    []string
		reason  string
	}{
		{"exports where the baseline says", State{Detectors: []Detector{{ID: "d1", Enabled: true, Destinations: []string{"arn:aws:s3:::other", dest}}}}, withDest,
			Evidence{Event: "DeletePublishingDestination"}, rule.Compliant, nil, "enabled"},
		{"destination removed: restored, no extra alert", State{Detectors: []Detector{{ID: "d1", Enabled: true, Destinations: []string{"arn:aws:s3:::other"}}}}, withDest,
			Evidence{Event: "DeletePublishingDestination", DetectorID: "d1", Destination: "x"}, rule.Violation,
			[]string{"guardduty:CreatePublishingDestination(guardduty:DeletePublishingDestination)"}, "d1 does not export findings to " + dest},
		{"disabled and not exporting", State{Detectors: []Detector{{ID: "d1"}}}, withDest, Evidence{}, rule.Violation,
			[]string{"guardduty:UpdateDetector(guardduty:UpdateDetector)", "guardduty:CreatePublishingDestination(guardduty:DeletePublishingDestination)"}, "d1 is disabled in us-east-1; GuardDuty detector d1 does not export"},
		{"deleted: re-created, then exporting", State{}, withDest, Evidence{}, rule.Violation,
			[]string{"guardduty:CreateDetector(guardduty:DeleteDetector)", "guardduty:CreatePublishingDestination(guardduty:DeletePublishingDestination)"}, "no detector"},
		{"not in the baseline: alert only", State{Detectors: []Detector{{ID: "d1", Enabled: true}}},
			map[string]string{ParamDestination: dest, ParamDestinationKey: destKey}, Evidence{}, rule.Violation, []string{rule.AlertAPI}, "alert only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := Judge(tc.st, rule.Target{ID: GuardDuty, Region: "us-east-1", Evidence: tc.ev}, params(t, tc.over), facts)
			if f.Verdict != tc.verdict || !slices.Equal(apis(f.Actions), tc.want) || !strings.Contains(f.Reason, tc.reason) {
				t.Fatalf("got %s %v %q, want %s %v containing %q", f.Verdict, apis(f.Actions), f.Reason, tc.verdict, tc.want, tc.reason)
			}
		})
	}
	f := Judge(State{}, rule.Target{ID: GuardDuty, Region: "us-east-1"}, params(t, withDest), facts)
	var dp DetectorParams
	if err := f.Actions[1].Decode(&dp); err != nil || dp.DetectorID != "" || dp.DestinationArn != dest || dp.KmsKeyArn != destKey {
		t.Fatalf("export params = %+v, %v (the new detector's ID is resolved when applied)", dp, err)
	}
	// Offline, a DeletePublishingDestination with a baseline destination is planned back.
	ts, err := targets(call("guardduty.amazonaws.com", "DeletePublishingDestination", `{"detectorId":"d1","destinationId":"x"}`, ""), params(t, withDest))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := plan(ts[0], params(t, withDest))
	if f := Judge(st, ts[0], params(t, withDest), facts); !slices.Equal(apis(f.Actions), []string{"guardduty:CreatePublishingDestination(guardduty:DeletePublishingDestination)"}) {
		t.Fatalf("offline plan = %v", apis(f.Actions))
	}
}

func TestJudgeActionParams(t *testing.T) {
	t.Parallel()
	p := params(t, map[string]string{ParamBaseline: "inspector2,accessanalyzer,securityhub,guardduty", ParamHubStandards: "false", ParamAnalyzerName: "baseline"})
	tg := func(s string) rule.Target { return rule.Target{ID: s, Region: "eu-west-1"} }
	f := Judge(State{Scans: map[string]string{"ECR": "ENABLED"}}, tg(Inspector2), p, facts)
	var ip InspectorParams
	if err := f.Actions[0].Decode(&ip); err != nil || !slices.Equal(ip.ResourceTypes, []string{"EC2", "LAMBDA"}) || !slices.Equal(ip.AccountIDs, []string{"123456789012"}) || ip.Region != "eu-west-1" {
		t.Fatalf("inspector params = %+v, %v", ip, err)
	}
	var undo InspectorParams
	if err := f.Actions[0].Undo.Decode(&undo); err != nil || !slices.Equal(undo.ResourceTypes, ip.ResourceTypes) {
		t.Fatalf("the undo disables %v, want exactly what was enabled (%v)", undo.ResourceTypes, ip.ResourceTypes)
	}
	f = Judge(State{}, tg(SecurityHub), p, facts)
	var hp HubParams
	if err := f.Actions[0].Decode(&hp); err != nil || hp.EnableDefaultStandards == nil || *hp.EnableDefaultStandards {
		t.Fatalf("hub params = %s, %v", f.Actions[0].Params, err)
	}
	f = Judge(State{}, tg(AccessAnalyzer), p, facts)
	var ap AnalyzerParams
	if err := f.Actions[0].Decode(&ap); err != nil || ap.Name != "baseline" || ap.Type != "ACCOUNT" || f.Actions[0].Undo.Target != "baseline" {
		t.Fatalf("analyzer params = %+v, %v", ap, err)
	}
	f = Judge(State{Detectors: []Detector{{ID: "d9"}}}, tg(GuardDuty), p, facts)
	var dp DetectorParams
	if err := f.Actions[0].Undo.Decode(&dp); err != nil || dp.DetectorID != "d9" || dp.Enable == nil || *dp.Enable {
		t.Fatalf("detector undo params = %+v, %v", dp, err)
	}
}

func TestParams(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		over map[string]string
		ok   bool
	}{
		{nil, true},
		{map[string]string{ParamBaseline: "guardduty, securityhub"}, true},
		{map[string]string{ParamBaseline: "guardduty,guardduty"}, false},
		{map[string]string{ParamBaseline: "macie"}, false},
		{map[string]string{ParamInspectorTypes: ""}, false},
		{map[string]string{ParamInspectorTypes: "EC2,LAMBDA_CODE"}, true},
		{map[string]string{ParamInspectorTypes: "ec2"}, false},
		{map[string]string{ParamAnalyzerName: "1bad"}, false},
		{map[string]string{ParamHubStandards: "maybe"}, false},
		{map[string]string{ParamDestination: dest, ParamDestinationKey: destKey}, true},
		{map[string]string{ParamDestination: dest}, false},
		{map[string]string{ParamDestinationKey: destKey}, false},
		{map[string]string{ParamDestination: "findings-archive", ParamDestinationKey: destKey}, false},
		{map[string]string{ParamDestination: dest, ParamDestinationKey: "alias/x"}, false},
	} {
		raw, err := meta.Resolve(tc.over)
		if err == nil {
			_, err = Parse(raw)
		}
		if (err == nil) != tc.ok {
			t.Errorf("Resolve(%v) = %v, want ok=%v", tc.over, err, tc.ok)
		}
	}
	// The IAM gates follow the baseline.
	raw, _ := meta.Resolve(map[string]string{ParamBaseline: "securityhub,inspector2"})
	if got := meta.GrantedWriteActions(raw); !slices.Equal(got, []string{APIEnableHub, APIInspectorOn}) {
		t.Errorf("granted = %v", got)
	}
	raw, _ = meta.Resolve(map[string]string{ParamBaseline: "guardduty", ParamDestination: dest, ParamDestinationKey: destKey})
	if got := meta.GrantedWriteActions(raw); !slices.Equal(got, []string{APICreateDetector, APIUpdateDetector, APICreateDest}) {
		t.Errorf("granted = %v", got)
	}
	raw, _ = meta.Resolve(map[string]string{ParamDestination: dest, ParamDestinationKey: destKey})
	if got := meta.GrantedWriteActions(raw); len(got) != 0 {
		t.Errorf("granted without guardduty in the baseline = %v", got)
	}
	raw, _ = meta.Resolve(nil)
	if got := meta.GrantedWriteActions(raw); len(got) != 0 {
		t.Errorf("granted with no baseline = %v", got)
	}
}

func call(source, name, req, resp string) *trigger.APICall {
	c := &trigger.APICall{EventSource: source, EventName: name, Region: "us-east-1", Account: "123456789012"}
	if req != "" {
		c.Request = json.RawMessage(req)
	}
	if resp != "" {
		c.Response = json.RawMessage(resp)
	}
	return c
}

func TestTargetsAndPlan(t *testing.T) {
	t.Parallel()
	p := params(t, map[string]string{ParamBaseline: "guardduty,securityhub,inspector2,accessanalyzer"})
	for _, tc := range []struct {
		name    string
		call    *trigger.APICall
		service string
		verdict rule.Verdict
		want    []string
	}{
		{"delete detector", call("guardduty.amazonaws.com", "DeleteDetector", `{"detectorId":"d1"}`, ""), GuardDuty, rule.Violation,
			[]string{"guardduty:CreateDetector(guardduty:DeleteDetector)"}},
		{"update detector enable=false", call("guardduty.amazonaws.com", "UpdateDetector", `{"detectorId":"d1","enable":false}`, ""), GuardDuty, rule.Violation,
			[]string{"guardduty:UpdateDetector(guardduty:UpdateDetector)"}},
		{"update detector frequency", call("guardduty.amazonaws.com", "UpdateDetector", `{"detectorId":"d1","findingPublishingFrequency":"SIX_HOURS"}`, ""), GuardDuty, rule.Compliant, nil},
		{"create detector disabled", call("guardduty.amazonaws.com", "CreateDetector", `{"enable":"false"}`, `{"detectorId":"d2"}`), GuardDuty, rule.Violation,
			[]string{"guardduty:UpdateDetector(guardduty:UpdateDetector)"}},
		{"create detector enabled", call("guardduty.amazonaws.com", "CreateDetector", `{"enable":true}`, `{"detectorId":"d2"}`), GuardDuty, rule.Compliant, nil},
		{"disable hub (null request)", call("securityhub.amazonaws.com", "DisableSecurityHub", "null", ""), SecurityHub, rule.Violation,
			[]string{"securityhub:EnableSecurityHub(securityhub:DisableSecurityHub)"}},
		{"inspector disable one type", call("inspector2.amazonaws.com", "Disable", `{"accountIds":["123456789012"],"resourceTypes":["ECR"]}`, ""), Inspector2, rule.Violation,
			[]string{"inspector2:Enable(inspector2:Disable)"}},
		{"inspector disable everything", call("inspector2.amazonaws.com", "Disable", `{}`, ""), Inspector2, rule.Violation,
			[]string{"inspector2:Enable(inspector2:Disable)"}},
		{"delete analyzer", call("access-analyzer.amazonaws.com", "DeleteAnalyzer", `{"analyzerName":"a"}`, ""), AccessAnalyzer, rule.Violation,
			[]string{"access-analyzer:CreateAnalyzer(access-analyzer:DeleteAnalyzer)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts, err := targets(tc.call, p)
			if err != nil || len(ts) != 1 || ts[0].ID != tc.service || ts[0].Region != "us-east-1" {
				t.Fatalf("targets = %+v, %v", ts, err)
			}
			st, err := plan(ts[0], p)
			if err != nil {
				t.Fatal(err)
			}
			f := Judge(st, ts[0], p, facts)
			if f.Verdict != tc.verdict || !slices.Equal(apis(f.Actions), tc.want) {
				t.Fatalf("got %s %v (%s), want %s %v", f.Verdict, apis(f.Actions), f.Reason, tc.verdict, tc.want)
			}
		})
	}
	// A delegated administrator's Disable of other accounts: their own
	// deployments judge them.
	if ts, err := targets(call("inspector2.amazonaws.com", "Disable", `{"accountIds":["111122223333"]}`, ""), p); err != nil || len(ts) != 0 {
		t.Errorf("member disable: %+v, %v", ts, err)
	}
	// Malformed input is bad input, never a guess.
	for _, c := range []*trigger.APICall{
		call("guardduty.amazonaws.com", "UpdateDetector", `{"detectorId":5}`, ""),
		call("guardduty.amazonaws.com", "CreateDetector", `{"enable":true}`, `[1]`),
		{EventSource: "securityhub.amazonaws.com", EventName: "DisableSecurityHub"},
	} {
		if _, err := targets(c, p); !errors.Is(err, trigger.ErrInput) {
			t.Errorf("%s %s: err = %v, want ErrInput", c.EventName, c.Request, err)
		}
	}
}
