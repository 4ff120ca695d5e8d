// Package ec2instanceinvpc holds ec2-instance-in-vpc: every EC2 instance runs in
// a VPC (AWS's managed rule "ec2-instances-in-vpc"), not on EC2-Classic's
// flat shared network.
//
// The rule only reports: an instance cannot be moved into a VPC. It has to be
// relaunched there (from an AMI of it), which changes its addresses and
// needs its owner; no API call can fix it.
package ec2instanceinvpc

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// ResourceType is the instance's Config type.
const ResourceType = "AWS::EC2::Instance"

const apiDescribe = "ec2:DescribeInstances"

// Rule is ec2-instance-in-vpc.
var Rule = &vpcRule{}

type vpcRule struct{}

var meta = rule.Meta{
	ID:           "ec2-instance-in-vpc",
	Title:        "EC2 instances run in a VPC",
	Severity:     rule.Medium,
	Rationale:    "An instance outside a VPC has no security-group egress control, network ACLs, flow logs or private addressing of its own; EC2-Classic networking is retired.",
	Remediation:  "Reports only: an instance cannot be moved into a VPC; it must be relaunched there from an AMI by its owner.",
	ResourceType: ResourceType,
	Function:     "ec2",
	Config:       &rule.ConfigTrigger{ResourceTypes: []string{ResourceType}, Frequency: rule.TwentyFourHour},
	ReadActions:  []string{apiDescribe},
}

// Meta implements rule.Rule.
func (*vpcRule) Meta() *rule.Meta { return &meta }

// Targets implements rule.Rule: the rule is driven by Config only.
func (*vpcRule) Targets(*trigger.APICall, rule.Params) ([]rule.Target, error) { return nil, nil }

// instance is what the rule judges of an instance.
type instance struct {
	State string
	VpcID string
	Tags  map[string]string
}

// judge decides one instance.
func judge(i instance) (rule.Verdict, string) {
	switch {
	case i.State == "terminated" || i.State == "shutting-down":
		return rule.NotApplicable, "the instance is " + i.State
	case i.VpcID == "":
		return rule.Violation, "the instance is not in a VPC; it cannot be moved into one — relaunch it in a VPC from an AMI"
	}
	return rule.Compliant, "the instance runs in " + i.VpcID
}

func fromSDK(in ec2types.Instance) instance {
	i := instance{VpcID: aws.ToString(in.VpcId), Tags: map[string]string{}}
	if in.State != nil {
		i.State = string(in.State.Name)
	}
	for _, t := range in.Tags {
		i.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return i
}

func fromItem(item *trigger.ConfigItem) (instance, error) {
	var c struct {
		VpcID string `json:"vpcId"`
		State struct {
			Name string `json:"name"`
		} `json:"state"`
	}
	if err := json.Unmarshal(item.Configuration, &c); err != nil {
		return instance{}, fmt.Errorf("%w: instance configuration: %v", trigger.ErrInput, err)
	}
	return instance{State: c.State.Name, VpcID: c.VpcID, Tags: item.Tags}, nil
}

// Evaluate implements rule.Rule.
func (*vpcRule) Evaluate(ctx context.Context, s *awsclient.Session, t rule.Target, _ rule.Params) (rule.Finding, error) {
	var i instance
	switch ev := t.Evidence.(type) {
	case swept:
		i = fromSDK(ev.i)
	default:
		if s.Offline {
			if !t.Item.HasConfiguration() {
				return rule.Finding{Verdict: rule.NotApplicable, Reason: "offline: the trigger carries no instance configuration"}, nil
			}
			var err error
			if i, err = fromItem(t.Item); err != nil {
				return rule.Finding{}, err
			}
			break
		}
		out, err := awsclient.Client(s, ec2.NewFromConfig).DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{t.ID}})
		if awsclient.HasCode(err, "InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed") ||
			err == nil && (len(out.Reservations) == 0 || len(out.Reservations[0].Instances) == 0) {
			return rule.Finding{Verdict: rule.NotApplicable, Reason: "the instance no longer exists"}, nil
		}
		if err != nil {
			return rule.Finding{}, fmt.Errorf("describe instance %s: %w", t.ID, err)
		}
		i = fromSDK(out.Reservations[0].Instances[0])
	}
	verdict, reason := judge(i)
	return rule.Finding{Verdict: verdict, Reason: reason, Tags: i.Tags}, nil
}

// Apply implements rule.Rule: the rule plans no action.
func (*vpcRule) Apply(_ context.Context, _ *awsclient.Session, a rule.Action) error {
	return fmt.Errorf("ec2-instance-in-vpc only reports; it cannot apply %s", a.API)
}

// swept is an instance read by Sweep.
type swept struct{ i ec2types.Instance }

// Sweep implements rule.Sweeper: every instance in the region, read once
// (paginated), so evaluation needs no further call.
func (*vpcRule) Sweep(ctx context.Context, s *awsclient.Session, _ rule.Params) ([]rule.Target, error) {
	pages := ec2.NewDescribeInstancesPaginator(awsclient.Client(s, ec2.NewFromConfig), &ec2.DescribeInstancesInput{})
	var out []rule.Target
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list instances: %w", err)
		}
		for _, r := range page.Reservations {
			for _, i := range r.Instances {
				out = append(out, rule.Target{Type: ResourceType, ID: aws.ToString(i.InstanceId), Region: s.Region, Evidence: swept{i}})
			}
		}
	}
	return out, nil
}

// Bind implements rule.Rule through the legacy adapter (until the rule moves to rule.Define).
func (r *vpcRule) Bind(p rule.Params) (*rule.Bound, error) { return rule.Adapt(r).Bind(p) }
