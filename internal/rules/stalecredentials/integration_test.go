package stalecredentials_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/stalecredentials"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

func iamc(s *awsclient.Session) *iam.Client { return awsclient.Client(s, iam.NewFromConfig) }

// seed makes the users of every case and returns their access key IDs:
//   - alice: a password and a key she used (moto records the use when a
//     request is signed with the key);
//   - bob: a key never used;
//   - carol: a key already inactive;
//   - dave: no credentials;
//   - erin: a password only;
//   - frank: a key never used, and the exemption tag.
func seed(t *testing.T, s *awsclient.Session) map[string]string {
	t.Helper()
	ctx := context.Background()
	c := iamc(s)
	keys := map[string]string{}
	for _, u := range []string{"alice", "bob", "carol", "dave", "erin", "frank"} {
		in := &iam.CreateUserInput{UserName: aws.String(u)}
		if u == "frank" {
			in.Tags = []iamtypes.Tag{{Key: aws.String("rampart:exempt"), Value: aws.String("legacy integration, rotating in Q2; owner=platform@example.com; expires=" + time.Now().AddDate(0, 0, 30).Format(time.DateOnly))}}
		}
		if _, err := c.CreateUser(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"alice", "erin"} {
		if _, err := c.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String(u), Password: aws.String("c0rrect-Horse-battery")}); err != nil {
			t.Fatal(err)
		}
	}
	var aliceSecret string
	for _, u := range []string{"alice", "bob", "carol", "frank"} {
		k, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(u)})
		if err != nil {
			t.Fatal(err)
		}
		keys[u] = aws.ToString(k.AccessKey.AccessKeyId)
		if u == "alice" {
			aliceSecret = aws.ToString(k.AccessKey.SecretAccessKey)
		}
	}
	if _, err := c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("carol"), AccessKeyId: aws.String(keys["carol"]), Status: iamtypes.StatusTypeInactive}); err != nil {
		t.Fatal(err)
	}
	cfg := s.Config().Copy()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(keys["alice"], aliceSecret, "")
	if _, err := iam.NewFromConfig(cfg).ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	return keys
}

// statuses is every key's status, "user:Status".
func statuses(t *testing.T, s *awsclient.Session) []string {
	t.Helper()
	var out []string
	for _, u := range []string{"alice", "bob", "carol", "frank"} {
		l, err := iamc(s).ListAccessKeys(context.Background(), &iam.ListAccessKeysInput{UserName: aws.String(u)})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range l.AccessKeyMetadata {
			out = append(out, u+":"+string(k.Status))
		}
	}
	return out
}

func newEngine(t *testing.T, s *awsclient.Session, mode engine.Mode, now time.Time) *engine.Engine {
	t.Helper()
	r := stalecredentials.Rule.WithClock(func() time.Time { return now }).WithPolling(10*time.Millisecond, 5)
	e, _ := enginetest.New(t, s, engine.Config{Mode: mode}, r)
	return e
}

// sweep runs the scheduled event and returns the decisions by user and the
// calls made, counted by name.
func sweep(t *testing.T, e *engine.Engine) (map[string]report.Decision, map[string]int, engine.Result) {
	t.Helper()
	res, calls := enginetest.Recorded(t, e, enginetest.ScheduledEvent(t, "stale-credentials"))
	by := map[string]report.Decision{}
	for _, d := range res.Decisions {
		if d.Rule != "stale-credentials" {
			t.Fatalf("decision = %+v", d)
		}
		by[strings.TrimPrefix(d.Resource, "arn:aws:iam::123456789012:user/")] = d
	}
	count := map[string]int{}
	for _, c := range calls {
		count[c]++
	}
	return by, count, *res
}

func verdicts(by map[string]report.Decision) []string {
	var out []string
	for u, d := range by {
		out = append(out, u+":"+string(d.Verdict))
	}
	sort.Strings(out)
	return out
}

// Credentials made today are not stale: the sweep reads the report (moto
// answers STARTED, then COMPLETE) and nothing else.
func TestFreshCredentialsAreCompliant(t *testing.T) {
	s := mototest.Session(t)
	seed(t, s)
	by, calls, _ := sweep(t, newEngine(t, s, engine.Enforce, time.Now()))
	// frank's exemption tag is read only when there is something to exempt.
	want := []string{"alice:compliant", "bob:compliant", "carol:compliant", "dave:compliant", "erin:compliant", "frank:compliant"}
	if got := verdicts(by); !slices.Equal(got, want) {
		t.Fatalf("verdicts = %v", got)
	}
	if want := map[string]int{"GenerateCredentialReport": 2, "GetCredentialReport": 1}; !mapsEqual(calls, want) {
		t.Fatalf("calls = %v, want %v", calls, want)
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

// 100 days on, every active key is stale: alice's (used today) and bob's
// (never used) are deactivated, carol's inactive key and frank's exempt key
// are left alone, and the passwords are reported. A second sweep has no key
// left to deactivate, and undo re-activates both.
func TestStaleKeysAreDeactivatedPasswordsReported(t *testing.T) {
	s := mototest.Session(t)
	seed(t, s)
	e := newEngine(t, s, engine.Enforce, time.Now().Add(100*24*time.Hour))
	by, calls, res := sweep(t, e)
	want := []string{"alice:violation", "bob:violation", "carol:compliant", "dave:compliant", "erin:violation", "frank:not_applicable"}
	if got := verdicts(by); !slices.Equal(got, want) {
		t.Fatalf("verdicts = %v", got)
	}
	if got := statuses(t, s); !slices.Equal(got, []string{"alice:Inactive", "bob:Inactive", "carol:Inactive", "frank:Active"}) {
		t.Fatalf("statuses = %v", got)
	}
	alice := by["alice"]
	if len(alice.Actions) != 1 || alice.Actions[0].Outcome != rule.Applied ||
		!strings.Contains(alice.Reason, "last used") || !strings.Contains(alice.Reason, "(100 days ago)") || !strings.Contains(alice.Reason, "console password never used") {
		t.Fatalf("alice = %+v", alice)
	}
	if bob := by["bob"]; len(bob.Actions) != 1 || !strings.Contains(bob.Reason, "never used, created") {
		t.Fatalf("bob = %+v", bob)
	}
	if erin := by["erin"]; len(erin.Actions) != 0 || !strings.Contains(erin.Reason, "console password never used") || !strings.Contains(erin.Reason, "reported, not removed") {
		t.Fatalf("erin = %+v", erin)
	}
	if frank := by["frank"]; !strings.Contains(frank.Reason, "legacy integration") || len(frank.Actions) != 0 {
		t.Fatalf("frank = %+v", frank)
	}
	// The report (2 generate + 1 get), then per flagged user: GetUser;
	// for alice, bob and frank ListAccessKeys and one GetAccessKeyLastUsed;
	// two deactivations.
	wantCalls := map[string]int{"GenerateCredentialReport": 2, "GetCredentialReport": 1, "GetUser": 4, "ListAccessKeys": 3, "GetAccessKeyLastUsed": 3, "UpdateAccessKey": 2}
	if !mapsEqual(calls, wantCalls) {
		t.Fatalf("calls = %v\nwant    %v", calls, wantCalls)
	}

	// Again: the keys are inactive now; only the passwords are still reported.
	by, calls, _ = sweep(t, e)
	if got := verdicts(by); !slices.Equal(got, []string{"alice:violation", "bob:compliant", "carol:compliant", "dave:compliant", "erin:violation", "frank:not_applicable"}) {
		t.Fatalf("second sweep verdicts = %v", got)
	}
	if calls["UpdateAccessKey"] != 0 || calls["GenerateCredentialReport"] != 1 {
		t.Fatalf("second sweep calls = %v", calls)
	}

	raw, _ := json.Marshal(res)
	var back engine.Result
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	undone, err := e.Undo(context.Background(), back.Decisions)
	if err != nil || len(undone) != 2 {
		t.Fatalf("undo = %+v, %v", undone, err)
	}
	if got := statuses(t, s); !slices.Equal(got, []string{"alice:Active", "bob:Active", "carol:Inactive", "frank:Active"}) {
		t.Fatalf("after undo = %v", got)
	}
}

func TestReportModeChangesNothing(t *testing.T) {
	s := mototest.Session(t)
	seed(t, s)
	before := statuses(t, s)
	by, calls, _ := sweep(t, newEngine(t, s, engine.Report, time.Now().Add(100*24*time.Hour)))
	if a := by["bob"].Actions; len(a) != 1 || a[0].Outcome != rule.Planned {
		t.Fatalf("bob = %+v", by["bob"])
	}
	if got := statuses(t, s); !slices.Equal(got, before) {
		t.Fatalf("report mode changed %v into %v", before, got)
	}
	if calls["UpdateAccessKey"] != 0 {
		t.Fatalf("calls = %v", calls)
	}
}

// The deployment's maxAgeDays is honoured: at 30 days on, a
// 20-day allowance flags the never-used key but a 45-day one does not.
func TestMaxAgeDaysParameter(t *testing.T) {
	s := mototest.Session(t)
	seed(t, s)
	later := time.Now().Add(30 * 24 * time.Hour)
	for days, want := range map[string]rule.Verdict{"20": rule.Violation, "45": rule.Compliant} {
		r := stalecredentials.Rule.WithClock(func() time.Time { return later }).WithPolling(10*time.Millisecond, 5)
		e, _ := enginetest.New(t, s, engine.Config{Mode: engine.Report, Params: map[string]map[string]string{"stale-credentials": {stalecredentials.ParamMaxAge: days}}}, r)
		by, _, _ := sweep(t, e)
		if got := by["bob"].Verdict; got != want {
			t.Fatalf("maxAgeDays=%s: bob = %s (%s)", days, got, by["bob"].Reason)
		}
	}
}

// Apply against moto: deactivating a deleted key is a no-op; re-activating
// it is an error (the undo cannot bring a deleted key back).
func TestApplyOnDeletedKey(t *testing.T) {
	s := mototest.Session(t)
	keys := seed(t, s)
	ctx := context.Background()
	if _, err := iamc(s).DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: aws.String(keys["bob"])}); err != nil {
		t.Fatal(err)
	}
	b, err := rule.BindWith(stalecredentials.Rule, nil)
	if err != nil {
		t.Fatal(err)
	}
	env := rule.Env{Session: s}
	off := rule.NewAction("iam:UpdateAccessKey", "bob", "", map[string]string{"userName": "bob", "accessKeyId": keys["bob"], "status": "Inactive"}, nil)
	if err := b.Apply(ctx, env, off); err == nil || !strings.Contains(err.Error(), rule.ErrNoOp.Error()) {
		t.Fatalf("deactivate deleted key = %v", err)
	}
	on := rule.NewAction("iam:UpdateAccessKey", "bob", "", map[string]string{"userName": "bob", "accessKeyId": keys["bob"], "status": "Active"}, nil)
	if err := b.Apply(ctx, env, on); err == nil || !awsclient.HasCode(err, "NoSuchEntity") {
		t.Fatalf("re-activate deleted key = %v", err)
	}
}

// The sweep needs AWS: offline the engine never calls it, and the plan says
// what a live run would read instead of planning from nothing.
func TestOfflineSweepSaysWhatALiveRunReads(t *testing.T) {
	e, _ := enginetest.New(t, awsclient.NewOffline("us-east-1"), engine.Config{}, stalecredentials.Rule)
	res, err := e.Handle(context.Background(), enginetest.ScheduledEvent(t, "stale-credentials"))
	if err != nil || len(res.Decisions) != 1 || !strings.Contains(res.Decisions[0].Reason, "a live run lists every AWS::IAM::User") ||
		!strings.Contains(res.Decisions[0].Reason, "iam:GetCredentialReport") {
		t.Fatalf("err = %v, result %+v", err, res)
	}
}
