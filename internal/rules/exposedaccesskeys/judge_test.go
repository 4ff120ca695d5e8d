package exposedaccesskeys

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/accesskey"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

func sample(t *testing.T, name string, oldnew ...string) *trigger.Event {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "events", "service", name))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := trigger.Decode([]byte(strings.NewReplacer(oldnew...).Replace(string(raw))))
	if err != nil {
		t.Fatal(err)
	}
	return tr.Event
}

// The samples decode into the exposure each names, and match the rule's
// triggers (source, detail-type and detail pattern).
func TestTargetsFromSamples(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file string
		want exposure
	}{
		{"health-risk-credentials-exposed.json", exposure{Source: "AWS Health", KeyID: "AKIAIOSFODNN7EXAMPLE", Account: "123456789012",
			Since: "Sun, 15 Mar 2026 06:25:10 GMT"}},
		{"trustedadvisor-exposed-access-keys.json", exposure{Source: "Trusted Advisor", KeyID: "AKIAIOSFODNN7EXAMPLE", User: "bob",
			Where: "https://github.com/example-org/billing-scripts/blob/4f1c2a9/deploy.env", Fraud: "Exposed", CaseID: "02648f3b-e3b5-4cf6-b32d-6ac6a9d4c2e1",
			Status: "ERROR", Since: "2026-03-15T07:08:12Z", Usage: "0"}},
		{"trustedadvisor-exposed-access-keys-suspected.json", exposure{Source: "Trusted Advisor", KeyID: "AKIAI44QH8DHBEXAMPLE", User: "ci-deployer",
			Fraud: "Suspected Fraud", CaseID: "7d1e2f3a-4b5c-4d6e-8f70-1a2b3c4d5e6f", Status: "WARN", Since: "2026-03-16T02:39:51Z", Usage: "412"}},
	}
	for _, c := range cases {
		ev := sample(t, c.file)
		if !meta.MatchesEvent(ev) {
			t.Errorf("%s: the rule's triggers do not match it", c.file)
		}
		ts, err := targets(ev)
		if err != nil || len(ts) != 1 {
			t.Fatalf("%s: targets = %+v, %v", c.file, ts, err)
		}
		got := ts[0].Evidence.(exposure)
		if c.want.Source == "AWS Health" {
			if !strings.Contains(got.Where, "publicly available online at https://github.com/example-org/billing-scripts") {
				t.Errorf("%s: where = %q", c.file, got.Where)
			}
			got.Where = ""
		}
		if got != c.want || ts[0].ID != c.want.KeyID || ts[0].Type != ResourceType {
			t.Errorf("%s:\n got %+v (%s)\nwant %+v", c.file, got, ts[0].ID, c.want)
		}
	}
}

// Malformed or incomplete details are bad input; events of another type or
// check name nothing.
func TestTargetsBadInput(t *testing.T) {
	t.Parallel()
	health := func(detail string) *trigger.Event {
		return &trigger.Event{Source: SourceHealth, DetailType: DetailHealth, Detail: json.RawMessage(detail)}
	}
	ta := func(detail string) *trigger.Event {
		return &trigger.Event{Source: SourceTrustedAdvisor, DetailType: DetailTrustedAdvisor, Detail: json.RawMessage(detail)}
	}
	bad := map[string]*trigger.Event{
		"health: no entity":          health(`{"eventTypeCode":"AWS_RISK_CREDENTIALS_EXPOSED","affectedEntities":[]}`),
		"health: no entities at all": health(`{"eventTypeCode":"AWS_RISK_CREDENTIALS_EXPOSED"}`),
		"health: placeholder entity": health(`{"eventTypeCode":"AWS_RISK_CREDENTIALS_EXPOSED","affectedEntities":[{"entityValue":"ACCESS_KEY_ID_HERE"}]}`),
		"health: empty entity":       health(`{"eventTypeCode":"AWS_RISK_CREDENTIALS_EXPOSED","affectedEntities":[{"entityValue":""}]}`),
		"health: bad account":        health(`{"eventTypeCode":"AWS_RISK_CREDENTIALS_EXPOSED","affectedAccount":"me","affectedEntities":[{"entityValue":"AKIAIOSFODNN7EXAMPLE"}]}`),
		"health: entities not array": health(`{"eventTypeCode":"AWS_RISK_CREDENTIALS_EXPOSED","affectedEntities":{"entityValue":"AKIAIOSFODNN7EXAMPLE"}}`),
		"ta: no key ID":              ta(`{"check-name":"Exposed Access Keys","status":"ERROR","check-item-detail":{"User Name (IAM or Root)":"bob"}}`),
		"ta: bad key ID":             ta(`{"check-name":"Exposed Access Keys","status":"ERROR","check-item-detail":{"Access Key ID":"akia-lower","User Name (IAM or Root)":"bob"}}`),
		"ta: no user":                ta(`{"check-name":"Exposed Access Keys","status":"ERROR","check-item-detail":{"Access Key ID":"AKIAIOSFODNN7EXAMPLE"}}`),
		"ta: item not an object":     ta(`{"check-name":"Exposed Access Keys","status":"ERROR","check-item-detail":"AKIAIOSFODNN7EXAMPLE"}`),
	}
	for name, ev := range bad {
		if ts, err := targets(ev); !errors.Is(err, trigger.ErrInput) {
			t.Errorf("%s: targets = %+v, %v; want trigger.ErrInput", name, ts, err)
		}
	}
	none := map[string]*trigger.Event{
		"another Health event": health(`{"eventTypeCode":"AWS_EC2_OPERATIONAL_ISSUE","affectedEntities":[{"entityValue":"i-0123"}]}`),
		"another check":        ta(`{"check-name":"IAM Access Key Rotation","status":"ERROR","check-item-detail":{"Access Key ID":"AKIAIOSFODNN7EXAMPLE"}}`),
		"an item back to OK":   ta(`{"check-name":"Exposed Access Keys","status":"OK","check-item-detail":{"Access Key ID":"AKIAIOSFODNN7EXAMPLE","User Name (IAM or Root)":"bob"}}`),
		"another source":       {Source: "aws.ec2", DetailType: DetailHealth, Detail: json.RawMessage(`{}`)},
	}
	for name, ev := range none {
		if ts, err := targets(ev); err != nil || len(ts) != 0 {
			t.Errorf("%s: targets = %+v, %v; want none", name, ts, err)
		}
	}
}

func TestJudge(t *testing.T) {
	t.Parallel()
	health := exposure{Source: "AWS Health", KeyID: "AKIAIOSFODNN7EXAMPLE", Account: "123456789012", Where: "publicly available online at https://github.com/x/y", Since: "Sun, 15 Mar 2026 06:25:10 GMT"}
	ta := exposure{Source: "Trusted Advisor", KeyID: "AKIAIOSFODNN7EXAMPLE", User: "bob", Where: "https://github.com/x/y", Fraud: "Exposed", CaseID: "case-1", Status: "ERROR"}
	cases := []struct {
		name    string
		s       keyState
		x       exposure
		verdict rule.Verdict
		apis    []string
		reason  []string
	}{
		{"active key: deactivated", keyState{Found: true, Owner: "bob", Status: "Active", LastUsed: "last used 2026-03-15T06:30:00Z (s3 in us-east-1)",
			Tags: map[string]string{"owner": "billing@example.com", "team": "billing"}}, ta, rule.Violation, []string{accesskey.APIUpdate},
			[]string{"access key AKIAIOSFODNN7EXAMPLE of user bob is exposed", "found by Trusted Advisor (Exposed, ERROR) at https://github.com/x/y", "case case-1",
				"last used 2026-03-15T06:30:00Z (s3 in us-east-1)", "owner=billing@example.com, team=billing", "deactivate it (never delete it)"}},
		{"health: where is the description", keyState{Found: true, Owner: "bob", Status: "Active", LastUsed: "never used"}, health, rule.Violation, []string{accesskey.APIUpdate},
			[]string{"found by AWS Health on Sun, 15 Mar 2026 06:25:10 GMT: \"publicly available online at https://github.com/x/y\"", "never used"}},
		{"inactive key: compliant after the fact", keyState{Found: true, Owner: "bob", Status: "Inactive", LastUsed: "never used"}, ta, rule.Compliant, nil,
			[]string{"already inactive (compliant after the fact)", "found by Trusted Advisor"}},
		{"key gone", keyState{}, ta, rule.NotApplicable, nil, []string{"access key AKIAIOSFODNN7EXAMPLE (user bob) does not exist in this account (123456789012)", "at https://github.com/x/y"}},
		{"owner mismatch: alert only", keyState{Found: true, Owner: "carol", Mismatch: true, LastUsed: "never used"}, ta, rule.Violation, []string{rule.AlertAPI},
			[]string{"names user bob", "belongs to carol", "not deactivated automatically"}},
		{"root key: alert only", keyState{Found: true, Root: true}, exposure{Source: "Trusted Advisor", KeyID: "AKIAIOSFODNN7EXAMPLE", User: "root"}, rule.Violation, []string{rule.AlertAPI},
			[]string{"the root user's access key AKIAIOSFODNN7EXAMPLE is exposed", "only the root user can", "(no location given)"}},
		{"another account's key", keyState{OtherAccount: true}, exposure{Source: "AWS Health", KeyID: "AKIAIOSFODNN7EXAMPLE", Account: "210987654321"}, rule.NotApplicable, nil,
			[]string{"of account 210987654321, not this one (123456789012)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := judge(c.s, c.x, "123456789012")
			if f.Verdict != c.verdict {
				t.Fatalf("verdict = %s (%s), want %s", f.Verdict, f.Reason, c.verdict)
			}
			var apis []string
			for _, a := range f.Actions {
				apis = append(apis, a.API)
			}
			if strings.Join(apis, ",") != strings.Join(c.apis, ",") {
				t.Fatalf("actions = %v, want %v", apis, c.apis)
			}
			for _, want := range c.reason {
				if !strings.Contains(f.Reason, want) {
					t.Errorf("reason %q lacks %q", f.Reason, want)
				}
			}
		})
	}
}

// The deactivation names exactly the key and its owner, and its undo
// re-activates it: never a deletion.
func TestDeactivationAndUndo(t *testing.T) {
	t.Parallel()
	f := judge(keyState{Found: true, Owner: "bob", Status: "Active"}, exposure{Source: "AWS Health", KeyID: "AKIAIOSFODNN7EXAMPLE"}, "123456789012")
	if len(f.Actions) != 1 {
		t.Fatalf("actions = %+v", f.Actions)
	}
	a := f.Actions[0]
	var p, u accesskey.Params
	if err := a.Decode(&p); err != nil || a.Undo == nil {
		t.Fatalf("action = %+v, %v", a, err)
	}
	if err := a.Undo.Decode(&u); err != nil {
		t.Fatal(err)
	}
	if p != (accesskey.Params{UserName: "bob", AccessKeyID: "AKIAIOSFODNN7EXAMPLE", Status: "Inactive"}) ||
		u != (accesskey.Params{UserName: "bob", AccessKeyID: "AKIAIOSFODNN7EXAMPLE", Status: "Active"}) || a.Undo.API != accesskey.APIUpdate {
		t.Fatalf("deactivate %+v, undo %+v", p, u)
	}
}

// Offline, Trusted Advisor's event alone implies the deactivation (it names
// the user); Health's does not (a live run reads the key's owner).
func TestPlan(t *testing.T) {
	t.Parallel()
	s, err := plan(rule.Target{Evidence: exposure{KeyID: "AKIAIOSFODNN7EXAMPLE", User: "bob"}}, struct{}{})
	if err != nil || !s.Found || s.Owner != "bob" || s.Status != "Active" || !strings.Contains(s.Note, "a live run confirms") {
		t.Fatalf("TA plan = %+v, %v", s, err)
	}
	if _, err := plan(rule.Target{Evidence: exposure{KeyID: "AKIAIOSFODNN7EXAMPLE"}}, struct{}{}); !errors.Is(err, rule.ErrUndecided) ||
		!strings.Contains(err.Error(), apiLastUsed) {
		t.Fatalf("Health plan: %v", err)
	}
	if s, err := plan(rule.Target{Evidence: exposure{KeyID: "AKIAIOSFODNN7EXAMPLE", User: "<root_account>"}}, struct{}{}); err != nil || !s.Root {
		t.Fatalf("root plan = %+v, %v", s, err)
	}
	if _, err := plan(rule.Target{}, struct{}{}); !errors.Is(err, rule.ErrUndecided) {
		t.Fatalf("plan without evidence: %v", err)
	}
}

func TestMillis(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"1773558492000": "2026-03-15T07:08:12Z", "": "", "soon": "soon", "-5": "-5", "12abc": "12abc"} {
		if got := millis(in); got != want {
			t.Errorf("millis(%q) = %q, want %q", in, got, want)
		}
	}
}
