// Package exemptiontag is the rule exemption-tag: setting, changing or removing
// the deployment's exemption tag on a resource Rampart judges is itself
// reported — who exempted what, with which reason, owner and expiry, and
// whether the engine would honour the value — because whoever can tag a
// resource may be the attacker switching Rampart off for it.
//
// The rule only alerts; it never untags (the owner may be legitimate). Its
// report is the exemption's start notification: the engine does not notify
// an exempt decision on every evaluation. It reads the tag value with the
// engine's own parser and judge (package exemption), so the two always agree.
package exemptiontag

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/rampart-aws/rampart/internal/exemption"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// ID is the rule's ID.
const ID = "exemption-tag"

// Judges are the rules that judge each resource type Rampart can tag, and
// whether each accepts tag exemptions (false: rule.Meta.ListExemptionsOnly).
// The catalog cannot be imported here (it imports this package); a test
// checks this table against it, so a new rule or resource type fails that
// test until it is listed.
var Judges = map[string][]Judge{
	"AWS::EC2::SecurityGroup":            {{"sg-open-world", true}, {"sg-restricted-ssh", true}, {"sg-restricted-common-ports", true}, {"required-tags", true}},
	"AWS::EC2::Instance":                 {{"ec2-instance-in-vpc", true}, {"ec2-imdsv2-required", true}, {"required-tags", true}, {"security-findings", false}},
	"AWS::EC2::Volume":                   {{"ebs-attached-encrypted", true}, {"required-tags", true}},
	"AWS::EC2::EIP":                      {{"eip-attached", true}},
	"AWS::EC2::VPC":                      {{"vpc-flow-logs", true}},
	"AWS::S3::Bucket":                    {{"s3-bucket-public-access", true}, {"required-tags", true}, {"trail-bucket-tampering", false}, {"security-findings", false}},
	"AWS::CloudTrail::Trail":             {{"cloudtrail-integrity", false}},
	"AWS::IAM::User":                     {{"console-signin", true}, {"stale-credentials", true}, {"security-findings", false}},
	"AWS::Config::ConfigurationRecorder": {{"config-tampering", false}},
	"AWS::KMS::Key":                      {{"cloudtrail-key-enabled", false}},
	// Rampart's own resources: self-protection honours no tag.
	"AWS::Events::Rule":          {{"self-protection", false}},
	"AWS::Lambda::Function":      {{"self-protection", false}, {"security-findings", false}},
	"AWS::Config::ConfigRule":    {{"self-protection", false}},
	"AWS::SNS::Topic":            {{"self-protection", false}},
	"AWS::CloudFormation::Stack": {{"self-protection", false}},
	"AWS::CloudWatch::Alarm":     {{"self-protection", false}, {"cis-alarms", false}},
}

// Judge is one rule judging a resource type.
type Judge struct {
	Rule string
	// Tags says whether the rule honours a tag exemption.
	Tags bool
}

var meta = rule.Meta{
	ID:       ID,
	Title:    "Setting or removing the exemption tag is reported",
	Severity: rule.High,
	Rationale: "An exemption switches Rampart off for a resource, and whoever can tag a resource may be the attacker: " +
		"every change to the exemption tag on a resource Rampart judges is reported with who, what, why and until when.",
	Remediation: "Alerts on every call that sets, changes or removes the exemption tag: who, which resource, the reason, owner and expiry, " +
		"and whether each rule judging the resource would honour or ignore it (and why); never untags.",
	ResourceType: "AWS::EC2::SecurityGroup,AWS::EC2::Instance,AWS::EC2::Volume,AWS::EC2::EIP,AWS::EC2::VPC,AWS::S3::Bucket," +
		"AWS::CloudTrail::Trail,AWS::IAM::User,AWS::Config::ConfigurationRecorder,AWS::KMS::Key," +
		"AWS::Events::Rule,AWS::Lambda::Function,AWS::Config::ConfigRule,AWS::SNS::Topic,AWS::CloudFormation::Stack,AWS::CloudWatch::Alarm",
	Function: "tags",
	CloudTrail: []rule.CloudTrailTrigger{
		{Source: "ec2.amazonaws.com", Events: []string{"CreateTags", "DeleteTags"}},
		{Source: "s3.amazonaws.com", Events: []string{"PutBucketTagging", "DeleteBucketTagging"}},
		{Source: "cloudtrail.amazonaws.com", Events: []string{"AddTags", "RemoveTags"}},
		{Source: "iam.amazonaws.com", Events: []string{"TagUser", "UntagUser"}, Region: "us-east-1"},
		{Source: "config.amazonaws.com", Events: []string{"TagResource", "UntagResource"}},
		{Source: "kms.amazonaws.com", Events: []string{"TagResource", "UntagResource"}},
		// Rampart's own resources (self-protection honours no tag, and the
		// report says so). Lambda functions and CloudFormation stacks are
		// tagged through other APIs: see docs/rules/exemption-tag.md.
		{Source: "events.amazonaws.com", Events: []string{"TagResource", "UntagResource"}},
		{Source: "sns.amazonaws.com", Events: []string{"TagResource", "UntagResource"}},
		{Source: "monitoring.amazonaws.com", Events: []string{"TagResource", "UntagResource"}},
	},
	// Its own decisions must not be exempted by the very tag it watches.
	ListExemptionsOnly: true,
	ReadActions:        []string{},
	// The alert is the whole response; the engine publishes it.
	WriteActions: []string{rule.AlertAPI},
}

// Rule is the exemption-tag rule. It decides from the call alone (what the
// call did is the fact to report), live or offline, and makes no AWS call.
var Rule = rule.Define(rule.Spec[tagCall, struct{}]{
	Meta:    &meta,
	Targets: func(call *trigger.APICall, _ struct{}) ([]rule.Target, error) { return targets(call) },
	Observe: func(_ context.Context, _ rule.Env, t rule.Target, _ struct{}) (tagCall, error) { return fromCall(t) },
	Plan:    func(t rule.Target, _ struct{}) (tagCall, error) { return fromCall(t) },
	Judge:   judge,
})

// tagCall is what the rule judges: one call's change to one resource's
// tags, who made it and when.
type tagCall struct {
	Change Change
	Who    string
	// At is when the call was made (the time the evaluation read it when
	// the event has none): an expiry is judged against it.
	At time.Time
}

// fromCall reads the state from what the target's call said.
func fromCall(t rule.Target) (tagCall, error) {
	c, ok := t.Evidence.(Change)
	if !ok {
		return tagCall{}, fmt.Errorf("%s: target %s carries no tag change", ID, t.ID)
	}
	tc := tagCall{Change: c, Who: "someone", At: time.Now()}
	if t.Call != nil {
		tc.Who = t.Call.Actor.Display()
		if !t.Call.Time.IsZero() {
			tc.At = t.Call.Time
		}
	}
	return tc, nil
}

// Change is what one call did to one resource's tags (Target.Evidence).
type Change struct {
	// Set are the tags the call set, in call order.
	Set []Tag `json:"set,omitempty"`
	// Removed are the keys the call removed.
	Removed []string `json:"removed,omitempty"`
	// All says the call removed every tag (DeleteBucketTagging, DeleteTags
	// without keys) or replaced the whole set (PutBucketTagging): the keys
	// it dropped are not in the event.
	All bool `json:"all,omitempty"`
}

// Tag is one key and value.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type kv struct {
	Key   trigger.String `json:"key"`
	Value trigger.String `json:"value"`
}

type s3kv struct {
	Key   trigger.String `json:"Key"`
	Value trigger.String `json:"Value"`
}

// targets are one target per tagged resource, with what the call did to
// its tags. It is pure; a call that names no resource is trigger.ErrInput.
func targets(call *trigger.APICall) ([]rule.Target, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s %s: %s", trigger.ErrInput, call.EventSource, call.EventName, fmt.Sprintf(format, args...))
	}
	target := func(typ, id string, c Change) rule.Target {
		return rule.Target{Type: typ, ID: id, Region: call.Region, Evidence: c}
	}
	switch call.EventName {
	case "CreateTags", "DeleteTags":
		var req struct {
			Resources trigger.List[struct {
				ID trigger.String `json:"resourceId"`
			}] `json:"resourcesSet"`
			Tags trigger.List[kv] `json:"tagSet"`
		}
		if err := json.Unmarshal(call.Request, &req); err != nil {
			return nil, bad("requestParameters: %v", err)
		}
		if len(req.Resources) == 0 {
			return nil, bad("no resourcesSet")
		}
		var c Change
		for _, t := range req.Tags {
			if call.EventName == "CreateTags" {
				c.Set = append(c.Set, Tag{string(t.Key), string(t.Value)})
			} else {
				c.Removed = append(c.Removed, string(t.Key))
			}
		}
		c.All = call.EventName == "DeleteTags" && len(req.Tags) == 0
		var out []rule.Target
		for _, r := range req.Resources {
			if r.ID == "" {
				return nil, bad("a resource without resourceId")
			}
			out = append(out, target(ec2Type(string(r.ID)), string(r.ID), c))
		}
		return out, nil
	case "PutBucketTagging", "DeleteBucketTagging":
		// Exact keys: S3 records carry both "tagging": "" (the
		// subresource) and "Tagging": {…} (the body), which encoding/json
		// would confuse.
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(call.Request, &fields); err != nil {
			return nil, bad("requestParameters: %v", err)
		}
		var bucket trigger.String
		var tagging struct {
			TagSet struct {
				Tag trigger.List[s3kv] `json:"Tag"`
			} `json:"TagSet"`
		}
		if err := json.Unmarshal(orNull(fields["bucketName"]), &bucket); err != nil || bucket == "" {
			return nil, bad("no bucketName")
		}
		if err := json.Unmarshal(orNull(fields["Tagging"]), &tagging); err != nil {
			return nil, bad("Tagging: %v", err)
		}
		c := Change{All: true}
		for _, t := range tagging.TagSet.Tag {
			c.Set = append(c.Set, Tag{string(t.Key), string(t.Value)})
		}
		return []rule.Target{target("AWS::S3::Bucket", string(bucket), c)}, nil
	case "AddTags", "RemoveTags":
		var req struct {
			ID   trigger.String   `json:"resourceId"`
			Tags trigger.List[kv] `json:"tagsList"`
		}
		if err := json.Unmarshal(call.Request, &req); err != nil {
			return nil, bad("requestParameters: %v", err)
		}
		if req.ID == "" {
			return nil, bad("no resourceId")
		}
		return []rule.Target{target(arnType(string(req.ID)), string(req.ID), changeOf(call.EventName == "AddTags", req.Tags, nil))}, nil
	case "TagUser", "UntagUser":
		var req struct {
			User trigger.String               `json:"userName"`
			Tags trigger.List[kv]             `json:"tags"`
			Keys trigger.List[trigger.String] `json:"tagKeys"`
		}
		if err := json.Unmarshal(call.Request, &req); err != nil {
			return nil, bad("requestParameters: %v", err)
		}
		if req.User == "" {
			return nil, bad("no userName")
		}
		return []rule.Target{target("AWS::IAM::User", string(req.User), changeOf(call.EventName == "TagUser", req.Tags, req.Keys))}, nil
	case "TagResource", "UntagResource":
		if call.EventSource == "kms.amazonaws.com" {
			return kmsTargets(call)
		}
		var req struct {
			ARN  trigger.String               `json:"resourceArn"`
			Tags trigger.List[kv]             `json:"tags"`
			Keys trigger.List[trigger.String] `json:"tagKeys"`
		}
		if err := json.Unmarshal(call.Request, &req); err != nil {
			return nil, bad("requestParameters: %v", err)
		}
		if req.ARN == "" {
			return nil, bad("no resourceArn")
		}
		return []rule.Target{target(arnType(string(req.ARN)), string(req.ARN), changeOf(call.EventName == "TagResource", req.Tags, req.Keys))}, nil
	}
	return nil, nil
}

// kmsTargets reads KMS's TagResource/UntagResource: the key by ID or ARN,
// tags as tagKey/tagValue.
func kmsTargets(call *trigger.APICall) ([]rule.Target, error) {
	var req struct {
		Key  trigger.String `json:"keyId"`
		Tags trigger.List[struct {
			Key   trigger.String `json:"tagKey"`
			Value trigger.String `json:"tagValue"`
		}] `json:"tags"`
		Keys trigger.List[trigger.String] `json:"tagKeys"`
	}
	if err := json.Unmarshal(call.Request, &req); err != nil {
		return nil, fmt.Errorf("%w: %s %s requestParameters: %w", trigger.ErrInput, call.EventSource, call.EventName, err)
	}
	if req.Key == "" {
		return nil, fmt.Errorf("%w: %s %s: no keyId", trigger.ErrInput, call.EventSource, call.EventName)
	}
	tags := make([]kv, 0, len(req.Tags))
	for _, t := range req.Tags {
		tags = append(tags, kv{Key: t.Key, Value: t.Value})
	}
	c := changeOf(call.EventName == "TagResource", tags, req.Keys)
	return []rule.Target{{Type: "AWS::KMS::Key", ID: string(req.Key), Region: call.Region, Evidence: c}}, nil
}

func orNull(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("null")
	}
	return raw
}

func changeOf(set bool, tags []kv, keys []trigger.String) Change {
	var c Change
	for _, t := range tags {
		if set {
			c.Set = append(c.Set, Tag{string(t.Key), string(t.Value)})
		} else {
			c.Removed = append(c.Removed, string(t.Key))
		}
	}
	for _, k := range keys {
		c.Removed = append(c.Removed, string(k))
	}
	return c
}

// ec2Type is the CloudFormation type of an EC2 resource ID, "" when no
// Rampart rule judges that kind of resource.
func ec2Type(id string) string {
	for prefix, typ := range map[string]string{"sg-": "AWS::EC2::SecurityGroup", "i-": "AWS::EC2::Instance", "vol-": "AWS::EC2::Volume",
		"eipalloc-": "AWS::EC2::EIP", "vpc-": "AWS::EC2::VPC"} {
		if strings.HasPrefix(id, prefix) {
			return typ
		}
	}
	return ""
}

// arnType is the CloudFormation type of a CloudTrail trail or Config
// recorder ARN, "" for anything else.
func arnType(s string) string {
	a, err := arn.Parse(s)
	if err != nil {
		return ""
	}
	switch {
	case a.Service == "cloudtrail" && strings.HasPrefix(a.Resource, "trail/"):
		return "AWS::CloudTrail::Trail"
	case a.Service == "config" && strings.HasPrefix(a.Resource, "configuration-recorder/"):
		return "AWS::Config::ConfigurationRecorder"
	case a.Service == "events" && strings.HasPrefix(a.Resource, "rule/"):
		return "AWS::Events::Rule"
	case a.Service == "sns" && !strings.Contains(a.Resource, ":"):
		return "AWS::SNS::Topic"
	case a.Service == "cloudwatch" && strings.HasPrefix(a.Resource, "alarm:"):
		return "AWS::CloudWatch::Alarm"
	}
	return ""
}

// judge decides one tag change with the deployment's exemption tag and
// horizon (f.ExemptTag, f.ExemptMaxDays).
func judge(tc tagCall, t rule.Target, _ struct{}, f rule.Facts) rule.Finding {
	c, key, who := tc.Change, f.ExemptTag, tc.Who
	if key == "" {
		key = rule.DefaultExemptTag
	}
	what := t.ID
	if t.Type != "" {
		what = t.Type + " " + t.ID
	}
	judges, judged := Judges[t.Type]
	i := slices.IndexFunc(c.Set, func(g Tag) bool { return g.Key == key })
	switch {
	case i >= 0 && !judged:
		return rule.Finding{Verdict: rule.Compliant,
			Reason: fmt.Sprintf("%s set the exemption tag %s on %s, which no Rampart rule judges: the tag has no effect", who, key, what)}
	case i >= 0:
		value := c.Set[i].Value
		tag := exemption.Parse(value)
		status, why := exemption.Judge(tag, tc.At, f.ExemptMaxDays)
		reason := fmt.Sprintf("%s set the exemption tag %s on %s to %q (reason: %s; owner: %s; expires: %s). %s",
			who, key, what, value, tag.Reason, orNone(tag.Owner), orNone(tag.Expires), verdict(status, why, tag, judges))
		return rule.Finding{Verdict: rule.Violation, Reason: reason, Actions: []rule.Action{rule.Alert(t.ID, reason)}}
	case slices.Contains(c.Removed, key) && judged:
		reason := fmt.Sprintf("%s removed the exemption tag %s from %s: the rules judging it (%s) judge it normally again", who, key, what, ruleList(judges))
		return rule.Finding{Verdict: rule.Violation, Reason: reason, Actions: []rule.Action{rule.Alert(t.ID, reason)}}
	case c.All && judged:
		return rule.Finding{Verdict: rule.Compliant, Reason: fmt.Sprintf("%s replaced or removed every tag of %s without setting %s: "+
			"an exemption tag, if there was one, is gone and the resource is judged normally", who, what, key)}
	}
	return rule.Finding{Verdict: rule.Ignored, Reason: "the call does not touch the exemption tag " + key}
}

// verdict says whether the value exempts the resource, rule by rule.
func verdict(status exemption.Status, why string, tag exemption.Tag, judges []Judge) string {
	var honour, ignore []string
	for _, j := range judges {
		if j.Tags {
			honour = append(honour, j.Rule)
		} else {
			ignore = append(ignore, j.Rule)
		}
	}
	var s string
	switch {
	case status != exemption.Honoured:
		s = "IGNORED: " + why + " — the resource is still judged by " + strings.Join(append(honour, ignore...), ", ")
	case len(honour) == 0:
		s = "IGNORED: the rules judging it accept only checked-in exemptions"
	default:
		s = fmt.Sprintf("HONOURED until %s by %s", tag.Expires, strings.Join(honour, ", "))
	}
	if status == exemption.Honoured && len(ignore) > 0 && len(honour) > 0 {
		s += "; IGNORED by " + strings.Join(ignore, ", ") + " (checked-in exemptions only)"
	}
	return s
}

func ruleList(judges []Judge) string {
	ids := make([]string, 0, len(judges))
	for _, j := range judges {
		ids = append(ids, j.Rule)
	}
	return strings.Join(ids, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
