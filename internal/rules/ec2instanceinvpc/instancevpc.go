// Package ec2instanceinvpc holds ec2-instance-in-vpc: every EC2 instance runs in
// a VPC (AWS's managed rule "ec2-instances-in-vpc"), not on EC2-Classic's
// flat shared network.
//
// The rule only reports: an instance cannot be moved into a VPC. It has to be
// relaunched there (from an AMI of it), which changes its addresses and
// needs its owner; no API call can fix it.
package ec2instanceinvpc

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/rampart-aws/rampart/internal/instances"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/tagmap"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// ResourceType is the instance's Config type.
const ResourceType = rule.InstanceType

const apiDescribe = "ec2:DescribeInstances"

// Rule is ec2-instance-in-vpc.
var Rule = rule.Define(rule.Spec[instance, struct{}]{
	Meta:     &meta,
	OnEvent:  func(ev *trigger.Event, _ struct{}) ([]rule.Target, error) { return rule.RunningInstance(ev) },
	Observe:  instances.Observe[instance, struct{}](fromSDK),
	FromItem: func(item *trigger.ConfigItem, _ struct{}) (instance, error) { return fromItem(item) },
	Judge:    judgeFinding,
	Sweep:    instances.Sweep[instance, struct{}](fromSDK),
})

var meta = rule.Meta{
	ID:           "ec2-instance-in-vpc",
	Title:        "EC2 instances run in a VPC",
	Severity:     rule.Medium,
	Rationale:    "An instance outside a VPC has no security-group egress control, network ACLs, flow logs or private addressing of its own; EC2-Classic networking is retired.",
	Remediation:  "Reports only: an instance cannot be moved into a VPC; it must be relaunched there from an AMI by its owner.",
	ResourceType: ResourceType,
	Function:     "ec2",
	Config:       &rule.ConfigTrigger{ResourceTypes: []string{ResourceType}, Frequency: rule.TwentyFourHour},
	Events:       []rule.EventTrigger{rule.EC2InstanceRunning},
	ReadActions:  []string{apiDescribe},
}

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

// judgeFinding is the rule's judgement; the rule only reports, so it plans
// no action.
func judgeFinding(i instance, _ rule.Target, _ struct{}, _ rule.Facts) rule.Finding {
	verdict, reason := judge(i)
	return rule.Finding{Verdict: verdict, Reason: reason, Tags: i.Tags}
}

func fromSDK(in ec2types.Instance) instance {
	i := instance{VpcID: aws.ToString(in.VpcId), Tags: tagmap.EC2(in.Tags)}
	if in.State != nil {
		i.State = string(in.State.Name)
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
		return instance{}, fmt.Errorf("%w: instance configuration: %w", trigger.ErrInput, err)
	}
	return instance{State: c.State.Name, VpcID: c.VpcID, Tags: item.Tags}, nil
}
