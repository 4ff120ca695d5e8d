package awsclient

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/logging"
)

// LoadLambda builds the session of a Lambda function from the environment
// Lambda provides, with no I/O and no credential chain:
//
//   - credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
//     AWS_SESSION_TOKEN (the execution role's, which Lambda sets), and
//     AWS_ACCOUNT_ID when set (the SDK's standard variable for the
//     credentials' account);
//   - region: AWS_REGION (AWS_DEFAULT_REGION as a fallback);
//   - endpoints: AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>
//     (AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true ignores both),
//     AWS_USE_FIPS_ENDPOINT and AWS_USE_DUALSTACK_ENDPOINT, read as the SDK
//     reads them;
//   - what Configure and NewSession add (adaptive retries, app ID, attempt
//     counting and per-attempt timeouts) and EnvS3PathStyle.
//
// The session's account is AWS_ACCOUNT_ID's when set, else unknown until the
// caller sets it (SetIdentity: a Lambda from its first invocation's function
// ARN, so the cold start makes no sts:GetCallerIdentity call). Missing
// credentials are an error: a function never falls back to another source.
func LoadLambda(getenv func(string) string) (*Session, error) {
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return nil, errors.New("load AWS configuration: no credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)")
	}
	account := strings.TrimSpace(getenv("AWS_ACCOUNT_ID"))
	if account != "" && !ValidAccount(account) {
		return nil, fmt.Errorf("load AWS configuration: AWS_ACCOUNT_ID %q is not an account ID", account)
	}
	region := getenv("AWS_REGION")
	if region == "" {
		region = getenv("AWS_DEFAULT_REGION")
	}
	src, err := envSourceFrom(getenv)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	cfg := aws.Config{
		Region: region,
		Credentials: aws.NewCredentialsCache(credentials.StaticCredentialsProvider{Value: aws.Credentials{
			AccessKeyID: id, SecretAccessKey: secret, SessionToken: getenv("AWS_SESSION_TOKEN"),
			Source: "EnvConfigCredentials", AccountID: account,
		}}),
		// One transport for every client, as LoadDefaultConfig shares one.
		HTTPClient:    awshttp.NewBuildableClient(),
		Logger:        logging.NewStandardLogger(os.Stderr),
		ConfigSources: []any{src},
	}
	if src.base != "" {
		cfg.BaseEndpoint = aws.String(src.base)
	}
	Configure(&cfg)
	s, err := NewSession(cfg, getenv)
	if err != nil {
		return nil, err
	}
	s.Account = account
	return s, nil
}

// envSource answers the SDK clients' questions about endpoints (they ask
// every value of aws.Config.ConfigSources through small interfaces of the
// SDK's internal/configsources), from the environment as LoadLambda read it.
type envSource struct {
	getenv    func(string) string // nil: configured endpoints are ignored
	base      string              // AWS_ENDPOINT_URL
	fips      aws.FIPSEndpointState
	dualStack aws.DualStackEndpointState
}

func envSourceFrom(getenv func(string) string) (*envSource, error) {
	src := &envSource{}
	ignore, err := Bool(getenv, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
	if err != nil {
		return nil, err
	}
	if !ignore {
		src.getenv, src.base = getenv, getenv("AWS_ENDPOINT_URL")
	}
	fips, err := Bool(getenv, "AWS_USE_FIPS_ENDPOINT")
	if err != nil {
		return nil, err
	}
	if fips {
		src.fips = aws.FIPSEndpointStateEnabled
	}
	dual, err := Bool(getenv, "AWS_USE_DUALSTACK_ENDPOINT")
	if err != nil {
		return nil, err
	}
	if dual {
		src.dualStack = aws.DualStackEndpointStateEnabled
	}
	return src, nil
}

// GetServiceBaseEndpoint is AWS_ENDPOINT_URL_<SERVICE> for the SDK's service
// ID ("S3 Control" → AWS_ENDPOINT_URL_S3_CONTROL), as the SDK names it.
func (e *envSource) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	if e.getenv == nil {
		return "", false, nil
	}
	v := e.getenv("AWS_ENDPOINT_URL_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_"))
	return v, v != "", nil
}

// GetUseFIPSEndpoint is AWS_USE_FIPS_ENDPOINT.
func (e *envSource) GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error) {
	return e.fips, e.fips != aws.FIPSEndpointStateUnset, nil
}

// GetUseDualStackEndpoint is AWS_USE_DUALSTACK_ENDPOINT.
func (e *envSource) GetUseDualStackEndpoint(context.Context) (aws.DualStackEndpointState, bool, error) {
	return e.dualStack, e.dualStack != aws.DualStackEndpointStateUnset, nil
}
