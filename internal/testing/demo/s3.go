package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rampart-aws/rampart/internal/awsclient"
)

// publicBucket is the bucket the s3-put-bucket-policy-public sample names.
const publicBucket = "payments-exports-123456789012"

// publicPolicy is the sample's public statement next to a legitimate grant
// to a partner account.
const publicPolicy = `{"Version":"2012-10-17","Statement":[
{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + publicBucket + `/*"},
{"Sid":"PartnerRead","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::` + publicBucket + `/*"}]}`

var s3Scenarios = []Scenario{
	{
		Rule:   "s3-bucket-public-access",
		Name:   "bucket with a public policy",
		Events: []string{"cloudtrail/s3-put-bucket-policy-public.json"},
		IAMGap: "moto 5.2.1 authorizes the bucket-level GetPublicAccessBlock and PutPublicAccessBlock APIs as " +
			"s3:GetPublicAccessBlock and s3:PutPublicAccessBlock; AWS's IAM actions, which the rule declares, are " +
			"s3:GetBucketPublicAccessBlock and s3:PutBucketPublicAccessBlock",
		Seed: func(ctx context.Context, s *awsclient.Session) (Fixture, error) {
			c := s3Client(s)
			if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(publicBucket)}); err != nil {
				return Fixture{}, fmt.Errorf("create bucket %s: %w", publicBucket, err)
			}
			if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(publicBucket), Policy: aws.String(publicPolicy)}); err != nil {
				return Fixture{}, fmt.Errorf("put bucket policy: %w", err)
			}
			// The sample names the seeded bucket: nothing to rewrite.
			return Fixture{ID: publicBucket, Label: "bucket " + publicBucket}, nil
		},
		State: func(ctx context.Context, s *awsclient.Session, f Fixture) ([]string, error) {
			c := s3Client(s)
			block := "none"
			out, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(f.ID)})
			switch {
			case awsclient.HasCode(err, "NoSuchPublicAccessBlockConfiguration"):
			case err != nil:
				return nil, fmt.Errorf("get public access block of %s: %w", f.ID, err)
			default:
				b := out.PublicAccessBlockConfiguration
				var on []string
				for name, v := range map[string]*bool{"BlockPublicAcls": b.BlockPublicAcls, "IgnorePublicAcls": b.IgnorePublicAcls,
					"BlockPublicPolicy": b.BlockPublicPolicy, "RestrictPublicBuckets": b.RestrictPublicBuckets} {
					if aws.ToBool(v) {
						on = append(on, name)
					}
				}
				block = fmt.Sprintf("%d of 4 settings on", len(on))
				if len(on) == 4 {
					block = "all four settings on"
				}
			}
			pol, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(f.ID)})
			if err != nil {
				return nil, fmt.Errorf("get bucket policy of %s: %w", f.ID, err)
			}
			var doc struct {
				Statement []struct{ Sid string }
			}
			if err := json.Unmarshal([]byte(aws.ToString(pol.Policy)), &doc); err != nil {
				return nil, fmt.Errorf("bucket policy of %s: %w", f.ID, err)
			}
			var sids []string
			for _, st := range doc.Statement {
				sids = append(sids, st.Sid)
			}
			return []string{"block public access: " + block, "policy statements: " + strings.Join(sids, ", ")}, nil
		},
		Want: []string{"block public access: all four settings on", "policy statements: PublicRead, PartnerRead"},
	},
}

func s3Client(s *awsclient.Session) *s3.Client {
	return awsclient.Client(s, s3.NewFromConfig, func(o *s3.Options) { o.UsePathStyle = s.S3PathStyle })
}
