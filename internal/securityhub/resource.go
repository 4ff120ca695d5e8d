package securityhub

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"
)

// ASFF resource types of the resources Rampart's rules judge.
const (
	TypeAccount       = "AwsAccount"
	TypeSecurityGroup = "AwsEc2SecurityGroup"
	TypeVolume        = "AwsEc2Volume"
	TypeVpc           = "AwsEc2Vpc"
	TypeInstance      = "AwsEc2Instance"
	TypeEIP           = "AwsEc2Eip"
	TypeBucket        = "AwsS3Bucket"
	TypeTrail         = "AwsCloudTrailTrail"
	TypeUser          = "AwsIamUser"
	TypeOther         = "Other"
)

// ec2Kinds maps the CloudFormation types of EC2 resources to their ASFF
// type and the resource part of their ARN.
var ec2Kinds = map[string]struct{ asff, kind string }{
	"AWS::EC2::SecurityGroup": {TypeSecurityGroup, "security-group"},
	"AWS::EC2::Volume":        {TypeVolume, "volume"},
	"AWS::EC2::VPC":           {TypeVpc, "vpc"},
	"AWS::EC2::Instance":      {TypeInstance, "instance"},
	"AWS::EC2::EIP":           {TypeEIP, "elastic-ip"},
}

// accountTypes are the CloudFormation types of account-wide settings, whose
// ASFF resource is the account (as Security Hub's own controls report them).
var accountTypes = map[string]bool{
	"AWS::::Account":                    true,
	"AWS::S3::AccountPublicAccessBlock": true,
}

// accountID is the ASFF ID of an account resource.
func accountID(account string) string { return "AWS::::Account:" + account }

// ResourceOf is the ASFF resource of a rule's resource: the type and ARN
// Security Hub's own controls use for it, so that Rampart's finding and
// AWS's about the same resource line up. A type Rampart does not map is
// "Other" with the rule's own ID.
func ResourceOf(partition, region, account, cfnType, id string) types.Resource {
	r := types.Resource{Type: aws.String(TypeOther), Id: aws.String(id), Partition: types.Partition(partition), Region: aws.String(region)}
	switch {
	case accountTypes[cfnType]:
		r.Type, r.Id = aws.String(TypeAccount), aws.String(accountID(account))
	case ec2Kinds[cfnType].asff != "":
		k := ec2Kinds[cfnType]
		r.Type = aws.String(k.asff)
		if !strings.HasPrefix(id, "arn:") {
			r.Id = aws.String(fmt.Sprintf("arn:%s:ec2:%s:%s:%s/%s", partition, region, account, k.kind, id))
		}
	case cfnType == "AWS::S3::Bucket":
		r.Type = aws.String(TypeBucket)
		if !strings.HasPrefix(id, "arn:") {
			r.Id = aws.String(fmt.Sprintf("arn:%s:s3:::%s", partition, id))
		}
	case cfnType == "AWS::CloudTrail::Trail":
		r.Type = aws.String(TypeTrail)
		if !strings.HasPrefix(id, "arn:") {
			r.Id = aws.String(fmt.Sprintf("arn:%s:cloudtrail:%s:%s:trail/%s", partition, region, account, id))
		}
	case cfnType == "AWS::IAM::User":
		r.Type = aws.String(TypeUser)
		if !strings.HasPrefix(id, "arn:") {
			r.Id = aws.String(fmt.Sprintf("arn:%s:iam::%s:user/%s", partition, account, id))
		}
	}
	return r
}

// Target is a resource named by a finding, in the terms of Rampart's
// rules: the CloudFormation types it may be judged as, and its ID there.
type Target struct {
	// Types are the CloudFormation types the resource may be (an account
	// resource is the account of every account-wide rule).
	Types   []string
	ID      string
	Account string
	Region  string
}

// TargetOf maps a finding's ASFF resource back to the ID a rule judges it
// by: sg-… for a security group, vol-…, vpc-…, the bucket's name, the
// trail's ARN, the account ID. It reports false for a resource Rampart's
// rules do not judge, or an ID it cannot read.
func TargetOf(typ, id, account, region string) (Target, bool) {
	t := Target{Account: account, Region: region}
	switch typ {
	case TypeAccount:
		acct := strings.TrimPrefix(id, "AWS::::Account:")
		if a, err := arn.Parse(id); err == nil {
			acct = a.AccountID
		}
		if !isAccount(acct) || (account != "" && acct != account) {
			return t, false
		}
		t.Types, t.ID = []string{"AWS::::Account", "AWS::S3::AccountPublicAccessBlock"}, acct
		return t, true
	case TypeBucket:
		name := id
		if a, err := arn.Parse(id); err == nil {
			if a.Service != "s3" {
				return t, false
			}
			name = a.Resource
		}
		if name == "" || strings.ContainsAny(name, "/: ") {
			return t, false
		}
		t.Types, t.ID = []string{"AWS::S3::Bucket"}, name
		return t, true
	case TypeTrail:
		a, err := arn.Parse(id)
		if err != nil || a.Service != "cloudtrail" || !strings.HasPrefix(a.Resource, "trail/") || len(a.Resource) == len("trail/") {
			return t, false
		}
		t.Types, t.ID = []string{"AWS::CloudTrail::Trail"}, id
		return t, true
	}
	for cfn, k := range ec2Kinds {
		if k.asff != typ {
			continue
		}
		short := id
		if a, err := arn.Parse(id); err == nil {
			if a.Service != "ec2" || !strings.HasPrefix(a.Resource, k.kind+"/") {
				return t, false
			}
			short = strings.TrimPrefix(a.Resource, k.kind+"/")
			if a.Region != "" && region != "" && a.Region != region {
				return t, false
			}
			if a.AccountID != "" && account != "" && a.AccountID != account {
				return t, false
			}
		}
		if short == "" || strings.ContainsAny(short, "/: ") {
			return t, false
		}
		t.Types, t.ID = []string{cfn}, short
		return t, true
	}
	return t, false
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
