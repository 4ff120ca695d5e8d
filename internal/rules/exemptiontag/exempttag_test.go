package exemptiontag

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/exemption"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

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
	ctx := rule.WithExemptTag(context.Background(), rule.DefaultExemptTag)
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			call := sample(t, tc.file)
			if !meta.MatchesCall(trigger.DetailAPICall, call) {
				t.Fatalf("the rule's triggers do not select %s %s", call.EventSource, call.EventName)
			}
			targets, err := Rule.Targets(call, nil)
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
				f, err := Rule.Evaluate(ctx, awsclient.NewOffline("us-east-1"), tg, nil)
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
	call := sample(t, "ec2-create-tags-exempt.json")
	targets, err := Rule.Targets(call, nil)
	if err != nil {
		t.Fatal(err)
	}
	tg := targets[0]
	tg.Call = call
	eval := func(ctx context.Context) rule.Finding {
		f, err := Rule.Evaluate(ctx, awsclient.NewOffline("us-east-1"), tg, nil)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	// Another deployment's key: this call does not touch it.
	if f := eval(rule.WithExemptTag(context.Background(), "team:exempt")); f.Verdict != rule.Ignored || len(f.Actions) != 0 {
		t.Fatalf("other key: %+v", f)
	}
	// A 30-day horizon: the 76-day expiry is ignored, and the reason says so.
	ctx := exemption.WithMaxDays(rule.WithExemptTag(context.Background(), rule.DefaultExemptTag), 30)
	if f := eval(ctx); f.Verdict != rule.Violation || !strings.Contains(f.Reason, "IGNORED: expiry 2026-05-31 is beyond the 30-day horizon") {
		t.Fatalf("30-day horizon: %+v", f)
	}
	// A tag on a kind of resource no rule judges has no effect.
	sub := call
	c := *sub
	c.Request = []byte(`{"resourcesSet":{"items":[{"resourceId":"subnet-0123"}]},"tagSet":{"items":[{"key":"rampart:exempt","value":"x; owner=o; expires=2026-04-01"}]}}`)
	ts, err := Rule.Targets(&c, nil)
	if err != nil || len(ts) != 1 || ts[0].Type != "" {
		t.Fatalf("subnet: %v %+v", err, ts)
	}
	ts[0].Call = &c
	if f, _ := Rule.Evaluate(rule.WithExemptTag(context.Background(), rule.DefaultExemptTag), awsclient.NewOffline("us-east-1"), ts[0], nil); f.Verdict != rule.Compliant || !strings.Contains(f.Reason, "no Rampart rule judges") {
		t.Fatalf("subnet: %+v", f)
	}
}

func TestMalformedRequestsAreInputErrors(t *testing.T) {
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
		if _, err := Rule.Targets(call, nil); !errors.Is(err, trigger.ErrInput) {
			t.Errorf("%s: err = %v, want trigger.ErrInput", name, err)
		}
	}
}
