// Package trailbuckettampering holds trail-bucket-tampering: the S3 bucket a
// CloudTrail trail delivers to keeps its logs and keeps accepting them.
//
//   - A lifecycle rule that expires log objects sooner than the retention
//     parameter (the Stratus Red Team technique
//     aws.defense-evasion.cloudtrail-lifecycle-rule) is removed; the bucket's
//     other lifecycle rules stay. The undo puts the whole previous lifecycle
//     configuration back.
//   - The bucket policy must still let CloudTrail deliver each trail's logs:
//     an Allow for cloudtrail.amazonaws.com granting s3:GetBucketAcl on the
//     bucket and s3:PutObject under the trail's prefix (log and digest
//     files, every region of a multi-region trail), with conditions the
//     delivery meets (its aws:SourceArn, x-amz-acl bucket-owner-full-control),
//     and no Deny blocking it. Dropping the Allow (or the whole policy) is as
//     blinding as adding a Deny. The fix adds CloudTrail's documented Allow
//     statements and removes the Deny statements aimed at CloudTrail alone;
//     a Deny that also applies to other principals, or whose condition
//     cannot be decided, is alerted on (removing it would widen others'
//     access). Every unrelated statement stays byte for byte; the undo puts
//     the exact previous policy back, or deletes the policy if there was
//     none.
//
// The rule lives in the s3 function: its triggers are S3 calls and its
// remediation is an S3 call; it only reads CloudTrail (DescribeTrails) to
// learn which buckets receive a trail's logs. Trails that deliver to a bucket
// of another account (an organisation's log archive) are judged there.
package trailbuckettampering

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/iampolicy"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/s3bucket"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// ResourceType is the bucket's CloudFormation type.
const ResourceType = "AWS::S3::Bucket"

// IAM actions. S3's DeleteBucketLifecycle is authorised by
// s3:PutLifecycleConfiguration, so both the fix and its undo name it.
const (
	apiPutLifecycle = "s3:PutLifecycleConfiguration"
	apiGetLifecycle = "s3:GetLifecycleConfiguration"
	apiDescribe     = "cloudtrail:DescribeTrails"
	apiPutPolicy    = "s3:PutBucketPolicy"
	apiDeletePolicy = "s3:DeleteBucketPolicy"
)

// ParamRetention is the minimum number of days trail logs must be kept.
const ParamRetention = "retentionDays"

// cloudTrail is CloudTrail's service principal.
const cloudTrail = "cloudtrail.amazonaws.com"

// Rule is trail-bucket-tampering.
var Rule = rule.Define(rule.Spec[bucket, params]{
	Meta:    &meta,
	Parse:   parse,
	Targets: targets,
	Observe: observe,
	Plan:    plan,
	Judge:   judgeBucket,
	Apply:   apply,
	Sweep:   sweep,
})

// params are the rule's typed parameters.
type params struct {
	// Retention is how many days trail logs must be kept.
	Retention int
}

func parse(p rule.Params) (params, error) {
	n, err := strconv.Atoi(p[ParamRetention])
	if err != nil {
		return params{}, fmt.Errorf("%s: %w", ParamRetention, err)
	}
	return params{Retention: n}, nil
}

var meta = rule.Meta{
	ID:       "trail-bucket-tampering",
	Title:    "CloudTrail log buckets keep their logs and accept delivery",
	Severity: rule.High,
	Rationale: "An intruder who cannot stop CloudTrail can still destroy its record: a lifecycle rule that expires the log objects after a day " +
		"(Stratus Red Team: aws.defense-evasion.cloudtrail-lifecycle-rule), or a bucket policy that denies CloudTrail's writes.",
	Remediation: "Removes the lifecycle rules that expire trail logs sooner than the retention period (other rules stay); " +
		"adds CloudTrail's documented Allow statements to the bucket policy when delivery is no longer allowed and removes Deny statements aimed at CloudTrail alone (other statements stay); alerts on other denies.",
	ResourceType: ResourceType,
	Function:     "s3",
	CloudTrail: []rule.CloudTrailTrigger{{Source: "s3.amazonaws.com",
		Events: []string{"PutBucketLifecycle", "PutBucketPolicy", "DeleteBucketPolicy"}}},
	Config: &rule.ConfigTrigger{ResourceTypes: []string{ResourceType}, Frequency: rule.TwentyFourHour},
	Params: []rule.Param{
		{Name: ParamRetention, Default: "365", Check: checkRetention,
			Description: "days trail logs must be kept: a lifecycle rule expiring them sooner is removed"},
	},
	ReadActions:  []string{apiDescribe, apiGetLifecycle, "s3:GetBucketPolicy", "s3:GetBucketTagging", "s3:ListAllMyBuckets"},
	WriteActions: []string{apiPutLifecycle, apiPutPolicy, rule.AlertAPI},

	ListExemptionsOnly: true, // guards the audit trail: only the checked-in list exempts
}

func checkRetention(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 36500 {
		return errors.New("want a number of days between 1 and 36500")
	}
	return nil
}

type aspect string

const (
	aspectLifecycle aspect = "lifecycle"
	aspectPolicy    aspect = "policy"
)

// evidence is what a call set: the whole new lifecycle configuration (a PUT
// replaces it) or the new policy.
type evidence struct {
	Event   string
	Aspect  aspect
	Account string
	Rules   []s3types.LifecycleRule
	// Policy is what PutBucketPolicy set; nil after DeleteBucketPolicy.
	Policy *bucketPolicy
}

// listed is a bucket found by the sweep, with the trails read once for all
// (its lifecycle and policy are read per bucket).
type listed struct{ trails []cttypes.Trail }

// bucket is what the rule judges of a trail bucket: where trails write into
// it, its lifecycle rules and its policy.
type bucket struct {
	// Paths are where trails write into the bucket; none: no trail of
	// this region delivers to it.
	Paths   []logPath
	Rules   []s3types.LifecycleRule
	MinSize s3types.TransitionDefaultMinimumObjectSize
	Policy  *bucketPolicy
	// Tags are read on a violation only (for the exemption check).
	Tags map[string]string
	// Now is when the state was read: lifecycle dates are judged against it.
	Now time.Time
	// Assumed: the state the event alone implies (the configuration the
	// call set, a trail of the account assumed to deliver under AWSLogs/).
	Assumed bool
}

// targets is the bucket the call changed, with what it set.
func targets(call *trigger.APICall, _ params) ([]rule.Target, error) {
	if call.EventName != "PutBucketLifecycle" && call.EventName != "PutBucketPolicy" && call.EventName != "DeleteBucketPolicy" {
		return nil, nil
	}
	bucket, ev, err := parseCall(call)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", trigger.ErrInput, call.EventName, err)
	}
	return []rule.Target{{Type: ResourceType, ID: bucket, Region: call.Region, Evidence: ev}}, nil
}

// logPath is where one trail writes in a bucket.
type logPath struct {
	Trail   string
	Prefix  string // "AWSLogs/" or "<S3KeyPrefix>/AWSLogs/"
	Account string
	// ARN, Region (home) and MultiRegion say what CloudTrail's delivery
	// sends (aws:SourceArn) and where it writes; ARN may be unknown offline.
	ARN         string
	Region      string
	MultiRegion bool
}

func logPrefix(keyPrefix string) string {
	if kp := strings.Trim(keyPrefix, "/"); kp != "" {
		return kp + "/AWSLogs/"
	}
	return "AWSLogs/"
}

// pathsTo lists where the trails write into the bucket.
func pathsTo(bucket string, trails []cttypes.Trail) []logPath {
	var out []logPath
	for _, tr := range trails {
		if aws.ToString(tr.S3BucketName) != bucket {
			continue
		}
		account := ""
		if a, err := arn.Parse(aws.ToString(tr.TrailARN)); err == nil {
			account = a.AccountID
		}
		out = append(out, logPath{Trail: aws.ToString(tr.Name), Prefix: logPrefix(aws.ToString(tr.S3KeyPrefix)), Account: account,
			ARN: aws.ToString(tr.TrailARN), Region: aws.ToString(tr.HomeRegion), MultiRegion: aws.ToBool(tr.IsMultiRegionTrail)})
	}
	return out
}

// plan is the offline planner. Which trail writes here, and under which
// prefix, needs DescribeTrails: a trail of the account is assumed to
// deliver here with the default layout (no key prefix).
func plan(t rule.Target, _ params) (bucket, error) {
	ev, ok := t.Evidence.(evidence)
	if !ok {
		return bucket{}, rule.Undecided("the trigger says nothing about the bucket")
	}
	return bucket{Assumed: true, Paths: []logPath{{Trail: "(assumed)", Prefix: logPrefix(""), Account: ev.Account, Region: t.Region}},
		Rules: ev.Rules, Policy: ev.Policy, Now: time.Now()}, nil
}

// aspectOf is what the event that named the target concerns ("" for both).
func aspectOf(t rule.Target) aspect {
	ev, _ := t.Evidence.(evidence)
	return ev.Aspect
}

// trailsAPI is what the rule reads of CloudTrail.
type trailsAPI interface {
	DescribeTrails(context.Context, *cloudtrail.DescribeTrailsInput, ...func(*cloudtrail.Options)) (*cloudtrail.DescribeTrailsOutput, error)
}

// bucketAPI is what the rule reads of a bucket.
type bucketAPI interface {
	GetBucketLifecycleConfiguration(context.Context, *s3.GetBucketLifecycleConfigurationInput, ...func(*s3.Options)) (*s3.GetBucketLifecycleConfigurationOutput, error)
	GetBucketPolicy(context.Context, *s3.GetBucketPolicyInput, ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error)
}

// observe reads the bucket, and its tags when it violates the rule.
func observe(ctx context.Context, env rule.Env, t rule.Target, p params) (bucket, error) {
	s := env.Session
	var trails []cttypes.Trail
	if l, ok := t.Evidence.(listed); ok {
		trails = l.trails
	} else {
		var err error
		if trails, err = describeTrails(ctx, awsclient.Client(s, cloudtrail.NewFromConfig)); err != nil {
			return bucket{}, err
		}
	}
	b, err := read(ctx, s3bucket.Client(s), t.ID, pathsTo(t.ID, trails), aspectOf(t))
	if err != nil || judgeBucket(b, t, p, env.Facts()).Verdict != rule.Violation {
		return b, err
	}
	b.Tags, err = s3bucket.Tags(ctx, s, t.ID)
	return b, err
}

// read reads what the judgement of the aspect needs of a bucket trails
// write into (nothing when none does).
func read(ctx context.Context, api bucketAPI, name string, paths []logPath, only aspect) (bucket, error) {
	b := bucket{Paths: paths, Now: time.Now()}
	if len(paths) == 0 {
		return b, nil
	}
	if only != aspectPolicy {
		out, err := api.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(name)})
		switch {
		case awsclient.HasCode(err, "NoSuchBucket"):
			return bucket{}, rule.Gone("bucket " + name + " no longer exists")
		case awsclient.HasCode(err, "NoSuchLifecycleConfiguration"):
		case err != nil:
			return bucket{}, fmt.Errorf("get lifecycle of %s: %w", name, err)
		default:
			b.Rules, b.MinSize = out.Rules, out.TransitionDefaultMinimumObjectSize
		}
	}
	if only != aspectLifecycle {
		out, err := api.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(name)})
		switch {
		case awsclient.HasCode(err, "NoSuchBucket"):
			return bucket{}, rule.Gone("bucket " + name + " no longer exists")
		case awsclient.HasCode(err, "NoSuchBucketPolicy"):
		case err != nil:
			return bucket{}, fmt.Errorf("get policy of %s: %w", name, err)
		default:
			raw := aws.ToString(out.Policy)
			doc, err := iampolicy.Parse([]byte(raw))
			if err != nil {
				return bucket{}, fmt.Errorf("policy of %s: %w", name, err)
			}
			b.Policy = &bucketPolicy{Doc: doc, Raw: raw}
		}
	}
	return b, nil
}

// judgeBucket decides a bucket from its state; only the aspect the event
// concerns.
func judgeBucket(b bucket, t rule.Target, p params, f rule.Facts) rule.Finding {
	ev, _ := t.Evidence.(evidence)
	if b.Assumed && ev.Event == "PutBucketPolicy" && (b.Policy == nil || !namesCloudTrail(b.Policy.Doc)) {
		// A policy that never names CloudTrail gives no sign that a
		// trail delivers here: a live run decides from DescribeTrails.
		return rule.Finding{Verdict: rule.Compliant, Resource: t.ID, Reason: "offline: the policy gives no sign that a trail delivers to this bucket"}
	}
	if len(b.Paths) == 0 {
		return rule.Finding{Verdict: rule.NotApplicable, Reason: "no trail of this region delivers to bucket " + t.ID}
	}
	partition := f.Partition
	if partition == "" {
		partition = awsclient.PartitionOf(f.Region)
	}
	out := judge(partition, t.ID, b.Rules, b.MinSize, b.Policy, b.Paths, p.Retention, b.Now, ev.Aspect)
	if out.Verdict == rule.Violation && b.Assumed {
		out.Reason = "if a trail delivers to this bucket under AWSLogs/ (a live run checks DescribeTrails): " + out.Reason
	}
	out.Tags = b.Tags
	return out
}

// judge decides the bucket from its lifecycle rules and policy; only does
// the aspect the event concerns ("" for both).
func judge(partition, bucket string, rules []s3types.LifecycleRule, minSize s3types.TransitionDefaultMinimumObjectSize, pol *bucketPolicy,
	paths []logPath, retention int, now time.Time, only aspect) rule.Finding {
	f := rule.Finding{Verdict: rule.Compliant, Resource: bucket}
	var problems, fine []string
	if only != aspectPolicy {
		var bad []s3types.LifecycleRule
		for _, r := range rules {
			if why, ok := expiresLogs(r, paths, retention, now); ok {
				bad = append(bad, r)
				problems = append(problems, why)
			}
		}
		if len(bad) > 0 {
			f.Actions = append(f.Actions, removeRules(bucket, rules, minSize, bad))
		} else {
			fine = append(fine, fmt.Sprintf("no lifecycle rule expires trail logs within %d days", retention))
		}
	}
	if only != aspectLifecycle {
		d := analyse(partition, pol, bucket, paths)
		if len(d.problems) > 0 {
			problems = append(problems, d.problems...)
			if len(d.missing)+len(d.removable) > 0 {
				f.Actions = append(f.Actions, fixPolicy(partition, pol, bucket, d))
			}
			if len(d.alerts) > 0 {
				f.Actions = append(f.Actions, rule.Alert(bucket, "CloudTrail may no longer deliver logs to "+bucket+": "+strings.Join(d.alerts, "; ")))
			}
		} else {
			fine = append(fine, "the bucket policy lets CloudTrail deliver every trail's logs")
		}
	}
	if len(problems) > 0 {
		f.Verdict, f.Reason = rule.Violation, strings.Join(problems, "; ")
		return f
	}
	f.Reason = strings.Join(fine, "; ")
	return f
}

func trailNames(paths []logPath) string {
	var names []string
	for _, p := range paths {
		if !slices.Contains(names, p.Trail) {
			names = append(names, p.Trail)
		}
	}
	return strings.Join(names, ", ")
}

// expiresLogs reports whether an enabled lifecycle rule expires objects of a
// trail's log prefix sooner than the retention period.
func expiresLogs(r s3types.LifecycleRule, paths []logPath, retention int, now time.Time) (string, bool) {
	if r.Status != s3types.ExpirationStatusEnabled || r.Expiration == nil {
		return "", false
	}
	var when string
	switch e := r.Expiration; {
	case e.Days != nil && int(*e.Days) < retention:
		when = fmt.Sprintf("after %d days", *e.Days)
	case e.Date != nil && e.Date.Before(now.AddDate(0, 0, retention)):
		when = "on " + e.Date.Format("2006-01-02")
	default:
		return "", false
	}
	prefix, tagged := scope(r)
	if tagged {
		return "", false // CloudTrail's log objects carry no tags
	}
	id := aws.ToString(r.ID)
	if id == "" {
		id = "(no ID)"
	}
	if strings.ContainsAny(prefix, "*?") {
		// S3 prefixes are literal: "*" matches only keys that begin with
		// "*". But the intent is plain (it is what the Stratus technique
		// sets), and removing such a rule cannot hurt anything else.
		return fmt.Sprintf("lifecycle rule %s expires objects %s under the wildcard-looking prefix %q (retention %d days), on the log bucket of %s",
			id, when, prefix, retention, trailNames(paths)), true
	}
	for _, p := range paths {
		if strings.HasPrefix(p.Prefix, prefix) || strings.HasPrefix(prefix, p.Prefix) {
			return fmt.Sprintf("lifecycle rule %s expires trail logs %s (retention %d days) under prefix %q of trail %s",
				id, when, retention, prefix, p.Trail), true
		}
	}
	return "", false
}

// scope is the key prefix a rule applies to and whether it needs tags.
func scope(r s3types.LifecycleRule) (string, bool) {
	prefix := aws.ToString(r.Prefix) //nolint:staticcheck // rules written before Filter still scope by Prefix
	if f := r.Filter; f != nil {
		switch {
		case f.And != nil:
			return aws.ToString(f.And.Prefix), len(f.And.Tags) > 0
		case f.Tag != nil:
			return "", true
		case f.Prefix != nil:
			return aws.ToString(f.Prefix), false
		}
	}
	return prefix, false
}

// lifecycleConfig is a whole lifecycle configuration, as the undo restores it.
type lifecycleConfig struct {
	Rules   []s3types.LifecycleRule                    `json:"rules"`
	MinSize s3types.TransitionDefaultMinimumObjectSize `json:"transitionDefaultMinimumObjectSize,omitempty"`
}

// lifecycleParams are the params of the fix (Remove: the rules to take out,
// matched by content against the configuration at apply time) and of its
// undo (Restore: the configuration to put back).
type lifecycleParams struct {
	Bucket  string                  `json:"bucket"`
	Remove  []s3types.LifecycleRule `json:"remove,omitempty"`
	Restore *lifecycleConfig        `json:"restore,omitempty"`
}

func removeRules(bucket string, all []s3types.LifecycleRule, minSize s3types.TransitionDefaultMinimumObjectSize, bad []s3types.LifecycleRule) rule.Action {
	ids := make([]string, len(bad))
	for i, r := range bad {
		ids[i] = aws.ToString(r.ID)
	}
	undo := rule.NewAction(apiPutLifecycle, bucket, "restore the previous lifecycle configuration",
		lifecycleParams{Bucket: bucket, Restore: &lifecycleConfig{Rules: all, MinSize: minSize}}, nil)
	return rule.NewAction(apiPutLifecycle, bucket, "remove lifecycle rule(s) "+strings.Join(ids, ", ")+" and keep the others",
		lifecycleParams{Bucket: bucket, Remove: bad}, &undo)
}

func describeTrails(ctx context.Context, api trailsAPI) ([]cttypes.Trail, error) {
	out, err := api.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("describe trails: %w", err)
	}
	return out.TrailList, nil
}

// sweep lists the trail buckets of this region that this account owns
// (DescribeTrails and one ListBuckets filtered by region).
func sweep(ctx context.Context, env rule.Env, _ params) ([]rule.Target, error) {
	s := env.Session
	trails, err := describeTrails(ctx, awsclient.Client(s, cloudtrail.NewFromConfig))
	if err != nil {
		return nil, err
	}
	wanted := map[string]bool{}
	for _, tr := range trails {
		wanted[aws.ToString(tr.S3BucketName)] = true
	}
	if len(wanted) == 0 {
		return nil, nil
	}
	names, err := s3bucket.List(ctx, s)
	if err != nil {
		return nil, err
	}
	var out []rule.Target
	for _, name := range names {
		if wanted[name] {
			out = append(out, rule.Target{Type: ResourceType, ID: name, Region: s.Region, Evidence: listed{trails}})
		}
	}
	return out, nil
}

// apply removes the offending rules (the fix) or puts the previous
// configuration back (the undo); or makes the policy fix or its undo.
func apply(ctx context.Context, env rule.Env, a rule.Action) error {
	s := env.Session
	if a.API == apiPutPolicy || a.API == apiDeletePolicy {
		return applyPolicy(ctx, s, a)
	}
	if a.API != apiPutLifecycle {
		return fmt.Errorf("trail-bucket-tampering cannot apply %s", a.API)
	}
	var p lifecycleParams
	if err := a.Decode(&p); err != nil {
		return err
	}
	if p.Bucket == "" || (p.Restore == nil) == (len(p.Remove) == 0) {
		return fmt.Errorf("%s: params need a bucket and either rules to remove or a configuration to restore", a.API)
	}
	if p.Restore != nil {
		return putLifecycle(ctx, s, p.Bucket, *p.Restore)
	}
	out, err := s3bucket.Client(s).GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(p.Bucket)})
	switch {
	case awsclient.HasCode(err, "NoSuchBucket", "NoSuchLifecycleConfiguration"):
		return fmt.Errorf("lifecycle of %s: already gone: %w", p.Bucket, rule.ErrNoOp)
	case err != nil:
		return fmt.Errorf("get lifecycle of %s: %w", p.Bucket, err)
	}
	remove := map[string]bool{}
	for _, r := range p.Remove {
		remove[canonical(r)] = true
	}
	keep := lifecycleConfig{MinSize: out.TransitionDefaultMinimumObjectSize}
	for _, r := range out.Rules {
		if !remove[canonical(r)] {
			keep.Rules = append(keep.Rules, r)
		}
	}
	if len(keep.Rules) == len(out.Rules) {
		return fmt.Errorf("lifecycle of %s: the rules to remove are no longer there: %w", p.Bucket, rule.ErrNoOp)
	}
	return putLifecycle(ctx, s, p.Bucket, keep)
}

// canonical is a rule's JSON, by which rules read at plan time are found
// again at apply time.
func canonical(r s3types.LifecycleRule) string {
	b, _ := json.Marshal(r)
	return string(b)
}

// putLifecycle sets the configuration, or deletes it when it has no rule.
func putLifecycle(ctx context.Context, s *awsclient.Session, bucket string, c lifecycleConfig) error {
	client := s3bucket.Client(s)
	var err error
	if len(c.Rules) == 0 {
		_, err = client.DeleteBucketLifecycle(ctx, &s3.DeleteBucketLifecycleInput{Bucket: aws.String(bucket)})
	} else {
		_, err = client.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String(bucket),
			LifecycleConfiguration:             &s3types.BucketLifecycleConfiguration{Rules: c.Rules},
			TransitionDefaultMinimumObjectSize: c.MinSize})
	}
	switch {
	case awsclient.HasCode(err, "NoSuchBucket"):
		return fmt.Errorf("lifecycle of %s: the bucket is gone: %w", bucket, rule.ErrNoOp)
	case err != nil:
		return fmt.Errorf("put lifecycle of %s: %w", bucket, err)
	}
	return nil
}
