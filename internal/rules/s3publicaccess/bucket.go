package s3publicaccess

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/iampolicy"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/s3bucket"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// BucketResourceType is the bucket's CloudFormation type.
const BucketResourceType = "AWS::S3::Bucket"

// IAM actions of the bucket rule. DeletePublicAccessBlock is authorised by
// s3:PutBucketPublicAccessBlock: an undo that deletes the configuration
// names that action.
const (
	apiPutBucketBlock = "s3:PutBucketPublicAccessBlock"
	apiGetBucketBlock = "s3:GetBucketPublicAccessBlock"
)

// BucketAccess is s3-bucket-public-access.
var BucketAccess = &bucketRule{}

type bucketRule struct{}

var bucketMeta = rule.Meta{
	ID:       "s3-bucket-public-access",
	Title:    "S3 buckets block public access (all four settings on)",
	Severity: rule.High,
	Rationale: "A bucket policy granting \"*\" or an ACL granting AllUsers or AuthenticatedUsers publishes the bucket's data to the internet; " +
		"the bucket's Block Public Access settings neutralise both and refuse new ones. Public buckets are the most common source of cloud data leaks.",
	Remediation: "Turns all four Block Public Access settings of the bucket on (which neutralises a public policy or ACL) and reports what had been public; " +
		"policies and ACLs themselves are left as they are.",
	ResourceType: BucketResourceType,
	Function:     "s3",
	CloudTrail: []rule.CloudTrailTrigger{{Source: "s3.amazonaws.com",
		Events: []string{"PutBucketPublicAccessBlock", "DeleteBucketPublicAccessBlock", "PutBucketPolicy", "PutBucketAcl"}}},
	Config:       &rule.ConfigTrigger{ResourceTypes: []string{BucketResourceType}, Frequency: rule.TwentyFourHour},
	ReadActions:  []string{apiGetBucketBlock, "s3:GetBucketPolicy", "s3:GetBucketAcl", "s3:GetBucketTagging", "s3:ListAllMyBuckets"},
	WriteActions: []string{apiPutBucketBlock},
}

// Meta implements rule.Rule.
func (*bucketRule) Meta() *rule.Meta { return &bucketMeta }

// Targets implements rule.Rule: the bucket the call named, with what the
// call set or granted.
func (*bucketRule) Targets(call *trigger.APICall, _ rule.Params) ([]rule.Target, error) {
	switch call.EventName {
	case "PutBucketPublicAccessBlock", "DeleteBucketPublicAccessBlock", "PutBucketPolicy", "PutBucketAcl":
	default:
		return nil, nil
	}
	bucket, ev, err := parseBucketCall(call.EventName, call.Request)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", trigger.ErrInput, call.EventName, err)
	}
	return []rule.Target{{Type: BucketResourceType, ID: bucket, Region: call.Region, Evidence: ev}}, nil
}

// Evaluate implements rule.Rule.
func (*bucketRule) Evaluate(ctx context.Context, s *awsclient.Session, t rule.Target, _ rule.Params) (rule.Finding, error) {
	ev, fromEvent := t.Evidence.(bucketEvent)
	if s.Offline {
		if !fromEvent {
			return rule.Finding{Verdict: rule.NotApplicable, Reason: "offline: the trigger says nothing about the bucket's block settings"}, nil
		}
		return offlineBucket(t.ID, ev), nil
	}
	out, err := s3bucket.Client(s).GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(t.ID)})
	var current *Block
	switch {
	case awsclient.HasCode(err, "NoSuchBucket"):
		return rule.Finding{Verdict: rule.NotApplicable, Reason: "bucket " + t.ID + " no longer exists"}, nil
	case awsclient.HasCode(err, errNoConfig):
	case err != nil:
		return rule.Finding{}, fmt.Errorf("get public access block of %s: %w", t.ID, err)
	default:
		current = fromS3(out.PublicAccessBlockConfiguration)
	}
	if current != nil && current.On() {
		reason := "all four Block Public Access settings are on"
		if len(ev.Exposed) > 0 {
			reason += "; they neutralise what the call granted: " + strings.Join(ev.Exposed, "; ")
		}
		return rule.Finding{Verdict: rule.Compliant, Reason: reason}, nil
	}
	exposed := exposure(ctx, s, t.ID)
	tags, err := s3bucket.Tags(ctx, s, t.ID)
	if err != nil {
		return rule.Finding{}, err
	}
	reason := describe(current)
	if len(exposed) > 0 {
		reason += "; public: " + strings.Join(exposed, "; ")
	} else {
		reason += "; nothing is public yet"
	}
	f := bucketViolation(t.ID, current, reason)
	f.Tags = tags
	return f, nil
}

// offlineBucket decides from the event alone.
func offlineBucket(bucket string, ev bucketEvent) rule.Finding {
	switch ev.Event {
	case "PutBucketPublicAccessBlock":
		if ev.Block.On() {
			return rule.Finding{Verdict: rule.Compliant, Reason: "the call turned all four Block Public Access settings on"}
		}
		return bucketViolation(bucket, ev.Block, "the call left "+describe(ev.Block))
	case "DeleteBucketPublicAccessBlock":
		return bucketViolation(bucket, nil, "the call deleted the bucket's Block Public Access configuration")
	}
	if len(ev.Exposed) == 0 {
		return rule.Finding{Verdict: rule.Compliant, Reason: "the call granted no public access (offline: the block settings need a live check)"}
	}
	// AWS refuses a public policy under BlockPublicPolicy and a public ACL
	// under BlockPublicAcls, so the call's success says the block was off
	// (at bucket or account level); its exact previous state needs a live read.
	return bucketViolation(bucket, nil, "the call granted public access: "+strings.Join(ev.Exposed, "; ")+
		" (offline: the previous block configuration is assumed absent; a live run reads it for the undo)")
}

// bucketViolation plans turning the block fully on, with the undo that puts
// back previous (or deletes the configuration when there was none).
func bucketViolation(bucket string, previous *Block, reason string) rule.Finding {
	undoReason := "delete the Block Public Access configuration (the bucket had none)"
	if previous != nil {
		undoReason = "restore the previous Block Public Access settings (" + strings.Join(previous.Off(), ", ") + " off)"
	}
	undo := rule.NewAction(apiPutBucketBlock, bucket, undoReason, blockParams{Bucket: bucket, Block: previous}, nil)
	act := rule.NewAction(apiPutBucketBlock, bucket, "turn all four Block Public Access settings on", blockParams{Bucket: bucket, Block: &AllOn}, &undo)
	return rule.Finding{Verdict: rule.Violation, Resource: bucket, Reason: reason, Actions: []rule.Action{act}}
}

// exposure describes what the bucket's policy and ACL make public. It is
// best effort: what cannot be read is said, not fatal, since the
// remediation does not depend on it.
func exposure(ctx context.Context, s *awsclient.Session, bucket string) []string {
	var out []string
	client := s3bucket.Client(s)
	pol, err := client.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
	switch {
	case awsclient.HasCode(err, "NoSuchBucketPolicy"):
	case err != nil:
		out = append(out, "bucket policy not readable ("+errText(err)+")")
	default:
		doc, err := iampolicy.Parse([]byte(aws.ToString(pol.Policy)))
		if err != nil {
			out = append(out, "bucket policy not understood ("+err.Error()+")")
		} else {
			out = append(out, publicStatements(doc)...)
		}
	}
	acl, err := client.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String(bucket)})
	if err != nil {
		return append(out, "ACL not readable ("+errText(err)+")")
	}
	for _, g := range acl.Grants {
		if g.Grantee == nil || g.Grantee.Type != s3types.TypeGroup {
			continue
		}
		if group := publicGroup(aws.ToString(g.Grantee.URI)); group != "" {
			out = append(out, "ACL grants "+string(g.Permission)+" to "+group)
		}
	}
	return out
}

func errText(err error) string {
	if code := awsclient.ErrorCode(err); code != "" {
		return code
	}
	return err.Error()
}

// Sweep implements rule.Sweeper: the buckets of the session's region (one
// paginated ListBuckets, filtered by region); each is then read with one
// GetPublicAccessBlock, and more only when it is in violation.
func (*bucketRule) Sweep(ctx context.Context, s *awsclient.Session, _ rule.Params) ([]rule.Target, error) {
	names, err := s3bucket.List(ctx, s)
	if err != nil {
		return nil, err
	}
	var out []rule.Target
	for _, name := range names {
		out = append(out, rule.Target{Type: BucketResourceType, ID: name, Region: s.Region})
	}
	return out, nil
}

// Apply implements rule.Rule: put the block (plan, or undo to a previous
// configuration) or delete it (undo to none).
func (*bucketRule) Apply(ctx context.Context, s *awsclient.Session, a rule.Action) error {
	if a.API != apiPutBucketBlock {
		return fmt.Errorf("s3-bucket-public-access cannot apply %s", a.API)
	}
	var p blockParams
	if err := a.Decode(&p); err != nil {
		return err
	}
	if p.Bucket == "" {
		return badParams(a.API)
	}
	client := s3bucket.Client(s)
	if p.Block == nil {
		_, err := client.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String(p.Bucket)})
		return bucketErr("delete the public access block of", p.Bucket, err)
	}
	_, err := client.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(p.Bucket), PublicAccessBlockConfiguration: p.Block.s3()})
	return bucketErr("put the public access block of", p.Bucket, err)
}

func bucketErr(what, bucket string, err error) error {
	switch {
	case err == nil:
		return nil
	case awsclient.HasCode(err, "NoSuchBucket"):
		return fmt.Errorf("%s %s: the bucket is gone: %w", what, bucket, rule.ErrNoOp)
	case awsclient.HasCode(err, errNoConfig):
		return fmt.Errorf("%s %s: there is none: %w", what, bucket, rule.ErrNoOp)
	}
	return fmt.Errorf("%s %s: %w", what, bucket, err)
}

// Bind implements rule.Rule through the legacy adapter (until the rule moves to rule.Define).
func (r *bucketRule) Bind(p rule.Params) (*rule.Bound, error) { return rule.Adapt(r).Bind(p) }
