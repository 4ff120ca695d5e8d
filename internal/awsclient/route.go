package awsclient

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rampart-aws/rampart/internal/awsname"
)

// MemberSessionName is the role session name of every member-role session,
// so CloudTrail in a member account shows
// assumed-role/<member role>/rampart for Rampart's calls.
const MemberSessionName = "rampart"

// CredentialsExpiryWindow is how long before expiry assumed-role credentials
// are refreshed: a remediation never starts on credentials about to lapse.
const CredentialsExpiryWindow = 2 * time.Minute

// ErrNoRoute is returned by For when the session cannot act where asked:
// another account without a member role, or a malformed account or region.
var ErrNoRoute = errors.New("no route to that account")

// ValidAccount reports whether s is a 12-digit AWS account ID.
func ValidAccount(s string) bool { return awsname.Account(s) }

// ValidRegion reports whether s is shaped like an AWS region name (us-east-1,
// us-gov-west-1, cn-north-1).
func ValidRegion(s string) bool { return awsname.Region(s) }

// PartitionOf is the partition of a region: aws-cn, aws-us-gov, aws-iso,
// aws-iso-b or aws.
func PartitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	}
	return "aws"
}

// routes are the sessions derived from one root session, per account and
// region, and the member-role credentials per account: built on first use
// and kept for the process (the Lambda cold start).
type routes struct {
	root     *Session
	mu       sync.Mutex
	sessions map[[2]string]*Session
	creds    map[string]aws.CredentialsProvider
}

// ResolveIdentity fills Account and Partition from sts:GetCallerIdentity:
// one call, for a session whose loader could not learn them otherwise.
func (s *Session) ResolveIdentity(ctx context.Context) error {
	out, err := Client(s, sts.NewFromConfig).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return fmt.Errorf("resolve the session's account (sts:GetCallerIdentity): %w", err)
	}
	a, err := arn.Parse(aws.ToString(out.Arn))
	if err != nil {
		return fmt.Errorf("resolve the session's account: caller ARN %q: %w", aws.ToString(out.Arn), err)
	}
	return s.SetIdentity(aws.ToString(out.Account), a.Partition)
}

// SetIdentity fixes the account and partition the session's credentials act
// in, once, before the session is used (a Lambda does it on its first
// invocation, from the invoked function's ARN). A malformed account, an
// unknown partition, or a change of an identity already set is an error.
func (s *Session) SetIdentity(account, partition string) error {
	if !ValidAccount(account) {
		return fmt.Errorf("resolve the session's account: %q is not an account ID", account)
	}
	if partition != "aws" && !strings.HasPrefix(partition, "aws-") {
		return fmt.Errorf("resolve the session's account: %q is not a partition", partition)
	}
	if s.Account != "" && s.Account != account {
		return fmt.Errorf("resolve the session's account: %s, but the session acts in %s", account, s.Account)
	}
	s.Account, s.Partition = account, partition
	return nil
}

// MemberRoleARN is the member role's ARN in an account.
func (s *Session) MemberRoleARN(account string) string {
	return arn.ARN{Partition: s.Partition, Service: "iam", AccountID: account, Resource: "role/" + s.MemberRole}.String()
}

// For is the session that acts in account and region: the session itself
// when both are its own (or empty), a regional copy in its own account, or a
// session on the member role's credentials in another account. Derived
// sessions, their clients and the member-role credentials are built once and
// cached; the credentials are refreshed CredentialsExpiryWindow before they
// expire. For makes no AWS call itself (credentials are fetched on the first
// request); the caller decides beforehand whether the account is one Rampart
// may act in.
func (s *Session) For(ctx context.Context, account, region string) (*Session, error) {
	if account == "" {
		account = s.Account
	}
	if region == "" {
		region = s.Region
	}
	if account != "" && !ValidAccount(account) {
		return nil, fmt.Errorf("%w: %q is not an account ID", ErrNoRoute, account)
	}
	if !ValidRegion(region) {
		return nil, fmt.Errorf("%w: %q is not a region", ErrNoRoute, region)
	}
	if account == s.Account && region == s.Region {
		return s, nil
	}
	r := s.router()
	root := r.root
	if account == root.Account && region == root.Region {
		return root, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	key := [2]string{account, region}
	if d, ok := r.sessions[key]; ok {
		return d, nil
	}
	d := &Session{Offline: root.Offline, Region: region, Account: account, Partition: root.Partition,
		MemberRole: root.MemberRole, S3PathStyle: root.S3PathStyle, routes: r}
	if !root.Offline {
		d.cfg = root.cfg.Copy()
		d.cfg.Region = region
		if account != root.Account {
			if root.MemberRole == "" {
				return nil, fmt.Errorf("%w %s: no member role configured", ErrNoRoute, account)
			}
			creds, ok := r.creds[account]
			if !ok {
				// Always from the root session's own credentials: never a
				// chain of member roles.
				creds = newCredentialsCache(&assumeRole{client: Client(root, sts.NewFromConfig), roleARN: root.MemberRoleARN(account)})
				r.creds[account] = creds
			}
			d.cfg.Credentials = creds
		}
	}
	r.sessions[key] = d
	return d, nil
}

// newCredentialsCache caches a provider's credentials until
// CredentialsExpiryWindow before they expire.
func newCredentialsCache(p aws.CredentialsProvider) *aws.CredentialsCache {
	return aws.NewCredentialsCache(p, func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = CredentialsExpiryWindow })
}

func (s *Session) router() *routes {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.routes == nil {
		s.routes = &routes{root: s, sessions: map[[2]string]*Session{}, creds: map[string]aws.CredentialsProvider{}}
	}
	return s.routes
}

// AccountID is the account the session acts in: Account, resolved once per
// cold start (or fixed by For), with sts:GetCallerIdentity only for a session
// built without an identity.
func (s *Session) AccountID(ctx context.Context) (string, error) {
	if s.Account != "" {
		return s.Account, nil
	}
	out, err := Client(s, sts.NewFromConfig).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("read the account ID: %w", err)
	}
	return aws.ToString(out.Account), nil
}
