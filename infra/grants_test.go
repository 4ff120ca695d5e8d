package main

import (
	"slices"
	"testing"

	"github.com/rampart-aws/rampart/internal/catalog"
	"github.com/rampart-aws/rampart/internal/rule"
)

// catalogRule is the catalog's rule with the ID.
func catalogRule(t *testing.T, id string) rule.Rule {
	t.Helper()
	for _, r := range catalog.All() {
		if r.Meta().ID == id {
			return r
		}
	}
	t.Fatalf("no rule %s in the catalog", id)
	return nil
}

// TestGatedWriteActions: a write action only a parameter enables is granted
// exactly when the deployed parameters enable it, for every rule that gates
// one (its role, the member role and the plan table all use grantedActions).
func TestGatedWriteActions(t *testing.T) {
	for _, tc := range []struct {
		rule   string
		action string
		params map[string]string // enabling values; nil: the defaults
		want   bool
	}{
		{"config-tampering", "config:PutConfigurationRecorder", nil, false},
		{"config-tampering", "config:PutConfigurationRecorder", map[string]string{"recorderRoleArn": "arn:aws:iam::111122223333:role/config"}, true},
		{"config-tampering", "config:PutDeliveryChannel", map[string]string{"recorderRoleArn": "arn:aws:iam::111122223333:role/config"}, false},
		{"config-tampering", "config:PutDeliveryChannel", map[string]string{"deliveryBucketName": "config-bucket"}, true},
		{"config-tampering", "config:StartConfigurationRecorder", nil, true}, // ungated
		{"ebs-default-encryption", "ec2:ModifyEbsDefaultKmsKeyId", nil, false},
		{"ebs-default-encryption", "ec2:ModifyEbsDefaultKmsKeyId", map[string]string{"kmsKeyId": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}, true},
		{"ebs-default-encryption", "ec2:EnableEbsEncryptionByDefault", nil, true},
		{"cloudtrail-integrity", "cloudtrail:CreateTrail", nil, false},
		{"cloudtrail-integrity", "cloudtrail:CreateTrail", map[string]string{"trailName": "org-trail"}, false},
		{"cloudtrail-integrity", "cloudtrail:CreateTrail", map[string]string{"s3BucketName": "trail-bucket"}, false},
		{"cloudtrail-integrity", "cloudtrail:CreateTrail", map[string]string{"trailName": "org-trail", "s3BucketName": "trail-bucket"}, true},
		{"cloudtrail-integrity", "cloudtrail:UpdateTrail", nil, true},
		{"required-tags", "s3:PutBucketTagging", nil, false},
		{"required-tags", "s3:PutBucketTagging", map[string]string{"defaultTags": "cost-center=unassigned"}, true},
		{"vpc-flow-logs", "ec2:CreateFlowLogs", nil, false},
		{"vpc-flow-logs", "ec2:CreateFlowLogs", map[string]string{"logGroupName": "/flow"}, false},
		{"vpc-flow-logs", "ec2:CreateFlowLogs", map[string]string{"logGroupName": "/flow", "deliverLogsRoleArn": "arn:aws:iam::111122223333:role/fl"}, true},
		{"vpc-flow-logs", "logs:CreateLogDelivery", map[string]string{"logGroupName": "/flow", "deliverLogsRoleArn": "arn:aws:iam::111122223333:role/fl"}, false},
		{"vpc-flow-logs", "ec2:CreateFlowLogs", map[string]string{"s3BucketArn": "arn:aws:s3:::flow"}, false}, // destination type is logs
		{"vpc-flow-logs", "logs:CreateLogDelivery", map[string]string{"destinationType": "s3", "s3BucketArn": "arn:aws:s3:::flow"}, true},
		{"vpc-flow-logs", "ec2:CreateFlowLogs", map[string]string{"destinationType": "s3", "s3BucketArn": "arn:aws:s3:::flow"}, true},
	} {
		r := catalogRule(t, tc.rule)
		s := &Settings{}
		if tc.params != nil {
			s.Params = map[string]map[string]string{tc.rule: tc.params}
		}
		got, err := grantedActions([]rule.Rule{r}, s, false)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(got, tc.action) != tc.want {
			t.Errorf("%s with %v: %s granted = %v, want %v", tc.rule, tc.params, tc.action, !tc.want, tc.want)
		}
		if !slices.Contains(r.Meta().WriteActions, tc.action) {
			t.Errorf("%s declares no %s: the case tests nothing", tc.rule, tc.action)
		}
		member, err := memberActions([]rule.Rule{r}, s)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(member, tc.action) != tc.want {
			t.Errorf("%s with %v: member role holds %s = %v, want %v", tc.rule, tc.params, tc.action, !tc.want, tc.want)
		}
	}
}

// TestGatedWritesInTheTemplate: in the catalog app only vpc-flow-logs'
// CloudWatch Logs destination is configured: the ec2 role may create flow
// logs, but not S3 log deliveries; no other gated action is granted.
func TestGatedWritesInTheTemplate(t *testing.T) {
	a := catalogApp(t)
	for fn, c := range map[string]struct{ has, lacks []string }{
		"ec2":        {has: []string{"ec2:CreateFlowLogs", "ec2:EnableEbsEncryptionByDefault"}, lacks: []string{"logs:CreateLogDelivery", "ec2:ModifyEbsDefaultKmsKeyId"}},
		"config":     {has: []string{"config:StartConfigurationRecorder"}, lacks: []string{"config:PutConfigurationRecorder", "config:PutDeliveryChannel"}},
		"cloudtrail": {has: []string{"cloudtrail:StartLogging", "cloudtrail:UpdateTrail"}, lacks: []string{"cloudtrail:CreateTrail"}},
	} {
		got := roleActions(a.json[home], homeRoleID(t, a, fn))
		for _, act := range c.has {
			if !slices.Contains(got, act) {
				t.Errorf("role of %s lacks %s", fn, act)
			}
		}
		for _, act := range c.lacks {
			if slices.Contains(got, act) {
				t.Errorf("role of %s holds %s, which no deployed parameter enables", fn, act)
			}
		}
	}
}
