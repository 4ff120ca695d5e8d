package mototest

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/rampart-aws/rampart/internal/awsclient"
)

// WorldSSHGroup makes a security group named name in the session's account
// and region, open to the world on SSH, and returns its ID.
func WorldSSHGroup(t testing.TB, s *awsclient.Session, name string) string {
	t.Helper()
	id := CreateGroup(t, s, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(name)})
	Authorize(t, s, id, ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
		IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}})
	return id
}

// CreateGroup seeds a security group and returns its ID. Seeding tolerates
// the answer of a retried attempt: on a loaded machine moto can drop a
// connection after doing the work, the SDK retries, and the retry answers
// "duplicate" — the group exists, as wanted.
func CreateGroup(t testing.TB, s *awsclient.Session, in *ec2.CreateSecurityGroupInput) string {
	t.Helper()
	ctx := context.Background()
	c := awsclient.Client(s, ec2.NewFromConfig)
	sg, err := c.CreateSecurityGroup(ctx, in)
	if err == nil {
		return aws.ToString(sg.GroupId)
	}
	if !awsclient.HasCode(err, "InvalidGroup.Duplicate") {
		t.Fatal(err)
	}
	filters := []ec2types.Filter{{Name: aws.String("group-name"), Values: []string{aws.ToString(in.GroupName)}}}
	if in.VpcId != nil {
		filters = append(filters, ec2types.Filter{Name: aws.String("vpc-id"), Values: []string{aws.ToString(in.VpcId)}})
	}
	out, derr := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: filters})
	if derr != nil || len(out.SecurityGroups) != 1 {
		t.Fatalf("%v; and finding the group: %v", err, derr)
	}
	return aws.ToString(out.SecurityGroups[0].GroupId)
}

// Authorize seeds ingress rules, tolerating a retried attempt's
// "duplicate" like CreateGroup.
func Authorize(t testing.TB, s *awsclient.Session, id string, perms ...ec2types.IpPermission) {
	t.Helper()
	_, err := awsclient.Client(s, ec2.NewFromConfig).AuthorizeSecurityGroupIngress(context.Background(),
		&ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: perms})
	if err != nil && !awsclient.HasCode(err, "InvalidPermission.Duplicate") {
		t.Fatal(err)
	}
}

// OpenToWorld reports whether the group still has an ingress rule from
// 0.0.0.0/0.
func OpenToWorld(t testing.TB, s *awsclient.Session, id string) bool {
	t.Helper()
	out, err := awsclient.Client(s, ec2.NewFromConfig).DescribeSecurityGroupRules(context.Background(), &ec2.DescribeSecurityGroupRulesInput{
		Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{id}}}})
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(out.SecurityGroupRules, func(r ec2types.SecurityGroupRule) bool {
		return !aws.ToBool(r.IsEgress) && aws.ToString(r.CidrIpv4) == "0.0.0.0/0"
	})
}
