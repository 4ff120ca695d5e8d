package awsclient_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

// TestMemberRoleAgainstMoto: a Lambda session (LoadLambda, as a function
// builds it) reaches another account through the member role with
// Rampart's own sts:AssumeRole provider, whose credentials act there (moto's
// AssumeRole hands out credentials of the role's account).
func TestMemberRoleAgainstMoto(t *testing.T) {
	if os.Getenv("RAMPART_SKIP_MOTO") == "1" {
		t.Skip("RAMPART_SKIP_MOTO=1")
	}
	srv, err := mototest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	env := srv.Env()
	s, err := awsclient.LoadLambda(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	s.MemberRole = "rampart/rampart-member"
	ctx := context.Background()
	m, err := s.For(ctx, "222233334444", "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	out, err := awsclient.Client(m, sts.NewFromConfig).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != "222233334444" || !strings.Contains(aws.ToString(out.Arn), "assumed-role/rampart-member/"+awsclient.MemberSessionName) {
		t.Fatalf("acting as %s in %s", aws.ToString(out.Arn), aws.ToString(out.Account))
	}
	creds, err := m.Config().Credentials.Retrieve(ctx)
	if err != nil || !creds.CanExpire || creds.Expires.IsZero() || creds.AccountID != "222233334444" || creds.SessionToken == "" {
		t.Fatalf("member credentials %+v, %v", creds, err)
	}
}
