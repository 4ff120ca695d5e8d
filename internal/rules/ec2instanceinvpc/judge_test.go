package ec2instanceinvpc

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

func TestJudge(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		i       instance
		verdict rule.Verdict
		reason  string
	}{
		{"in a VPC", instance{State: "running", VpcID: "vpc-1"}, rule.Compliant, "the instance runs in vpc-1"},
		{"stopped in a VPC", instance{State: "stopped", VpcID: "vpc-1"}, rule.Compliant, "vpc-1"},
		{"not in a VPC", instance{State: "running"}, rule.Violation, "cannot be moved"},
		{"pending, not in a VPC", instance{State: "pending"}, rule.Violation, "relaunch it in a VPC"},
		{"terminated", instance{State: "terminated"}, rule.NotApplicable, "the instance is terminated"},
		{"shutting down", instance{State: "shutting-down", VpcID: "vpc-1"}, rule.NotApplicable, "the instance is shutting-down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.i.Tags = map[string]string{"team": "a"}
			f := judgeFinding(tc.i, rule.Target{ID: "i-1"}, struct{}{}, rule.Facts{Region: "us-east-1"})
			if f.Verdict != tc.verdict || !strings.Contains(f.Reason, tc.reason) {
				t.Fatalf("finding = %+v, want %s with %q", f, tc.verdict, tc.reason)
			}
			// The rule only reports: no plan, ever; the tags go to the exemption check.
			if len(f.Actions) != 0 || f.Tags["team"] != "a" {
				t.Fatalf("finding = %+v", f)
			}
		})
	}
}

func TestFromItem(t *testing.T) {
	t.Parallel()
	i, err := fromItem(&trigger.ConfigItem{ResourceID: "i-1", Tags: map[string]string{"k": "v"},
		Configuration: []byte(`{"instanceId":"i-1","vpcId":"vpc-9","state":{"code":16,"name":"running"}}`)})
	if err != nil || i.VpcID != "vpc-9" || i.State != "running" || i.Tags["k"] != "v" {
		t.Fatalf("fromItem = %+v, %v", i, err)
	}
	if _, err := fromItem(&trigger.ConfigItem{Configuration: []byte(`{"state":7}`)}); !errors.Is(err, trigger.ErrInput) {
		t.Fatalf("malformed configuration: %v", err)
	}
}

// fakeEC2 answers DescribeInstances from a fixed output or error.
type fakeEC2 struct {
	out *ec2.DescribeInstancesOutput
	err error
}

func (f fakeEC2) DescribeInstances(context.Context, *ec2.DescribeInstancesInput, ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	return f.out, f.err
}

// TestDescribe covers the read's edge cases moto does not produce: an empty
// answer, a malformed ID, and a failure that must stay an error.
func TestDescribe(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := ec2types.Instance{InstanceId: aws.String("i-1"), VpcId: aws.String("vpc-1"), State: &ec2types.InstanceState{Name: ec2types.InstanceStateNameRunning},
		Tags: []ec2types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}
	got, err := describe(ctx, fakeEC2{out: &ec2.DescribeInstancesOutput{Reservations: []ec2types.Reservation{{Instances: []ec2types.Instance{in}}}}}, "i-1")
	if err != nil || got.VpcID != "vpc-1" || got.State != "running" || got.Tags["k"] != "v" {
		t.Fatalf("describe = %+v, %v", got, err)
	}
	for name, f := range map[string]fakeEC2{
		"empty":     {out: &ec2.DescribeInstancesOutput{}},
		"no such":   {err: &smithy.GenericAPIError{Code: "InvalidInstanceID.NotFound"}},
		"malformed": {err: &smithy.GenericAPIError{Code: "InvalidInstanceID.Malformed"}},
	} {
		if _, err := describe(ctx, f, "i-1"); !errors.Is(err, rule.ErrGone) || err.Error() != "the instance no longer exists" {
			t.Errorf("%s: err = %v, want gone", name, err)
		}
	}
	if _, err := describe(ctx, fakeEC2{err: &smithy.GenericAPIError{Code: "UnauthorizedOperation"}}, "i-1"); err == nil || errors.Is(err, rule.ErrGone) {
		t.Fatalf("a denied read is not an error: %v", err)
	}
}
