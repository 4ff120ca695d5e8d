// Package eipattached holds eip-attached: every Elastic IP is associated
// with an instance or network interface. An idle address costs money and is
// often a leftover whose DNS records still point at it.
//
// Releasing an address cannot be undone (the IP returns to AWS's pool), so
// the remediation is slow and careful: the first evaluation that sees an
// address unattached tags it rampart:unattached-since=<RFC 3339 time>; the
// address is released only when graceHours have passed since that tag, and
// Apply checks right before releasing that it is still unattached, still
// carries the same tag and no exemption the engine would honour. An attached address that still
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
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/exemption"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/tagmap"
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
var Rule = rule.Define(rule.Spec[address, params]{
	Meta:     &meta,
	Parse:    parse,
	Observe:  observe,
	FromItem: func(item *trigger.ConfigItem, _ params) (address, error) { return fromItem(item, time.Now()) },
	Judge:    judgeFinding,
	Apply:    apply,
	Sweep:    sweep,
})

// params are the rule's typed parameters.
type params struct {
	// Grace is how long an address may stay unattached after it was first
	// seen so.
	Grace time.Duration
	// AllowRelease opts in to the irreversible release.
	AllowRelease bool
}

func parse(p rule.Params) (params, error) {
	if err := checkGrace(p[ParamGrace]); err != nil {
		return params{}, fmt.Errorf("parameter %s=%q: %w", ParamGrace, p[ParamGrace], err)
	}
	if err := checkBool(p[ParamAllowRelease]); err != nil {
		return params{}, fmt.Errorf("parameter %s=%q: %w", ParamAllowRelease, p[ParamAllowRelease], err)
	}
	n, _ := strconv.Atoi(p[ParamGrace]) // checked above
	return params{Grace: time.Duration(n) * time.Hour, AllowRelease: p[ParamAllowRelease] == "true"}, nil
}

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

// address is what the rule judges of an Elastic IP.
type address struct {
	AllocationID string
	PublicIP     string
	// AttachedTo names the instance or network interface; "" when idle.
	AttachedTo string
	Tags       map[string]string
	// Seen is when the state was read: the time the grace period is
	// measured against, and the value a first mark records.
	Seen time.Time
}

func fromSDK(a ec2types.Address, seen time.Time) address {
	out := address{AllocationID: aws.ToString(a.AllocationId), PublicIP: aws.ToString(a.PublicIp), Tags: tagmap.EC2(a.Tags), Seen: seen}
	// moto writes "" rather than omitting these; AWS omits them.
	for _, v := range []*string{a.InstanceId, a.NetworkInterfaceId, a.AssociationId} {
		if aws.ToString(v) != "" {
			out.AttachedTo = aws.ToString(v)
			break
		}
	}
	return out
}

func fromItem(item *trigger.ConfigItem, seen time.Time) (address, error) {
	var c struct {
		AllocationID       string `json:"allocationId"`
		PublicIP           string `json:"publicIp"`
		InstanceID         string `json:"instanceId"`
		NetworkInterfaceID string `json:"networkInterfaceId"`
		AssociationID      string `json:"associationId"`
	}
	if err := json.Unmarshal(item.Configuration, &c); err != nil {
		return address{}, fmt.Errorf("%w: Elastic IP configuration: %w", trigger.ErrInput, err)
	}
	a := address{AllocationID: c.AllocationID, PublicIP: c.PublicIP, Tags: item.Tags, Seen: seen}
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

// judgeFinding is the rule's judgement of one address, at the time its
// state was read.
func judgeFinding(a address, _ rule.Target, p params, _ rule.Facts) rule.Finding {
	if a.AllocationID == "" {
		return rule.Finding{Verdict: rule.NotApplicable, Tags: a.Tags, Reason: "an EC2-Classic address has no allocation ID to manage"}
	}
	return judge(a, a.Seen, p.Grace, p.AllowRelease)
}

// addressesAPI is what the rule reads and changes of EC2.
type addressesAPI interface {
	DescribeAddresses(context.Context, *ec2.DescribeAddressesInput, ...func(*ec2.Options)) (*ec2.DescribeAddressesOutput, error)
	CreateTags(context.Context, *ec2.CreateTagsInput, ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error)
	DeleteTags(context.Context, *ec2.DeleteTagsInput, ...func(*ec2.Options)) (*ec2.DeleteTagsOutput, error)
	ReleaseAddress(context.Context, *ec2.ReleaseAddressInput, ...func(*ec2.Options)) (*ec2.ReleaseAddressOutput, error)
}

func observe(ctx context.Context, env rule.Env, t rule.Target, _ params) (address, error) {
	return describe(ctx, awsclient.Client(env.Session, ec2.NewFromConfig), t.ID)
}

// describe reads one address; an error made with rule.Gone when it is gone.
func describe(ctx context.Context, api addressesAPI, id string) (address, error) {
	out, err := api.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{AllocationIds: []string{id}})
	if awsclient.HasCode(err, "InvalidAllocationID.NotFound", "InvalidAllocationID.Malformed") || err == nil && len(out.Addresses) == 0 {
		return address{}, rule.Gone("the address no longer exists")
	}
	if err != nil {
		return address{}, fmt.Errorf("describe address %s: %w", id, err)
	}
	return fromSDK(out.Addresses[0], time.Now()), nil
}

// apply makes one action of a plan, or its undo.
func apply(ctx context.Context, env rule.Env, a rule.Action) error {
	f := env.Facts()
	return applyWith(ctx, awsclient.Client(env.Session, ec2.NewFromConfig), a, exemptionCheck{Tag: f.ExemptTag, MaxDays: f.ExemptMaxDays, Now: time.Now()})
}

// exemptionCheck is the deployment's exemption tag and horizon (0:
// exemption.DefaultMaxDays), at a time: what Apply re-checks right before a
// release.
type exemptionCheck struct {
	Tag     string
	MaxDays int
	Now     time.Time
}

// honoured is the value of an exemption tag on tags that the engine would
// honour now (owner, expiry within the horizon, not expired), if any. The
// key is compared case-insensitively: before an irreversible call, a
// differently cased but otherwise valid exemption keeps the address too.
func (c exemptionCheck) honoured(tags map[string]string) (string, bool) {
	days := c.MaxDays
	if days <= 0 {
		days = exemption.DefaultMaxDays
	}
	for k, v := range tags {
		if !strings.EqualFold(k, c.Tag) {
			continue
		}
		if st, _ := exemption.Judge(exemption.Parse(v), c.Now, days); st == exemption.Honoured {
			return k, true
		}
	}
	return "", false
}

func applyWith(ctx context.Context, client addressesAPI, a rule.Action, ex exemptionCheck) error {
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
		cur, err := describe(ctx, client, p.AllocationID)
		if errors.Is(err, rule.ErrGone) {
			return fmt.Errorf("release %s: already gone: %w", p.AllocationID, rule.ErrNoOp)
		}
		if err != nil {
			return err
		}
		if cur.AttachedTo != "" {
			return fmt.Errorf("release %s: associated again with %s, so kept: %w", p.AllocationID, cur.AttachedTo, rule.ErrNoOp)
		}
		if key, ok := ex.honoured(cur.Tags); ok {
			// The engine honoured the exemption at evaluation; re-checked
			// here because a release cannot be undone. Only an exemption
			// the engine would honour counts: a tag without owner or
			// expiry, expired, or beyond the horizon keeps nothing.
			return fmt.Errorf("release %s: now carries a valid exemption (%s), so kept: %w", p.AllocationID, key, rule.ErrNoOp)
		}
		if cur.Tags[TagPending] != p.Since {
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

// sweep lists every address in the region, in one call (DescribeAddresses
// is not paginated), each with its state.
func sweep(ctx context.Context, env rule.Env, _ params) ([]rule.Target, error) {
	out, err := awsclient.Client(env.Session, ec2.NewFromConfig).DescribeAddresses(ctx, &ec2.DescribeAddressesInput{})
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	seen := time.Now()
	targets := make([]rule.Target, 0, len(out.Addresses))
	for _, a := range out.Addresses {
		id := aws.ToString(a.AllocationId)
		if id == "" {
			id = aws.ToString(a.PublicIp)
		}
		targets = append(targets, rule.Target{Type: ResourceType, ID: id, Region: env.Session.Region, State: fromSDK(a, seen)})
	}
	return targets, nil
}
