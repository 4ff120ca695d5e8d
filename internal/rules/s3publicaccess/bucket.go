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
var BucketAccess = rule.Define(rule.Spec[bucketState, struct{}]{
	Meta:    &bucketMeta,
	Targets: bucketTargets,
	Observe: observeBucket,
	Plan:    planBucket,
	Judge:   judgeBucket,
	Apply:   applyBucket,
	Sweep:   sweepBuckets,
})

var bucketMeta = rule.Meta{
	ID:       "s3-bucket-public-access",
	Title:    "S3 buckets block public access (all four settings on)",
	Severity: rule.High,
	Rationale: "A bucket policy granting \"*\" or an ACL granting AllUsers or AuthenticatedUsers publishes the bucket's data to the internet; " +
		"the bucket's Block Public Access settings neutralise both and refuse new ones. Public buckets are the most common source of cloud data leaks.",
	Remediation: "Turns all four Block Public Access settings of the bucket on (which neutralises a public policy or ACL) and reports what had been public; " +
		"policies and ACLs themselves are left as they are.",
	ResourceType:        BucketResourceType,
	Function:            "s3",
	SecurityHubControls: []string{"S3.2", "S3.3", "S3.8"},
	CloudTrail: []rule.CloudTrailTrigger{{Source: "s3.amazonaws.com",
		Events: []string{"PutBucketPublicAccessBlock", "DeleteBucketPublicAccessBlock", "PutBucketPolicy", "PutBucketAcl"}}},
	Config:       &rule.ConfigTrigger{ResourceTypes: []string{BucketResourceType}, Frequency: rule.TwentyFourHour},
	ReadActions:  []string{apiGetBucketBlock, "s3:GetBucketPolicy", "s3:GetBucketAcl", "s3:GetBucketTagging", "s3:ListAllMyBuckets"},
	WriteActions: []string{apiPutBucketBlock},
}

// bucketState is what the rule judges of a bucket.
type bucketState struct {
	// Block is the bucket's configuration; nil when it has none.
	Block *Block
	// Exposed describes what the bucket's policy and ACL make public (or
	// what a call granted); read only when the block is not fully on.
	Exposed []string
	Tags    map[string]string
	// Call, when set, names the call whose evidence alone implies the
	// state (the offline planner's): Block is what it set, Exposed what
	// it granted.
	Call string
}

// bucketTargets names the bucket the call named, with what the call set
// or granted.
func bucketTargets(call *trigger.APICall, _ struct{}) ([]rule.Target, error) {
	switch call.EventName {
	case "PutBucketPublicAccessBlock", "DeleteBucketPublicAccessBlock", "PutBucketPolicy", "PutBucketAcl":
	default:
		return nil, nil
	}
	bucket, ev, err := parseBucketCall(call.EventName, call.Request)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", trigger.ErrInput, call.EventName, err)
	}
	return []rule.Target{{Type: BucketResourceType, ID: bucket, Region: call.Region, Evidence: ev}}, nil
}

// bucketAPI is what the rule reads of S3.
type bucketAPI interface {
	GetPublicAccessBlock(context.Context, *s3.GetPublicAccessBlockInput, ...func(*s3.Options)) (*s3.GetPublicAccessBlockOutput, error)
	GetBucketPolicy(context.Context, *s3.GetBucketPolicyInput, ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error)
	GetBucketAcl(context.Context, *s3.GetBucketAclInput, ...func(*s3.Options)) (*s3.GetBucketAclOutput, error)
}

// observeBucket reads the bucket's block and, only when it is not fully on,
// what its policy and ACL make public and its tags.
func observeBucket(ctx context.Context, env rule.Env, t rule.Target, _ struct{}) (bucketState, error) {
	b, err := readBucket(ctx, s3bucket.Client(env.Session), t.ID)
	if err != nil || b.Block != nil && b.Block.On() {
		return b, err
	}
	if b.Tags, err = s3bucket.Tags(ctx, env.Session, t.ID); err != nil {
		return bucketState{}, err
	}
	return b, nil
}

// readBucket reads the block, and what is public when it is not fully on.
func readBucket(ctx context.Context, api bucketAPI, name string) (bucketState, error) {
	out, err := api.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(name)})
	var b bucketState
	switch {
	case awsclient.HasCode(err, "NoSuchBucket"):
		return bucketState{}, rule.Gone("bucket " + name + " no longer exists")
	case awsclient.HasCode(err, errNoConfig):
	case err != nil:
		return bucketState{}, fmt.Errorf("get public access block of %s: %w", name, err)
	default:
		b.Block = fromS3(out.PublicAccessBlockConfiguration)
	}
	if b.Block == nil || !b.Block.On() {
		b.Exposed = exposure(ctx, api, name)
	}
	return b, nil
}

// planBucket is the state the call alone implies, offline.
func planBucket(t rule.Target, _ struct{}) (bucketState, error) {
	ev, ok := t.Evidence.(bucketEvent)
	if !ok {
		return bucketState{}, rule.Undecided("the trigger says nothing about the bucket's block settings")
	}
	return bucketState{Block: ev.Block, Exposed: ev.Exposed, Call: ev.Event}, nil
}

// judgeBucket decides one bucket and plans turning its block fully on.
func judgeBucket(s bucketState, t rule.Target, _ struct{}, _ rule.Facts) rule.Finding {
	if s.Call != "" {
		return plannedBucket(t.ID, s)
	}
	if s.Block != nil && s.Block.On() {
		reason := "all four Block Public Access settings are on"
		if ev, _ := t.Evidence.(bucketEvent); len(ev.Exposed) > 0 {
			reason += "; they neutralise what the call granted: " + strings.Join(ev.Exposed, "; ")
		}
		return rule.Finding{Verdict: rule.Compliant, Reason: reason}
	}
	reason := describe(s.Block)
	if len(s.Exposed) > 0 {
		reason += "; public: " + strings.Join(s.Exposed, "; ")
	} else {
		reason += "; nothing is public yet"
	}
	f := bucketViolation(t.ID, s.Block, reason)
	f.Tags = s.Tags
	return f
}

// plannedBucket decides from what the call alone says.
func plannedBucket(bucket string, s bucketState) rule.Finding {
	switch s.Call {
	case "PutBucketPublicAccessBlock":
		if s.Block != nil && s.Block.On() {
			return rule.Finding{Verdict: rule.Compliant, Reason: "the call turned all four Block Public Access settings on"}
		}
		return bucketViolation(bucket, s.Block, "the call left "+describe(s.Block))
	case "DeleteBucketPublicAccessBlock":
		return bucketViolation(bucket, nil, "the call deleted the bucket's Block Public Access configuration")
	}
	if len(s.Exposed) == 0 {
		return rule.Finding{Verdict: rule.Compliant, Reason: "the call granted no public access (offline: the block settings need a live check)"}
	}
	// AWS refuses a public policy under BlockPublicPolicy and a public ACL
	// under BlockPublicAcls, so the call's success says the block was off
	// (at bucket or account level); its exact previous state needs a live read.
	return bucketViolation(bucket, nil, "the call granted public access: "+strings.Join(s.Exposed, "; ")+
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
func exposure(ctx context.Context, api bucketAPI, bucket string) []string {
	var out []string
	pol, err := api.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
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
	acl, err := api.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String(bucket)})
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

// sweepBuckets names the buckets of the session's region (one paginated
// ListBuckets, filtered by region); each is then observed with one
// GetPublicAccessBlock, and more only when it is in violation.
func sweepBuckets(ctx context.Context, env rule.Env, _ struct{}) ([]rule.Target, error) {
	names, err := s3bucket.List(ctx, env.Session)
	if err != nil {
		return nil, err
	}
	var out []rule.Target
	for _, name := range names {
		out = append(out, rule.Target{Type: BucketResourceType, ID: name, Region: env.Session.Region})
	}
	return out, nil
}

// applyBucket puts the block (plan, or undo to a previous configuration)
// or deletes it (undo to none).
func applyBucket(ctx context.Context, env rule.Env, a rule.Action) error {
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
	client := s3bucket.Client(env.Session)
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
