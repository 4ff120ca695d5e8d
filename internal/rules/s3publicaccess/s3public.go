// Package s3publicaccess holds the S3 public-access rules, two registrations that
// share their parsing and their remediation — turning S3 Block Public Access
// fully on:
//
//   - s3-account-public-access-block: the account-level block (S3 Control)
//     has all four settings on. Triggers: PutAccountPublicAccessBlock,
//     DeleteAccountPublicAccessBlock (logged by CloudTrail with event source
//     s3.amazonaws.com), Config, a periodic check.
//   - s3-bucket-public-access: each bucket's own block has all four settings
//     on. Triggers: PutBucketPublicAccessBlock, DeleteBucketPublicAccessBlock,
//     PutBucketPolicy and PutBucketAcl (a bucket policy granting "*" without a
//     pinning condition, an ACL granting AllUsers or AuthenticatedUsers),
//     Config, a periodic check.
//
// The remediation never edits a policy or an ACL: the four block settings
// neutralise a public policy (RestrictPublicBuckets) and public ACLs
// (IgnorePublicAcls) and refuse new ones, and the decision reports what had
// been public. The undo puts back the previous block configuration, or
// deletes it when there was none. Buckets meant to be public (a website)
// carry the exemption tag (rampart:exempt) rather than a parameter: the
// exemption then travels with the bucket, with its reason, owner and expiry.
package s3publicaccess

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
	"github.com/rampart-aws/rampart/internal/awsclient"
)

// Block is an S3 Block Public Access configuration.
type Block struct {
	BlockPublicAcls       bool `json:"blockPublicAcls"`
	IgnorePublicAcls      bool `json:"ignorePublicAcls"`
	BlockPublicPolicy     bool `json:"blockPublicPolicy"`
	RestrictPublicBuckets bool `json:"restrictPublicBuckets"`
}

// AllOn is the configuration the rules restore.
var AllOn = Block{true, true, true, true}

// On reports whether all four settings are on.
func (b Block) On() bool { return b == AllOn }

// Off names the settings that are off.
func (b Block) Off() []string {
	var out []string
	for _, s := range []struct {
		name string
		on   bool
	}{{"BlockPublicAcls", b.BlockPublicAcls}, {"IgnorePublicAcls", b.IgnorePublicAcls},
		{"BlockPublicPolicy", b.BlockPublicPolicy}, {"RestrictPublicBuckets", b.RestrictPublicBuckets}} {
		if !s.on {
			out = append(out, s.name)
		}
	}
	return out
}

// describe says what a configuration (nil: none at all) leaves off.
func describe(b *Block) string {
	if b == nil {
		return "no Block Public Access configuration"
	}
	return "Block Public Access settings off: " + strings.Join(b.Off(), ", ")
}

func (b Block) s3() *s3types.PublicAccessBlockConfiguration {
	return &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(b.BlockPublicAcls), IgnorePublicAcls: aws.Bool(b.IgnorePublicAcls),
		BlockPublicPolicy: aws.Bool(b.BlockPublicPolicy), RestrictPublicBuckets: aws.Bool(b.RestrictPublicBuckets)}
}

func (b Block) s3control() *s3ctypes.PublicAccessBlockConfiguration {
	return &s3ctypes.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(b.BlockPublicAcls), IgnorePublicAcls: aws.Bool(b.IgnorePublicAcls),
		BlockPublicPolicy: aws.Bool(b.BlockPublicPolicy), RestrictPublicBuckets: aws.Bool(b.RestrictPublicBuckets)}
}

func fromS3(c *s3types.PublicAccessBlockConfiguration) *Block {
	if c == nil {
		return nil
	}
	return &Block{aws.ToBool(c.BlockPublicAcls), aws.ToBool(c.IgnorePublicAcls), aws.ToBool(c.BlockPublicPolicy), aws.ToBool(c.RestrictPublicBuckets)}
}

func fromS3Control(c *s3ctypes.PublicAccessBlockConfiguration) *Block {
	if c == nil {
		return nil
	}
	return &Block{aws.ToBool(c.BlockPublicAcls), aws.ToBool(c.IgnorePublicAcls), aws.ToBool(c.BlockPublicPolicy), aws.ToBool(c.RestrictPublicBuckets)}
}

// blockParams are the params of a block action and of its undo: put Block,
// or delete the configuration when Block is nil.
type blockParams struct {
	Bucket  string `json:"bucket,omitempty"`
	Account string `json:"account,omitempty"`
	Block   *Block `json:"block"`
}

// errNoConfig is AWS's answer for a bucket or account without a block.
const errNoConfig = "NoSuchPublicAccessBlockConfiguration"

// controlClient is the S3 Control client. S3 Control puts the account ID in
// front of the host (123456789012.s3-control.us-east-1.amazonaws.com); with
// an emulator on a bare host:port (moto, LocalStack) that would give
// 123456789012.127.0.0.1, which resolves nowhere, so only when the session
// says so explicitly (awsclient.EnvS3PathStyle, set by the tests and the
// demo) the account label is taken off again. The account still travels in
// the x-amz-account-id header, as S3 Control requires. Otherwise the SDK's
// resolver is used unchanged, whatever endpoint is configured.
func controlClient(s *awsclient.Session) *s3control.Client {
	return awsclient.Client(s, s3control.NewFromConfig, func(o *s3control.Options) {
		if s.S3PathStyle {
			o.EndpointResolverV2 = customEndpointResolver{s3control.NewDefaultEndpointResolverV2()}
		}
	})
}

type customEndpointResolver struct{ next s3control.EndpointResolverV2 }

// ResolveEndpoint implements s3control.EndpointResolverV2.
func (r customEndpointResolver) ResolveEndpoint(ctx context.Context, p s3control.EndpointParameters) (smithyendpoints.Endpoint, error) {
	ep, err := r.next.ResolveEndpoint(ctx, p)
	if err == nil && p.AccountId != nil {
		ep.URI.Host = strings.TrimPrefix(ep.URI.Host, aws.ToString(p.AccountId)+".")
	}
	return ep, err
}

var errBadParams = errors.New("bad params")

func badParams(api string) error {
	return fmt.Errorf("%s: %w: need a bucket or an account", api, errBadParams)
}
