// Package requiredtags holds required-tags: resources of the configured types
// carry every required tag key, with an allowed value where the deployment
// lists allowed values (AWS's managed rule "required-tags", with free-form
// keys and values).
//
// It reports. When the deployment sets defaultTags it also adds the missing
// required keys that have a default — only adds, never overwrites: a tag with
// a disallowed value is reported, not changed. The undo removes exactly the
// keys Rampart added, and only while they still hold the value it set, so it
// restores the previous tag set without clobbering changes made since.
//
// Tags are read live: EC2 resources through their Describe call (which also
// tells a deleted resource from an untagged one), S3 buckets through
// GetBucketTagging. PutBucketTagging replaces a bucket's whole tag set, so
// Apply merges into the set it reads right before writing.
package requiredtags

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// Resource types the rule can read and tag.
const (
	TypeInstance      = rule.InstanceType
	TypeVolume        = "AWS::EC2::Volume"
	TypeSecurityGroup = "AWS::EC2::SecurityGroup"
	TypeBucket        = "AWS::S3::Bucket"
)

// Supported lists the types resourceTypes may name.
var Supported = []string{TypeInstance, TypeVolume, TypeSecurityGroup, TypeBucket}

// Parameter names.
const (
	ParamKeys     = "requiredTagKeys"
	ParamAllowed  = "allowedValues"
	ParamTypes    = "resourceTypes"
	ParamDefaults = "defaultTags"
)

// IAM actions, as plans and metadata name them.
const (
	apiDescribeInstances = "ec2:DescribeInstances"
	apiDescribeVolumes   = "ec2:DescribeVolumes"
	apiDescribeGroups    = "ec2:DescribeSecurityGroups"
	apiDescribeTags      = "ec2:DescribeTags"
	apiCreateTags        = "ec2:CreateTags"
	apiDeleteTags        = "ec2:DeleteTags"
	apiListBuckets       = "s3:ListAllMyBuckets"
	apiGetBucketTagging  = "s3:GetBucketTagging"
	// apiPutBucketTagging covers both PutBucketTagging and
	// DeleteBucketTagging (IAM has no separate delete action).
	apiPutBucketTagging = "s3:PutBucketTagging"
)

// Rule is required-tags.
var Rule = rule.Define(rule.Spec[resource, policy]{
	Meta:     &meta,
	Parse:    policyOf,
	OnEvent:  onEvent,
	Observe:  observe,
	FromItem: func(item *trigger.ConfigItem, _ policy) (resource, error) { return fromItem(item), nil },
	Plan:     plan,
	Judge:    judgeResource,
	Apply:    apply,
	Sweep:    sweep,
})

var meta = rule.Meta{
	ID:        "required-tags",
	Title:     "Resources carry the required tags",
	Severity:  rule.Low,
	Rationale: "Ownership and cost tags are how an incident finds its owner and a bill finds its budget; an untagged resource is one nobody answers for.",
	Remediation: "Reports missing keys and disallowed values; when the deployment sets defaultTags, adds the missing required keys with their defaults " +
		"(never overwriting an existing tag).",
	ResourceType: strings.Join(Supported, ","),
	Function:     "tags",
	Config:       &rule.ConfigTrigger{ResourceTypes: Supported, Frequency: rule.TwentyFourHour},
	Events:       []rule.EventTrigger{rule.EC2InstanceRunning},
	Params: []rule.Param{
		{Name: ParamKeys, Default: "owner", Description: "comma-separated tag keys every resource must carry, e.g. owner,cost-center", Check: checkKeys},
		{Name: ParamAllowed, Default: "", Description: "allowed values per key: key=v1|v2 entries separated by ';', e.g. env=prod|staging|dev", Check: checkAllowed},
		{Name: ParamTypes, Default: strings.Join(Supported, ","), Description: "comma-separated resource types to judge, of " + strings.Join(Supported, ", "), Check: checkTypes},
		{Name: ParamDefaults, Default: "", Description: "comma-separated key=value defaults added for missing required keys, e.g. cost-center=unassigned (empty: report only)", Check: checkDefaults},
	},
	ReadActions:  []string{apiDescribeInstances, apiDescribeVolumes, apiDescribeGroups, apiDescribeTags, apiListBuckets, apiGetBucketTagging},
	WriteActions: []string{apiCreateTags, apiPutBucketTagging},
	// Tags are added only from the deployment's defaults: without them the
	// rule reports only.
	ParamWrites: []rule.ParamWrite{{Actions: []string{apiCreateTags, apiPutBucketTagging}, When: []string{ParamDefaults}}},
}

// resource is what the rule judges of a resource: its type and its tags.
type resource struct {
	Type string
	Tags map[string]string
}

// typeOf is the target's type, or its Config item's.
func typeOf(t rule.Target) string {
	if t.Type == "" && t.Item != nil {
		return t.Item.ResourceType
	}
	return t.Type
}

func fromItem(item *trigger.ConfigItem) resource {
	return resource{Type: item.ResourceType, Tags: item.Tags}
}

// onEvent names a newly running instance, when the deployment judges
// instances: tags set at launch are judged seconds after it.
func onEvent(ev *trigger.Event, pol policy) ([]rule.Target, error) {
	ts, err := rule.RunningInstance(ev)
	if err != nil || !slices.Contains(pol.types, TypeInstance) {
		return nil, err
	}
	return ts, nil
}

// observe reads the resource's current tags; a type the deployment leaves
// out is not read.
func observe(ctx context.Context, env rule.Env, t rule.Target, pol policy) (resource, error) {
	typ := typeOf(t)
	if !slices.Contains(pol.types, typ) {
		return resource{Type: typ}, nil
	}
	tags, found, err := readTags(ctx, env.Session, typ, t.ID)
	switch {
	case err != nil:
		return resource{}, err
	case !found:
		return resource{}, rule.Gone("the resource no longer exists")
	}
	return resource{Type: typ, Tags: tags}, nil
}

// plan is the offline state: the Config item's own tags, whether or not
// the item carries its configuration.
func plan(t rule.Target, _ policy) (resource, error) {
	if t.Item == nil {
		return resource{}, rule.Undecided("the trigger carries no tags")
	}
	r := fromItem(t.Item)
	r.Type = typeOf(t)
	return r, nil
}

// judgeResource decides one resource's tags under the policy and plans
// adding the missing defaults.
func judgeResource(r resource, t rule.Target, pol policy, _ rule.Facts) rule.Finding {
	if !slices.Contains(pol.types, r.Type) {
		return rule.Finding{Verdict: rule.NotApplicable, Reason: "the deployment does not require tags on " + r.Type}
	}
	tags := r.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return finding(r.Type, t.ID, tags, pol)
}

// judgement is what judge concludes about one tag set.
type judgement struct {
	missing []string          // required keys absent
	bad     []string          // "key=value" not among the allowed values
	add     map[string]string // defaults to add for missing keys
	noFix   []string          // missing keys without a usable default
}

// judge decides one tag set under the policy. It is pure.
func judge(tags map[string]string, pol policy) judgement {
	var j judgement
	for _, k := range pol.keys {
		if _, ok := tags[k]; ok {
			continue
		}
		j.missing = append(j.missing, k)
		d, ok := pol.defaults[k]
		switch {
		case !ok:
			j.noFix = append(j.noFix, k)
		case pol.allowed[k] != nil && !slices.Contains(pol.allowed[k], d):
			j.noFix = append(j.noFix, k+" (its default "+d+" is not an allowed value)")
		default:
			if j.add == nil {
				j.add = map[string]string{}
			}
			j.add[k] = d
		}
	}
	keys := slices.Sorted(maps.Keys(pol.allowed))
	for _, k := range keys {
		if v, ok := tags[k]; ok && !slices.Contains(pol.allowed[k], v) {
			j.bad = append(j.bad, fmt.Sprintf("%s=%s (allowed: %s)", k, v, strings.Join(pol.allowed[k], "|")))
		}
	}
	return j
}

func (j judgement) ok() bool { return len(j.missing) == 0 && len(j.bad) == 0 }

func (j judgement) reason() string {
	var parts []string
	if len(j.missing) > 0 {
		parts = append(parts, "missing tags: "+strings.Join(j.missing, ", "))
	}
	if len(j.bad) > 0 {
		parts = append(parts, "values not allowed: "+strings.Join(j.bad, "; "))
	}
	return strings.Join(parts, "; ")
}

func describeTags(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ", ")
}

// finding turns a judgement into a finding with its plan.
func finding(typ, id string, tags map[string]string, pol policy) rule.Finding {
	j := judge(tags, pol)
	f := rule.Finding{Tags: tags}
	if j.ok() {
		f.Verdict, f.Reason = rule.Compliant, "carries the required tags "+strings.Join(pol.keys, ", ")
		return f
	}
	f.Verdict, f.Reason = rule.Violation, j.reason()
	if len(j.add) > 0 {
		p := tagParams{Type: typ, ID: id, Tags: j.add}
		add, undo := apiCreateTags, apiDeleteTags
		if typ == TypeBucket {
			add, undo = apiPutBucketTagging, apiPutBucketTagging
		}
		u := p
		u.Remove = true
		undoAct := rule.NewAction(undo, id, "remove the default tags Rampart added", u, nil)
		f.Actions = []rule.Action{rule.NewAction(add, id, "add the default tags "+describeTags(j.add), p, &undoAct)}
	}
	if len(j.noFix) > 0 && len(pol.defaults) > 0 {
		f.Reason += "; no default for " + strings.Join(j.noFix, ", ")
	}
	return f
}

// tagParams are the params of an add (or, with Remove, of its undo).
type tagParams struct {
	Type string            `json:"type"`
	ID   string            `json:"id"`
	Tags map[string]string `json:"tags"`
	// Remove makes the action delete these tags where they still hold
	// these values.
	Remove bool `json:"remove,omitempty"`
}

// apply adds the missing defaults (the plan) or takes them back (the undo).
func apply(ctx context.Context, env rule.Env, a rule.Action) error {
	var p tagParams
	if err := a.Decode(&p); err != nil {
		return err
	}
	if p.ID == "" || len(p.Tags) == 0 || !slices.Contains(Supported, p.Type) {
		return fmt.Errorf("%s: params need a supported type, an id and tags", a.API)
	}
	s := env.Session
	switch {
	case a.API == apiCreateTags && p.Type != TypeBucket && !p.Remove:
		return addEC2(ctx, s, p)
	case a.API == apiDeleteTags && p.Type != TypeBucket && p.Remove:
		return removeEC2(ctx, s, p)
	case a.API == apiPutBucketTagging && p.Type == TypeBucket:
		return updateBucket(ctx, s, p)
	}
	return fmt.Errorf("required-tags cannot apply %s to %s", a.API, p.Type)
}

// sweep lists every resource of the configured types in the region, each
// with its tags — one paginated list per EC2 type, and for S3 one list plus
// one GetBucketTagging per bucket.
func sweep(ctx context.Context, env rule.Env, pol policy) ([]rule.Target, error) {
	var out []rule.Target
	for _, typ := range pol.types {
		ts, err := listTagged(ctx, env.Session, typ)
		if err != nil {
			return nil, err
		}
		out = append(out, ts...)
	}
	return out, nil
}
