// Package instances reads EC2 instances for the rules that judge them (in a
// VPC, IMDSv2): one instance by ID, or every instance of a region with the
// state each rule keeps of it.
package instances

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
)

// DescribeAPI is what Describe reads of EC2.
type DescribeAPI interface {
	DescribeInstances(context.Context, *ec2.DescribeInstancesInput, ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

// Describe reads one instance; one that no longer exists is rule.Gone.
func Describe(ctx context.Context, api DescribeAPI, id string) (ec2types.Instance, error) {
	out, err := api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if awsclient.HasCode(err, "InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed") ||
		err == nil && (len(out.Reservations) == 0 || len(out.Reservations[0].Instances) == 0) {
		return ec2types.Instance{}, rule.Gone("the instance no longer exists")
	}
	if err != nil {
		return ec2types.Instance{}, fmt.Errorf("describe instance %s: %w", id, err)
	}
	return out.Reservations[0].Instances[0], nil
}

// List reads every instance of the region (paginated) as targets, each
// carrying the state a rule makes of it.
func List[S any](ctx context.Context, api ec2.DescribeInstancesAPIClient, region string, state func(ec2types.Instance) S) ([]rule.Target, error) {
	pages := ec2.NewDescribeInstancesPaginator(api, &ec2.DescribeInstancesInput{})
	var out []rule.Target
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list instances: %w", err)
		}
		for _, r := range page.Reservations {
			for _, i := range r.Instances {
				out = append(out, rule.Target{Type: rule.InstanceType, ID: aws.ToString(i.InstanceId), Region: region, State: state(i)})
			}
		}
	}
	return out, nil
}

// Observe is a rule's observe step over one instance: Describe, made into
// the rule's state.
func Observe[S, P any](state func(ec2types.Instance) S) func(context.Context, rule.Env, rule.Target, P) (S, error) {
	return func(ctx context.Context, env rule.Env, t rule.Target, _ P) (S, error) {
		in, err := Describe(ctx, awsclient.Client(env.Session, ec2.NewFromConfig), t.ID)
		if err != nil {
			var zero S
			return zero, err
		}
		return state(in), nil
	}
}

// Sweep is a rule's sweep step over every instance of the region: List.
func Sweep[S, P any](state func(ec2types.Instance) S) func(context.Context, rule.Env, P) ([]rule.Target, error) {
	return func(ctx context.Context, env rule.Env, _ P) ([]rule.Target, error) {
		return List(ctx, awsclient.Client(env.Session, ec2.NewFromConfig), env.Session.Region, state)
	}
}
