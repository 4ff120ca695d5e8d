// Package s3bucket holds what the rules about S3 buckets share: the S3
// client (path-style only when told so, for emulators such as moto), the bucket a
// CloudTrail record of an S3 call names, the buckets of a region (for
// sweeps), and a bucket's tags for the exemption check.
//
// It knows no rule: it judges nothing and changes nothing in AWS. Each rule
// still declares the IAM actions of the calls it makes through it
// (s3:ListAllMyBuckets for List, s3:GetBucketTagging for Tags).
package s3bucket

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// Client is the session's S3 client: virtual-hosted style, as AWS wants it,
// whatever endpoint is configured (a VPC or FIPS endpoint included).
// Path-style only when the session says so explicitly
// (awsclient.EnvS3PathStyle, set by the tests and the demo for moto, where
// bucket.127.0.0.1 resolves nowhere).
func Client(s *awsclient.Session) *s3.Client {
	return awsclient.Client(s, s3.NewFromConfig, func(o *s3.Options) { o.UsePathStyle = s.S3PathStyle })
}

// Request is the part of an S3 call's requestParameters that names the
// bucket. Embed it in a rule's request type; older records carry one-element
// arrays, which trigger.String reads too.
type Request struct {
	BucketName trigger.String `json:"bucketName"`
	Host       trigger.String `json:"Host"`
}

// validName reports whether b is shaped like a bucket name, as
// ^[a-z0-9][a-z0-9.\-_]{1,253}[a-z0-9]$ says (the legacy rules, which still
// name some buckets), with a byte loop: the expression would compile 253
// copies of its middle at every cold start.
func validName(b string) bool {
	if len(b) < 3 || len(b) > 255 || !lowerOrDigit(b[0]) || !lowerOrDigit(b[len(b)-1]) {
		return false
	}
	for i := 1; i < len(b)-1; i++ {
		if c := b[i]; !lowerOrDigit(c) && c != '.' && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

func lowerOrDigit(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// Bucket reads the bucket a call names: bucketName, else the virtual-host
// style Host (bucket.s3.region.amazonaws.com). A call naming no bucket, or
// something that is not a bucket name, is an error.
func (r *Request) Bucket() (string, error) {
	b := strings.TrimSpace(string(r.BucketName))
	if b == "" {
		host := strings.ToLower(string(r.Host))
		for _, sep := range []string{".s3.", ".s3-"} {
			if i := strings.Index(host, sep); i > 0 {
				b = host[:i]
				break
			}
		}
	}
	if b == "" {
		return "", errors.New("no bucketName")
	}
	if !validName(b) {
		return "", fmt.Errorf("%q is not a bucket name", b)
	}
	return b, nil
}

// List names the buckets of the session's region: ListBuckets
// (s3:ListAllMyBuckets) lists the account's buckets in every region, and its
// region filter keeps the ones a regional deployment judges. It is one
// paginated call.
func List(ctx context.Context, s *awsclient.Session) ([]string, error) {
	pages := s3.NewListBucketsPaginator(Client(s), &s3.ListBucketsInput{BucketRegion: aws.String(s.Region)})
	var names []string
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list buckets: %w", err)
		}
		for _, b := range page.Buckets {
			names = append(names, aws.ToString(b.Name))
		}
	}
	return names, nil
}

// Tags reads the bucket's tags (s3:GetBucketTagging), for the exemption
// check; a bucket without tags has an empty set.
func Tags(ctx context.Context, s *awsclient.Session, bucket string) (map[string]string, error) {
	out, err := Client(s).GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
	if awsclient.HasCode(err, "NoSuchTagSet", "NoSuchTagSetError") {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get tags of %s: %w", bucket, err)
	}
	m := make(map[string]string, len(out.TagSet))
	for _, t := range out.TagSet {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m, nil
}
