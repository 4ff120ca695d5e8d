package awsclient_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/awsclient/sdkconfig"
)

const notFound = `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>InvalidPermission.NotFound</Code><Message>gone</Message></Error></Errors><RequestID>r</RequestID></Response>`
const throttled = `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>slow down</Message></Error></Errors><RequestID>r</RequestID></Response>`
const internal = `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>InternalError</Code><Message>oops</Message></Error></Errors><RequestID>r</RequestID></Response>`

// TestAttemptsTellABlindRetry drives a real EC2 client through the SDK's
// retry loop against a server whose first answer is scripted, and checks
// which first attempts count as possibly carried out.
// callerIdentity is STS's answer to the GetCallerIdentity Load makes.
const callerIdentity = `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>` +
	`<Arn>arn:aws:iam::123456789012:user/test</Arn><UserId>AIDTEST</UserId><Account>123456789012</Account>` +
	`</GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`

func TestAttemptsTellABlindRetry(t *testing.T) {
	cases := []struct {
		name  string
		first func(w http.ResponseWriter)
		blind bool
	}{
		{"lost response", func(w http.ResponseWriter) {
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
		}, true},
		{"server error", func(w http.ResponseWriter) { w.WriteHeader(500); _, _ = w.Write([]byte(internal)) }, true},
		{"throttled", func(w http.ResponseWriter) { w.WriteHeader(503); _, _ = w.Write([]byte(throttled)) }, false},
		{"no retry at all", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if body, _ := io.ReadAll(r.Body); strings.Contains(string(body), "Action=GetCallerIdentity") {
					_, _ = w.Write([]byte(callerIdentity)) // Load resolves the account once
					return
				}
				if n.Add(1) == 1 && tc.first != nil {
					tc.first(w)
					return
				}
				w.WriteHeader(400)
				_, _ = w.Write([]byte(notFound))
			}))
			defer srv.Close()
			s, err := sdkconfig.Load(context.Background(), config.WithBaseEndpoint(srv.URL), config.WithRegion("us-east-1"),
				config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKID", "secret", "")))
			if err != nil {
				t.Fatal(err)
			}
			ctx, att := awsclient.WithAttempts(context.Background())
			_, err = awsclient.Client(s, ec2.NewFromConfig).RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String("sg-1")})
			if !awsclient.HasCode(err, "InvalidPermission.NotFound") {
				t.Fatalf("err = %v", err)
			}
			call, blind := att.MutationRetriedBlind()
			if blind != tc.blind {
				t.Fatalf("blind = %v (%q), want %v; calls %+v", blind, call, tc.blind, att.Calls())
			}
			if blind && call != "EC2 RevokeSecurityGroupIngress" {
				t.Fatalf("call = %q", call)
			}
			wantAttempts := 2
			if tc.first == nil {
				wantAttempts = 1
			}
			if c := att.Calls(); len(c) != 1 || c[0].Attempts != wantAttempts {
				t.Fatalf("calls %+v", c)
			}
		})
	}
	// A context without a recorder is not recorded, and a nil recorder is harmless.
	var none *awsclient.Attempts
	if _, blind := none.MutationRetriedBlind(); blind {
		t.Fatal("nil recorder")
	}
}

func TestMutating(t *testing.T) {
	for op, want := range map[string]bool{"RevokeSecurityGroupIngress": true, "DescribeSecurityGroups": false, "ListUsers": false,
		"GetBucketTagging": false, "HeadBucket": false, "PutBucketPolicy": true, "StartLogging": true} {
		if got := (&awsclient.Call{Operation: op}).Mutating(); got != want {
			t.Errorf("%s: %v", op, got)
		}
	}
}
