package trailbuckettampering

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/s3bucket"
)

// policyParams are the params of the policy fix (Remove and Add: statements
// matched by content against the policy at apply time) and of its undo
// (Restore: the exact previous policy; or Delete, when there was none).
type policyParams struct {
	Bucket  string            `json:"bucket"`
	Remove  []json.RawMessage `json:"remove,omitempty"`
	Add     []json.RawMessage `json:"add,omitempty"`
	Restore string            `json:"restore,omitempty"`
	Delete  bool              `json:"delete,omitempty"`
}

// fixPolicy plans the policy fix; the undo puts back the policy as read.
func fixPolicy(partition string, pol *bucketPolicy, bucket string, d delivery) rule.Action {
	remove, add, err := policyFix(partition, pol, bucket, d)
	if err != nil {
		return rule.Alert(bucket, "the bucket policy of "+bucket+" cannot be rewritten: "+err.Error())
	}
	undo := rule.NewAction(apiDeletePolicy, bucket, "delete the policy: the bucket had none", policyParams{Bucket: bucket, Delete: true}, nil)
	if pol != nil && pol.Raw != "" {
		undo = rule.NewAction(apiPutPolicy, bucket, "put back the previous bucket policy", policyParams{Bucket: bucket, Restore: pol.Raw}, nil)
	}
	var what []string
	if len(add) > 0 {
		what = append(what, fmt.Sprintf("add CloudTrail's documented Allow statements (%d)", len(add)))
	}
	if len(remove) > 0 {
		what = append(what, fmt.Sprintf("remove %d Deny statement(s) aimed at CloudTrail", len(remove)))
	}
	return rule.NewAction(apiPutPolicy, bucket, strings.Join(what, " and ")+"; other statements stay",
		policyParams{Bucket: bucket, Remove: remove, Add: add}, &undo)
}

// applyPolicy makes the policy fix against the policy as it is now, or its
// undo.
func applyPolicy(ctx context.Context, s *awsclient.Session, a rule.Action) error {
	var p policyParams
	if err := a.Decode(&p); err != nil {
		return err
	}
	fix := len(p.Remove)+len(p.Add) > 0
	undo := p.Restore != "" || p.Delete
	if p.Bucket == "" || fix == undo || (p.Restore != "" && p.Delete) {
		return fmt.Errorf("%s: params need a bucket and either statements to change or a policy to restore", a.API)
	}
	client := s3bucket.Client(s)
	target := p.Restore
	if fix {
		out, err := client.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(p.Bucket)})
		current := ""
		switch {
		case awsclient.HasCode(err, "NoSuchBucketPolicy"):
		case awsclient.HasCode(err, "NoSuchBucket"):
			return fmt.Errorf("policy of %s: the bucket is gone: %w", p.Bucket, rule.ErrNoOp)
		case err != nil:
			return fmt.Errorf("get policy of %s: %w", p.Bucket, err)
		default:
			current = aws.ToString(out.Policy)
		}
		next, changed, err := rewrite(current, p.Remove, p.Add)
		if err != nil {
			return fmt.Errorf("policy of %s: %w", p.Bucket, err)
		}
		if !changed {
			return fmt.Errorf("policy of %s: already allows CloudTrail: %w", p.Bucket, rule.ErrNoOp)
		}
		target = next
	}
	var err error
	if target == "" {
		_, err = client.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(p.Bucket)})
	} else {
		_, err = client.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(p.Bucket), Policy: aws.String(target)})
	}
	switch {
	case awsclient.HasCode(err, "NoSuchBucket"):
		return fmt.Errorf("policy of %s: the bucket is gone: %w", p.Bucket, rule.ErrNoOp)
	case err != nil:
		return fmt.Errorf("%s %s: %w", a.API, p.Bucket, err)
	}
	return nil
}
