// Package eipattached holds eip-attached: every Elastic IP is associated
// with an instance or network interface. An idle address costs money and is
// often a leftover whose DNS records still point at it.
//
// Releasing an address cannot be undone (the IP returns to AWS's pool), so
// the remediation is slow and careful: the first evaluation that sees an
// address unattached tags it rampart:unattached-since=<RFC 3339 time>; the
// address is released only when graceHours have passed since that tag, and
// Apply checks right before releasing that it is still unattached, still
// carries the same tag and no exemption tag. An attached address that still
// carries the tag has it removed, so a later detachment starts a fresh grace
// period. The exemption tag (handled by the engine) keeps an address forever.
//
// Because a release is irreversible, enforce mode alone does not allow it:
// the rule's own parameter allowRelease must be set to true as well. Without
// it, an address past its grace period is reported (and notified), and the
// reason says that the release needs the opt-in.
package eipattached

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// ResourceType is the Elastic IP's Config type; its resource ID is the
// allocation ID.
const ResourceType = "AWS::EC2::EIP"

// TagPending marks an address first seen unattached, with the time.
const TagPending = "rampart:unattached-since"

// ParamGrace names the grace-period parameter.
const ParamGrace = "graceHours"

// ParamAllowRelease names the explicit opt-in to releasing addresses.
const ParamAllowRelease = "allowRelease"

// IAM actions, as plans name them.
const (
	apiDescribe  = "ec2:DescribeAddresses"
	apiCreateTag = "ec2:CreateTags"
	apiDeleteTag = "ec2:DeleteTags"
	apiRelease   = "ec2:ReleaseAddress"
)

// Rule is eip-attached.
var Rule = &eipRule{}

type eipRule struct{}

var meta = rule.Meta{
	ID:        "eip-attached",
	Title:     "Elastic IPs are attached",
	Severity:  rule.Low,
	Rationale: "An unattached Elastic IP is billed by the hour and is usually a leftover; DNS records that still point at it can be taken over once it is released elsewhere, so it should be cleaned up deliberately.",
	Remediation: "Tags an unattached address " + TagPending + " with the time when first seen; once the grace period has passed, releases it only where allowRelease opts in " +
		"(the release is irreversible; never with the exemption tag), and otherwise reports it; removes the tag when the address is attached again.",
	ResourceType: ResourceType,
	Function:     "ec2",
	Config:       &rule.ConfigTrigger{ResourceTypes: []string{ResourceType}, Frequency: rule.TwentyFourHour},
	Params: []rule.Param{
		{Name: ParamGrace, Default: "72", Description: "hours an address may stay unattached after it was first seen so before it is released", Check: checkGrace},
		{Name: ParamAllowRelease, Default: "false", Description: "true to release addresses past the grace period in enforce mode (irreversible); false: report them only", Check: checkBool},
	},
	ReadActions:  []string{apiDescribe},
	WriteActions: []string{apiCreateTag, apiDeleteTag, apiRelease},
}

func checkGrace(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 24*366 {
		return fmt.Errorf("want whole hours from 1 to %d", 24*366)
	}
	return nil
}

func checkBool(s string) error {
	if s != "true" && s != "false" {
		return fmt.Errorf("want true or false")
	}
	return nil
}

// Meta implements rule.Rule.
func (*eipRule) Meta() *rule.Meta { return &meta }

// Targets implements rule.Rule: the rule is driven by Config only.
func (*eipRule) Targets(*trigger.APICall, rule.Params) ([]rule.Target, error) { return nil, nil }

// address is what the rule judges of an Elastic IP.
type address struct {
	AllocationID string
	PublicIP     string
	// AttachedTo names the instance or network interface; "" when idle.
	AttachedTo string
	Tags       map[string]string
}

func fromSDK(a ec2types.Address) address {
	out := address{AllocationID: aws.ToString(a.AllocationId), PublicIP: aws.ToString(a.PublicIp), Tags: map[string]string{}}
	// moto writes "" rather than omitting these; AWS omits them.
	for _, v := range []*string{a.InstanceId, a.NetworkInterfaceId, a.AssociationId} {
		if aws.ToString(v) != "" {
			out.AttachedTo = aws.ToString(v)
			break
		}
	}
	for _, t := range a.Tags {
		out.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

func fromItem(item *trigger.ConfigItem) (address, error) {
	var c struct {
		AllocationID       string `json:"allocationId"`
		PublicIP           string `json:"publicIp"`
		InstanceID         string `json:"instanceId"`
		NetworkInterfaceID string `json:"networkInterfaceId"`
		AssociationID      string `json:"associationId"`
	}
	if err := json.Unmarshal(item.Configuration, &c); err != nil {
		return address{}, fmt.Errorf("%w: Elastic IP configuration: %v", trigger.ErrInput, err)
	}
	a := address{AllocationID: c.AllocationID, PublicIP: c.PublicIP, Tags: item.Tags}
	if a.AllocationID == "" {
		a.AllocationID = item.ResourceID
	}
	for _, v := range []string{c.InstanceID, c.NetworkInterfaceID, c.AssociationID} {
		if v != "" {
			a.AttachedTo = v
			break
		}
	}
	return a, nil
}

// tagParams are the params of CreateTags and DeleteTags.
type tagParams struct {
	AllocationID string `json:"allocationId"`
	Key          string `json:"key"`
	Value        string `json:"value"`
}

// releaseParams are the params of ReleaseAddress: the tag value the
// decision was based on, re-checked before releasing.
type releaseParams struct {
	AllocationID string `json:"allocationId"`
	PublicIP     string `json:"publicIp,omitempty"`
	Since        string `json:"since"`
}

func tagAction(api, id, value, reason string, undo *rule.Action) rule.Action {
	return rule.NewAction(api, id, reason, tagParams{AllocationID: id, Key: TagPending, Value: value}, undo)
}

// judge decides one address at time now; it plans a release only when
// allowRelease. It is pure.
func judge(a address, now time.Time, grace time.Duration, allowRelease bool) rule.Finding {
	f := rule.Finding{Tags: a.Tags}
	id := a.AllocationID
	since, tagged := a.Tags[TagPending]
	if a.AttachedTo != "" {
		if !tagged {
			f.Verdict, f.Reason = rule.Compliant, "associated with "+a.AttachedTo
			return f
		}
		// Compliant, with housekeeping: the engine removes the stale mark
		// without a notification.
		undo := tagAction(apiCreateTag, id, since, "put the pending-release tag back", nil)
		f.Verdict = rule.Compliant
		f.Reason = fmt.Sprintf("associated with %s; the %s=%s tag of an earlier detachment is stale and would cut a later grace period short", a.AttachedTo, TagPending, since)
		f.Actions = []rule.Action{tagAction(apiDeleteTag, id, since, "remove the stale pending-release tag", &undo)}
		return f
	}
	f.Verdict = rule.Violation
	hours := int(grace / time.Hour)
	start, err := time.Parse(time.RFC3339, since)
	if !tagged || err != nil {
		stamp := now.UTC().Truncate(time.Second).Format(time.RFC3339)
		var undo rule.Action
		if tagged { // an unreadable value: restart the clock, undo puts it back
			undo = tagAction(apiCreateTag, id, since, "restore the previous tag value", nil)
		} else {
			undo = tagAction(apiDeleteTag, id, stamp, "remove the pending-release tag", nil)
		}
		f.Reason = fmt.Sprintf("not associated with any instance or network interface; first seen so now: it will be released after %dh unless attached or exempted", hours)
		f.Actions = []rule.Action{tagAction(apiCreateTag, id, stamp, "mark the address unattached since "+stamp, &undo)}
		return f
	}
	due := start.Add(grace)
	if now.Before(due) {
		f.Reason = fmt.Sprintf("not associated since at least %s; it will be released after %s unless attached or exempted", since, due.UTC().Format(time.RFC3339))
		return f
	}
	f.Reason = fmt.Sprintf("not associated since at least %s, more than the %dh grace period", since, hours)
	if !allowRelease {
		f.Reason += "; releasing it is irreversible and needs the rule's explicit opt-in (" + ParamAllowRelease + "=true), so it is only reported"
		return f
	}
	f.Actions = []rule.Action{rule.NewAction(apiRelease, id,
		"release "+a.PublicIP+" ("+id+"); this cannot be undone: the IP returns to AWS's pool and can be recovered only if no one else has taken it",
		releaseParams{AllocationID: id, PublicIP: a.PublicIP, Since: since}, nil)}
	return f
}

func grace(p rule.Params) time.Duration {
	n, _ := strconv.Atoi(p[ParamGrace])
	return time.Duration(n) * time.Hour
}

// Evaluate implements rule.Rule.
func (*eipRule) Evaluate(ctx context.Context, s *awsclient.Session, t rule.Target, p rule.Params) (rule.Finding, error) {
	var a address
	switch ev := t.Evidence.(type) {
	case swept:
		a = fromSDK(ev.a)
	default:
		if s.Offline {
			if !t.Item.HasConfiguration() {
				return rule.Finding{Verdict: rule.NotApplicable, Reason: "offline: the trigger carries no address configuration"}, nil
			}
			var err error
			if a, err = fromItem(t.Item); err != nil {
				return rule.Finding{}, err
			}
			break
		}
		got, err := describe(ctx, s, t.ID)
		if err != nil {
			return rule.Finding{}, err
		}
		if got == nil {
			return rule.Finding{Verdict: rule.NotApplicable, Reason: "the address no longer exists"}, nil
		}
		a = *got
	}
	if a.AllocationID == "" {
		return rule.Finding{Verdict: rule.NotApplicable, Tags: a.Tags, Reason: "an EC2-Classic address has no allocation ID to manage"}, nil
	}
	return judge(a, time.Now(), grace(p), p[ParamAllowRelease] == "true"), nil
}

// describe reads one address; nil when it is gone.
func describe(ctx context.Context, s *awsclient.Session, id string) (*address, error) {
	out, err := awsclient.Client(s, ec2.NewFromConfig).DescribeAddresses(ctx, &ec2.DescribeAddressesInput{AllocationIds: []string{id}})
	if awsclient.HasCode(err, "InvalidAllocationID.NotFound", "InvalidAllocationID.Malformed") || err == nil && len(out.Addresses) == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe address %s: %w", id, err)
	}
	a := fromSDK(out.Addresses[0])
	return &a, nil
}

// Apply implements rule.Rule.
func (*eipRule) Apply(ctx context.Context, s *awsclient.Session, a rule.Action) error {
	client := awsclient.Client(s, ec2.NewFromConfig)
	switch a.API {
	case apiCreateTag, apiDeleteTag:
		var p tagParams
		if err := a.Decode(&p); err != nil {
			return err
		}
		if p.AllocationID == "" || p.Key != TagPending {
			return fmt.Errorf("%s: params need allocationId and key %s", a.API, TagPending)
		}
		tag := ec2types.Tag{Key: aws.String(p.Key), Value: aws.String(p.Value)}
		var err error
		if a.API == apiCreateTag {
			_, err = client.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{p.AllocationID}, Tags: []ec2types.Tag{tag}})
		} else {
			// With a value, DeleteTags removes the tag only if it still
			// holds that value: a newer mark is left alone.
			_, err = client.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{p.AllocationID}, Tags: []ec2types.Tag{tag}})
		}
		if awsclient.HasCode(err, "InvalidAllocationID.NotFound", "InvalidID") {
			return fmt.Errorf("%s on %s: the address is gone: %w", a.API, p.AllocationID, rule.ErrNoOp)
		}
		if err != nil {
			return fmt.Errorf("%s on %s: %w", a.API, p.AllocationID, err)
		}
		return nil
	case apiRelease:
		var p releaseParams
		if err := a.Decode(&p); err != nil {
			return err
		}
		if p.AllocationID == "" || p.Since == "" {
			return fmt.Errorf("%s: params need allocationId and since", a.API)
		}
		// Re-check right before the irreversible call.
		cur, err := describe(ctx, s, p.AllocationID)
		switch {
		case err != nil:
			return err
		case cur == nil:
			return fmt.Errorf("release %s: already gone: %w", p.AllocationID, rule.ErrNoOp)
		case cur.AttachedTo != "":
			return fmt.Errorf("release %s: associated again with %s, so kept: %w", p.AllocationID, cur.AttachedTo, rule.ErrNoOp)
		case hasKey(cur.Tags, rule.ExemptTag(ctx)):
			// The engine honoured the exemption at evaluation; re-checked
			// here because a release cannot be undone.
			return fmt.Errorf("release %s: now carries %s, so kept: %w", p.AllocationID, rule.ExemptTag(ctx), rule.ErrNoOp)
		case cur.Tags[TagPending] != p.Since:
			return fmt.Errorf("release %s: the %s tag changed (%q, planned on %q), so kept: %w", p.AllocationID, TagPending, cur.Tags[TagPending], p.Since, rule.ErrNoOp)
		}
		_, err = client.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: aws.String(p.AllocationID)})
		if awsclient.HasCode(err, "InvalidAllocationID.NotFound") {
			return fmt.Errorf("release %s: already gone: %w", p.AllocationID, rule.ErrNoOp)
		}
		if err != nil {
			return fmt.Errorf("release %s: %w", p.AllocationID, err)
		}
		return nil
	}
	return fmt.Errorf("eip-attached cannot apply %s", a.API)
}

func hasKey(m map[string]string, k string) bool {
	for key := range m {
		if strings.EqualFold(key, k) {
			return true
		}
	}
	return false
}

// swept is an address read by Sweep.
type swept struct{ a ec2types.Address }

// Sweep implements rule.Sweeper: every address in the region, in one call
// (DescribeAddresses is not paginated).
func (*eipRule) Sweep(ctx context.Context, s *awsclient.Session, _ rule.Params) ([]rule.Target, error) {
	out, err := awsclient.Client(s, ec2.NewFromConfig).DescribeAddresses(ctx, &ec2.DescribeAddressesInput{})
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	targets := make([]rule.Target, 0, len(out.Addresses))
	for _, a := range out.Addresses {
		id := aws.ToString(a.AllocationId)
		if id == "" {
			id = aws.ToString(a.PublicIp)
		}
		targets = append(targets, rule.Target{Type: ResourceType, ID: id, Region: s.Region, Evidence: swept{a}})
	}
	return targets, nil
}

// Bind implements rule.Rule through the legacy adapter (until the rule moves to rule.Define).
func (r *eipRule) Bind(p rule.Params) (*rule.Bound, error) { return rule.Adapt(r).Bind(p) }
