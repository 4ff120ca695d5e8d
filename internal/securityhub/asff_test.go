package securityhub

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/rampart-aws/rampart/internal/catalog"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

var now = time.Date(2026, 3, 15, 9, 0, 0, 0, time.UTC)

func sgInput(st State, actions ...rule.Action) Input {
	return Input{Partition: "aws", Region: "us-east-1", Account: "123456789012", Rule: "sg-restricted-ssh",
		Title: "Security groups do not admit SSH", Severity: rule.High, Remediation: "Revokes the permissions.",
		Resource: "sg-0abc", ResourceType: "AWS::EC2::SecurityGroup", State: st, Reason: "port 22 open to 0.0.0.0/0",
		Mode: "enforce", Actions: actions, EventID: "ev-1", Now: now}
}

func revoke(o rule.Outcome) rule.Action {
	undo := rule.NewAction("ec2:AuthorizeSecurityGroupIngress", "sg-0abc", "undo", map[string]string{}, nil)
	a := rule.NewAction("ec2:RevokeSecurityGroupIngress", "sg-0abc", "revoke", map[string]string{}, &undo)
	a.Outcome = o
	return a
}

func TestBuild(t *testing.T) {
	t.Parallel()
	exempt := sgInput(Exempt)
	exempt.ExemptSource, exempt.ExemptOwner, exempt.ExemptExpires = "tag", "team@example.com", "2026-06-30"
	cases := []struct {
		name       string
		in         Input
		compliance types.ComplianceStatus
		workflow   types.WorkflowStatus
		record     types.RecordState
		label      types.SeverityLabel
		fields     map[string]string
	}{
		{"violation", sgInput(Violation, revoke(rule.Planned)), types.ComplianceStatusFailed, types.WorkflowStatusNew, types.RecordStateActive, types.SeverityLabelHigh,
			map[string]string{FieldState: "violation", FieldUndo: "false", FieldActions: "planned ec2:RevokeSecurityGroupIngress on sg-0abc", FieldMode: "enforce"}},
		{"remediated", sgInput(Remediated, revoke(rule.Applied)), types.ComplianceStatusPassed, types.WorkflowStatusResolved, types.RecordStateActive, types.SeverityLabelInformational,
			map[string]string{FieldState: "remediated", FieldUndo: "true", FieldActions: "applied ec2:RevokeSecurityGroupIngress on sg-0abc"}},
		{"failed", sgInput(Failed, revoke(rule.Failed)), types.ComplianceStatusFailed, types.WorkflowStatusNew, types.RecordStateActive, types.SeverityLabelHigh,
			map[string]string{FieldState: "failed", FieldUndo: "false"}},
		{"exempt", exempt, types.ComplianceStatusFailed, types.WorkflowStatusSuppressed, types.RecordStateActive, types.SeverityLabelHigh,
			map[string]string{FieldState: "exempt", FieldExemptOwner: "team@example.com", FieldExemptExpires: "2026-06-30", FieldExemptSource: "tag", FieldActions: "none"}},
		{"compliant", sgInput(Compliant), types.ComplianceStatusPassed, types.WorkflowStatusResolved, types.RecordStateActive, types.SeverityLabelInformational,
			map[string]string{FieldState: "compliant"}},
		{"gone", sgInput(Gone), types.ComplianceStatusNotAvailable, types.WorkflowStatusResolved, types.RecordStateArchived, types.SeverityLabelInformational,
			map[string]string{FieldState: "gone"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := Build(c.in)
			if got := aws.ToString(f.Id); got != "rampart/123456789012/us-east-1/sg-restricted-ssh/sg-0abc" {
				t.Errorf("Id %q", got)
			}
			if got := aws.ToString(f.ProductArn); got != "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default" {
				t.Errorf("ProductArn %q", got)
			}
			if aws.ToString(f.GeneratorId) != "sg-restricted-ssh" || aws.ToString(f.AwsAccountId) != "123456789012" || aws.ToString(f.SchemaVersion) != SchemaVersion {
				t.Errorf("generator/account/schema %q %q %q", aws.ToString(f.GeneratorId), aws.ToString(f.AwsAccountId), aws.ToString(f.SchemaVersion))
			}
			if len(f.Types) != 1 || !strings.HasPrefix(f.Types[0], "Software and Configuration Checks/") {
				t.Errorf("Types %v", f.Types)
			}
			if f.Compliance.Status != c.compliance || f.Workflow.Status != c.workflow || f.RecordState != c.record || f.Severity.Label != c.label {
				t.Errorf("compliance %s workflow %s record %s label %s", f.Compliance.Status, f.Workflow.Status, f.RecordState, f.Severity.Label)
			}
			if f.FindingProviderFields.Severity.Label != c.label || aws.ToString(f.Severity.Original) != "high" {
				t.Errorf("provider severity %s, original %q", f.FindingProviderFields.Severity.Label, aws.ToString(f.Severity.Original))
			}
			r := f.Resources[0]
			if aws.ToString(r.Type) != TypeSecurityGroup || aws.ToString(r.Id) != "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0abc" || r.Partition != "aws" {
				t.Errorf("resource %s %s %s", aws.ToString(r.Type), aws.ToString(r.Id), r.Partition)
			}
			want := map[string]string{FieldRule: "sg-restricted-ssh", FieldResourceID: "sg-0abc", FieldResourceType: "AWS::EC2::SecurityGroup", FieldEventID: "ev-1"}
			for k, v := range c.fields {
				want[k] = v
			}
			for k, v := range want {
				if f.ProductFields[k] != v {
					t.Errorf("ProductFields[%s] = %q, want %q", k, f.ProductFields[k], v)
				}
			}
			if _, ok := f.ProductFields[FieldExemptOwner]; ok != (c.in.State == Exempt) {
				t.Errorf("exempt owner field present = %v", ok)
			}
			if aws.ToString(f.CreatedAt) != "2026-03-15T09:00:00Z" || aws.ToString(f.UpdatedAt) != "2026-03-15T09:00:00Z" {
				t.Errorf("times %q %q", aws.ToString(f.CreatedAt), aws.ToString(f.UpdatedAt))
			}
		})
	}
}

func TestBuildLimits(t *testing.T) {
	t.Parallel()
	in := sgInput(Violation)
	in.Reason = strings.Repeat("é", 2000)
	in.Title = strings.Repeat("t", 400)
	in.Resource = strings.Repeat("r", 600)
	f := Build(in)
	if n := len(aws.ToString(f.Description)); n > maxDescription {
		t.Errorf("description %d bytes", n)
	}
	if n := len(aws.ToString(f.Title)); n > maxTitle {
		t.Errorf("title %d bytes", n)
	}
	id := aws.ToString(f.Id)
	if len(id) > maxID || id == FindingID("123456789012", "us-east-1", "sg-restricted-ssh", strings.Repeat("r", 599)) {
		t.Errorf("long ID %d bytes, or not distinct", len(id))
	}
	if FindingID("1", "r", "x", "a") == FindingID("1", "r", "y", "a") {
		t.Error("IDs of two rules collide")
	}
}

func TestSeverityLabel(t *testing.T) {
	t.Parallel()
	for s, want := range map[rule.Severity]types.SeverityLabel{rule.Critical: "CRITICAL", rule.High: "HIGH", rule.Medium: "MEDIUM", rule.Low: "LOW", "": "INFORMATIONAL"} {
		if got := SeverityLabel(s); got != want {
			t.Errorf("%q → %s, want %s", s, got, want)
		}
	}
}

func TestResourceRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		cfn, id, asff, asffID, back string
	}{
		{"AWS::EC2::SecurityGroup", "sg-0abc", TypeSecurityGroup, "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0abc", "sg-0abc"},
		{"AWS::EC2::Volume", "vol-0abc", TypeVolume, "arn:aws:ec2:us-east-1:123456789012:volume/vol-0abc", "vol-0abc"},
		{"AWS::EC2::VPC", "vpc-0abc", TypeVpc, "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0abc", "vpc-0abc"},
		{"AWS::S3::Bucket", "logs-bucket", TypeBucket, "arn:aws:s3:::logs-bucket", "logs-bucket"},
		{"AWS::CloudTrail::Trail", "arn:aws:cloudtrail:us-east-1:123456789012:trail/main", TypeTrail, "arn:aws:cloudtrail:us-east-1:123456789012:trail/main", "arn:aws:cloudtrail:us-east-1:123456789012:trail/main"},
		{"AWS::CloudTrail::Trail", "main", TypeTrail, "arn:aws:cloudtrail:us-east-1:123456789012:trail/main", "arn:aws:cloudtrail:us-east-1:123456789012:trail/main"},
		{"AWS::::Account", "123456789012", TypeAccount, "AWS::::Account:123456789012", "123456789012"},
		{"AWS::S3::AccountPublicAccessBlock", "123456789012", TypeAccount, "AWS::::Account:123456789012", "123456789012"},
	}
	for _, c := range cases {
		r := ResourceOf("aws", "us-east-1", "123456789012", c.cfn, c.id)
		if aws.ToString(r.Type) != c.asff || aws.ToString(r.Id) != c.asffID {
			t.Errorf("%s %s → %s %s", c.cfn, c.id, aws.ToString(r.Type), aws.ToString(r.Id))
		}
		tg, ok := TargetOf(aws.ToString(r.Type), aws.ToString(r.Id), "123456789012", "us-east-1")
		if !ok || tg.ID != c.back {
			t.Errorf("%s %s back → %+v %v", c.asff, c.asffID, tg, ok)
		}
	}
	if r := ResourceOf("aws", "us-east-1", "123456789012", "AWS::Lambda::Function", "rampart-ec2"); aws.ToString(r.Type) != TypeOther {
		t.Errorf("unmapped type → %s", aws.ToString(r.Type))
	}
}

func TestTargetOfRejects(t *testing.T) {
	t.Parallel()
	cases := []struct{ typ, id string }{
		{TypeSecurityGroup, "arn:aws:ec2:us-east-1:999999999999:security-group/sg-0abc"}, // another account
		{TypeSecurityGroup, "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0abc"}, // another region
		{TypeSecurityGroup, "arn:aws:ec2:us-east-1:123456789012:volume/vol-0abc"},        // not a group
		{TypeSecurityGroup, ""},
		{TypeAccount, "AWS::::Account:999999999999"},
		{TypeAccount, "AWS::::Account:12345"},
		{TypeBucket, "arn:aws:iam::123456789012:user/x"},
		{TypeTrail, "main"},
		{"AwsIamAccessKey", "AKIAEXAMPLE"},
	}
	for _, c := range cases {
		if tg, ok := TargetOf(c.typ, c.id, "123456789012", "us-east-1"); ok {
			t.Errorf("%s %q → %+v, want rejected", c.typ, c.id, tg)
		}
	}
}

func TestDecodeActionSample(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "service", "securityhub-custom-action.json"))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := trigger.Decode(raw)
	if err != nil || tr.Event == nil || !IsCustomAction(tr.Event) {
		t.Fatalf("decode: %v %+v", err, tr)
	}
	if got := tr.Event.Resources[0]; got != ActionTargetARN("aws", "us-east-1", "123456789012") {
		t.Errorf("action target %s", got)
	}
	fs, err := DecodeAction(tr.Event.Detail)
	if err != nil || len(fs) != 1 {
		t.Fatalf("findings %+v, %v", fs, err)
	}
	f := fs[0]
	if f.ControlID != "EC2.13" || f.Account != "123456789012" || f.Region != "us-east-1" || f.IsOwn("aws") || len(f.Resources) != 1 {
		t.Errorf("finding %+v", f)
	}
	tg, ok := TargetOf(f.Resources[0].Type, f.Resources[0].ID, f.Account, f.Region)
	if !ok || tg.ID != "sg-0a1b2c3d4e5f60718" || tg.Types[0] != "AWS::EC2::SecurityGroup" {
		t.Errorf("target %+v %v", tg, ok)
	}
}

func TestDecodeActionOwnAndLegacy(t *testing.T) {
	t.Parallel()
	own := `{"actionName":"x","findings":[
	 {"Id":"rampart/123456789012/us-east-1/s3-bucket-public-access/b","ProductArn":"arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default",
	  "GeneratorId":"s3-bucket-public-access","AwsAccountId":"123456789012","Region":"us-east-1",
	  "ProductFields":{"rampart/Rule":"s3-bucket-public-access","rampart/ResourceId":"b","rampart/ResourceType":"AWS::S3::Bucket"},
	  "Resources":[{"Type":"AwsS3Bucket","Id":"arn:aws:s3:::b"}]},
	 {"Id":"legacy","ProductArn":"arn:aws:securityhub:us-east-1::product/aws/securityhub","GeneratorId":"aws-foundational-security-best-practices/v/1.0.0/EC2.6",
	  "AwsAccountId":"123456789012","ProductFields":{"ControlId":"EC2.6"},"Resources":[{"Type":"AwsEc2Vpc","Id":"arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1","Region":"us-east-1"}]},
	 {"Id":"forged","ProductArn":"arn:aws:securityhub:us-east-1::product/aws/guardduty","GeneratorId":"x","AwsAccountId":"123456789012","Region":"us-east-1",
	  "ProductFields":{"rampart/Rule":"sg-open-world"},"Resources":[]}]}`
	fs, err := DecodeAction([]byte(own))
	if err != nil || len(fs) != 3 {
		t.Fatalf("%+v %v", fs, err)
	}
	if !fs[0].IsOwn("aws") || fs[0].OwnID != "b" || fs[0].OwnType != "AWS::S3::Bucket" {
		t.Errorf("own finding %+v", fs[0])
	}
	if fs[1].ControlID != "EC2.6" || fs[1].Region != "us-east-1" {
		t.Errorf("legacy finding %+v", fs[1])
	}
	if fs[2].IsOwn("aws") || fs[2].Rule != "" {
		t.Errorf("another product's finding naming a Rampart rule is not Rampart's: %+v", fs[2])
	}
	for _, bad := range []string{`{`, `{"findings":[]}`, `{"findings":[1]}`} {
		if _, err := DecodeAction([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// TestCatalogControls: every control a rule declares is a Security Hub
// control ID, and every rule that declares one judges a resource type a
// finding can name (TargetOf maps it back).
func TestCatalogControls(t *testing.T) {
	t.Parallel()
	mappable := map[string]bool{}
	for _, typ := range []string{TypeAccount, TypeBucket, TypeSecurityGroup, TypeVolume, TypeVpc, TypeInstance, TypeEIP} {
		id := "x"
		switch typ {
		case TypeAccount:
			id = "AWS::::Account:123456789012"
		case TypeBucket:
			id = "arn:aws:s3:::b"
		}
		tg, ok := TargetOf(typ, id, "123456789012", "us-east-1")
		if !ok {
			t.Fatalf("%s does not map", typ)
		}
		for _, c := range tg.Types {
			mappable[c] = true
		}
	}
	mappable["AWS::CloudTrail::Trail"] = true
	re := regexp.MustCompile(`^[A-Za-z0-9]+\.\d+$`)
	seen := 0
	for _, r := range catalog.All() {
		m := r.Meta()
		for _, c := range m.SecurityHubControls {
			seen++
			if !re.MatchString(c) {
				t.Errorf("%s: %q is not a Security Hub control ID", m.ID, c)
			}
		}
		if len(m.SecurityHubControls) > 0 && !slices.ContainsFunc(strings.Split(m.ResourceType, ","), func(s string) bool { return mappable[s] }) {
			t.Errorf("%s declares controls but judges %s, which no finding's resource maps to", m.ID, m.ResourceType)
		}
	}
	if seen < 15 {
		t.Errorf("only %d controls declared", seen)
	}
}
