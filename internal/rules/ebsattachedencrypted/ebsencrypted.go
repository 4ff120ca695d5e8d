// Package ebsattachedencrypted holds ebs-attached-encrypted: every EBS volume
// attached to an instance is encrypted, with the deployment's KMS key when it
// names one (AWS's managed rule "encrypted-volumes").
//
// EBS cannot encrypt a volume in place (it takes a snapshot, an encrypted
// copy and a swap, with downtime the owner must plan), so the volume is only
// reported. The rule never changes the region's EBS encryption by default:
// a rule about one volume must not change a region-wide setting as a side
// effect. That setting is ebs-default-encryption's (package ebsdefault).
package ebsattachedencrypted

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/ebsdefaultencryption"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// ResourceType is the volume's Config type.
const ResourceType = "AWS::EC2::Volume"

const apiDescribe = "ec2:DescribeVolumes"

// Rule is ebs-attached-encrypted.
var Rule = rule.Define(rule.Spec[volume, params]{
	Meta:     &meta,
	Parse:    parse,
	OnEvent:  func(ev *trigger.Event, _ params) ([]rule.Target, error) { return rule.RunningInstance(ev) },
	Expand:   expand,
	Observe:  observe,
	FromItem: func(item *trigger.ConfigItem, _ params) (volume, error) { return fromItem(item) },
	Judge:    judgeFinding,
	Sweep:    sweep,
})

// params are the rule's typed parameters.
type params struct {
	// Key is the KMS key ID or ARN volumes must be encrypted with; empty
	// accepts any key.
	Key string
}

func parse(p rule.Params) (params, error) { return params{Key: p[ebsdefaultencryption.ParamKMS]}, nil }

var meta = rule.Meta{
	ID:        "ebs-attached-encrypted",
	Title:     "Attached EBS volumes are encrypted",
	Severity:  rule.Medium,
	Rationale: "An unencrypted volume leaves its data, its snapshots and every copy of them readable to anyone who gets hold of them; encryption with a KMS key puts access behind key policy and CloudTrail.",
	Remediation: "Reports only: EBS cannot encrypt a volume in place (snapshot, copy encrypted, swap). " +
		"The region's encryption by default is ebs-default-encryption's to restore, never changed here.",
	ResourceType:        ResourceType,
	Function:            "ec2",
	SecurityHubControls: []string{"EC2.3"},
	Config:              &rule.ConfigTrigger{ResourceTypes: []string{ResourceType}, Frequency: rule.TwentyFourHour},
	Events:              []rule.EventTrigger{rule.EC2InstanceRunning},
	Params: []rule.Param{
		{Name: ebsdefaultencryption.ParamKMS, Default: "", Description: "KMS key ID or key ARN volumes must be encrypted with (empty: any key)", Check: ebsdefaultencryption.CheckKey},
	},
	ReadActions:  []string{apiDescribe},
	WriteActions: []string{rule.AlertAPI},
}

// volume is what the rule judges of a volume.
type volume struct {
	ID        string
	Attached  []string // instance IDs it is attached (or attaching) to
	Encrypted bool
	KmsKeyID  string
	Tags      map[string]string
}

func fromSDK(v ec2types.Volume) volume {
	out := volume{ID: aws.ToString(v.VolumeId), Encrypted: aws.ToBool(v.Encrypted), KmsKeyID: aws.ToString(v.KmsKeyId), Tags: map[string]string{}}
	for _, a := range v.Attachments {
		if a.State == ec2types.VolumeAttachmentStateAttached || a.State == ec2types.VolumeAttachmentStateAttaching {
			out.Attached = append(out.Attached, aws.ToString(a.InstanceId))
		}
	}
	for _, t := range v.Tags {
		out.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

// configuration is the part of a Config item's configuration the rule reads.
type configuration struct {
	VolumeID    string `json:"volumeId"`
	Encrypted   trigger.Bool
	KmsKeyID    string `json:"kmsKeyId"`
	Attachments []struct {
		InstanceID string `json:"instanceId"`
		State      string `json:"state"`
	} `json:"attachments"`
}

func fromItem(item *trigger.ConfigItem) (volume, error) {
	var c configuration
	if err := json.Unmarshal(item.Configuration, &c); err != nil {
		return volume{}, fmt.Errorf("%w: volume configuration: %w", trigger.ErrInput, err)
	}
	v := volume{ID: item.ResourceID, Encrypted: bool(c.Encrypted), KmsKeyID: c.KmsKeyID, Tags: item.Tags}
	for _, a := range c.Attachments {
		if a.State == "attached" || a.State == "attaching" {
			v.Attached = append(v.Attached, a.InstanceID)
		}
	}
	return v, nil
}

// judge decides one volume: violated (and why), or the verdict that holds.
func judge(v volume, want string) (rule.Verdict, string) {
	switch {
	case len(v.Attached) == 0:
		return rule.NotApplicable, "the volume is not attached to an instance"
	case !v.Encrypted:
		return rule.Violation, fmt.Sprintf("attached to %s and not encrypted", strings.Join(v.Attached, ", "))
	case !ebsdefaultencryption.KeyMatches(v.KmsKeyID, want):
		return rule.Violation, fmt.Sprintf("attached to %s and encrypted with %s, not %s", strings.Join(v.Attached, ", "), v.KmsKeyID, want)
	}
	reason := "attached and encrypted"
	if want != "" {
		reason += " with " + want
	}
	return rule.Compliant, reason
}

const notInPlace = " — EBS cannot encrypt a volume in place (snapshot it, copy the snapshot encrypted, swap the volume)"

// volumesAPI is what the rule reads of EC2.
type volumesAPI interface {
	DescribeVolumes(context.Context, *ec2.DescribeVolumesInput, ...func(*ec2.Options)) (*ec2.DescribeVolumesOutput, error)
}

func observe(ctx context.Context, env rule.Env, t rule.Target, _ params) (volume, error) {
	if t.Type == rule.InstanceType { // a running instance whose expansion found no volume
		return volume{}, rule.Gone("no EBS volume is attached to instance " + t.ID)
	}
	return describe(ctx, awsclient.Client(env.Session, ec2.NewFromConfig), t.ID)
}

// describe reads one volume's current state.
func describe(ctx context.Context, api volumesAPI, id string) (volume, error) {
	out, err := api.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{id}})
	if awsclient.HasCode(err, "InvalidVolume.NotFound", "InvalidVolumeID.Malformed") || err == nil && len(out.Volumes) == 0 {
		return volume{}, rule.Gone("the volume no longer exists")
	}
	if err != nil {
		return volume{}, fmt.Errorf("describe volume %s: %w", id, err)
	}
	return fromSDK(out.Volumes[0]), nil
}

// judgeFinding is the rule's judgement: the verdict, and for a violation
// the alert that is the whole response (the owner must snapshot, copy
// encrypted and swap).
func judgeFinding(v volume, t rule.Target, p params, f rule.Facts) rule.Finding {
	verdict, reason := judge(v, p.Key)
	out := rule.Finding{Verdict: verdict, Reason: reason, Tags: v.Tags}
	if verdict == rule.Violation {
		region := t.Region
		if region == "" {
			region = f.Region
		}
		out.Reason += notInPlace + "; new volumes in " + region + " are encrypted when EBS encryption by default is on, which ebs-default-encryption keeps"
		out.Actions = []rule.Action{rule.Alert(t.ID, out.Reason)}
	}
	return out
}

// sweep lists every volume in the region, read once (paginated), each with
// its state.
func sweep(ctx context.Context, env rule.Env, _ params) ([]rule.Target, error) {
	return list(ctx, env, &ec2.DescribeVolumesInput{})
}

// expand turns a newly running instance into the volumes attached to it,
// each with its state (one paginated describe).
func expand(ctx context.Context, env rule.Env, t rule.Target, _ params) ([]rule.Target, error) {
	if t.Type != rule.InstanceType {
		return nil, nil
	}
	return list(ctx, env, &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{{Name: aws.String("attachment.instance-id"), Values: []string{t.ID}}}})
}

func list(ctx context.Context, env rule.Env, in *ec2.DescribeVolumesInput) ([]rule.Target, error) {
	pages := ec2.NewDescribeVolumesPaginator(awsclient.Client(env.Session, ec2.NewFromConfig), in)
	var out []rule.Target
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list volumes: %w", err)
		}
		for _, v := range page.Volumes {
			out = append(out, rule.Target{Type: ResourceType, ID: aws.ToString(v.VolumeId), Region: env.Session.Region, State: fromSDK(v)})
		}
	}
	return out, nil
}
