package exemptiontag

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

func bind(t *testing.T) *rule.Bound {
	t.Helper()
	b, err := rule.BindWith(Rule, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sample(t *testing.T, name string) *trigger.APICall {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "events", "cloudtrail", name))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := trigger.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	return tr.Call
}

// TestSamples: every sample event, through Targets and an offline
// Evaluate, with the default exemption tag and horizon.
func TestSamples(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file    string
		targets []string // type id
		verdict []rule.Verdict
		reason  []string // in the first target's reason
	}{
		{"ec2-create-tags-exempt.json",
			[]string{"AWS::EC2::SecurityGroup sg-0a1b2c3d4e5f60718", "AWS::EC2::Instance i-0c4f1e2d3b5a69788"},
			[]rule.Verdict{rule.Violation, rule.Violation},
			[]string{"arn:aws:iam::123456789012:user/bob set the exemption tag rampart:exempt on AWS::EC2::SecurityGroup sg-0a1b2c3d4e5f60718",
				"owner: ops@example.com; expires: 2026-05-31", "HONOURED until 2026-05-31 by sg-open-world, sg-restricted-ssh, sg-restricted-common-ports, required-tags"}},
		{"ec2-delete-tags-exempt.json", []string{"AWS::EC2::SecurityGroup sg-0a1b2c3d4e5f60718"}, []rule.Verdict{rule.Violation},
			[]string{"removed the exemption tag rampart:exempt from AWS::EC2::SecurityGroup sg-0a1b2c3d4e5f60718", "judge it normally again"}},
		{"s3-put-bucket-tagging-exempt.json", []string{"AWS::S3::Bucket acme-public-assets"}, []rule.Verdict{rule.Violation},
			[]string{"IGNORED: expiry 2031-01-01 is beyond the 90-day horizon", "still judged by s3-bucket-public-access, required-tags, trail-bucket-tampering"}},
		{"s3-delete-bucket-tagging.json", []string{"AWS::S3::Bucket acme-public-assets"}, []rule.Verdict{rule.Compliant},
			[]string{"replaced or removed every tag of AWS::S3::Bucket acme-public-assets"}},
		{"cloudtrail-add-tags-exempt.json", []string{"AWS::CloudTrail::Trail arn:aws:cloudtrail:us-east-1:123456789012:trail/management-events"}, []rule.Verdict{rule.Violation},
			[]string{"IGNORED: the rules judging it accept only checked-in exemptions"}},
		{"cloudtrail-remove-tags-exempt.json", []string{"AWS::CloudTrail::Trail arn:aws:cloudtrail:us-east-1:123456789012:trail/management-events"}, []rule.Verdict{rule.Violation},
			[]string{"removed the exemption tag"}},
		{"iam-tag-user-exempt.json", []string{"AWS::IAM::User build-bot"}, []rule.Verdict{rule.Violation},
			[]string{"expires: none", "IGNORED: no expiry"}},
		{"iam-untag-user-exempt.json", []string{"AWS::IAM::User build-bot"}, []rule.Verdict{rule.Violation}, []string{"removed the exemption tag"}},
		{"config-tag-resource-exempt.json", []string{"AWS::Config::ConfigurationRecorder arn:aws:config:us-east-1:123456789012:configuration-recorder/default/qkyvh1bd3jktrhgr"},
			[]rule.Verdict{rule.Violation}, []string{"IGNORED: the rules judging it accept only checked-in exemptions"}},
		{"config-untag-resource-exempt.json", []string{"AWS::Config::ConfigurationRecorder arn:aws:config:us-east-1:123456789012:configuration-recorder/default/qkyvh1bd3jktrhgr"},
			[]rule.Verdict{rule.Violation}, []string{"removed the exemption tag"}},
		// Rampart's own resources: reported, and never honoured.
		{"events-tag-resource-exempt.json", []string{"AWS::Events::Rule arn:aws:events:us-east-1:123456789012:rule/rampart-securitygroup-ec2"},
			[]rule.Verdict{rule.Violation}, []string{"IGNORED: the rules judging it accept only checked-in exemptions"}},
		{"events-untag-resource-exempt.json", []string{"AWS::Events::Rule arn:aws:events:us-east-1:123456789012:rule/rampart-securitygroup-ec2"},
			[]rule.Verdict{rule.Violation}, []string{"removed the exemption tag"}},
		{"sns-tag-resource-exempt.json", []string{"AWS::SNS::Topic arn:aws:sns:us-east-1:123456789012:rampart-notifications"},
			[]rule.Verdict{rule.Violation}, []string{"IGNORED: the rules judging it accept only checked-in exemptions"}},
		{"sns-untag-resource-exempt.json", []string{"AWS::SNS::Topic arn:aws:sns:us-east-1:123456789012:rampart-notifications"},
			[]rule.Verdict{rule.Violation}, []string{"removed the exemption tag"}},
		{"cloudwatch-tag-resource-exempt.json", []string{"AWS::CloudWatch::Alarm arn:aws:cloudwatch:us-east-1:123456789012:alarm:rampart-securitygroup"},
			[]rule.Verdict{rule.Violation}, []string{"IGNORED: the rules judging it accept only checked-in exemptions"}},
		{"cloudwatch-untag-resource-exempt.json", []string{"AWS::CloudWatch::Alarm arn:aws:cloudwatch:us-east-1:123456789012:alarm:rampart-securitygroup"},
			[]rule.Verdict{rule.Violation}, []string{"removed the exemption tag"}},
	}
	b := bind(t)
	env := rule.Env{Session: awsclient.NewOffline("us-east-1")}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			call := sample(t, tc.file)
			if !meta.MatchesCall(trigger.DetailAPICall, call) {
				t.Fatalf("the rule's triggers do not select %s %s", call.EventSource, call.EventName)
			}
			targets, err := b.Targets(call)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tg := range targets {
				got = append(got, tg.Type+" "+tg.ID)
			}
			if !reflect.DeepEqual(got, tc.targets) {
				t.Fatalf("targets %q, want %q", got, tc.targets)
			}
			for i, tg := range targets {
				tg.Call = call
				f, err := b.Evaluate(context.Background(), env, tg)
				if err != nil {
					t.Fatal(err)
				}
				if f.Verdict != tc.verdict[i] {
					t.Fatalf("verdict %s (%s), want %s", f.Verdict, f.Reason, tc.verdict[i])
				}
				if f.Verdict == rule.Violation && (len(f.Actions) != 1 || f.Actions[0].API != rule.AlertAPI) {
					t.Fatalf("a tag change must be alerted on, never acted on: %+v", f.Actions)
				}
				if f.Verdict != rule.Violation && len(f.Actions) != 0 {
					t.Fatalf("actions on a %s finding: %+v", f.Verdict, f.Actions)
				}
				if i == 0 {
					for _, want := range tc.reason {
						if !strings.Contains(f.Reason, want) {
							t.Errorf("reason %q lacks %q", f.Reason, want)
						}
					}
				}
			}
		})
	}
}

// TestOtherKeysAndDeployments: the deployment's key and horizon decide.
func TestOtherKeysAndDeployments(t *testing.T) {
	t.Parallel()
	b := bind(t)
	call := sample(t, "ec2-create-tags-exempt.json")
	targets, err := b.Targets(call)
	if err != nil {
		t.Fatal(err)
	}
	tg := targets[0]
	tg.Call = call
	offline := awsclient.NewOffline("us-east-1")
	eval := func(env rule.Env) rule.Finding {
		f, err := b.Evaluate(context.Background(), env, tg)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	// Another deployment's key: this call does not touch it.
	if f := eval(rule.Env{Session: offline, ExemptTag: "team:exempt"}); f.Verdict != rule.Ignored || len(f.Actions) != 0 {
		t.Fatalf("other key: %+v", f)
	}
	// A 30-day horizon: the 76-day expiry is ignored, and the reason says so.
	if f := eval(rule.Env{Session: offline, ExemptMaxDays: 30}); f.Verdict != rule.Violation || !strings.Contains(f.Reason, "IGNORED: expiry 2026-05-31 is beyond the 30-day horizon") {
		t.Fatalf("30-day horizon: %+v", f)
	}
	// A tag on a kind of resource no rule judges has no effect.
	sub := call
	c := *sub
	c.Request = []byte(`{"resourcesSet":{"items":[{"resourceId":"subnet-0123"}]},"tagSet":{"items":[{"key":"rampart:exempt","value":"x; owner=o; expires=2026-04-01"}]}}`)
	ts, err := b.Targets(&c)
	if err != nil || len(ts) != 1 || ts[0].Type != "" {
		t.Fatalf("subnet: %v %+v", err, ts)
	}
	ts[0].Call = &c
	if f := eval(rule.Env{Session: offline}); f.Verdict != rule.Violation {
		t.Fatalf("the security group first: %+v", f)
	}
	if f, _ := b.Evaluate(context.Background(), rule.Env{Session: offline}, ts[0]); f.Verdict != rule.Compliant || !strings.Contains(f.Reason, "no Rampart rule judges") {
		t.Fatalf("subnet: %+v", f)
	}
}

func TestMalformedRequestsAreInputErrors(t *testing.T) {
	t.Parallel()
	b := bind(t)
	for name, tc := range map[string]struct{ event, req string }{
		"ec2 without resources":   {"CreateTags", `{"tagSet":{"items":[{"key":"k","value":"v"}]}}`},
		"ec2 resource without id": {"CreateTags", `{"resourcesSet":{"items":[{}]}}`},
		"ec2 tagSet not a list":   {"CreateTags", `{"resourcesSet":{"items":[{"resourceId":"sg-1"}]},"tagSet":7}`},
		"s3 without bucket":       {"PutBucketTagging", `{"Tagging":{}}`},
		"trail without id":        {"AddTags", `{"tagsList":[]}`},
		"iam without user":        {"TagUser", `{"tags":[]}`},
		"config without arn":      {"TagResource", `{"tags":[]}`},
		"null":                    {"UntagResource", `null`},
	} {
		call := &trigger.APICall{EventName: tc.event, EventSource: "x.amazonaws.com", Request: []byte(tc.req)}
		if _, err := b.Targets(call); !errors.Is(err, trigger.ErrInput) {
			t.Errorf("%s: err = %v, want trigger.ErrInput", name, err)
		}
	}
}

// TestJudge: the judgement over tag changes, with the deployment's key and
// horizon as facts.
func TestJudge(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 16, 12, 0, 0, 0, time.UTC)
	const sg, bucket = "AWS::EC2::SecurityGroup", "AWS::S3::Bucket"
	set := func(k, v string) Change { return Change{Set: []Tag{{"Name", "web"}, {k, v}}} }
	for _, tc := range []struct {
		name    string
		change  Change
		typ     string
		f       rule.Facts
		verdict rule.Verdict
		reason  []string
	}{
		{"honoured", set(rule.DefaultExemptTag, "migration; owner=ops@example.com; expires=2026-04-01"), sg, rule.Facts{},
			rule.Violation, []string{"bob set the exemption tag rampart:exempt on AWS::EC2::SecurityGroup sg-1", "HONOURED until 2026-04-01 by sg-open-world"}},
		{"beyond the deployment's horizon", set(rule.DefaultExemptTag, "x; owner=o; expires=2026-04-01"), sg, rule.Facts{ExemptMaxDays: 7},
			rule.Violation, []string{"IGNORED: expiry 2026-04-01 is beyond the 7-day horizon"}},
		{"expired", set(rule.DefaultExemptTag, "x; owner=o; expires=2026-03-01"), sg, rule.Facts{},
			rule.Violation, []string{"IGNORED", "still judged by sg-open-world"}},
		{"no owner nor expiry", set(rule.DefaultExemptTag, "because"), sg, rule.Facts{},
			rule.Violation, []string{"owner: none; expires: none", "IGNORED: no owner, no expiry"}},
		{"honoured by some, ignored by a checked-in-only rule", set(rule.DefaultExemptTag, "x; owner=o; expires=2026-04-01"), bucket, rule.Facts{},
			rule.Violation, []string{"HONOURED until 2026-04-01 by s3-bucket-public-access, required-tags; IGNORED by trail-bucket-tampering"}},
		{"checked-in only", set(rule.DefaultExemptTag, "x; owner=o; expires=2026-04-01"), "AWS::CloudTrail::Trail", rule.Facts{},
			rule.Violation, []string{"IGNORED: the rules judging it accept only checked-in exemptions"}},
		{"the deployment's own key", set("team:exempt", "x; owner=o; expires=2026-04-01"), sg, rule.Facts{ExemptTag: "team:exempt"},
			rule.Violation, []string{"set the exemption tag team:exempt", "HONOURED"}},
		{"another key", set("team:exempt", "x"), sg, rule.Facts{}, rule.Ignored, []string{"does not touch the exemption tag rampart:exempt"}},
		{"unjudged type", set(rule.DefaultExemptTag, "x"), "", rule.Facts{}, rule.Compliant, []string{"which no Rampart rule judges"}},
		{"removed", Change{Removed: []string{rule.DefaultExemptTag}}, sg, rule.Facts{},
			rule.Violation, []string{"removed the exemption tag rampart:exempt", "(sg-open-world, sg-restricted-ssh, sg-restricted-common-ports, required-tags)"}},
		{"removed from an unjudged type", Change{Removed: []string{rule.DefaultExemptTag}}, "", rule.Facts{}, rule.Ignored, nil},
		{"every tag replaced", Change{All: true, Set: []Tag{{"Name", "web"}}}, bucket, rule.Facts{}, rule.Compliant, []string{"replaced or removed every tag"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := judge(tagCall{Change: tc.change, Who: "bob", At: at}, rule.Target{Type: tc.typ, ID: "sg-1"}, struct{}{}, tc.f)
			if f.Verdict != tc.verdict {
				t.Fatalf("verdict %s (%s), want %s", f.Verdict, f.Reason, tc.verdict)
			}
			if tc.verdict == rule.Violation != (len(f.Actions) == 1 && f.Actions[0].API == rule.AlertAPI && f.Actions[0].Target == "sg-1") {
				t.Fatalf("actions %+v on a %s", f.Actions, f.Verdict)
			}
			for _, want := range tc.reason {
				if !strings.Contains(f.Reason, want) {
					t.Errorf("reason %q lacks %q", f.Reason, want)
				}
			}
		})
	}
}

// TestFromCall: the state is what the call says; a target without a tag
// change is an error, not a verdict.
func TestFromCall(t *testing.T) {
	t.Parallel()
	when := time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC)
	call := &trigger.APICall{Time: when}
	tc, err := fromCall(rule.Target{ID: "sg-1", Evidence: Change{All: true}, Call: call})
	if err != nil || !tc.At.Equal(when) || !tc.Change.All || tc.Who != call.Actor.Display() {
		t.Fatalf("fromCall = %+v, %v", tc, err)
	}
	if tc, err := fromCall(rule.Target{ID: "sg-1", Evidence: Change{}}); err != nil || tc.Who != "someone" || tc.At.IsZero() {
		t.Fatalf("without a call: %+v, %v", tc, err)
	}
	if _, err := fromCall(rule.Target{ID: "sg-1"}); err == nil {
		t.Fatal("a target without a tag change was judged")
	}
}
