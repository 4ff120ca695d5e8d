package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/catalog"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/demo"
	"github.com/rampart-aws/rampart/internal/testing/lambdatest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

func TestMain(m *testing.M) {
	code := mototest.Main(m)
	lambdatest.Cleanup()
	os.Exit(code)
}

var ctx = context.Background()

// deploy runs a function under the emulator with the environment a deployed
// Lambda gets: Lambda's own variables, the deployment's Rampart settings,
// region and credentials, and AWS_ENDPOINT_URL pointing at moto. extra
// overrides (credentials of a restricted IAM user).
func deploy(t *testing.T, function string, d lambdatest.Deployment, extra ...map[string]string) *lambdatest.Function {
	t.Helper()
	srv := mototest.Shared(t)
	env := lambdatest.Merge(append([]map[string]string{lambdatest.LambdaEnv(function), srv.Env(), d.Env()}, extra...)...)
	return lambdatest.Run(t, function, env)
}

// invoke sends a payload and decodes the function's response; a transport
// failure fails the test, a function error is returned in the Invocation.
func invoke(t *testing.T, f *lambdatest.Function, payload []byte) (*lambdatest.Invocation, demo.Response) {
	t.Helper()
	inv, err := f.Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	var r demo.Response
	if !inv.FunctionError {
		if err := json.Unmarshal(inv.Body, &r); err != nil {
			t.Fatalf("response is not {decisions, rejected}: %s", inv.Body)
		}
	}
	return inv, r
}

// succeed invokes and fails the test on a function error or a rejection.
func succeed(t *testing.T, f *lambdatest.Function, payload []byte) []report.Decision {
	t.Helper()
	inv, r := invoke(t, f, payload)
	if inv.FunctionError {
		t.Fatalf("function error %s: %s", inv.ErrorType, inv.ErrorMessage)
	}
	if r.Rejected != "" {
		t.Fatalf("rejected: %s", r.Rejected)
	}
	return r.Decisions
}

// record runs fn with moto's request recorder on and returns the calls made.
func record(t *testing.T, fn func()) []string {
	t.Helper()
	srv := mototest.Shared(t)
	if err := srv.StartRecording(); err != nil {
		t.Fatal(err)
	}
	fn()
	calls, err := srv.Calls()
	if err != nil {
		t.Fatal(err)
	}
	return calls
}

// changes are the recorded calls that can change a resource.
func changes(calls []string) []string { return lambdatest.Changes(calls) }

// functionRules are the catalog's rules of a function.
func functionRules(function string) []rule.Rule { return catalog.Functions()[function] }

// setAuth turns moto's IAM enforcement on ("0": from the next request) or
// off ("inf"), through its /moto-api/reset-auth endpoint.
func setAuth(t *testing.T, count string) {
	t.Helper()
	srv := mototest.Shared(t)
	resp, err := http.Post(srv.URL+"/moto-api/reset-auth", "text/plain", bytes.NewBufferString(count))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reset-auth %s: %s", count, resp.Status)
	}
}

// enforceIAM makes moto check every request against IAM policies until the
// test ends.
func enforceIAM(t *testing.T) {
	t.Helper()
	setAuth(t, "0")
	t.Cleanup(func() { setAuth(t, "inf") })
}

// iamUser creates a user allowed exactly the actions, and returns the
// environment that gives a function its access key.
func iamUser(t *testing.T, s *awsclient.Session, name string, actions []string) map[string]string {
	t.Helper()
	client := awsclient.Client(s, iam.NewFromConfig)
	if _, err := client.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if len(actions) > 0 { // none: a user without any permission
		policy, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{
			{"Effect": "Allow", "Action": actions, "Resource": "*"}}})
		if _, err := client.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name),
			PolicyName: aws.String(name), PolicyDocument: aws.String(string(policy))}); err != nil {
			t.Fatal(err)
		}
	}
	key, err := client.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"AWS_ACCESS_KEY_ID":     aws.ToString(key.AccessKey.AccessKeyId),
		"AWS_SECRET_ACCESS_KEY": aws.ToString(key.AccessKey.SecretAccessKey),
	}
}

// declaredActions are the IAM actions a function's rules declare (reads,
// and writes too when withWrites) and those infra grants for reporting:
// config:PutEvaluations when a rule is a Config rule, sns:Publish for the
// notifications — unless a rule of the function declares sns:Publish as
// its write action (its remediation is the alert), which then comes with
// the writes only.
func declaredActions(function string, withWrites bool) []string {
	var out []string
	alertOnly := false
	for _, r := range functionRules(function) {
		m := r.Meta()
		out = append(out, m.ReadActions...)
		if withWrites {
			out = append(out, m.WriteActions...)
		}
		if m.Config != nil {
			out = append(out, "config:PutEvaluations")
		}
		alertOnly = alertOnly || slices.Contains(m.WriteActions, rule.AlertAPI)
	}
	if withWrites || !alertOnly {
		out = append(out, rule.AlertAPI)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// seeded is a scenario's resource after seeding, in an account whose
// Rampart deployment has an SNS topic.
type seeded struct {
	demo.Scenario
	sess     *awsclient.Session
	fixture  demo.Fixture
	topic    *mototest.Topic
	before   []string
	payloads [][]byte
}

// seed resets moto, creates the deployment's topic and seeds the scenario's
// resource.
func seed(t *testing.T, sc demo.Scenario) *seeded {
	t.Helper()
	s := mototest.Session(t)
	topic := mototest.NewTopic(t, s, "rampart-alerts")
	f, err := sc.Seed(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	before, err := sc.ReadState(ctx, s, f)
	if err != nil {
		t.Fatal(err)
	}
	payloads, err := sc.Payloads(f)
	if err != nil {
		t.Fatal(err)
	}
	if !sc.AlertOnly() && demo.SameState(before, sc.Want) {
		t.Fatalf("the seeded state already is the wanted one: %q", before)
	}
	return &seeded{Scenario: sc, sess: s, fixture: f, topic: topic, before: before, payloads: payloads}
}

func (s *seeded) state(t *testing.T) []string {
	t.Helper()
	got, err := s.ReadState(ctx, s.sess, s.fixture)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (s *seeded) deployment(mode engine.Mode) lambdatest.Deployment {
	return lambdatest.Deployment{Mode: mode, Params: demo.Params([]demo.Scenario{s.Scenario}), TopicARN: s.topic.ARN}
}

// notified checks that the topic received a notification for every
// violation among the decisions, and returns how many it received.
func (s *seeded) notified(t *testing.T, ds []report.Decision) int {
	t.Helper()
	got := s.topic.Received(t)
	for _, d := range ds {
		if d.Verdict != rule.Violation {
			continue
		}
		if !slices.ContainsFunc(got, func(n mototest.Notification) bool {
			// The subject is cut at SNS's 100 characters; the body names the resource.
			return n.Attributes["rule"] == d.Rule && strings.Contains(n.Subject+n.Message, d.Resource)
		}) {
			t.Errorf("no notification of %s on %s among %d received", d.Rule, d.Resource, len(got))
		}
	}
	return len(got)
}

func summarize(ds []report.Decision) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "\n  %s %s %s: %s [%s]", d.Rule, d.Resource, d.Verdict, d.Reason, d.Did())
		if d.Error != "" {
			fmt.Fprintf(&b, " error: %s", d.Error)
		}
	}
	return b.String()
}
