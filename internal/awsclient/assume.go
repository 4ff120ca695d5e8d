package awsclient

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// MemberSessionDuration is how long the member role's credentials last
// (sts:AssumeRole's DurationSeconds; 15 minutes is the least AWS grants).
const MemberSessionDuration = 15 * time.Minute

// assumeRoleAPI is the one STS call a member-role provider makes.
type assumeRoleAPI interface {
	AssumeRole(context.Context, *sts.AssumeRoleInput, ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)
}

// assumeRole provides a member role's credentials through sts:AssumeRole,
// as the SDK's stscreds.AssumeRoleProvider does for these options. It is
// Rampart's own so that a function links no stscreds package, which carries
// the web-identity provider a Lambda never uses. Wrap it in a credentials
// cache (newCredentialsCache): it calls STS on every Retrieve.
type assumeRole struct {
	client  assumeRoleAPI
	roleARN string
}

// Retrieve assumes the role.
func (p *assumeRole) Retrieve(ctx context.Context) (aws.Credentials, error) {
	out, err := p.client.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         aws.String(p.roleARN),
		RoleSessionName: aws.String(MemberSessionName),
		DurationSeconds: aws.Int32(int32(MemberSessionDuration / time.Second)),
	})
	if err != nil {
		return aws.Credentials{Source: memberRoleSource}, fmt.Errorf("assume %s: %w", p.roleARN, err)
	}
	if out.Credentials == nil {
		return aws.Credentials{Source: memberRoleSource}, fmt.Errorf("assume %s: the response has no credentials", p.roleARN)
	}
	creds := aws.Credentials{
		AccessKeyID:     aws.ToString(out.Credentials.AccessKeyId),
		SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey),
		SessionToken:    aws.ToString(out.Credentials.SessionToken),
		Source:          memberRoleSource,
		CanExpire:       true,
		Expires:         aws.ToTime(out.Credentials.Expiration),
	}
	if out.AssumedRoleUser != nil {
		if a, err := arn.Parse(aws.ToString(out.AssumedRoleUser.Arn)); err == nil {
			creds.AccountID = a.AccountID
		}
	}
	return creds, nil
}

// memberRoleSource names the provider in aws.Credentials.Source, as the
// SDK's own does.
const memberRoleSource = "AssumeRoleProvider"
