package consolesignin

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/trigger"
)

func decode(t *testing.T, raw []byte) *trigger.APICall {
	t.Helper()
	tr, err := trigger.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Kind != trigger.KindSignIn {
		t.Fatalf("kind = %s, want signin", tr.Kind)
	}
	return tr.Call
}

// evaluate runs Targets and Evaluate offline: the rule must decide the same
// without AWS.
func evaluate(t *testing.T, call *trigger.APICall) (rule.Target, rule.Finding) {
	t.Helper()
	b, err := rule.BindWith(Rule, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := b.Targets(call)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 {
		t.Fatalf("targets = %+v", ts)
	}
	f, err := b.Evaluate(context.Background(), rule.Env{Session: awsclient.NewOffline("us-east-1")}, ts[0])
	if err != nil {
		t.Fatal(err)
	}
	return ts[0], f
}

func TestSampleEvents(t *testing.T) {
	cases := []struct {
		file     string
		target   string
		typ      string
		verdict  rule.Verdict
		alert    bool
		inReason string
	}{
		{"console-login-root.json", "arn:aws:iam::123456789012:root", accountType, rule.Violation, true, "root user signed in to the console from 198.51.100.61 (with MFA)"},
		{"console-login-root-doc-spelling.json", "arn:aws:iam::123456789012:root", accountType, rule.Violation, true, "root user"},
		{"console-login-iam-no-mfa.json", "arn:aws:iam::123456789012:user/alice", userType, rule.Violation, true, "without MFA"},
		{"console-login-failure.json", "mallory", userType, rule.Violation, false, FailedPrefix + " by mallory from 185.220.101.34 (Failed authentication)"},
		{"console-login-iam-mfa.json", "arn:aws:iam::123456789012:user/alice", userType, rule.Compliant, false, "signed in from 198.51.100.23 with MFA"},
		{"console-login-federated-sso.json", "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_AdministratorAccess_4f3a2b1c0d9e8f7a/carol@example.com", roleType, rule.NotApplicable, false, "AssumedRole sign-in from 203.0.113.80"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			tg, f := evaluate(t, decode(t, enginetest.Sample(t, "events/signin/"+c.file)))
			if tg.ID != c.target || tg.Type != c.typ {
				t.Errorf("target = %s %s, want %s %s", tg.Type, tg.ID, c.typ, c.target)
			}
			if f.Verdict != c.verdict || !strings.Contains(f.Reason, c.inReason) {
				t.Errorf("finding = %s %q, want %s containing %q", f.Verdict, f.Reason, c.verdict, c.inReason)
			}
			if got := len(f.Actions) == 1 && f.Actions[0].API == rule.AlertAPI; got != c.alert {
				t.Errorf("actions = %+v, want alert %v", f.Actions, c.alert)
			}
			if c.alert && f.Actions[0].Undo != nil {
				t.Errorf("an alert has no undo: %+v", f.Actions[0])
			}
		})
	}
}

// record builds a sign-in envelope; identity, response and extra are JSON.
func record(identity, response, extra, errorMessage string) []byte {
	em := ""
	if errorMessage != "" {
		em = `"errorMessage":"` + errorMessage + `",`
	}
	return []byte(`{"version":"0","id":"x","detail-type":"AWS Console Sign In via CloudTrail","source":"aws.signin","account":"123456789012",
	"time":"2026-03-15T01:00:00Z","region":"us-east-1","resources":[],"detail":{"eventVersion":"1.11","userIdentity":` + identity + `,
	"eventTime":"2026-03-15T01:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1",
	"sourceIPAddress":"198.51.100.9","userAgent":"Mozilla/5.0",` + em + `"requestParameters":null,"responseElements":` + response + `,
	"additionalEventData":` + extra + `,"eventID":"e-1","readOnly":false,"eventType":"AwsConsoleSignIn","recipientAccountId":"123456789012"}}`)
}

const (
	alice = `{"type":"IAMUser","principalId":"AIDAX","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012","userName":"alice"}`
	root  = `{"type":"Root","principalId":"123456789012","arn":"arn:aws:iam::123456789012:root","accountId":"123456789012","accessKeyId":""}`
	// carol signs in through IAM Identity Center: an assumed role whose
	// MFAUsed is always "No" because MFA happened at the identity provider.
	carol = `{"type":"AssumedRole","principalId":"AROAX:carol@example.com","arn":"arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/carol@example.com","accountId":"123456789012",
	"sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAX","arn":"arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_0123456789abcdef","accountId":"123456789012","userName":"AWSReservedSSO_AdministratorAccess_0123456789abcdef"},"attributes":{"creationDate":"2026-03-15T01:00:00Z","mfaAuthenticated":"false"}}}`
	ok      = `{"ConsoleLogin":"Success"}`
	failed  = `{"ConsoleLogin":"Failure"}`
	mfaYes  = `{"LoginTo":"https://console.aws.amazon.com/","MobileVersion":"No","MFAIdentifier":"arn:aws:iam::123456789012:mfa/alice","MFAUsed":"Yes"}`
	mfaNo   = `{"LoginTo":"https://console.aws.amazon.com/","MobileVersion":"No","MFAUsed":"No"}`
	mfaNone = `{"LoginTo":"https://console.aws.amazon.com/","MobileVersion":"No"}`
)

func TestJudge(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		payload  []byte
		verdict  rule.Verdict
		inReason string
	}{
		{"IAM user with MFA", record(alice, ok, mfaYes, ""), rule.Compliant, "with MFA"},
		{"IAM user without MFA", record(alice, ok, mfaNo, ""), rule.Violation, "without MFA"},
		{"IAM user, MFA not recorded", record(alice, ok, mfaNone, ""), rule.Violation, "does not say MFA was used"},
		{"root without MFA", record(root, ok, mfaNo, ""), rule.Violation, "(without MFA)"},
		{"root failure is not a sign-in", record(root, failed, mfaNo, "Failed authentication"), rule.Violation, FailedPrefix},
		{"failure told by errorMessage alone", record(alice, `null`, mfaNo, "Failed authentication"), rule.Violation, "(Failed authentication)"},
		{"failure without a message", record(alice, failed, mfaNo, ""), rule.Violation, "(no reason given)"},
		{"federated sign-in", record(carol, ok, mfaNo, ""), rule.NotApplicable, "identity provider"},
		{"null additionalEventData", record(alice, ok, `null`, ""), rule.Violation, "does not say"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, f := evaluate(t, decode(t, c.payload))
			if f.Verdict != c.verdict || !strings.Contains(f.Reason, c.inReason) {
				t.Fatalf("finding = %s %q, want %s containing %q", f.Verdict, f.Reason, c.verdict, c.inReason)
			}
			failure := strings.Contains(f.Reason, FailedPrefix)
			if f.Quiet != failure {
				t.Fatalf("quiet = %v for %q: only failed sign-ins are quiet", f.Quiet, f.Reason)
			}
			if (f.Verdict == rule.Violation && !failure) != (len(f.Actions) == 1) {
				t.Fatalf("actions = %+v", f.Actions)
			}
		})
	}
}

func TestTargetsRejectsMalformed(t *testing.T) {
	t.Parallel()
	cases := map[string][]byte{
		"responseElements not an object":    record(alice, `"Success"`, mfaNo, ""),
		"additionalEventData not an object": record(alice, ok, `["MFAUsed"]`, ""),
		"neither success nor failure":       record(alice, `{"ConsoleLogin":"Maybe"}`, mfaNo, ""),
		"no outcome at all":                 record(alice, `{}`, mfaNo, ""),
		"responseElements bad type":         record(alice, `{"ConsoleLogin":7}`, mfaNo, ""),
	}
	for name, payload := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := targets(decode(t, payload))
			if !errors.Is(err, trigger.ErrInput) {
				t.Fatalf("err = %v, want ErrInput", err)
			}
		})
	}
}

func TestTargetsIgnoresOtherEvents(t *testing.T) {
	t.Parallel()
	call := decode(t, record(alice, ok, mfaNo, ""))
	call.EventName = "CheckMfa"
	if ts, err := targets(call); err != nil || ts != nil {
		t.Fatalf("targets = %+v, %v", ts, err)
	}
}

// The rule's whole remediation is the alert, which the engine delivers:
// it has nothing to apply.
func TestNothingToApply(t *testing.T) {
	t.Parallel()
	b, err := rule.BindWith(Rule, nil)
	if err != nil || b.Apply != nil {
		t.Fatalf("bound = %+v, %v: the rule applies something", b, err)
	}
}

func TestMeta(t *testing.T) {
	t.Parallel()
	m := Rule.Meta()
	if m.CloudTrail[0].Region != "us-east-1" || m.CloudTrail[0].EventBridgeDetailType() != trigger.DetailSignIn || m.Function != "signin" {
		t.Fatalf("meta = %+v", m.CloudTrail)
	}
	if _, err := m.Resolve(nil); err != nil {
		t.Fatal(err)
	}
}

// TestFailedSignInAlarmCountsFailures: the log alarm's pattern selects the
// decision records of failed sign-ins by the fields the engine logs.
func TestFailedSignInAlarmCountsFailures(t *testing.T) {
	t.Parallel()
	if len(meta.LogAlarms) != 1 {
		t.Fatalf("log alarms = %+v", meta.LogAlarms)
	}
	a := meta.LogAlarms[0]
	for _, want := range []string{`$.rule = "` + meta.ID + `"`, `$.verdict = "violation"`, `$.reason = "` + FailedPrefix + `*"`} {
		if !strings.Contains(a.Pattern, want) {
			t.Errorf("pattern %s lacks %s", a.Pattern, want)
		}
	}
	if a.Threshold < 1 || a.Minutes < 1 {
		t.Errorf("alarm %+v", a)
	}
}
