package configpath_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/sgopen"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
	"github.com/rampart-aws/rampart/internal/trigger"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

var ctx = context.Background()

const putEvaluations = "StarlingDoveService.PutEvaluations"

// configEvent is a real-shaped Config invocation from events/config aimed at
// sg-restricted-ssh, edited, with the test-mode token (see
// enginetest.ConfigInvocation).
func configEvent(t testing.TB, file string, edit func(ev, item map[string]any)) []byte {
	t.Helper()
	return enginetest.ConfigInvocation(t, file, "rampart-sg-restricted-ssh", "{}", edit)
}

// forID aims an event at a group.
func forID(id string) func(ev, item map[string]any) {
	return func(_, item map[string]any) { item["resourceId"] = id }
}

func newEngine(t testing.TB, s *awsclient.Session, cfg engine.Config) (*engine.Engine, *enginetest.Evaluations) {
	t.Helper()
	return enginetest.New(t, s, cfg, sgopen.OpenWorld, sgopen.RestrictedSSH, sgopen.RestrictedCommonPorts)
}

func count(calls []string, name string) int {
	n := 0
	for _, c := range calls {
		if c == name {
			n++
		}
	}
	return n
}

// group makes a security group in the default VPC with HTTPS open to the
// world (allowed by every rule here) and, when ssh is set, SSH too.
func group(t testing.TB, s *awsclient.Session, name string, ssh bool, tags map[string]string) string {
	t.Helper()
	in := &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String("test group " + name)}
	if len(tags) > 0 {
		spec := ec2types.TagSpecification{ResourceType: ec2types.ResourceTypeSecurityGroup}
		for k, v := range tags {
			spec.Tags = append(spec.Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		in.TagSpecifications = []ec2types.TagSpecification{spec}
	}
	id := mototest.CreateGroup(t, s, in)
	perms := []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
		IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}
	if ssh {
		perms = append(perms, ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}})
	}
	mototest.Authorize(t, s, id, perms...)
	return id
}

// ingress lists a group's ingress as "from-to cidr".
func ingress(t testing.TB, s *awsclient.Session, id string) []string {
	t.Helper()
	out, err := awsclient.Client(s, ec2.NewFromConfig).DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, p := range out.SecurityGroups[0].IpPermissions {
		for _, r := range p.IpRanges {
			lines = append(lines, fmt.Sprintf("%d-%d %s", aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort), aws.ToString(r.CidrIp)))
		}
	}
	slices.Sort(lines)
	return lines
}

func itemTime(t *testing.T, file string) time.Time {
	t.Helper()
	tr, err := trigger.Decode(enginetest.Sample(t, "events/config/"+file))
	if err != nil {
		t.Fatal(err)
	}
	if it := tr.Config.Item; it != nil {
		return it.CaptureTime
	}
	if it := tr.Config.Summary; it != nil {
		return it.CaptureTime
	}
	return tr.Config.NotificationTime
}

func TestChangeNotificationInEnforceModeRemediatesAndSaysSo(t *testing.T) {
	s := mototest.Session(t)
	id := group(t, s, "web", true, nil)
	e, rec := newEngine(t, s, engine.Config{Mode: engine.Enforce})
	res, got := enginetest.Recorded(t, e, configEvent(t, "sg-change-notification.json", forID(id)))
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || d.Actions[0].Outcome != rule.Applied || d.Rule != "sg-restricted-ssh" {
		t.Fatalf("decision = %+v", d)
	}
	if after := ingress(t, s, id); !slices.Equal(after, []string{"443-443 0.0.0.0/0"}) {
		t.Fatalf("ingress after = %v", after)
	}
	if want := []string{"DescribeSecurityGroups", "RevokeSecurityGroupIngress", putEvaluations}; !slices.Equal(got, want) {
		t.Fatalf("API calls = %v, want %v", got, want)
	}
	if rec.Calls != 1 || rec.Tokens[0] != trigger.TestModeToken || len(rec.Evals) != 1 {
		t.Fatalf("evaluator saw %d calls, %v", rec.Calls, rec.Evals)
	}
	ev := rec.Evals[0]
	ann := aws.ToString(ev.Annotation)
	if ev.ComplianceType != cfgtypes.ComplianceTypeNonCompliant || aws.ToString(ev.ComplianceResourceId) != id ||
		aws.ToString(ev.ComplianceResourceType) != sgopen.ResourceType || !strings.Contains(ann, "applied ec2:RevokeSecurityGroupIngress") || len(ann) > 256 {
		t.Fatalf("evaluation = %+v (%q)", ev, ann)
	}
	if want := itemTime(t, "sg-change-notification.json"); !aws.ToTime(ev.OrderingTimestamp).Equal(want) {
		t.Fatalf("ordering timestamp = %v, want the capture time %v", aws.ToTime(ev.OrderingTimestamp), want)
	}
	// Config notifies again (a late or duplicate change): compliant, no call
	// beyond the describe.
	srv := mototest.Record(t)
	res, _ = e.Handle(ctx, configEvent(t, "sg-change-notification.json", forID(id)))
	if got := srv.Recorded(t); res.Decisions[0].Verdict != rule.Compliant || count(got, "RevokeSecurityGroupIngress") != 0 {
		t.Fatalf("duplicate = %+v, calls %v", res.Decisions[0], got)
	}
}

func TestOversizedNotificationIsEvaluatedFromLiveState(t *testing.T) {
	s := mototest.Session(t)
	bad, good := group(t, s, "bad", true, nil), group(t, s, "good", false, nil)
	e, rec := newEngine(t, s, engine.Config{Mode: engine.Report})
	for _, tc := range []struct {
		id   string
		want cfgtypes.ComplianceType
	}{{bad, cfgtypes.ComplianceTypeNonCompliant}, {good, cfgtypes.ComplianceTypeCompliant}} {
		_, got := enginetest.Recorded(t, e, configEvent(t, "sg-oversized-notification.json", forID(tc.id)))
		if !slices.Equal(got, []string{"DescribeSecurityGroups", putEvaluations}) {
			t.Fatalf("API calls = %v", got)
		}
		ev := rec.Evals[len(rec.Evals)-1]
		if ev.ComplianceType != tc.want || aws.ToString(ev.ComplianceResourceId) != tc.id {
			t.Fatalf("evaluation = %+v", ev)
		}
		if want := itemTime(t, "sg-oversized-notification.json"); !aws.ToTime(ev.OrderingTimestamp).Equal(want) {
			t.Fatalf("ordering timestamp = %v, want %v", aws.ToTime(ev.OrderingTimestamp), want)
		}
	}
	if len(ingress(t, s, bad)) != 2 {
		t.Fatal("report mode changed the group")
	}
}

func TestGoneAndOutOfScopeItemsAreNotApplicable(t *testing.T) {
	s := mototest.Session(t)
	id := group(t, s, "web", true, nil)
	e, rec := newEngine(t, s, engine.Config{Mode: engine.Enforce})
	status := func(st string) func(ev, item map[string]any) {
		return func(_, item map[string]any) { item["resourceId"], item["configurationItemStatus"] = id, st }
	}
	for _, tc := range []struct {
		name, file string
		edit       func(ev, item map[string]any)
		reason     string
	}{
		{"deleted", "sg-deleted-notification.json", forID(id), "ResourceDeleted"},
		{"deleted, not recorded", "sg-change-notification.json", status("ResourceDeletedNotRecorded"), "ResourceDeletedNotRecorded"},
		{"not recorded", "sg-change-notification.json", status("ResourceNotRecorded"), "ResourceNotRecorded"},
		{"left scope", "sg-left-scope.json", forID(id), "left the rule's scope"},
		{"other type", "volume-change-notification.json", nil, "does not judge AWS::EC2::Volume"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, got := enginetest.Recorded(t, e, configEvent(t, tc.file, tc.edit))
			d := res.Decisions[0]
			if d.Verdict != rule.NotApplicable || !strings.Contains(d.Reason, tc.reason) || len(d.Actions) != 0 {
				t.Fatalf("decision = %+v", d)
			}
			// Decided from the notification alone: no describe, no change.
			if !slices.Equal(got, []string{putEvaluations}) {
				t.Fatalf("API calls = %v", got)
			}
			if ev := rec.Evals[len(rec.Evals)-1]; ev.ComplianceType != cfgtypes.ComplianceTypeNotApplicable {
				t.Fatalf("evaluation = %+v", ev)
			}
		})
	}
	if len(ingress(t, s, id)) != 2 {
		t.Fatal("a not-applicable item was remediated")
	}
}

func TestSnapshotDeliveryIsIgnoredCleanly(t *testing.T) {
	s := mototest.Session(t)
	e, rec := newEngine(t, s, engine.Config{Mode: engine.Enforce})
	raw := enginetest.Sample(t, "events/config/snapshot-delivery-completed.json")
	srv := mototest.Record(t)
	res, err := e.Handle(ctx, raw)
	if got := srv.Recorded(t); err != nil || len(got) != 0 || rec.Calls != 0 || res.Decisions[0].Verdict != rule.Ignored {
		t.Fatalf("result = %+v, %v; calls %v", res, err, got)
	}
}

func TestBadRuleParametersFailBeforeAnyCall(t *testing.T) {
	s := mototest.Session(t)
	id := group(t, s, "web", true, nil)
	e, rec := newEngine(t, s, engine.Config{Mode: engine.Enforce})
	params := func(p string) func(ev, item map[string]any) {
		return func(ev, item map[string]any) {
			ev["ruleParameters"] = p
			if item != nil {
				item["resourceId"] = id
			}
		}
	}
	raw := enginetest.Sample(t, "events/config/bad-rule-parameters.json")
	for name, payload := range map[string][]byte{
		"not JSON (the sample)":                 raw,
		"unknown parameter":                     configEvent(t, "sg-change-notification.json", params(`{"ports":"22,3389"}`)),
		"invalid value":                         configEvent(t, "sg-change-notification.json", params(`{"blockedPorts":"ssh"}`)),
		"empty block-list":                      configEvent(t, "sg-change-notification.json", params(`{"blockedPorts":""}`)),
		"invalid value on a scheduled run":      configEvent(t, "scheduled-notification.json", params(`{"blockedPorts":"99999"}`)),
		"a parameter of another rule (sg-open)": configEvent(t, "sg-change-notification.json", params(`{"authorizedTcpPorts":"443"}`)),
	} {
		t.Run(name, func(t *testing.T) {
			srv := mototest.Record(t)
			res, err := e.Handle(ctx, payload)
			got := srv.Recorded(t)
			if !errors.Is(err, trigger.ErrInput) || res != nil {
				t.Fatalf("err = %v, res = %+v", err, res)
			}
			if !strings.Contains(err.Error(), "ruleParameters") {
				t.Fatalf("unclear error: %v", err)
			}
			if len(got) != 0 {
				t.Fatalf("API calls = %v", got)
			}
		})
	}
	if rec.Calls != 0 || len(ingress(t, s, id)) != 2 {
		t.Fatal("bad parameters led to evaluations or changes")
	}
}

func TestExemptGroupsAreNotApplicableWithTheReason(t *testing.T) {
	s := mototest.Session(t)
	tagged := group(t, s, "bastion", true, map[string]string{"rampart:exempt": "bastion host for the on-call; owner=ops@example.com; expires=" + time.Now().AddDate(0, 0, 30).Format(time.DateOnly)})
	listed := group(t, s, "vendor", true, nil)
	e, rec := newEngine(t, s, engine.Config{Mode: engine.Enforce, Exemptions: []engine.Exemption{
		{Rule: "sg-restricted-ssh", Resource: listed, Reason: "vendor appliance, CHG-1234", Owner: "net@example.com", Expires: "2099-01-01"}}})
	for id, reason := range map[string]string{tagged: "bastion host for the on-call", listed: "vendor appliance, CHG-1234"} {
		res, got := enginetest.Recorded(t, e, configEvent(t, "sg-change-notification.json", forID(id)))
		d := res.Decisions[0]
		if d.Verdict != rule.NotApplicable || !strings.Contains(d.Reason, reason) || len(d.Actions) != 0 {
			t.Fatalf("decision = %+v", d)
		}
		ev := rec.Evals[len(rec.Evals)-1]
		if ev.ComplianceType != cfgtypes.ComplianceTypeNotApplicable || !strings.Contains(aws.ToString(ev.Annotation), reason) {
			t.Fatalf("evaluation = %+v", ev)
		}
		if !slices.Equal(got, []string{"DescribeSecurityGroups", putEvaluations}) || len(ingress(t, s, id)) != 2 {
			t.Fatalf("exempt group touched: calls %v, ingress %v", got, ingress(t, s, id))
		}
	}
}

// TestScheduledNotificationReportsEveryGroupInBatches sweeps more than 100
// groups through a ScheduledNotification in enforce mode: every group gets
// exactly one evaluation, the evaluations go out in ceil(n/100) calls, and
// only the violating groups are changed.
func TestScheduledNotificationReportsEveryGroupInBatches(t *testing.T) {
	s := mototest.Session(t)
	const groups, open = 120, 12
	var violating []string
	for i := range groups {
		id := group(t, s, fmt.Sprintf("g%03d", i), i%(groups/open) == 0, nil)
		if i%(groups/open) == 0 {
			violating = append(violating, id)
		}
	}
	e, rec := newEngine(t, s, engine.Config{Mode: engine.Enforce})
	res, got := enginetest.Recorded(t, e, configEvent(t, "scheduled-notification.json", nil))
	n := len(res.Decisions) // ours plus the default VPC's default group
	if n != groups+1 || len(rec.Evals) != n {
		t.Fatalf("%d decisions, %d evaluations for %d groups", n, len(rec.Evals), groups+1)
	}
	if want := (n + 99) / 100; count(got, putEvaluations) != want || rec.Calls != 1 {
		t.Fatalf("PutEvaluations calls = %d, want %d (engine handed %d)", count(got, putEvaluations), want, rec.Calls)
	}
	if count(got, "DescribeSecurityGroups") != 1 || count(got, "RevokeSecurityGroupIngress") != open || len(got) != 1+open+(n+99)/100 {
		t.Fatalf("API calls = %v", got)
	}
	seen := map[string]cfgtypes.ComplianceType{}
	want := itemTime(t, "scheduled-notification.json")
	for _, ev := range rec.Evals {
		id := aws.ToString(ev.ComplianceResourceId)
		if _, dup := seen[id]; dup {
			t.Fatalf("%s evaluated twice", id)
		}
		seen[id] = ev.ComplianceType
		if !aws.ToTime(ev.OrderingTimestamp).Equal(want) {
			t.Fatalf("ordering timestamp %v, want the notification time %v", aws.ToTime(ev.OrderingTimestamp), want)
		}
	}
	for _, id := range violating {
		if seen[id] != cfgtypes.ComplianceTypeNonCompliant || !slices.Equal(ingress(t, s, id), []string{"443-443 0.0.0.0/0"}) {
			t.Fatalf("%s: %s, ingress %v", id, seen[id], ingress(t, s, id))
		}
	}
	nonCompliant := 0
	for _, c := range seen {
		if c == cfgtypes.ComplianceTypeNonCompliant {
			nonCompliant++
		}
	}
	if nonCompliant != open {
		t.Fatalf("%d non-compliant, want %d", nonCompliant, open)
	}
}

// BenchmarkScheduledSweep measures one Config ScheduledNotification of
// sg-restricted-ssh over 1,000 security groups (100 of them open to the
// world on SSH) against moto, in report mode so every iteration sees the same
// state. Run it with
//
//	go test -run '^$' -bench ScheduledSweep -benchtime 3x ./internal/testing/configpath
//
// It reports the API calls of one sweep (api-calls/op) and how many of them
// were PutEvaluations batches, next to the wall time (ns/op).
func BenchmarkScheduledSweep(b *testing.B) {
	s := mototest.Session(b)
	const groups = 1000
	for i := range groups {
		group(b, s, fmt.Sprintf("bench-%04d", i), i%10 == 0, nil)
	}
	e, rec := newEngine(b, s, engine.Config{Mode: engine.Report})
	raw := configEvent(b, "scheduled-notification.json", nil)
	srv := mototest.Shared(b)
	var got []string
	first := true
	b.ReportAllocs()
	for b.Loop() {
		if first {
			if err := srv.StartRecording(); err != nil {
				b.Fatal(err)
			}
		}
		res, err := e.Handle(ctx, raw)
		if err != nil || len(res.Decisions) != groups+1 {
			b.Fatalf("sweep: %v (%d decisions)", err, len(res.Decisions))
		}
		if first {
			b.StopTimer()
			got = srv.Recorded(b)
			first = false
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(len(got)), "api-calls/op")
	b.ReportMetric(float64(count(got, putEvaluations)), "put-evaluations/op")
	b.ReportMetric(float64(count(got, "DescribeSecurityGroups")), "describe-calls/op")
	b.ReportMetric(float64(len(rec.Evals))/float64(b.N), "evaluations/op")
}
