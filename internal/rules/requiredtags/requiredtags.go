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

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// Resource types the rule can read and tag.
const (
	TypeInstance      = "AWS::EC2::Instance"
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
var Rule = &tagsRule{}

type tagsRule struct{}

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

// Meta implements rule.Rule.
func (*tagsRule) Meta() *rule.Meta { return &meta }

// Targets implements rule.Rule: the rule is driven by Config only.
func (*tagsRule) Targets(*trigger.APICall, rule.Params) ([]rule.Target, error) { return nil, nil }

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

// swept is a resource read by Sweep, with its current tags.
type swept struct{ tags map[string]string }

// Evaluate implements rule.Rule.
func (*tagsRule) Evaluate(ctx context.Context, s *awsclient.Session, t rule.Target, p rule.Params) (rule.Finding, error) {
	pol, err := policyOf(p)
	if err != nil {
		return rule.Finding{}, fmt.Errorf("%w: %v", trigger.ErrInput, err)
	}
	typ := t.Type
	if typ == "" && t.Item != nil {
		typ = t.Item.ResourceType
	}
	if !slices.Contains(pol.types, typ) {
		return rule.Finding{Verdict: rule.NotApplicable, Reason: "the deployment does not require tags on " + typ}, nil
	}
	var tags map[string]string
	switch ev := t.Evidence.(type) {
	case swept:
		tags = ev.tags
	default:
		if s.Offline {
			if t.Item == nil {
				return rule.Finding{Verdict: rule.NotApplicable, Reason: "offline: the trigger carries no tags"}, nil
			}
			tags = t.Item.Tags
			break
		}
		var found bool
		tags, found, err = readTags(ctx, s, typ, t.ID)
		if err != nil {
			return rule.Finding{}, err
		}
		if !found {
			return rule.Finding{Verdict: rule.NotApplicable, Reason: "the resource no longer exists"}, nil
		}
	}
	if tags == nil {
		tags = map[string]string{}
	}
	return finding(typ, t.ID, tags, pol), nil
}

// Apply implements rule.Rule.
func (*tagsRule) Apply(ctx context.Context, s *awsclient.Session, a rule.Action) error {
	var p tagParams
	if err := a.Decode(&p); err != nil {
		return err
	}
	if p.ID == "" || len(p.Tags) == 0 || !slices.Contains(Supported, p.Type) {
		return fmt.Errorf("%s: params need a supported type, an id and tags", a.API)
	}
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

// Sweep implements rule.Sweeper: every resource of the configured types in
// the region, with its tags — one paginated list per EC2 type, and for S3 one
// list plus one GetBucketTagging per bucket.
func (*tagsRule) Sweep(ctx context.Context, s *awsclient.Session, p rule.Params) ([]rule.Target, error) {
	pol, err := policyOf(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", trigger.ErrInput, err)
	}
	var out []rule.Target
	for _, typ := range pol.types {
		ts, err := listTagged(ctx, s, typ)
		if err != nil {
			return nil, err
		}
		out = append(out, ts...)
	}
	return out, nil
}

// Bind implements rule.Rule through the legacy adapter (until the rule moves to rule.Define).
func (r *tagsRule) Bind(p rule.Params) (*rule.Bound, error) { return rule.Adapt(r).Bind(p) }
