// Package awsclient builds AWS SDK clients once per process (once per Lambda
// cold start) from config.LoadDefaultConfig, with adaptive retries and
// Rampart's user-agent marker, and classifies AWS errors by code. It resolves
// the session's account and partition once, and routes a session to another
// region or (through a member role) another account (see Session.For).
//
// It knows no rule and no service in particular: rule packages ask it for the
// clients they need, so each Lambda binary links only its own services.
package awsclient

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// AppID is added to the user agent of every call Rampart makes
// ("app/rampart"), so CloudTrail records of Rampart's own calls can be told
// apart by the loop guard even before its role is configured.
const AppID = "rampart"

// Session hands out SDK clients built from one aws.Config. An offline session
// (for `rampart plan`) has no configuration and refuses to build clients.
type Session struct {
	Offline bool
	Region  string
	// Account and Partition are where the session's credentials act,
	// resolved once by Load (sts:GetCallerIdentity). They are empty on a
	// session built without an identity (offline, or a test's bare value).
	Account   string
	Partition string
	// MemberRole is the member remediation role's name, with its path if
	// any ("rampart-member", "rampart/rampart-member"): For assumes
	// arn:<partition>:iam::<account>:role/<MemberRole> to act in another
	// account. Empty: For refuses every other account. Set it before the
	// first For call.
	MemberRole string
	// Endpoint is AWS_ENDPOINT_URL when set (moto, LocalStack): S3 clients
	// then use path-style addressing.
	Endpoint string

	cfg     aws.Config
	mu      sync.Mutex
	clients map[reflect.Type]any
	routes  *routes // shared by a session and all the sessions For derives from it
}

// Load builds a live session from the environment (credentials, region,
// AWS_ENDPOINT_URL).
func Load(ctx context.Context, opts ...func(*config.LoadOptions) error) (*Session, error) {
	opts = append([]func(*config.LoadOptions) error{
		config.WithRetryMode(aws.RetryModeAdaptive),
		config.WithRetryMaxAttempts(5),
		config.WithAppID(AppID),
		config.WithAPIOptions([]func(*middleware.Stack) error{attemptCounter}), // see retry.go
	}, opts...)
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if err := withAttemptBounds(&cfg); err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("load AWS configuration: no region (set AWS_REGION)")
	}
	s := &Session{Region: cfg.Region, Endpoint: os.Getenv("AWS_ENDPOINT_URL"), cfg: cfg}
	if err := s.resolveIdentity(ctx); err != nil {
		return nil, err
	}
	return s, nil
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
