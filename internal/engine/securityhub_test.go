package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/notifystate"
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/sgopen"
	rampartsh "github.com/rampart-aws/rampart/internal/securityhub"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

// moto 5.2.1 serves EnableSecurityHub, DescribeHub, GetFindings and
// BatchImportFindings (an import with a known Id updates the stored finding
// field by field, as AWS does for the fields a provider may update). It
// serves neither BatchUpdateFindings nor CreateActionTarget: the custom
// action's target exists only in the stack (CDK assertions in infra/), and
// the event it sends is the documented one (events/service/).

const alice = `{"type":"IAMUser","principalId":"AIDAALICE","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012","userName":"alice"}`

func enableHub(t *testing.T, s *awsclient.Session) *securityhub.Client {
	t.Helper()
	c := awsclient.Client(s, securityhub.NewFromConfig)
	if _, err := c.EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{}); err != nil {
		t.Fatal(err)
	}
	return c
}

// findings are the hub's findings by ID.
func findings(t *testing.T, c *securityhub.Client) map[string]shtypes.AwsSecurityFinding {
	t.Helper()
	out, err := c.GetFindings(ctx, &securityhub.GetFindingsInput{})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]shtypes.AwsSecurityFinding{}
	for _, f := range out.Findings {
		m[aws.ToString(f.Id)] = f
	}
	return m
}

// counting forwards to the real importer and counts the findings imported.
type counting struct {
	next  engine.FindingsImporter
	count int
	fail  int // fail the next imports as a whole
}

func (c *counting) Import(ctx context.Context, s *awsclient.Session, fs []shtypes.AwsSecurityFinding) ([]rampartsh.Failure, error) {
	if c.fail > 0 {
		c.fail--
		var failed []rampartsh.Failure
		for _, f := range fs {
			failed = append(failed, rampartsh.Failure{ID: aws.ToString(f.Id), Code: "RequestFailed", Message: "throttled"})
		}
		return failed, errors.New("securityhub: throttled")
	}
	c.count += len(fs)
	return c.next.Import(ctx, s, fs)
}

func sgFindingID(group string) string {
	return rampartsh.FindingID(mototest.Account, mototest.Region, "sg-open-world", group)
}

// A violation in report mode is a FAILED/NEW finding; the same event in an
// enforcing deployment remediates and updates that finding in place to
// PASSED/RESOLVED with what Rampart did.
func TestSecurityHubViolationThenRemediated(t *testing.T) {
	s := mototest.Session(t)
	hub := enableHub(t, s)
	id := worldSSH(t, s)
	ev := authorize(alice, mototest.Account, mototest.Region, id)

	report, _ := enginetest.New(t, s, engine.Config{Mode: engine.Report, SecurityHub: true}, sgopen.OpenWorld)
	if d := enginetest.One(t, report, ev); d.Verdict != rule.Violation {
		t.Fatalf("decision %+v", d)
	}
	fs := findings(t, hub)
	f, ok := fs[sgFindingID(id)]
	if !ok || len(fs) != 1 {
		t.Fatalf("findings %v", fs)
	}
	if f.Compliance.Status != shtypes.ComplianceStatusFailed || f.Workflow.Status != shtypes.WorkflowStatusNew || f.Severity.Label != shtypes.SeverityLabelHigh ||
		aws.ToString(f.GeneratorId) != "sg-open-world" || f.ProductFields["rampart/State"] != "violation" || f.ProductFields["rampart/Mode"] != "report" ||
		aws.ToString(f.ProductArn) != "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default" {
		t.Fatalf("finding %+v", f)
	}

	enforce, _ := enginetest.New(t, s, engine.Config{Mode: engine.Enforce, SecurityHub: true}, sgopen.OpenWorld)
	if d := enginetest.One(t, enforce, ev); d.Actions[0].Outcome != rule.Applied {
		t.Fatalf("decision %+v", d)
	}
	fs = findings(t, hub)
	f = fs[sgFindingID(id)]
	if len(fs) != 1 || f.Compliance.Status != shtypes.ComplianceStatusPassed || f.Workflow.Status != shtypes.WorkflowStatusResolved ||
		f.ProductFields["rampart/State"] != "remediated" || f.ProductFields["rampart/UndoAvailable"] != "true" ||
		!strings.Contains(f.ProductFields["rampart/Actions"], "applied ec2:RevokeSecurityGroupIngress") {
		t.Fatalf("finding after remediation %+v", f)
	}
}

// With the state store, a compliant decision is imported only when it
// closes an open finding: once, not on every later evaluation.
func TestSecurityHubResolvesOnlyOnTransition(t *testing.T) {
	s := mototest.Session(t)
	hub := enableHub(t, s)
	id := worldSSH(t, s)
	e, _ := enginetest.New(t, s, engine.Config{Mode: engine.Report, SecurityHub: true}, sgopen.OpenWorld)
	e.State, e.Notifier = notifystate.NewMemory(), quiet{}
	cnt := &counting{next: e.Findings}
	e.Findings = cnt
	ev := authorize(alice, mototest.Account, mototest.Region, id)
	enginetest.One(t, e, ev)
	if cnt.count != 1 {
		t.Fatalf("imported %d findings for a new violation", cnt.count)
	}
	// Someone else closes the port; the next event about the group finds it compliant.
	revokeAll(t, s, id)
	if d := enginetest.One(t, e, withID(ev, "ev-2")); d.Verdict != rule.Compliant {
		t.Fatalf("decision %+v", d)
	}
	f := findings(t, hub)[sgFindingID(id)]
	if cnt.count != 2 || f.Compliance.Status != shtypes.ComplianceStatusPassed || f.ProductFields["rampart/State"] != "compliant" {
		t.Fatalf("imported %d; finding %+v", cnt.count, f)
	}
	enginetest.One(t, e, withID(ev, "ev-3"))
	if cnt.count != 2 {
		t.Fatalf("a compliant resource with no open finding was imported again (%d)", cnt.count)
	}
}

// A finding Security Hub does not take is counted (SecurityHubFailed),
// kept, and imported by the next invocation; the decision stands.
func TestSecurityHubFailureIsCountedAndRetried(t *testing.T) {
	s := mototest.Session(t)
	hub := enableHub(t, s)
	id := worldSSH(t, s)
	e, _ := enginetest.New(t, s, engine.Config{Mode: engine.Report, SecurityHub: true}, sgopen.OpenWorld)
	var metrics bytes.Buffer
	e.Metrics = &metrics
	cnt := &counting{next: e.Findings, fail: 1}
	e.Findings = cnt
	res, err := e.Handle(ctx, authorize(alice, mototest.Account, mototest.Region, id))
	if err != nil || res.Decisions[0].Verdict != rule.Violation || res.Decisions[0].Failed() {
		t.Fatalf("the decision must stand: %v %+v", err, res)
	}
	if !strings.Contains(metrics.String(), `"SecurityHubFailed":1`) || e.PendingFindings() != 1 || len(findings(t, hub)) != 0 {
		t.Fatalf("metrics %s; pending %d", metrics.String(), e.PendingFindings())
	}
	// The next invocation (any event) imports it first.
	enginetest.Handle(t, e, []byte(`{"version":"0","id":"tick","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012",
		"time":"2026-03-15T10:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/other"],"detail":{}}`))
	if e.PendingFindings() != 0 || len(findings(t, hub)) != 1 {
		t.Fatalf("pending %d, findings %v", e.PendingFindings(), findings(t, hub))
	}
}

// customAction is the documented custom action event (events/service/)
// about group, with its action target's ARN replaced when target is set.
func customAction(t *testing.T, group, target string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "service", "securityhub-custom-action.json"))
	if err != nil {
		t.Fatal(err)
	}
	raw = bytes.ReplaceAll(raw, []byte("sg-0a1b2c3d4e5f60718"), []byte(group))
	if target != "" {
		raw = bytes.ReplaceAll(raw, []byte(rampartsh.ActionTargetARN("aws", "us-east-1", "123456789012")), []byte(target))
	}
	return raw
}

var sgRules = []rule.Rule{sgopen.OpenWorld, sgopen.RestrictedSSH, sgopen.RestrictedCommonPorts}

// In a report-mode deployment, the custom action on an EC2.13 finding runs
// sg-restricted-ssh (the rule that declares EC2.13) in enforce mode on that
// group only: it is closed, another world-open group stays open, and the
// decision is published.
func TestCustomActionEnforcesThatResourceOnly(t *testing.T) {
	s := mototest.Session(t)
	hub := enableHub(t, s)
	a, b := worldSSH(t, s), worldSSH(t, s)
	e, _ := enginetest.New(t, s, engine.Config{Mode: engine.Report, SecurityHub: true}, sgRules...)
	res, calls := enginetest.Recorded(t, e, customAction(t, a, ""))
	d := enginetest.Only(t, res)
	if d.Rule != "sg-restricted-ssh" || d.Resource != a || d.Mode != "enforce" || d.Verdict != rule.Violation ||
		len(d.Actions) != 1 || d.Actions[0].Outcome != rule.Applied || !strings.Contains(d.Reason, "enforced on demand") {
		t.Fatalf("decision %+v", d)
	}
	if mototest.OpenToWorld(t, s, a) || !mototest.OpenToWorld(t, s, b) {
		t.Fatalf("group %s must be closed and %s left open", a, b)
	}
	if f := findings(t, hub)[rampartsh.FindingID(mototest.Account, mototest.Region, "sg-restricted-ssh", a)]; f.ProductFields["rampart/State"] != "remediated" {
		t.Fatalf("finding %+v", f)
	}
	t.Logf("API calls: %v", calls)

	// The same deployment's next ordinary event about b is still only reported.
	d = enginetest.One(t, e, authorize(alice, mototest.Account, mototest.Region, b))
	if d.Mode != "report" || d.Actions[0].Outcome != rule.Planned || !mototest.OpenToWorld(t, s, b) {
		t.Fatalf("decision %+v", d)
	}
}

// Anything but the deployment's own action target in its own account and
// region, or with the integration off, is ignored with no call; an
// uncovered control or resource is reported, with no action.
func TestCustomActionGuards(t *testing.T) {
	s := mototest.Session(t)
	enableHub(t, s)
	a := worldSSH(t, s)
	on := engine.Config{Mode: engine.Report, SecurityHub: true}
	sample := string(customAction(t, a, ""))
	cases := []struct {
		name string
		cfg  engine.Config
		raw  string
		want string
	}{
		{"integration off", engine.Config{Mode: engine.Report}, sample, "integration is off"},
		{"another action target", on, string(customAction(t, a, "arn:aws:securityhub:us-east-1:123456789012:action/custom/SomeoneElses")), "not this deployment's action target"},
		{"another account", on, strings.Replace(sample, `"account": "123456789012"`, `"account": "210987654321"`, 1), "not this deployment's action target"},
		{"another region", on, strings.Replace(sample, `"region": "us-east-1"`, `"region": "eu-west-1"`, 1), "not this deployment's action target"},
		{"uncovered control", on, strings.ReplaceAll(sample, `"SecurityControlId": "EC2.13"`, `"SecurityControlId": "IAM.6"`), "no rule of this function covers control IAM.6"},
		{"uncovered resource", on, strings.Replace(sample, `"Type": "AwsEc2SecurityGroup"`, `"Type": "AwsEc2Instance"`, 1), "is not one rule sg-restricted-ssh judges"},
		{"finding of another account", on, strings.Replace(sample, `"AwsAccountId": "123456789012"`, `"AwsAccountId": "210987654321"`, 1), "is not one rule sg-restricted-ssh judges"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, _ := enginetest.New(t, s, c.cfg, sgRules...)
			res, calls := enginetest.Recorded(t, e, []byte(c.raw))
			d := enginetest.Only(t, res)
			if d.Verdict != rule.Ignored || !strings.Contains(d.Reason, c.want) {
				t.Fatalf("decision %+v", d)
			}
			if len(calls) != 0 {
				t.Fatalf("calls %v", calls)
			}
			if !mototest.OpenToWorld(t, s, a) {
				t.Fatal("the group was changed")
			}
		})
	}
}

// quiet is a notifier that sends nothing.
type quiet struct{}

func (quiet) Notify(context.Context, *report.Decision) error { return nil }

func withID(raw []byte, id string) []byte {
	return bytes.Replace(raw, []byte(`"eventID":"0f7e5a1e-1111-2222-3333-444455556666"`), []byte(`"eventID":"`+id+`"`), 1)
}

// revokeAll closes SSH to the world on group id, as someone else would.
func revokeAll(t *testing.T, s *awsclient.Session, id string) {
	t.Helper()
	if _, err := awsclient.Client(s, ec2.NewFromConfig).RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id),
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}}); err != nil {
		t.Fatal(err)
	}
}

// actionOn is a custom action event of this deployment carrying findings.
func actionOn(t *testing.T, findings ...any) []byte {
	t.Helper()
	fs, err := json.Marshal(findings)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Appendf(nil, `{"version":"0","id":"ca-1","detail-type":"Security Hub Findings - Custom Action","source":"aws.securityhub",
	"account":"123456789012","time":"2026-03-15T09:12:40Z","region":"us-east-1","resources":[%q],
	"detail":{"actionName":"Rampart: remediate","actionDescription":"…","findings":%s}}`,
		rampartsh.ActionTargetARN("aws", "us-east-1", "123456789012"), fs)
}

// Rampart's own finding, as Security Hub hands it back, is actionable:
// report mode publishes it, the custom action on it enforces the rule that
// made it on its resource, and the finding becomes remediated.
func TestCustomActionOnRampartsOwnFinding(t *testing.T) {
	s := mototest.Session(t)
	hub := enableHub(t, s)
	id := worldSSH(t, s)
	e, _ := enginetest.New(t, s, engine.Config{Mode: engine.Report, SecurityHub: true}, sgRules...)
	enginetest.One(t, e, authorize(alice, mototest.Account, mototest.Region, id))
	own := findings(t, hub)[sgFindingID(id)]
	if own.Id == nil {
		t.Fatal("no finding published")
	}
	// An unrelated finding of a control nobody covers rides along.
	other := map[string]any{"Id": "iam-6", "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/securityhub", "AwsAccountId": "123456789012",
		"Region": "us-east-1", "Compliance": map[string]any{"SecurityControlId": "IAM.6"},
		"Resources": []any{map[string]any{"Type": "AwsAccount", "Id": "AWS::::Account:123456789012"}}}
	res := enginetest.Handle(t, e, actionOn(t, own, other))
	if len(res.Decisions) != 2 {
		t.Fatalf("decisions %+v", res.Decisions)
	}
	var acted, ignored bool
	for _, d := range res.Decisions {
		switch {
		case d.Rule == "sg-open-world" && d.Resource == id && d.Mode == "enforce" && d.Actions[0].Outcome == rule.Applied:
			acted = true
		case d.Verdict == rule.Ignored && strings.Contains(d.Reason, "control IAM.6"):
			ignored = true
		}
	}
	if !acted || !ignored || mototest.OpenToWorld(t, s, id) {
		t.Fatalf("decisions %+v", res.Decisions)
	}
	if f := findings(t, hub)[sgFindingID(id)]; f.ProductFields["rampart/State"] != "remediated" {
		t.Fatalf("finding %+v", f)
	}
}
