// Package sdkconfig loads an awsclient.Session from the SDK's full default
// configuration (config.LoadDefaultConfig: environment, shared config and
// credentials files, SSO, web identity, process credentials, IMDS), for the
// CLI, the demo and the tests.
//
// Lambda functions never import it: they use awsclient.LoadLambda, so that
// their binaries link none of those credential providers. It adds nothing
// of its own beyond the chain: the retries, app ID, middleware and
// EnvS3PathStyle come from awsclient.Configure and awsclient.NewSession.
package sdkconfig

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/rampart-aws/rampart/internal/awsclient"
)

// Load builds a live session from the default chain and resolves its account
// and partition once (sts:GetCallerIdentity). opts come after Rampart's own
// settings and may override them (a test's retryer, region or endpoint).
func Load(ctx context.Context, opts ...func(*config.LoadOptions) error) (*awsclient.Session, error) {
	opts = append([]func(*config.LoadOptions) error{
		config.WithRetryMode("adaptive"),
		config.WithRetryMaxAttempts(awsclient.MaxAttempts),
	}, opts...)
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	awsclient.Configure(&cfg)
	s, err := awsclient.NewSession(cfg, os.Getenv)
	if err != nil {
		return nil, err
	}
	if err := s.ResolveIdentity(ctx); err != nil {
		return nil, err
	}
	return s, nil
}
