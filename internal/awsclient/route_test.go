package awsclient

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

func bare() *Session {
	return &Session{Region: "us-east-1", Account: "123456789012", Partition: "aws", cfg: aws.Config{Region: "us-east-1"}}
}

func TestForCachesSessionsAndClients(t *testing.T) {
	ctx := context.Background()
	s := bare()
	if got, _ := s.For(ctx, "", ""); got != s {
		t.Fatal("the session's own account and region is not the session itself")
	}
	eu, err := s.For(ctx, "123456789012", "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := s.For(ctx, "123456789012", "eu-west-1")
	if eu != again || eu.Region != "eu-west-1" || eu.Config().Region != "eu-west-1" || eu.Account != s.Account {
		t.Fatalf("regional session %+v (cached: %v)", eu, eu == again)
	}
	if Client(eu, ec2.NewFromConfig) != Client(again, ec2.NewFromConfig) || Client(eu, ec2.NewFromConfig) == Client(s, ec2.NewFromConfig) {
		t.Fatal("clients are not cached per region")
	}
	if back, _ := eu.For(ctx, "123456789012", "us-east-1"); back != s {
		t.Fatal("a derived session does not route home to the root")
	}
	if _, err := s.For(ctx, "222222222222", "us-east-1"); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("another account without a member role: %v", err)
	}
	for _, bad := range [][2]string{{"2222", "us-east-1"}, {"222222222222", "../x"}} {
		if _, err := s.For(ctx, bad[0], bad[1]); !errors.Is(err, ErrNoRoute) {
			t.Errorf("For(%q, %q): %v", bad[0], bad[1], err)
		}
	}
	s.MemberRole = "rampart/rampart-member"
	m, err := s.For(ctx, "222222222222", "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	m2, _ := eu.For(ctx, "222222222222", "us-east-1")
	if m.Account != "222222222222" || m.Region != "eu-west-1" || m.Config().Credentials == nil ||
		m.Config().Credentials != m2.Config().Credentials {
		t.Fatal("member credentials are not shared by the account's regional sessions")
	}
	if m.Config().Credentials == s.Config().Credentials {
		t.Fatal("member session uses the home credentials")
	}
	if got := s.MemberRoleARN("222222222222"); got != "arn:aws:iam::222222222222:role/rampart/rampart-member" {
		t.Fatalf("member role ARN %s", got)
	}
}

// counting hands out credentials expiring after ttl, counting retrievals.
type counting struct {
	n   int
	ttl time.Duration
}

func (c *counting) Retrieve(context.Context) (aws.Credentials, error) {
	c.n++
	return aws.Credentials{AccessKeyID: "ASIA", SecretAccessKey: "s", CanExpire: true, Expires: time.Now().Add(c.ttl)}, nil
}

// TestCredentialsRefreshBeforeExpiry: credentials are reused while they have
// more than CredentialsExpiryWindow left, and fetched again once inside it
// (no sleeping: the provider hands out credentials already inside the window).
func TestCredentialsRefreshBeforeExpiry(t *testing.T) {
	ctx := context.Background()
	long := &counting{ttl: time.Hour}
	c := newCredentialsCache(long)
	for range 3 {
		if _, err := c.Retrieve(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if long.n != 1 {
		t.Fatalf("fresh credentials fetched %d times", long.n)
	}
	short := &counting{ttl: CredentialsExpiryWindow - 10*time.Second} // still valid, but inside the window
	c = newCredentialsCache(short)
	for range 3 {
		if _, err := c.Retrieve(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if short.n != 3 {
		t.Fatalf("credentials inside the expiry window fetched %d times, want every time", short.n)
	}
}
