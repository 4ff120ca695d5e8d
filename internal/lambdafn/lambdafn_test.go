package lambdafn

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
)

// sweep is a 200-group sweep in which every revoke failed: the case whose
// error used to carry every decision's JSON.
func sweep() *engine.Result {
	res := &engine.Result{}
	for i := range 200 {
		id := fmt.Sprintf("sg-%017d", i)
		var acts []rule.Action
		for p := range 3 {
			a := rule.NewAction("ec2:RevokeSecurityGroupIngress", id, "revoke tcp 22 from 0.0.0.0/0 and ::/0 on "+id,
				map[string]any{"groupId": id, "ipPermissions": strings.Repeat(fmt.Sprint(p), 200)}, nil)
			a.Outcome, a.Error = rule.Failed, "api error RequestLimitExceeded: Request limit exceeded."
			acts = append(acts, a)
		}
		res.Decisions = append(res.Decisions, report.Decision{Rule: "sg-open-world", Resource: id, ResourceType: "AWS::EC2::SecurityGroup",
			Verdict: rule.Violation, Reason: "world-open SSH", Mode: "enforce", Actions: acts})
	}
	return res
}

func TestTheErrorOfAFailedInvocationIsBounded(t *testing.T) {
	res := sweep()
	full, _ := json.Marshal(res.Decisions)
	s := summary(res)
	if len(full) < 100_000 || len(s) > 4096 {
		t.Fatalf("summary of %d bytes (the decisions' JSON: %d)", len(s), len(full))
	}
	for _, want := range []string{"200 of 200 decisions failed", "violation 200", "failed 600", "sg-00000000000000000 (sg-open-world)",
		"sg-00000000000000019", "and 180 more", "first error: ec2:RevokeSecurityGroupIngress: api error RequestLimitExceeded"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q: %s", want, s)
		}
	}
	if strings.Contains(s, "sg-00000000000000020") {
		t.Errorf("summary names more than %d resources", maxFailedIDs)
	}
	// A failure with no failing action names the decision's own error.
	one := &engine.Result{Decisions: []report.Decision{{Rule: "r", Resource: "x", Verdict: engine.ErrorVerdict, Error: "describe failed"},
		{Rule: "r", Resource: "y", Verdict: rule.Compliant}}}
	if s := summary(one); !strings.Contains(s, "1 of 2 decisions failed") || !strings.Contains(s, "first error: describe failed") {
		t.Fatal(s)
	}
}

func TestRejectedPayloadsAreCounted(t *testing.T) {
	e, err := engine.New(engine.Config{}, &awsclient.Session{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	var metrics bytes.Buffer
	e.Log, e.Metrics = slog.New(slog.NewJSONHandler(io.Discard, nil)), &metrics
	h := &Handler{Engine: e}
	resp, err := h.Invoke(context.Background(), json.RawMessage(`{"hello":"world"}`))
	if err != nil || resp.Rejected == "" {
		t.Fatalf("%+v, %v", resp, err)
	}
	var rec map[string]any
	if err := json.Unmarshal(metrics.Bytes(), &rec); err != nil || rec[report.MetricRejected] != float64(1) {
		t.Fatalf("metrics %q: %v", metrics.String(), err)
	}
}

func TestSweepConcurrencySetting(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	env := func(v string) func(string) string {
		return func(k string) string {
			return map[string]string{engine.EnvSweepConcurrency: v, "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret",
				"AWS_REGION": "us-east-1"}[k]
		}
	}
	if _, err := New(context.Background(), env("lots")); err == nil || !strings.Contains(err.Error(), engine.EnvSweepConcurrency) {
		t.Fatalf("a bad concurrency was accepted: %v", err)
	}
	for v, want := range map[string]int{"": engine.DefaultSweepConcurrency, "1": 1, "32": 32} {
		if got, err := engine.SweepConcurrencyFromEnv(env(v)); err != nil || got != want {
			t.Errorf("%q: %d, %v", v, got, err)
		}
	}
	for _, v := range []string{"0", "65", "-3", "8.5"} {
		if _, err := engine.SweepConcurrencyFromEnv(env(v)); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
}

// nothing is an endpoint that fails the test on any request.
func nothing(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected AWS call %s %s", r.Method, r.URL)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func lambdaEnv(extra map[string]string) func(string) string {
	m := map[string]string{"AWS_ACCESS_KEY_ID": "ASIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token",
		"AWS_REGION": "us-gov-west-1", engine.EnvMode: "report"}
	for k, v := range extra {
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

func quiet(h *Handler) {
	h.Engine.Log, h.Engine.Metrics = slog.New(slog.NewJSONHandler(io.Discard, nil)), io.Discard
}

// The cold start makes no AWS call: the account comes from the first
// invocation's function ARN, and the checks that need it run then.
func TestTheAccountComesFromTheInvokedFunctionARN(t *testing.T) {
	url := nothing(t)
	t.Setenv("AWS_ENDPOINT_URL", url)
	const fn = "arn:aws-us-gov:lambda:us-gov-west-1:111122223333:function:rampart-securitygroup"
	own := engine.EnvOwnRoles

	h, err := New(context.Background(), lambdaEnv(map[string]string{"AWS_ENDPOINT_URL": url}))
	if err != nil {
		t.Fatal(err)
	}
	quiet(h)
	if h.Session.Account != "" {
		t.Fatalf("account %q known at cold start", h.Session.Account)
	}
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{InvokedFunctionArn: fn})
	if _, err := h.Invoke(ctx, json.RawMessage(`{"hello":"world"}`)); err != nil {
		t.Fatal(err)
	}
	if h.Session.Account != "111122223333" || h.Session.Partition != "aws-us-gov" {
		t.Fatalf("session %s/%s", h.Session.Partition, h.Session.Account)
	}

	// An own role in another account: the deployment is misconfigured, and
	// every invocation says so until it is fixed.
	h, err = New(context.Background(), lambdaEnv(map[string]string{"AWS_ENDPOINT_URL": url, own: "arn:aws-us-gov:iam::444455556666:role/rampart"}))
	if err != nil {
		t.Fatal(err)
	}
	quiet(h)
	for range 2 {
		if _, err := h.Invoke(ctx, json.RawMessage(`{"hello":"world"}`)); err == nil || !strings.Contains(err.Error(), "own roles") {
			t.Fatalf("err = %v", err)
		}
	}

	// Not a Lambda function's ARN.
	h, _ = New(context.Background(), lambdaEnv(map[string]string{"AWS_ENDPOINT_URL": url}))
	quiet(h)
	bad := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{InvokedFunctionArn: "arn:aws:iam::111122223333:role/x"})
	if _, err := h.Invoke(bad, json.RawMessage(`{"hello":"world"}`)); err == nil {
		t.Fatal("an IAM ARN was taken for the function's")
	}

	// AWS_ACCOUNT_ID (the SDK's standard variable; the tests set it for the
	// emulator, whose function ARN names a made-up account) wins.
	h, _ = New(context.Background(), lambdaEnv(map[string]string{"AWS_ENDPOINT_URL": url, "AWS_ACCOUNT_ID": "777788889999"}))
	quiet(h)
	if h.Session.Account != "777788889999" {
		t.Fatalf("account %q", h.Session.Account)
	}
	if _, err := h.Invoke(ctx, json.RawMessage(`{"hello":"world"}`)); err != nil || h.Session.Account != "777788889999" {
		t.Fatalf("%v, account %q", err, h.Session.Account)
	}
}
