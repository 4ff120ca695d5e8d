package mototest

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/awsclient/sdkconfig"
)

// Organization is an AWS Organization in moto: its management account is
// moto's default Account, where the session that made it acts.
type Organization struct {
	ID string
	// Members are the member accounts created in it (the management account
	// not included).
	Members []string
}

// NewOrganization creates an organization with n member accounts and, in
// each member account, the role memberRole (name with optional path) that
// Rampart assumes there. moto answers sts:AssumeRole into any account with
// credentials that act in that account, so the role's trust policy is not
// enforced; the role exists so that its ARN is real.
func NewOrganization(t testing.TB, s *awsclient.Session, n int, memberRole string) *Organization {
	t.Helper()
	ctx := context.Background()
	client := awsclient.Client(s, organizations.NewFromConfig)
	org, err := client.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll})
	if err != nil {
		t.Fatalf("create organization: %v", err)
	}
	o := &Organization{ID: aws.ToString(org.Organization.Id)}
	for i := range n {
		out, err := client.CreateAccount(ctx, &organizations.CreateAccountInput{
			AccountName: aws.String(fmt.Sprintf("member-%d", i)), Email: aws.String(fmt.Sprintf("member-%d@example.com", i))})
		if err != nil {
			t.Fatalf("create account: %v", err)
		}
		account := aws.ToString(out.CreateAccountStatus.AccountId)
		o.Members = append(o.Members, account)
		if memberRole != "" {
			CreateRole(t, In(t, s, account, Region), memberRole)
		}
	}
	return o
}

// In is a session acting in account and region: s's regional session in
// its own account, else credentials from assuming OrganizationAccountAccessRole
// there (the role Organizations creates in the accounts it makes).
func In(t testing.TB, s *awsclient.Session, account, region string) *awsclient.Session {
	t.Helper()
	if account == s.Account {
		sess, err := s.For(context.Background(), account, region)
		if err != nil {
			t.Fatal(err)
		}
		return sess
	}
	admin, err := sdkconfig.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	admin.MemberRole = "OrganizationAccountAccessRole"
	sess, err := admin.For(context.Background(), account, region)
	if err != nil {
		t.Fatalf("session in %s/%s: %v", account, region, err)
	}
	return sess
}

// CreateRole creates a role (name with optional path) trusting the
// session's account.
func CreateRole(t testing.TB, s *awsclient.Session, pathName string) string {
	t.Helper()
	path, name := "/", pathName
	for i := len(pathName) - 1; i >= 0; i-- {
		if pathName[i] == '/' {
			path, name = "/"+pathName[:i+1], pathName[i+1:]
			break
		}
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + Account + `:root"},"Action":"sts:AssumeRole"}]}`
	out, err := awsclient.Client(s, iam.NewFromConfig).CreateRole(context.Background(), &iam.CreateRoleInput{
		RoleName: aws.String(name), Path: aws.String(path), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatalf("create role %s: %v", pathName, err)
	}
	return aws.ToString(out.Role.Arn)
}
