package instances

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/rampart-aws/rampart/internal/rule"
)

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
	got, err := Describe(ctx, fakeEC2{out: &ec2.DescribeInstancesOutput{Reservations: []ec2types.Reservation{{Instances: []ec2types.Instance{in}}}}}, "i-1")
	if err != nil || aws.ToString(got.VpcId) != "vpc-1" || got.State.Name != ec2types.InstanceStateNameRunning {
		t.Fatalf("describe = %+v, %v", got, err)
	}
	for name, f := range map[string]fakeEC2{
		"empty":     {out: &ec2.DescribeInstancesOutput{}},
		"no such":   {err: &smithy.GenericAPIError{Code: "InvalidInstanceID.NotFound"}},
		"malformed": {err: &smithy.GenericAPIError{Code: "InvalidInstanceID.Malformed"}},
	} {
		if _, err := Describe(ctx, f, "i-1"); !errors.Is(err, rule.ErrGone) || err.Error() != "the instance no longer exists" {
			t.Errorf("%s: err = %v, want gone", name, err)
		}
	}
	if _, err := Describe(ctx, fakeEC2{err: &smithy.GenericAPIError{Code: "UnauthorizedOperation"}}, "i-1"); err == nil || errors.Is(err, rule.ErrGone) {
		t.Fatalf("a denied read is not an error: %v", err)
	}
}
