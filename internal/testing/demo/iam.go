package demo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
)

// eventExposedKey is the access key the AWS Health and Trusted Advisor
// samples say is exposed (IAM's documented example key ID).
const eventExposedKey = "AKIAIOSFODNN7EXAMPLE"

// AWS Health says bob's key is public on GitHub; carol's key, next to it,
// must stay active.
var iamScenarios = []Scenario{
	{
		Rule:   "exposed-access-keys",
		Name:   "access key exposed on GitHub",
		Events: []string{"service/health-risk-credentials-exposed.json"},
		Seed: func(ctx context.Context, s *awsclient.Session) (Fixture, error) {
			c := awsclient.Client(s, iam.NewFromConfig)
			keys := map[string]string{}
			for _, u := range []string{"bob", "carol"} {
				if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(u),
					Tags: []iamtypes.Tag{{Key: aws.String("owner"), Value: aws.String(u + "@example.com")}}}); err != nil {
					return Fixture{}, fmt.Errorf("create user %s: %w", u, err)
				}
				k, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(u)})
				if err != nil {
					return Fixture{}, fmt.Errorf("create access key of %s: %w", u, err)
				}
				keys[u] = aws.ToString(k.AccessKey.AccessKeyId)
			}
			return Fixture{ID: keys["bob"], Label: "IAM user bob's access key " + keys["bob"],
				Replace: map[string]string{eventExposedKey: keys["bob"]}}, nil
		},
		State: func(ctx context.Context, s *awsclient.Session, _ Fixture) ([]string, error) {
			var out []string
			for _, u := range []string{"bob", "carol"} {
				l, err := awsclient.Client(s, iam.NewFromConfig).ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(u)})
				if err != nil {
					return nil, fmt.Errorf("list access keys of %s: %w", u, err)
				}
				for _, k := range l.AccessKeyMetadata {
					out = append(out, fmt.Sprintf("%s's key: %s", u, k.Status))
				}
			}
			return out, nil
		},
		Want: []string{"bob's key: Inactive", "carol's key: Active"},
	},
}
