package s3bucket

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rampart-aws/rampart/internal/awsclient"
)

func TestRequestBucket(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ req, want, err string }{
		{`{"bucketName":"logs-1"}`, "logs-1", ""},
		{`{"bucketName":["logs-2"]}`, "logs-2", ""},
		{`{"bucketName":" logs-3 ","Host":"other.s3.amazonaws.com"}`, "logs-3", ""},
		{`{"Host":"logs-4.s3.us-east-1.amazonaws.com"}`, "logs-4", ""},
		{`{"Host":["Logs-5.S3-eu-west-1.amazonaws.com"]}`, "logs-5", ""},
		{`{"Host":"s3.amazonaws.com"}`, "", "no bucketName"},
		{`{}`, "", "no bucketName"},
		{`{"bucketName":"Bad_Name!"}`, "", "not a bucket name"},
		{`{"bucketName":"ab"}`, "", "not a bucket name"},
	} {
		var r Request
		if err := json.Unmarshal([]byte(c.req), &r); err != nil {
			t.Fatalf("%s: %v", c.req, err)
		}
		got, err := r.Bucket()
		if got != c.want || (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: Bucket() = %q, %v; want %q, %q", c.req, got, err, c.want, c.err)
		}
	}
}

// capture records the request a client would send, and sends nothing.
type capture struct{ url *url.URL }

func (c *capture) Do(r *http.Request) (*http.Response, error) {
	c.url = r.URL
	return nil, errors.New("captured")
}

// Product behaviour never depends on AWS_ENDPOINT_URL: a deployment that
// sets it (a VPC endpoint) gets virtual-hosted addressing; path-style only
// when awsclient.EnvS3PathStyle says so (the tests, the demo).
func TestPathStyleOnlyWhenSaidSo(t *testing.T) {
	const vpce = "https://bucket.vpce-0a1b2c3d4e5f.s3.us-east-1.vpce.amazonaws.com"
	for _, tc := range []struct {
		pathStyle          string
		wantHost, wantPath string
	}{
		{"", "logs-1.bucket.vpce-0a1b2c3d4e5f.s3.us-east-1.vpce.amazonaws.com", "/"},
		{"false", "logs-1.bucket.vpce-0a1b2c3d4e5f.s3.us-east-1.vpce.amazonaws.com", "/"},
		{"true", "bucket.vpce-0a1b2c3d4e5f.s3.us-east-1.vpce.amazonaws.com", "/logs-1"},
	} {
		t.Setenv("AWS_ENDPOINT_URL", vpce)
		env := map[string]string{"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-east-1",
			"AWS_ENDPOINT_URL": vpce, awsclient.EnvS3PathStyle: tc.pathStyle}
		s, err := awsclient.LoadLambda(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		c := Client(s)
		if c.Options().UsePathStyle != (tc.pathStyle == "true") {
			t.Errorf("%q: UsePathStyle %v", tc.pathStyle, c.Options().UsePathStyle)
		}
		var got capture
		_, _ = c.GetBucketTagging(context.Background(), &s3.GetBucketTaggingInput{Bucket: aws.String("logs-1")},
			func(o *s3.Options) { o.HTTPClient = &got })
		if got.url == nil || got.url.Host != tc.wantHost || got.url.Path != tc.wantPath {
			t.Errorf("%q: request to %v, want host %s path %s", tc.pathStyle, got.url, tc.wantHost, tc.wantPath)
		}
	}
}
