package ebsdefaultencryption

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/trigger"
)

const (
	keyA    = "1234abcd-12ab-34cd-56ef-1234567890ab"
	keyAARN = "arn:aws:kms:us-east-1:123456789012:key/" + keyA
	keyB    = "0987dcba-09fe-87dc-65ba-ab0987654321"
	mrk     = "mrk-1234abcd12ab34cd56ef1234567890ab"
)

func TestCheckKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"", true}, {keyA, true}, {keyAARN, true}, {mrk, true},
		{"arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/" + keyA, true},
		{"alias/aws/ebs", false}, {"arn:aws:kms:us-east-1:123456789012:alias/mine", false},
		{"not-a-key", false}, {"arn:aws:kms:us-east-1:123456789012:key/nope", false},
	} {
		if err := CheckKey(tc.in); (err == nil) != tc.ok {
			t.Errorf("CheckKey(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestKeyMatches(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		actual, want string
		match        bool
	}{
		{keyAARN, "", true},
		{"", "", true},
		{keyAARN, keyA, true},
		{keyAARN, keyAARN, true},
		{keyA, keyAARN, true},
		{keyAARN, keyB, false},
		{AWSManagedKey, keyA, false},
		{"", keyA, false},
	} {
		if got := KeyMatches(tc.actual, tc.want); got != tc.match {
			t.Errorf("KeyMatches(%q, %q) = %v", tc.actual, tc.want, got)
		}
	}
}

func TestPlan(t *testing.T) {
	t.Parallel()
	apis := func(as []rule.Action) (out []string) {
		for _, a := range as {
			u := "-"
			if a.Undo != nil {
				var p Params
				_ = a.Undo.Decode(&p)
				u = a.Undo.API + "(" + p.KmsKeyID + ")"
			}
			var p Params
			_ = a.Decode(&p)
			out = append(out, a.API+"("+p.KmsKeyID+")/"+u)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		st   State
		want string
		plan []string
	}{
		{"on, any key", State{Enabled: true}, "", nil},
		{"off", State{}, "", []string{APIEnable + "()/" + APIDisable + "()"}},
		{"on, right key", State{Enabled: true, Key: keyAARN}, keyA, nil},
		{"on, managed key", State{Enabled: true, Key: AWSManagedKey}, keyA, []string{APIModifyKey + "(" + keyA + ")/" + APIResetKey + "()"}},
		{"on, other key", State{Enabled: true, Key: keyAARN}, keyB, []string{APIModifyKey + "(" + keyB + ")/" + APIModifyKey + "(" + keyAARN + ")"}},
		{"off, other key", State{Key: keyAARN}, keyB, []string{APIEnable + "()/" + APIDisable + "()", APIModifyKey + "(" + keyB + ")/" + APIModifyKey + "(" + keyAARN + ")"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := apis(Plan("us-east-1", tc.st, tc.want))
			if len(got) != len(tc.plan) {
				t.Fatalf("plan = %v, want %v", got, tc.plan)
			}
			for i := range got {
				if got[i] != tc.plan[i] {
					t.Fatalf("plan = %v, want %v", got, tc.plan)
				}
			}
		})
	}
}

func TestTargets(t *testing.T) {
	call := enginetest.Call(t, "events/cloudtrail/ec2-disable-ebs-encryption-by-default.json")
	ts, err := targets(call, params{})
	if err != nil || len(ts) != 1 || ts[0].ID != "123456789012" || ts[0].Region != "us-east-1" || ts[0].Type != ResourceType {
		t.Fatalf("targets = %+v, %v", ts, err)
	}
	if ev := ts[0].Evidence.(evidence); ev.Event != "DisableEbsEncryptionByDefault" || ev.Key != "" {
		t.Fatalf("evidence = %+v", ev)
	}

	// ModifyEbsDefaultKmsKeyId: nested (CloudTrail's form) and flat.
	for _, req := range []string{
		`{"ModifyEbsDefaultKmsKeyIdRequest":{"KmsKeyId":"` + keyAARN + `"}}`,
		`{"kmsKeyId":"` + keyAARN + `"}`,
	} {
		c := *call
		c.EventName, c.Request = "ModifyEbsDefaultKmsKeyId", json.RawMessage(req)
		ts, err := targets(&c, params{})
		if err != nil || ts[0].Evidence.(evidence).Key != keyAARN {
			t.Fatalf("%s: targets = %+v, %v", req, ts, err)
		}
	}
	c := *call
	c.EventName, c.Request = "ModifyEbsDefaultKmsKeyId", json.RawMessage(`{"ModifyEbsDefaultKmsKeyIdRequest":["x"]}`)
	if _, err := targets(&c, params{}); !errors.Is(err, trigger.ErrInput) {
		t.Fatalf("malformed request: err = %v", err)
	}
	c = *call
	c.EventName = "ResetEbsDefaultKmsKeyId"
	if ts, _ := targets(&c, params{}); ts[0].Evidence.(evidence).Key != AWSManagedKey {
		t.Fatalf("reset evidence = %+v", ts[0].Evidence)
	}
	c = *call
	c.Account, c.Actor.AccountID = "", ""
	if _, err := targets(&c, params{}); !errors.Is(err, trigger.ErrInput) {
		t.Fatalf("no account: err = %v", err)
	}
	c = *call
	c.EventName = "GetEbsEncryptionByDefault"
	if ts, err := targets(&c, params{}); ts != nil || err != nil {
		t.Fatalf("other event: %v, %v", ts, err)
	}
}

func TestJudge(t *testing.T) {
	t.Parallel()
	facts := rule.Facts{Account: "123456789012", Partition: "aws", Region: "eu-west-1"}
	for _, tc := range []struct {
		name    string
		st      State
		region  string // the target's; empty: the session's (facts)
		want    string
		verdict rule.Verdict
		reason  string
		apis    []string
	}{
		{"on", State{Enabled: true}, "us-east-1", "", rule.Compliant, "EBS encryption by default is on in us-east-1", nil},
		{"on, region from the facts", State{Enabled: true}, "", "", rule.Compliant, "is on in eu-west-1", nil},
		{"on with the wanted key", State{Enabled: true, Key: keyAARN}, "us-east-1", keyA, rule.Compliant, "with the default key " + keyA, nil},
		{"off", State{}, "us-east-1", "", rule.Violation, "EBS encryption by default is off in us-east-1: new volumes may be unencrypted", []string{APIEnable}},
		{"other key", State{Enabled: true, Key: keyAARN}, "us-east-1", keyB, rule.Violation, "the default EBS key is " + keyAARN + ", not " + keyB, []string{APIModifyKey}},
		{"key unknown", State{Enabled: true}, "us-east-1", keyB, rule.Violation, "the default EBS key is unknown", []string{APIModifyKey}},
		{"off and other key", State{Key: AWSManagedKey}, "us-east-1", keyB, rule.Violation, "off; the default EBS key is alias/aws/ebs", []string{APIEnable, APIModifyKey}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := judge(tc.st, rule.Target{Type: ResourceType, ID: "123456789012", Region: tc.region}, params{Key: tc.want}, facts)
			var apis []string
			for _, a := range f.Actions {
				apis = append(apis, a.API)
			}
			if f.Verdict != tc.verdict || !strings.Contains(f.Reason, tc.reason) || !slices.Equal(apis, tc.apis) {
				t.Fatalf("judge = %s %q %v", f.Verdict, f.Reason, apis)
			}
		})
	}
}

// TestPlanner: offline, the state is what the call left behind; a target
// without the call's evidence is undecided.
func TestPlanner(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ev   any
		want string
		st   State
	}{
		{evidence{Event: "DisableEbsEncryptionByDefault"}, "", State{}},
		{evidence{Event: "DisableEbsEncryptionByDefault"}, keyA, State{Key: keyA}},
		{evidence{Event: "ModifyEbsDefaultKmsKeyId", Key: keyAARN}, keyB, State{Enabled: true, Key: keyAARN}},
		{evidence{Event: "ResetEbsDefaultKmsKeyId", Key: AWSManagedKey}, keyB, State{Enabled: true, Key: AWSManagedKey}},
	} {
		st, err := plan(rule.Target{Evidence: tc.ev}, params{Key: tc.want})
		if err != nil || st != tc.st {
			t.Errorf("plan(%+v, %q) = %+v, %v; want %+v", tc.ev, tc.want, st, err, tc.st)
		}
	}
	if _, err := plan(rule.Target{}, params{}); !errors.Is(err, rule.ErrUndecided) || !strings.Contains(err.Error(), "says nothing about the setting") {
		t.Fatalf("no evidence: %v", err)
	}
}

func TestSweepNeedsTheSessionsAccount(t *testing.T) {
	t.Parallel()
	ts, err := sweep(context.Background(), rule.Env{Session: &awsclient.Session{Region: "eu-west-1", Account: "123456789012", Partition: "aws"}}, params{})
	if err != nil || len(ts) != 1 || ts[0].ID != "123456789012" || ts[0].Region != "eu-west-1" || ts[0].Type != ResourceType {
		t.Fatalf("sweep = %+v, %v", ts, err)
	}
	if _, err := sweep(context.Background(), rule.Env{Session: &awsclient.Session{Region: "eu-west-1"}}, params{}); err == nil {
		t.Fatal("a sweep without the session's account named a resource")
	}
}
