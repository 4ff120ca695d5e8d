package securityfindings

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

func sample(t *testing.T, name string) *trigger.Event {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "events", "service", name))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := trigger.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	return tr.Event
}

func defaults(t *testing.T) params {
	t.Helper()
	p, err := meta.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := parse(p)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGuardDutyLevels(t *testing.T) {
	t.Parallel()
	for n, want := range map[float64]level{0: Informational, 0.5: Informational, 1: Low, 3.9: Low, 4: Medium, 5: Medium, 6.9: Medium,
		7: High, 8: High, 8.9: High, 9: Critical, 10: Critical} {
		if got := guardDutyLevel(n); got != want {
			t.Errorf("guardDutyLevel(%v) = %s, want %s", n, got, want)
		}
	}
}

func TestParams(t *testing.T) {
	t.Parallel()
	p, err := parse(rule.Params{ParamMinSeverity: "medium", ParamOwnerTags: " Owner , cost-center,,team "})
	if err != nil || p.Min != Medium || strings.Join(p.OwnerTags, "|") != "Owner|cost-center|team" {
		t.Fatalf("parse = %+v, %v", p, err)
	}
	for _, bad := range []string{"", "SEVERE", "INFORMATIONAL", "8"} {
		if _, err := meta.Resolve(map[string]string{ParamMinSeverity: bad}); err == nil {
			t.Errorf("minSeverity %q accepted", bad)
		}
	}
	if d := defaults(t); d.Min != High || strings.Join(d.OwnerTags, ",") != "owner,team" {
		t.Fatalf("defaults = %+v", d)
	}
}

// Every sample decodes into the finding it shows, and matches the rule's
// triggers.
func TestTargetsFromSamples(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file     string
		typ, id  string
		level    level
		head     string
		activity string
	}{
		{"guardduty-finding-ec2-bitcoin-dns.json", typeInstance, "i-0608144705c8a6401", High,
			"GuardDuty HIGH (8) finding CryptoCurrency:EC2/BitcoinTool.B!DNS on instance i-0608144705c8a6401 (web-1)", "DNS query for pool.minergate.com"},
		{"guardduty-finding-iam-user-kali.json", typeUser, "bob", Medium,
			"GuardDuty MEDIUM (5) finding PenTest:IAMUser/KaliLinux on IAM user bob (access key AKIAIOSFODNN7EXAMPLE)",
			"API call iam:ListAccessKeys from 198.51.100.7 (Example Hosting, Netherlands) (AccessDenied)"},
		{"inspector2-finding-ec2-package-vulnerability.json", typeInstance, "i-0608144705c8a6401", High,
			"Inspector HIGH (score 7.5) finding PACKAGE_VULNERABILITY on instance i-0608144705c8a6401 (web-1)",
			"CVE-2024-38475 in httpd 2.4.58 (fixed in 0:2.4.62-1.amzn2023); a fix is available"},
		{"inspector2-finding-ecr-image.json", typeECR, "arn:aws:ecr:us-east-1:123456789012:repository/billing-api/sha256:3b7e1a2f9c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f", Critical,
			"Inspector CRITICAL (score 10) finding PACKAGE_VULNERABILITY on image billing-api:v1.8.2 (sha256:3b7e1a2f9c4d…)",
			"CVE-2021-44228 in org.apache.logging.log4j:log4j-core 2.14.1 (fixed in 2.15.0); a known exploit exists, a fix is available"},
	}
	for _, c := range cases {
		ev := sample(t, c.file)
		if !meta.MatchesEvent(ev) {
			t.Errorf("%s: the rule's triggers do not match it", c.file)
		}
		ts, err := targets(ev, defaults(t))
		if err != nil || len(ts) != 1 {
			t.Fatalf("%s: targets = %+v, %v", c.file, ts, err)
		}
		f := ts[0].Evidence.(finding)
		if ts[0].Type != c.typ || ts[0].ID != c.id || ts[0].Region != "us-east-1" || f.Level != c.level || f.head() != c.head ||
			f.Activity != c.activity || f.Account != "123456789012" || f.Closed != "" {
			t.Errorf("%s:\n target %s %s %s\n head   %q\n act    %q\n finding %+v", c.file, ts[0].Type, ts[0].ID, ts[0].Region, f.head(), f.Activity, f)
		}
	}
}

func TestTargetsBadInput(t *testing.T) {
	t.Parallel()
	gd := func(detail string) *trigger.Event {
		return &trigger.Event{Source: SourceGuardDuty, DetailType: DetailGuardDuty, Detail: json.RawMessage(detail)}
	}
	in := func(detail string) *trigger.Event {
		return &trigger.Event{Source: SourceInspector, DetailType: DetailInspector, Detail: json.RawMessage(detail)}
	}
	bad := map[string]*trigger.Event{
		"gd: no id":                  gd(`{"type":"X","severity":8,"resource":{"resourceType":"Instance"}}`),
		"gd: no type":                gd(`{"id":"f","severity":8,"resource":{"resourceType":"Instance"}}`),
		"gd: no severity":            gd(`{"id":"f","type":"X","resource":{"resourceType":"Instance"}}`),
		"gd: string severity":        gd(`{"id":"f","type":"X","severity":"HIGH","resource":{"resourceType":"Instance"}}`),
		"gd: no resource":            gd(`{"id":"f","type":"X","severity":8}`),
		"in: no arn":                 in(`{"severity":"HIGH","resources":[{"type":"AWS_EC2_INSTANCE","id":"i-1"}]}`),
		"in: bad severity":           in(`{"findingArn":"a","severity":"SEVERE","resources":[{"type":"AWS_EC2_INSTANCE","id":"i-1"}]}`),
		"in: no resource":            in(`{"findingArn":"a","severity":"HIGH","resources":[]}`),
		"in: untriaged, no resource": in(`{"findingArn":"a","severity":"UNTRIAGED"}`),
		"in: not an object":          in(`{"findingArn":["a"]}`),
	}
	for name, ev := range bad {
		if ts, err := targets(ev, defaults(t)); !errors.Is(err, trigger.ErrInput) {
			t.Errorf("%s: targets = %+v, %v; want trigger.ErrInput", name, ts, err)
		}
	}
	if ts, err := targets(&trigger.Event{Source: "aws.ec2", Detail: json.RawMessage(`{}`)}, defaults(t)); err != nil || len(ts) != 0 {
		t.Errorf("another source: %+v, %v", ts, err)
	}
	// An untriaged Inspector finding counts as MEDIUM; a finding on a
	// resource Rampart does not know is still named, by its ID.
	ts, err := targets(in(`{"findingArn":"arn:f","severity":"UNTRIAGED","status":"ACTIVE","type":"PACKAGE_VULNERABILITY",
		"resources":[{"type":"AWS_EC2_INSTANCE","id":"i-1"},{"type":"AWS_EC2_INSTANCE","id":"i-2"}]}`), defaults(t))
	if err != nil || ts[0].Evidence.(finding).Level != Medium || !strings.Contains(ts[0].Evidence.(finding).head(), "MEDIUM (untriaged)") ||
		!strings.Contains(ts[0].Evidence.(finding).Resource.Desc, "and 1 other resources") {
		t.Errorf("untriaged: %+v, %v", ts, err)
	}
	ts, err = targets(gd(`{"id":"f","arn":"arn:f","type":"Execution:Runtime/NewBinaryExecuted","severity":5,"resource":{"resourceType":"Container"}}`), defaults(t))
	if err != nil || ts[0].ID != "arn:f" || ts[0].Type != "" || ts[0].Evidence.(finding).Resource.Desc != "a resource of type Container" {
		t.Errorf("unknown resource: %+v, %v", ts, err)
	}
}

func TestJudge(t *testing.T) {
	t.Parallel()
	p := defaults(t)
	high := finding{Service: "GuardDuty", ARN: "arn:aws:guardduty:us-east-1:123456789012:detector/d/finding/f", Type: "CryptoCurrency:EC2/BitcoinTool.B!DNS",
		Title: "Bitcoin-related domain name queried.", Level: High, Score: "8", Activity: "DNS query for pool.minergate.com", Seen: "seen 2026-03-15T07:58:11Z",
		Resource: resource{Type: typeInstance, ID: "i-1", Desc: "instance i-1 (web-1)", Tags: map[string]string{"owner": "recorded@example.com"}}}
	archived := high
	archived.Closed = "archived"
	medium := high
	medium.Level, medium.Score = Medium, "5"
	sampleF := high
	sampleF.Sample = true
	cases := []struct {
		name    string
		f       finding
		c       current
		p       params
		verdict rule.Verdict
		reason  []string
	}{
		{"notified with the live owner and state", high, current{Tags: map[string]string{"Owner": "web@example.com", "Team": "web"}, State: "running t3.large in vpc-1, no public IP"},
			p, rule.Violation, []string{"GuardDuty HIGH (8) finding CryptoCurrency:EC2/BitcoinTool.B!DNS on instance i-1 (web-1): Bitcoin-related domain name queried;",
				"DNS query for pool.minergate.com", "owner: Owner=web@example.com, Team=web (its tags)", "now: running t3.large in vpc-1, no public IP",
				"Rampart takes no action on findings", "arn:aws:guardduty:us-east-1:123456789012:detector/d/finding/f"}},
		{"owner from the finding when not read", high, current{Note: "offline: owner from the tags the finding records"}, p, rule.Violation,
			[]string{"owner: owner=recorded@example.com (the tags the finding records)", "(offline: owner from the tags the finding records)"}},
		{"owner unknown", high, current{Tags: map[string]string{"Name": "web-1"}}, p, rule.Violation, []string{"owner unknown: no owner or team tag (its tags)"}},
		{"resource gone", high, current{Gone: true}, p, rule.Violation, []string{"the instance no longer exists"}},
		{"archived: resolved", archived, current{}, p, rule.Compliant, []string{"is archived: nothing to do"}},
		{"below the threshold", medium, current{}, p, rule.Ignored, []string{"GuardDuty MEDIUM (5)", "below the deployment's minSeverity HIGH: not notified"}},
		{"at a lower threshold", medium, current{}, params{Min: Medium, OwnerTags: []string{"owner"}}, rule.Violation, []string{"GuardDuty MEDIUM (5)"}},
		{"sample finding says so", sampleF, current{}, p, rule.Violation, []string{"a GuardDuty sample finding"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := judge(c.f, c.c, c.p)
			if got.Verdict != c.verdict || len(got.Actions) != 0 || got.Resource != c.f.ARN {
				t.Fatalf("finding = %+v, want %s, no action, resource %s", got, c.verdict, c.f.ARN)
			}
			for _, want := range c.reason {
				if !strings.Contains(got.Reason, want) {
					t.Errorf("reason %q lacks %q", got.Reason, want)
				}
			}
		})
	}
}

func TestOwners(t *testing.T) {
	t.Parallel()
	tags := map[string]string{"OWNER": "a@example.com", "owner": "b@example.com", "team": "", "Cost-Center": "42"}
	if got := owners(tags, []string{"owner", "team", "cost-center"}); got != "OWNER=a@example.com, Cost-Center=42" {
		t.Fatalf("owners = %q", got)
	}
}
