package exposedaccesskeys_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/exposedaccesskeys"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// moto serves IAM but neither AWS Health nor Trusted Advisor: the events are
// the samples under events/service (real-shaped, from AWS's documentation),
// with the invented key ID replaced by a live one.

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

const (
	health    = "events/service/health-risk-credentials-exposed.json"
	trusted   = "events/service/trustedadvisor-exposed-access-keys.json"
	sampleKey = "AKIAIOSFODNN7EXAMPLE"
)

func iamc(s *awsclient.Session) *iam.Client { return awsclient.Client(s, iam.NewFromConfig) }

// seed makes bob (tagged with his owner) with one key, and carol with one,
// and returns the key IDs by user.
func seed(t *testing.T, s *awsclient.Session) map[string]string {
	t.Helper()
	ctx := context.Background()
	keys := map[string]string{}
	for _, u := range []string{"bob", "carol"} {
		in := &iam.CreateUserInput{UserName: aws.String(u)}
		if u == "bob" {
			in.Tags = []iamtypes.Tag{{Key: aws.String("owner"), Value: aws.String("billing@example.com")}}
		}
		if _, err := iamc(s).CreateUser(ctx, in); err != nil {
			t.Fatal(err)
		}
		k, err := iamc(s).CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(u)})
		if err != nil {
			t.Fatal(err)
		}
		keys[u] = aws.ToString(k.AccessKey.AccessKeyId)
	}
	return keys
}

func status(t *testing.T, s *awsclient.Session, user string) string {
	t.Helper()
	l, err := iamc(s).ListAccessKeys(context.Background(), &iam.ListAccessKeysInput{UserName: aws.String(user)})
	if err != nil || len(l.AccessKeyMetadata) != 1 {
		t.Fatalf("keys of %s: %+v, %v", user, l, err)
	}
	return string(l.AccessKeyMetadata[0].Status)
}

func newEngine(t *testing.T, s *awsclient.Session, mode engine.Mode) *engine.Engine {
	t.Helper()
	e, _ := enginetest.New(t, s, engine.Config{Mode: mode}, exposedaccesskeys.Rule)
	return e
}

func count(calls []string) map[string]int {
	out := map[string]int{}
	for _, c := range calls {
		out[c]++
	}
	return out
}

// AWS Health names only the key: Rampart finds its owner, deactivates it
// (four calls), says where it was found, and the undo re-activates it. The
// same event again finds the key inactive: compliant, no write.
func TestHealthEventDeactivatesTheKeyAndUndoReactivates(t *testing.T) {
	s := mototest.Session(t)
	keys := seed(t, s)
	e := newEngine(t, s, engine.Enforce)
	raw := enginetest.Sample(t, health, sampleKey, keys["bob"])
	res, calls := enginetest.RecordedOne(t, e, raw)
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || d.Resource != keys["bob"] || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied iam:UpdateAccessKey"}) {
		t.Fatalf("decision = %+v", d)
	}
	for _, want := range []string{"of user bob is exposed", "found by AWS Health", "publicly available online at https://github.com/example-org/billing-scripts",
		"owner=billing@example.com", "never used"} {
		if !strings.Contains(d.Reason, want) {
			t.Errorf("reason %q lacks %q", d.Reason, want)
		}
	}
	if got := status(t, s, "bob"); got != "Inactive" {
		t.Fatalf("bob's key is %s", got)
	}
	if got := status(t, s, "carol"); got != "Active" {
		t.Fatalf("carol's key is %s: only the exposed key may change", got)
	}
	want := map[string]int{"GetAccessKeyLastUsed": 1, "ListAccessKeys": 1, "ListUserTags": 1, "UpdateAccessKey": 1}
	if got := count(calls); !mapsEqual(got, want) {
		t.Fatalf("calls = %v, want %v", got, want)
	}

	again, calls := enginetest.RecordedOne(t, e, raw)
	if d := again.Decisions[0]; d.Verdict != rule.Compliant || !strings.Contains(d.Reason, "compliant after the fact") || len(d.Actions) != 0 {
		t.Fatalf("second event = %+v", d)
	}
	if got := count(calls); got["UpdateAccessKey"] != 0 || got["ListUserTags"] != 0 {
		t.Fatalf("second event calls = %v", got)
	}

	if got := enginetest.Undo(t, e, enginetest.RoundTrip(t, res)); !slices.Equal(got, []string{"applied iam:UpdateAccessKey"}) {
		t.Fatalf("undo = %v", got)
	}
	if got := status(t, s, "bob"); got != "Active" {
		t.Fatalf("after undo bob's key is %s", got)
	}
}

// Report mode plans the deactivation and changes nothing.
func TestReportModeChangesNothing(t *testing.T) {
	s := mototest.Session(t)
	keys := seed(t, s)
	res, calls := enginetest.RecordedOne(t, newEngine(t, s, engine.Report), enginetest.Sample(t, trusted, sampleKey, keys["bob"]))
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"planned iam:UpdateAccessKey"}) ||
		!strings.Contains(d.Reason, "at https://github.com/example-org/billing-scripts/blob/4f1c2a9/deploy.env") {
		t.Fatalf("decision = %+v", d)
	}
	if got := status(t, s, "bob"); got != "Active" {
		t.Fatalf("report mode changed bob's key to %s", got)
	}
	if count(calls)["UpdateAccessKey"] != 0 {
		t.Fatalf("calls = %v", calls)
	}
}

// Trusted Advisor names the user: in enforce mode its key is deactivated.
func TestTrustedAdvisorEventDeactivatesTheKey(t *testing.T) {
	s := mototest.Session(t)
	keys := seed(t, s)
	d := enginetest.One(t, newEngine(t, s, engine.Enforce), enginetest.Sample(t, trusted, sampleKey, keys["bob"]))
	if d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied iam:UpdateAccessKey"}) ||
		!strings.Contains(d.Reason, "found by Trusted Advisor (Exposed, ERROR)") || !strings.Contains(d.Reason, "case 02648f3b") {
		t.Fatalf("decision = %+v", d)
	}
	if got := status(t, s, "bob"); got != "Inactive" {
		t.Fatalf("bob's key is %s", got)
	}
}

// Judged against current state: a key that belongs to someone other than
// the user named is alerted on, not touched; a key or user that does not
// exist is reported; another account's event is out of scope and makes no
// call at all.
func TestNothingIsDoneOnAGuess(t *testing.T) {
	s := mototest.Session(t)
	keys := seed(t, s)
	e := newEngine(t, s, engine.Enforce)

	// Trusted Advisor names mallory, who does not exist, for bob's key.
	d := enginetest.One(t, e, enginetest.Sample(t, trusted, sampleKey, keys["bob"], `"bob"`, `"mallory"`))
	if d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"skipped sns:Publish"}) ||
		!strings.Contains(d.Reason, "names user mallory") || !strings.Contains(d.Reason, "belongs to bob") {
		t.Fatalf("mismatch = %+v", d)
	}
	// A key that does not exist, for a user that does not exist.
	d = enginetest.One(t, e, enginetest.Sample(t, trusted, `"bob"`, `"mallory"`))
	if d.Verdict != rule.NotApplicable || len(d.Actions) != 0 || !strings.Contains(d.Reason, "does not exist in this account") {
		t.Fatalf("unknown key = %+v", d)
	}
	// Health names a key this account does not have.
	d = enginetest.One(t, e, enginetest.Sample(t, health))
	if d.Verdict != rule.NotApplicable || !strings.Contains(d.Reason, "AKIAIOSFODNN7EXAMPLE does not exist") {
		t.Fatalf("unknown key from Health = %+v", d)
	}
	// Another account's Trusted Advisor event: out of scope, no call.
	res, calls := enginetest.RecordedOne(t, e, enginetest.Sample(t, trusted, sampleKey, keys["bob"], `"account": "123456789012"`, `"account": "210987654321"`))
	if d := res.Decisions[0]; d.Verdict != rule.Ignored || !strings.Contains(d.Reason, "out of scope") {
		t.Fatalf("other account = %+v", d)
	}
	if len(calls) != 0 {
		t.Fatalf("other account: calls = %v", calls)
	}
	// Health's organizational view: the event reached this account, but the
	// key is another's.
	d = enginetest.One(t, e, enginetest.Sample(t, health, sampleKey, keys["bob"], `"affectedAccount": "123456789012"`, `"affectedAccount": "210987654321"`))
	if d.Verdict != rule.NotApplicable || !strings.Contains(d.Reason, "of account 210987654321, not this one") {
		t.Fatalf("organizational view = %+v", d)
	}
	for _, u := range []string{"bob", "carol"} {
		if got := status(t, s, u); got != "Active" {
			t.Fatalf("%s's key is %s", u, got)
		}
	}
}

// Bad input stops the event before any call; an event the rule's detail
// pattern does not select never reaches it (ignored, no call).
func TestBadInputMakesNoCall(t *testing.T) {
	s := mototest.Session(t)
	seed(t, s)
	e := newEngine(t, s, engine.Enforce)
	for name, raw := range map[string][]byte{
		"no key ID":       enginetest.Sample(t, trusted, `"Access Key ID": "AKIAIOSFODNN7EXAMPLE",`, ``),
		"placeholder key": enginetest.Sample(t, health, sampleKey, "ACCESS_KEY_ID_HERE"),
	} {
		srv := mototest.Record(t)
		res, err := e.Handle(context.Background(), raw)
		calls := srv.Recorded(t)
		if !errors.Is(err, trigger.ErrInput) || len(calls) != 0 {
			t.Errorf("%s: err = %v, result %+v, calls %v", name, err, res, calls)
		}
	}
	for name, raw := range map[string][]byte{
		"another Health type": enginetest.Sample(t, health, `"eventTypeCode": "AWS_RISK_CREDENTIALS_EXPOSED"`, `"eventTypeCode": "AWS_EC2_OPERATIONAL_ISSUE"`),
		"another check":       enginetest.Sample(t, trusted, `"check-name": "Exposed Access Keys"`, `"check-name": "IAM Access Key Rotation"`),
		"an item back to OK":  enginetest.Sample(t, trusted, `"status": "ERROR"`, `"status": "OK"`),
	} {
		res, calls := enginetest.RecordedOne(t, e, raw)
		if d := res.Decisions[0]; d.Verdict != rule.Ignored || !strings.Contains(d.Reason, "does not match the rule's event pattern") || len(calls) != 0 {
			t.Errorf("%s: %+v, calls %v", name, d, calls)
		}
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
