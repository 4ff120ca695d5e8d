package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
)

const (
	home      = "123456789012"
	member    = "222222222222"
	outsider  = "333333333333"
	ownRole   = "arn:aws:iam::123456789012:role/rampart/rampart-sgopen"
	memberARN = "arn:aws:iam::222222222222:role/rampart/rampart-member"
)

// eventAs is an EventBridge-delivered CloudTrail call by the identity (a
// userIdentity block as CloudTrail writes it) about account and region.
func eventAs(identity, account, region string) []byte {
	return fmt.Appendf(nil, `{"version":"0","id":"eb-1","detail-type":"AWS API Call via CloudTrail","source":"aws.test",
	"account":%q,"time":"2026-11-26T11:00:00Z","region":%q,"resources":[],"detail":{"eventVersion":"1.09","userIdentity":%s,
	"eventTime":"2026-11-26T11:00:00Z","eventSource":"test.amazonaws.com","eventName":"Open","awsRegion":%q,
	"sourceIPAddress":"198.51.100.7","userAgent":"aws-sdk-go-v2/1.0 app/rampart","requestParameters":"r1",
	"eventID":"ev-1","eventType":"AwsApiCall","recipientAccountId":%q}}`, account, region, identity, region, account)
}

func assumed(sessionARN, issuerARN, account string) string {
	name := issuerARN[strings.LastIndex(issuerARN, "/")+1:]
	return fmt.Sprintf(`{"type":"AssumedRole","principalId":"AROAEXAMPLE:s","arn":%q,"accountId":%q,"accessKeyId":"ASIAEXAMPLE",
	"sessionContext":{"attributes":{"creationDate":"2026-11-26T10:00:00Z","mfaAuthenticated":"false"},
	"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":%q,"accountId":%q,"userName":%q}}}`, sessionARN, account, issuerARN, account, name)
}

// orgEngine is an engine deployed in account home (us-east-1, eu-west-1),
// in organization mode with member as the only other active account.
func orgEngine(t *testing.T, f *fakeRule, listed *int) *Engine {
	t.Helper()
	s := &awsclient.Session{Region: "us-east-1", Account: home, Partition: "aws"}
	cfg := Config{Mode: Enforce, OwnRoles: []string{ownRole}, Regions: []string{"us-east-1", "eu-west-1"},
		OrgID: "o-abcdefghij", MemberRole: "rampart/rampart-member", SweepQueueURL: "https://sqs.us-east-1.amazonaws.com/123456789012/q"}
	e, err := New(cfg, s, f)
	if err != nil {
		t.Fatal(err)
	}
	n, ev := &notes{}, &evals{}
	e.Notifier, e.Evaluator, e.Now = n, ev, func() time.Time { return now }
	e.Log, e.Metrics = slog.New(slog.NewJSONHandler(io.Discard, nil)), io.Discard
	e.ListAccounts = func(context.Context) ([]string, error) {
		if listed != nil {
			*listed++
		}
		return []string{home, member}, nil
	}
	return e
}

func TestOwnIdentity(t *testing.T) {
	cases := []struct {
		name      string
		identity  string
		account   string
		verdict   rule.Verdict
		reason    string
		evaluated bool
	}{
		{"Rampart's role session", assumed("arn:aws:sts::123456789012:assumed-role/rampart-sgopen/rampart", ownRole, home), home,
			rule.Ignored, "Rampart's own role " + ownRole, false},
		{"IAM user named like the role",
			`{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/rampart-sgopen","accountId":"123456789012","accessKeyId":"AKIAEXAMPLE","userName":"rampart-sgopen"}`,
			home, rule.Violation, "named like Rampart's role " + ownRole, true},
		{"federated user issued by such a user",
			`{"type":"FederatedUser","principalId":"123456789012:bob","arn":"arn:aws:sts::123456789012:federated-user/bob","accountId":"123456789012","accessKeyId":"ASIAEXAMPLE",
			"sessionContext":{"attributes":{"mfaAuthenticated":"false"},"sessionIssuer":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/rampart-sgopen","accountId":"123456789012","userName":"rampart-sgopen"}}}`,
			home, rule.Violation, "(FederatedUser) is named like Rampart's role", true},
		{"role of the same name and path in another account",
			assumed("arn:aws:sts::999999999999:assumed-role/rampart-sgopen/x", "arn:aws:iam::999999999999:role/rampart/rampart-sgopen", "999999999999"),
			home, rule.Violation, "named like Rampart's role", true},
		{"role of the same name under another path",
			assumed("arn:aws:sts::123456789012:assumed-role/rampart-sgopen/x", "arn:aws:iam::123456789012:role/rampart-sgopen", home),
			home, rule.Violation, "named like Rampart's role", true},
		{"role whose ARN differs by case",
			assumed("arn:aws:sts::123456789012:assumed-role/Rampart-SGOpen/x", "arn:aws:iam::123456789012:role/rampart/Rampart-SGOpen", home),
			home, rule.Violation, "named like Rampart's role", true},
		{"session ARN forged to look right, issuer not",
			assumed("arn:aws:sts::123456789012:assumed-role/rampart-sgopen/x", "arn:aws:iam::123456789012:role/ops", home),
			home, rule.Violation, "named like Rampart's role", true},
		{"issuer right, session ARN of another role",
			assumed("arn:aws:sts::123456789012:assumed-role/ops/x", ownRole, home),
			home, rule.Violation, "named like Rampart's role", true},
		{"issuer in another partition",
			assumed("arn:aws-cn:sts::123456789012:assumed-role/rampart-sgopen/x", "arn:aws-cn:iam::123456789012:role/rampart/rampart-sgopen", home),
			home, rule.Violation, "named like Rampart's role", true},
		{"AWS service", `{"type":"AWSService","invokedBy":"ec2.amazonaws.com"}`, home, rule.Violation, "open", true},
		{"invokedBy on a user's behalf",
			`{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012","userName":"alice","invokedBy":"cloudformation.amazonaws.com"}`,
			home, rule.Violation, "open", true},
		{"root", `{"type":"Root","principalId":"123456789012","arn":"arn:aws:iam::123456789012:root","accountId":"123456789012","accessKeyId":"ASIAEXAMPLE"}`,
			home, rule.Violation, "open", true},
		{"member role session in its member account",
			assumed("arn:aws:sts::222222222222:assumed-role/rampart-member/rampart", memberARN, member), member,
			rule.Ignored, "Rampart's own role " + memberARN, false},
		{"member role of a member account acting on the home account",
			assumed("arn:aws:sts::222222222222:assumed-role/rampart-member/rampart", memberARN, member), home,
			rule.Violation, "named like Rampart's role", true},
		{"member role name in an account outside the organization",
			assumed("arn:aws:sts::333333333333:assumed-role/rampart-member/rampart", "arn:aws:iam::333333333333:role/rampart/rampart-member", outsider), outsider,
			rule.Ignored, "out of scope: event account 333333333333", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake("fake")
			f.state["r1"] = true
			e := orgEngine(t, f, nil)
			res, err := e.Handle(context.Background(), eventAs(tc.identity, tc.account, "us-east-1"))
			if err != nil {
				t.Fatal(err)
			}
			d := res.Decisions[0]
			if d.Verdict != tc.verdict || !strings.Contains(d.Reason, tc.reason) || (f.evaluated > 0) != tc.evaluated {
				t.Fatalf("decision %s %q (evaluated %d), want %s containing %q", d.Verdict, d.Reason, f.evaluated, tc.verdict, tc.reason)
			}
		})
	}
}

func TestOwnRolesConfiguration(t *testing.T) {
	for _, tc := range []struct {
		value string
		ok    bool
	}{
		{"", true},
		{ownRole + ", arn:aws:iam::123456789012:role/rampart-cloudtrail", true},
		{"rampart-sgopen", false},
		{"arn:aws:iam::123456789012:user/rampart-sgopen", false},
		{"arn:aws:sts::123456789012:assumed-role/rampart-sgopen/x", false},
		{"arn:aws:iam::12345:role/rampart-sgopen", false},
		{"arn:aws:iam::123456789012:role/", false},
		{"arn:aws:iam:us-east-1:123456789012:role/r", false},
	} {
		_, err := FromEnv(func(k string) string {
			if k == EnvOwnRoles {
				return tc.value
			}
			return ""
		})
		if (err == nil) != tc.ok {
			t.Errorf("%s=%q: err = %v", EnvOwnRoles, tc.value, err)
		}
	}
	// A role of another account than the session's is refused at cold start.
	s := &awsclient.Session{Region: "us-east-1", Account: home, Partition: "aws"}
	if _, err := New(Config{OwnRoles: []string{"arn:aws:iam::999999999999:role/rampart-sgopen"}}, s); err == nil {
		t.Error("an own role in another account was accepted")
	}
	if _, err := New(Config{OwnRoles: []string{"arn:aws-cn:iam::123456789012:role/rampart-sgopen"}}, s); err == nil {
		t.Error("an own role in another partition was accepted")
	}
}
