package awsclient

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"
)

// load is sdkconfig.Load against endpoint with dummy credentials and a retryer of
// attempts attempts and a short backoff, so the tests take seconds.
func load(t *testing.T, endpoint, timeout string, attempts int) *Session {
	t.Helper()
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	// The loader resolves the account once with sts:GetCallerIdentity: a stub STS
	// answers it, so the endpoint under test sees only the calls tested.
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>`+
			`<Arn>arn:aws:iam::123456789012:user/test</Arn><UserId>AIDTEST</UserId><Account>123456789012</Account>`+
			`</GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`)
	}))
	t.Cleanup(sts.Close)
	t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv(EnvAttemptTimeout, timeout)
	// What sdkconfig.Load does (it cannot be imported here: it imports
	// this package).
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRetryer(func() aws.Retryer {
		return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
			o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
				so.MaxAttempts, so.MaxBackoff = attempts, 20*time.Millisecond
			})
		})
	}))
	if err != nil {
		t.Fatal(err)
	}
	Configure(&cfg)
	s, err := NewSession(cfg, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ResolveIdentity(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAHungConnectionCostsOneAttemptNotTheDeadline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int32
	var mu sync.Mutex
	var conns []net.Conn
	go func() { // accept and never answer
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() { _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	s := load(t, "http://"+l.Addr().String(), "200ms", 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	_, err = Client(s, sns.NewFromConfig).ListTopics(ctx, &sns.ListTopicsInput{})
	took := time.Since(start)
	var te *AttemptTimeoutError
	if !errors.As(err, &te) || te.After != 200*time.Millisecond {
		t.Fatalf("err = %v, want an attempt timeout", err)
	}
	if took < 600*time.Millisecond || took > 5*time.Second {
		t.Fatalf("took %s: want about 3 attempts of 200ms, far less than the 60s deadline", took)
	}
	if n := accepted.Load(); n != 3 {
		t.Fatalf("%d attempts reached the server, want 3 (every attempt retried)", n)
	}
	if ctx.Err() != nil {
		t.Fatal("the caller's deadline ran out")
	}
}

const topics = `<ListTopicsResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><ListTopicsResult><Topics><member>` +
	`<TopicArn>arn:aws:sns:us-east-1:123456789012:t</TopicArn></member></Topics></ListTopicsResult>` +
	`<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></ListTopicsResponse>`

func TestTruncatedAndMalformedResponsesAreRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1: // the connection drops half-way through the body
			hj, _ := w.(http.Hijacker)
			conn, buf, err := hj.Hijack()
			if err != nil {
				return
			}
			fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s", len(topics), topics[:len(topics)/2])
			_ = buf.Flush()
			conn.Close()
		case 2: // a complete response that is not XML
			w.Header().Set("Content-Type", "text/xml")
			io.WriteString(w, topics[:len(topics)/3])
		default:
			w.Header().Set("Content-Type", "text/xml")
			io.WriteString(w, topics)
		}
	}))
	defer srv.Close()
	s := load(t, srv.URL, "5s", 4)
	out, err := Client(s, sns.NewFromConfig).ListTopics(context.Background(), &sns.ListTopicsInput{})
	if err != nil {
		t.Fatalf("err = %v after %d calls", err, calls.Load())
	}
	if n := calls.Load(); n != 3 || len(out.Topics) != 1 {
		t.Fatalf("%d calls, topics %+v", n, out.Topics)
	}
}

func TestAnUnreadableErrorResponseIsNotRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, "<ErrorResponse><Err")
	}))
	defer srv.Close()
	s := load(t, srv.URL, "5s", 4)
	if _, err := Client(s, sns.NewFromConfig).ListTopics(context.Background(), &sns.ListTopicsInput{}); err == nil || calls.Load() != 1 {
		t.Fatalf("err = %v after %d calls, want a failure after 1", err, calls.Load())
	}
}

func TestTruncatedClassification(t *testing.T) {
	de := &smithy.DeserializationError{Err: io.ErrUnexpectedEOF}
	// The gap this package closes: the SDK's own retryer does not retry it.
	if retry.NewStandard().IsErrorRetryable(de) {
		t.Fatal("the SDK now retries deserialization errors: wrapRetryer may be dropped")
	}
	if !Truncated(fmt.Errorf("op: %w", de)) || !Truncated(&xml.SyntaxError{Msg: "unexpected EOF"}) || !Truncated(fmt.Errorf("x: %w", &json.SyntaxError{})) || Truncated(&smithy.CanceledError{Err: de}) || Truncated(errors.New("x")) || Truncated(nil) {
		t.Fatal("Truncated misclassifies")
	}
	if !wrapRetryer(retry.NewStandard()).IsErrorRetryable(de) || !retry.NewStandard().IsErrorRetryable(&AttemptTimeoutError{}) {
		t.Fatal("not retryable")
	}
}

func TestAttemptTimeoutSetting(t *testing.T) {
	for v, want := range map[string]time.Duration{"": DefaultAttemptTimeout, "3s": 3 * time.Second, " 250ms ": 250 * time.Millisecond} {
		if got, err := AttemptTimeout(func(string) string { return v }); err != nil || got != want {
			t.Errorf("%q: %s, %v", v, got, err)
		}
	}
	for _, v := range []string{"10", "-1s", "0s", "soon"} {
		if _, err := AttemptTimeout(func(string) string { return v }); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
}
