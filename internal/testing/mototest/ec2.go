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
	ctx := context.Background()
	c := awsclient.Client(s, ec2.NewFromConfig)
	sg, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId,
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(sg.GroupId)
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
