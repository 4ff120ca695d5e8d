package awsclient

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// env is a getenv over a map.
func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func lambdaEnv(extra map[string]string) map[string]string {
	m := map[string]string{"AWS_ACCESS_KEY_ID": "ASIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token", "AWS_REGION": "eu-west-1"}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestLoadLambdaReadsOnlyTheEnvironment(t *testing.T) {
	s, err := LoadLambda(env(lambdaEnv(nil)))
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.Config()
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "ASIAEXAMPLE" || creds.SecretAccessKey != "secret" || creds.SessionToken != "token" {
		t.Fatalf("credentials %+v, %v", creds, err)
	}
	if s.Region != "eu-west-1" || s.Partition != "aws" || s.Account != "" || s.S3PathStyle {
		t.Fatalf("session %+v", s)
	}
	if cfg.RetryMode != aws.RetryModeAdaptive || cfg.RetryMaxAttempts != MaxAttempts || cfg.Retryer == nil || cfg.AppID != AppID || cfg.BaseEndpoint != nil {
		t.Fatalf("config: mode %q, attempts %d, app %q, endpoint %v", cfg.RetryMode, cfg.RetryMaxAttempts, cfg.AppID, cfg.BaseEndpoint)
	}
	// attempt counter (retry.go) and attempt timeout (timeout.go)
	if len(cfg.APIOptions) != 2 {
		t.Fatalf("%d API options, want the attempt counter and the attempt timeout", len(cfg.APIOptions))
	}

	s, err = LoadLambda(env(lambdaEnv(map[string]string{"AWS_ACCOUNT_ID": "111122223333", "AWS_REGION": "", "AWS_DEFAULT_REGION": "cn-north-1",
		"AWS_ENDPOINT_URL": "https://vpce.example", EnvS3PathStyle: "true"})))
	if err != nil {
		t.Fatal(err)
	}
	if s.Account != "111122223333" || s.Region != "cn-north-1" || s.Partition != "aws-cn" || !s.S3PathStyle || aws.ToString(s.Config().BaseEndpoint) != "https://vpce.example" {
		t.Fatalf("session %+v", s)
	}

	for name, bad := range map[string]map[string]string{
		"no credentials":   {"AWS_ACCESS_KEY_ID": ""},
		"no secret":        {"AWS_SECRET_ACCESS_KEY": ""},
		"no region":        {"AWS_REGION": ""},
		"a bad account":    {"AWS_ACCOUNT_ID": "1234"},
		"a bad path style": {EnvS3PathStyle: "yes please"},
		"a bad FIPS flag":  {"AWS_USE_FIPS_ENDPOINT": "maybe"},
		"a bad timeout":    {EnvAttemptTimeout: "soon"},
	} {
		if name == "a bad timeout" { // read by timeout.go from the process environment
			t.Setenv(EnvAttemptTimeout, "soon")
		}
		if _, err := LoadLambda(env(lambdaEnv(bad))); err == nil {
			t.Errorf("%s: loaded", name)
		}
		t.Setenv(EnvAttemptTimeout, "")
	}
}

func TestLoadLambdaEndpointSettings(t *testing.T) {
	src, err := envSourceFrom(env(map[string]string{"AWS_ENDPOINT_URL": "http://all", "AWS_ENDPOINT_URL_S3_CONTROL": "http://control", "AWS_USE_FIPS_ENDPOINT": "true"}))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, _ := src.GetServiceBaseEndpoint(context.Background(), "S3 Control"); !ok || v != "http://control" {
		t.Errorf("S3 Control: %q %v", v, ok)
	}
	if _, ok, _ := src.GetServiceBaseEndpoint(context.Background(), "EC2"); ok {
		t.Error("EC2 has no endpoint of its own")
	}
	if v, ok, _ := src.GetUseFIPSEndpoint(context.Background()); !ok || v != aws.FIPSEndpointStateEnabled {
		t.Errorf("FIPS %v %v", v, ok)
	}
	if _, ok, _ := src.GetUseDualStackEndpoint(context.Background()); ok {
		t.Error("dual-stack not set")
	}
	src, _ = envSourceFrom(env(map[string]string{"AWS_ENDPOINT_URL": "http://all", "AWS_ENDPOINT_URL_S3": "http://s3", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}))
	if _, ok, _ := src.GetServiceBaseEndpoint(context.Background(), "S3"); ok || src.base != "" {
		t.Error("configured endpoints not ignored")
	}
}

// LoadLambda's configuration keeps the hooks: the per-service endpoint
// variable reaches the client, and a truncated response is retried (the
// retryer Configure builds is wrapped by BoundAttempts).
func TestLoadLambdaRetriesATruncatedResponse(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		if calls.Add(1) == 1 {
			io.WriteString(w, topics[:len(topics)/3])
			return
		}
		if !strings.Contains(r.Header.Get("User-Agent"), "app/"+AppID) {
			t.Errorf("user agent %q", r.Header.Get("User-Agent"))
		}
		io.WriteString(w, topics)
	}))
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL_SNS", srv.URL)
	s, err := LoadLambda(env(lambdaEnv(map[string]string{"AWS_ENDPOINT_URL_SNS": srv.URL})))
	if err != nil {
		t.Fatal(err)
	}
	ctx, att := WithAttempts(context.Background())
	out, err := Client(s, sns.NewFromConfig).ListTopics(ctx, &sns.ListTopicsInput{})
	if err != nil || len(out.Topics) != 1 || calls.Load() != 2 {
		t.Fatalf("%v after %d calls", err, calls.Load())
	}
	if c := att.Calls(); len(c) != 1 || c[0].Attempts != 2 {
		t.Fatalf("attempts %+v", c)
	}
}

func TestSetIdentity(t *testing.T) {
	for _, tc := range []struct {
		account, partition string
		ok                 bool
	}{
		{"111122223333", "aws", true}, {"111122223333", "aws-us-gov", true}, {"111122223333", "aws-iso-b", true},
		{"11112222333", "aws", false}, {"111122223333", "azure", false}, {"", "aws", false},
	} {
		s := &Session{}
		if err := s.SetIdentity(tc.account, tc.partition); (err == nil) != tc.ok {
			t.Errorf("%s/%s: %v", tc.account, tc.partition, err)
		} else if tc.ok && (s.Account != tc.account || s.Partition != tc.partition) {
			t.Errorf("session %+v", s)
		}
	}
	s := &Session{Account: "111122223333"}
	if err := s.SetIdentity("444455556666", "aws"); err == nil {
		t.Error("an identity already set was changed")
	}
}
