package s3publicaccess

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/rampart-aws/rampart/internal/awsclient"
)

type captureHost struct{ host string }

func (c *captureHost) Do(r *http.Request) (*http.Response, error) {
	c.host = r.URL.Host
	return nil, errors.New("captured")
}

// The S3 Control host keeps its account label whatever endpoint is
// configured (a VPC endpoint); only the explicit emulator setting takes it
// off.
func TestControlHostOnlyRewrittenWhenSaidSo(t *testing.T) {
	const vpce = "https://control.vpce-0a1b2c3d4e5f.s3-control.us-east-1.vpce.amazonaws.com"
	for pathStyle, want := range map[string]string{
		"":     "123456789012.control.vpce-0a1b2c3d4e5f.s3-control.us-east-1.vpce.amazonaws.com",
		"true": "control.vpce-0a1b2c3d4e5f.s3-control.us-east-1.vpce.amazonaws.com",
	} {
		t.Setenv("AWS_ENDPOINT_URL", vpce)
		env := map[string]string{"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-east-1",
			"AWS_ENDPOINT_URL": vpce, awsclient.EnvS3PathStyle: pathStyle}
		s, err := awsclient.LoadLambda(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		var got captureHost
		_, _ = controlClient(s).GetPublicAccessBlock(context.Background(), &s3control.GetPublicAccessBlockInput{AccountId: aws.String("123456789012")},
			func(o *s3control.Options) { o.HTTPClient = &got })
		if got.host != want {
			t.Errorf("path style %q: host %q, want %q", pathStyle, got.host, want)
		}
	}
}
