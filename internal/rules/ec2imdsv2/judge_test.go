package ec2imdsv2

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

func TestJudge(t *testing.T) {
	t.Parallel()
	target := rule.Target{Type: rule.InstanceType, ID: "i-0608144705c8a6401", Region: "us-east-1"}
	for _, tc := range []struct {
		name    string
		in      instance
		verdict rule.Verdict
		undo    string // the undo's HttpTokens, for a violation
	}{
		{"v1 allowed", instance{State: "running", Tokens: "optional", Endpoint: "enabled"}, rule.Violation, "optional"},
		{"tokens unknown count as optional", instance{State: "running", Endpoint: "enabled"}, rule.Violation, "optional"},
		{"v2 required", instance{State: "running", Tokens: "required", Endpoint: "enabled"}, rule.Compliant, ""},
		{"endpoint off", instance{State: "running", Tokens: "optional", Endpoint: "disabled"}, rule.Compliant, ""},
		{"stopped instance is still judged", instance{State: "stopped", Tokens: "optional", Endpoint: "enabled"}, rule.Violation, "optional"},
		{"terminated", instance{State: "terminated", Tokens: "optional", Endpoint: "enabled"}, rule.NotApplicable, ""},
		{"shutting down", instance{State: "shutting-down", Tokens: "optional"}, rule.NotApplicable, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := judge(tc.in, target, struct{}{}, rule.Facts{})
			if f.Verdict != tc.verdict {
				t.Fatalf("verdict = %s (%s), want %s", f.Verdict, f.Reason, tc.verdict)
			}
			if tc.verdict != rule.Violation {
				if len(f.Actions) != 0 {
					t.Fatalf("actions on %s: %+v", f.Verdict, f.Actions)
				}
				return
			}
			if len(f.Actions) != 1 || f.Actions[0].API != APIModify || f.Actions[0].Undo == nil {
				t.Fatalf("actions = %+v", f.Actions)
			}
			var do, undo params
			if err := f.Actions[0].Decode(&do); err != nil {
				t.Fatal(err)
			}
			if err := f.Actions[0].Undo.Decode(&undo); err != nil {
				t.Fatal(err)
			}
			if do != (params{InstanceID: target.ID, HTTPTokens: "required"}) || undo != (params{InstanceID: target.ID, HTTPTokens: tc.undo}) {
				t.Fatalf("do %+v, undo %+v", do, undo)
			}
		})
	}
}

func TestTargets(t *testing.T) {
	t.Parallel()
	call := func(req string) *trigger.APICall {
		return &trigger.APICall{EventName: "ModifyInstanceMetadataOptions", EventSource: "ec2.amazonaws.com", Region: "eu-west-1", Request: json.RawMessage(req)}
	}
	for _, tc := range []struct {
		name, req string
		want      modifyRequest
		bad       bool
	}{
		{"nested, as CloudTrail records it", `{"ModifyInstanceMetadataOptionsRequest":{"InstanceId":"i-0abc","HttpTokens":"optional","HttpEndpoint":"enabled"}}`,
			modifyRequest{InstanceID: "i-0abc", HTTPTokens: "optional", Endpoint: "enabled"}, false},
		{"flat lower camel", `{"instanceId":"i-0abc","httpTokens":"optional"}`, modifyRequest{InstanceID: "i-0abc", HTTPTokens: "optional"}, false},
		{"no instance", `{"ModifyInstanceMetadataOptionsRequest":{"HttpTokens":"optional"}}`, modifyRequest{}, true},
		{"not an object", `["i-0abc"]`, modifyRequest{}, true},
		{"null", `null`, modifyRequest{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts, err := targets(call(tc.req))
			if tc.bad {
				if !errors.Is(err, trigger.ErrInput) {
					t.Fatalf("err = %v, want bad input", err)
				}
				return
			}
			if err != nil || len(ts) != 1 || ts[0].ID != tc.want.InstanceID || ts[0].Region != "eu-west-1" || ts[0].Evidence != tc.want {
				t.Fatalf("targets = %+v, %v", ts, err)
			}
		})
	}
}

func TestPlanDecidesOnlyWhatTheCallSet(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ev      any
		decided bool
	}{
		{modifyRequest{InstanceID: "i-1", HTTPTokens: "optional", Endpoint: "enabled"}, true},
		{modifyRequest{InstanceID: "i-1", HTTPTokens: "optional"}, true},
		{modifyRequest{InstanceID: "i-1", HTTPTokens: "required"}, false},
		{modifyRequest{InstanceID: "i-1", HTTPTokens: "optional", Endpoint: "disabled"}, false},
		{modifyRequest{InstanceID: "i-1"}, false}, // a hop-limit change: the tokens are read live
		{nil, false},
	} {
		i, err := plan(rule.Target{ID: "i-1", Evidence: tc.ev})
		if tc.decided != (err == nil) {
			t.Fatalf("%+v: %+v, %v", tc.ev, i, err)
		}
		if err != nil && !errors.Is(err, rule.ErrUndecided) {
			t.Fatalf("%+v: err = %v, want undecided", tc.ev, err)
		}
		if err == nil && judge(i, rule.Target{ID: "i-1"}, struct{}{}, rule.Facts{}).Verdict != rule.Violation {
			t.Fatalf("%+v: planned state is not a violation", tc.ev)
		}
	}
}

func TestFromItem(t *testing.T) {
	t.Parallel()
	item := &trigger.ConfigItem{ResourceType: rule.InstanceType, ResourceID: "i-1",
		Configuration: json.RawMessage(`{"state":{"name":"running"},"metadataOptions":{"state":"applied","httpTokens":"optional","httpEndpoint":"enabled"}}`)}
	i, err := fromItem(item)
	if err != nil || i.State != "running" || i.Tokens != "optional" || i.Endpoint != "enabled" {
		t.Fatalf("fromItem = %+v, %v", i, err)
	}
	item.Configuration = json.RawMessage(`{"state":{"name":"running"}}`)
	if _, err := fromItem(item); !errors.Is(err, rule.ErrUndecided) {
		t.Fatalf("no metadataOptions: err = %v", err)
	}
	item.Configuration = json.RawMessage(`[]`)
	if _, err := fromItem(item); !errors.Is(err, trigger.ErrInput) {
		t.Fatalf("bad configuration: err = %v", err)
	}
}
