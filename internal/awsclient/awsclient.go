// Package awsclient builds AWS SDK clients once per process (once per Lambda
// cold start), with adaptive retries, per-attempt timeouts and Rampart's
// user-agent marker, and classifies AWS errors by code. It knows the
// session's account and partition, and routes a session to another region
// or (through a member role) another account (see Session.For).
//
// It links no credential chain: LoadLambda builds the configuration a Lambda
// needs from the environment Lambda provides (credentials, region) without
// any I/O, so the function binaries carry no SSO, web-identity, process or
// IMDS provider. The CLI and the tests load the SDK's full default chain
// through package sdkconfig, which builds on NewSession.
//
// It knows no rule and no service in particular: rule packages ask it for the
// clients they need, so each Lambda binary links only its own services.
package awsclient

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// AppID is added to the user agent of every call Rampart makes
// ("app/rampart"), so CloudTrail records of Rampart's own calls can be told
// apart by the loop guard even before its role is configured.
const AppID = "rampart"

// MaxAttempts is how many attempts a call gets (the first and four
// retries), in the SDK's adaptive retry mode.
const MaxAttempts = 5

// EnvS3PathStyle is the explicit setting for S3 emulators (moto,
// LocalStack) served on a bare host:port: "true" addresses S3 buckets
// path-style (<endpoint>/<bucket>) and keeps the account ID out of the S3
// Control host. It is read by the loaders only and set by the tests and the
// demo; a deployment against AWS never sets it, whatever endpoints
// (AWS_ENDPOINT_URL, VPC or FIPS endpoints) it configures.
const EnvS3PathStyle = "RAMPART_S3_PATH_STYLE"

// Session hands out SDK clients built from one aws.Config. An offline session
// (for `rampart plan`) has no configuration and refuses to build clients.
type Session struct {
	Offline bool
	Region  string
	// Account and Partition are where the session's credentials act. The
	// CLI's loader resolves them at once (sts:GetCallerIdentity); a Lambda
	// learns them without a call (AWS_ACCOUNT_ID, or its first invocation's
	// function ARN: see SetIdentity). Empty on a session built without an
	// identity (offline, or a test's bare value).
	Account   string
	Partition string
	// MemberRole is the member remediation role's name, with its path if
	// any ("rampart-member", "rampart/rampart-member"): For assumes
	// arn:<partition>:iam::<account>:role/<MemberRole> to act in another
	// account. Empty: For refuses every other account. Set it before the
	// first For call.
	MemberRole string
	// S3PathStyle is EnvS3PathStyle: S3 clients address buckets path-style
	// and S3 Control keeps the account out of the host. Never inferred
	// from the endpoint.
	S3PathStyle bool

	cfg     aws.Config
	mu      sync.Mutex
	clients map[reflect.Type]any
	routes  *routes // shared by a session and all the sessions For derives from it
}

// Configure sets what Rampart adds to every aws.Config, whoever loads it:
// the SDK's adaptive retry mode with MaxAttempts attempts (where cfg does not
// say otherwise), the app ID, and the middleware that counts attempts
// (retry.go). NewSession then bounds every attempt (timeout.go).
func Configure(cfg *aws.Config) {
	if cfg.Retryer == nil { // a retryer of the caller's (a test's) is left as it is
		if cfg.RetryMode == "" {
			cfg.RetryMode = aws.RetryModeAdaptive
		}
		if cfg.RetryMaxAttempts == 0 {
			cfg.RetryMaxAttempts = MaxAttempts
		}
		// Built here rather than left to each client from RetryMode, so
		// that BoundAttempts wraps it: truncated responses are retried.
		if cfg.RetryMode == aws.RetryModeStandard {
			cfg.Retryer = func() aws.Retryer { return retry.NewStandard() }
		} else {
			cfg.Retryer = func() aws.Retryer { return retry.NewAdaptiveMode() }
		}
	}
	cfg.AppID = AppID
	cfg.APIOptions = append([]func(*middleware.Stack) error{attemptCounter}, cfg.APIOptions...) // see retry.go
}

// NewSession is a live session on cfg (already Configured): it bounds every
// attempt (RAMPART_AWS_ATTEMPT_TIMEOUT) and reads EnvS3PathStyle through
// getenv. It makes no AWS call: the account is left to the loader.
func NewSession(cfg aws.Config, getenv func(string) string) (*Session, error) {
	if err := withAttemptBounds(&cfg); err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("load AWS configuration: no region (set AWS_REGION)")
	}
	pathStyle, err := Bool(getenv, EnvS3PathStyle)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	return &Session{Region: cfg.Region, Partition: PartitionOf(cfg.Region), S3PathStyle: pathStyle, cfg: cfg}, nil
}

// Bool reads a boolean setting: unset or empty is false; anything
// strconv.ParseBool does not read is an error, not a silent false.
func Bool(getenv func(string) string, name string) (bool, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s: %q is not true or false", name, v)
	}
	return b, nil
}

// NewOffline is a session that makes no AWS calls.
func NewOffline(region string) *Session {
	return &Session{Offline: true, Region: region, Partition: PartitionOf(region)}
}

// Config is the session's aws.Config.
func (s *Session) Config() aws.Config { return s.cfg }

// Client returns the session's client of type C, building it with newFn (a
// service's NewFromConfig) on first use. It panics on an offline session:
// a rule evaluating offline must decide from the trigger alone.
func Client[C any, O any](s *Session, newFn func(aws.Config, ...func(*O)) C, optFns ...func(*O)) C {
	if s.Offline {
		panic(fmt.Sprintf("awsclient: %v requested from an offline session", reflect.TypeFor[C]()))
	}
	key := reflect.TypeFor[C]()
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[key]; ok {
		return c.(C)
	}
	if s.clients == nil {
		s.clients = map[reflect.Type]any{}
	}
	c := newFn(s.cfg, optFns...)
	s.clients[key] = c
	return c
}

// ErrorCode is the AWS error code of err ("InvalidPermission.NotFound",
// "TrailNotFoundException", …), or "" when err carries none.
func ErrorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// HasCode reports whether err carries one of the AWS error codes.
func HasCode(err error, codes ...string) bool {
	code := ErrorCode(err)
	if code == "" {
		return false
	}
	for _, c := range codes {
		if c == code {
			return true
		}
	}
	return false
}
