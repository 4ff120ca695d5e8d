package eipattached_test

import (
	"context"
	"encoding/json"
	"errors"
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
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/eipattached"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

var ctx = context.Background()

// configEvent is a real-shaped Config invocation from events/config aimed at
// this rule, with the test-mode token and, when id is set, the item's
// resource ID replaced (see enginetest.ConfigInvocation).
func configEvent(t *testing.T, file, id string) []byte {
	t.Helper()
	var edit func(ev, item map[string]any)
	if id != "" {
		edit = func(_, item map[string]any) {
			item["resourceId"] = id
			item["configuration"].(map[string]any)["allocationId"] = id
		}
	}
	return enginetest.ConfigInvocation(t, file, "rampart-eip-attached", "{}", edit)
}

func newEngine(t *testing.T, s *awsclient.Session, mode engine.Mode) (*engine.Engine, *enginetest.Evaluations) {
	t.Helper()
	return enginetest.New(t, s, engine.Config{Mode: mode, Params: map[string]map[string]string{
		"eip-attached": {eipattached.ParamAllowRelease: "true"}}}, eipattached.Rule)
}

func TestEnforceAloneNeverReleases(t *testing.T) {
	s := mototest.Session(t)
	id := allocate(t, s)
	tag(t, s, id, eipattached.TagPending, time.Now().Add(-100*time.Hour).UTC().Format(time.RFC3339))
	e, rec := enginetest.New(t, s, engine.Config{Mode: engine.Enforce}, eipattached.Rule) // allowRelease left at false
	srv := mototest.Record(t)
	d := enginetest.One(t, e, configEvent(t, "eip-change-notification.json", id))
	got, _ := srv.Calls()
	if d.Verdict != rule.Violation || len(d.Actions) != 0 || !strings.Contains(d.Reason, "allowRelease=true") {
		t.Fatalf("decision = %+v", d)
	}
	if want := []string{"DescribeAddresses", "StarlingDoveService.PutEvaluations"}; !slices.Equal(got, want) {
		t.Fatalf("API calls = %v, want %v", got, want)
	}
	if address(t, s, id) == nil || rec.Evals[0].ComplianceType != cfgtypes.ComplianceTypeNonCompliant {
		t.Fatalf("released, or evaluation %+v", rec.Evals)
	}
	// A bad value is refused at cold start, not read as false.
	if _, err := engine.New(engine.Config{Params: map[string]map[string]string{"eip-attached": {eipattached.ParamAllowRelease: "yes"}}},
		s, eipattached.Rule); err == nil {
		t.Fatal("allowRelease=yes accepted")
	}
}

func allocate(t *testing.T, s *awsclient.Session) string {
	t.Helper()
	out, err := awsclient.Client(s, ec2.NewFromConfig).AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.AllocationId)
}

func tag(t *testing.T, s *awsclient.Session, id, key, value string) {
	t.Helper()
	if _, err := awsclient.Client(s, ec2.NewFromConfig).CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id},
		Tags: []ec2types.Tag{{Key: aws.String(key), Value: aws.String(value)}}}); err != nil {
		t.Fatal(err)
	}
}

// address reads the address back: nil when released.
func address(t *testing.T, s *awsclient.Session, id string) *ec2types.Address {
	t.Helper()
	out, err := awsclient.Client(s, ec2.NewFromConfig).DescribeAddresses(ctx, &ec2.DescribeAddressesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range out.Addresses {
		if aws.ToString(a.AllocationId) == id {
			return &a
		}
	}
	return nil
}

func tagValue(a *ec2types.Address, key string) (string, bool) {
	for _, tg := range a.Tags {
		if aws.ToString(tg.Key) == key {
			return aws.ToString(tg.Value), true
		}
	}
	return "", false
}

func associate(t *testing.T, s *awsclient.Session, id string) {
	t.Helper()
	c := awsclient.Client(s, ec2.NewFromConfig)
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-12c6146b"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AssociateAddress(ctx, &ec2.AssociateAddressInput{AllocationId: aws.String(id), InstanceId: run.Instances[0].InstanceId}); err != nil {
		t.Fatal(err)
	}
}

func TestTagThenReleaseAfterGrace(t *testing.T) {
	s := mototest.Session(t)
	id := allocate(t, s)
	e, rec := newEngine(t, s, engine.Enforce)
	event := configEvent(t, "eip-change-notification.json", id)

	// First seen unattached: tagged with the time, not released.
	srv := mototest.Record(t)
	d := enginetest.One(t, e, event)
	got, _ := srv.Calls()
	if d.Verdict != rule.Violation || len(d.Actions) != 1 || d.Actions[0].API != "ec2:CreateTags" || d.Actions[0].Outcome != rule.Applied {
		t.Fatalf("first = %+v", d)
	}
	if want := []string{"DescribeAddresses", "CreateTags", "StarlingDoveService.PutEvaluations"}; !slices.Equal(got, want) {
		t.Fatalf("API calls = %v, want %v", got, want)
	}
	a := address(t, s, id)
	since, ok := tagValue(a, eipattached.TagPending)
	if stamp, err := time.Parse(time.RFC3339, since); !ok || err != nil || time.Since(stamp) > time.Minute {
		t.Fatalf("pending tag = %q (%v)", since, ok)
	}
	if !strings.Contains(aws.ToString(rec.Evals[0].Annotation), "applied ec2:CreateTags") {
		t.Fatalf("annotation = %q", aws.ToString(rec.Evals[0].Annotation))
	}

	// Seen again within the grace period: still a violation, nothing done.
	d = enginetest.One(t, e, event)
	if d.Verdict != rule.Violation || len(d.Actions) != 0 || address(t, s, id) == nil {
		t.Fatalf("within grace = %+v", d)
	}
	if v, _ := tagValue(address(t, s, id), eipattached.TagPending); v != since {
		t.Fatalf("the tag moved: %q → %q", since, v)
	}

	// The grace period has passed (the tag says 73h ago): released.
	tag(t, s, id, eipattached.TagPending, time.Now().Add(-73*time.Hour).UTC().Format(time.RFC3339))
	srv = mototest.Record(t)
	d = enginetest.One(t, e, event)
	got, _ = srv.Calls()
	if d.Verdict != rule.Violation || len(d.Actions) != 1 || d.Actions[0].API != "ec2:ReleaseAddress" || d.Actions[0].Outcome != rule.Applied || d.Actions[0].Undo != nil {
		t.Fatalf("after grace = %+v", d)
	}
	if !strings.Contains(d.Actions[0].Reason, "cannot be undone") {
		t.Fatalf("release reason = %q", d.Actions[0].Reason)
	}
	if want := []string{"DescribeAddresses", "DescribeAddresses", "ReleaseAddress", "StarlingDoveService.PutEvaluations"}; !slices.Equal(got, want) {
		t.Fatalf("API calls = %v, want %v", got, want)
	}
	if address(t, s, id) != nil {
		t.Fatal("the address was not released")
	}
	// Late duplicate: the address is gone.
	if d = enginetest.One(t, e, event); d.Verdict != rule.NotApplicable {
		t.Fatalf("after release = %+v", d)
	}
}

func TestExemptAddressIsNeverReleased(t *testing.T) {
	s := mototest.Session(t)
	id := allocate(t, s)
	tag(t, s, id, eipattached.TagPending, time.Now().Add(-1000*time.Hour).UTC().Format(time.RFC3339))
	tag(t, s, id, "rampart:exempt", "standby IP for DR; owner=net@example.com; expires="+time.Now().AddDate(0, 0, 30).Format(time.DateOnly))
	e, rec := newEngine(t, s, engine.Enforce)
	d := enginetest.One(t, e, configEvent(t, "eip-change-notification.json", id))
	if d.Verdict != rule.NotApplicable || !strings.Contains(d.Reason, "standby IP for DR") || len(d.Actions) != 0 {
		t.Fatalf("decision = %+v", d)
	}
	if rec.Evals[0].ComplianceType != cfgtypes.ComplianceTypeNotApplicable || !strings.Contains(aws.ToString(rec.Evals[0].Annotation), "exempt") {
		t.Fatalf("evaluation = %+v", rec.Evals[0])
	}
	if address(t, s, id) == nil {
		t.Fatal("an exempt address was released")
	}
}

// planRelease tags id as unattached 100 hours ago and evaluates it with the
// opt-in: the plan is one release, returned with the bound rule.
func planRelease(t *testing.T, s *awsclient.Session, id string) (*rule.Bound, rule.Action) {
	t.Helper()
	tag(t, s, id, eipattached.TagPending, time.Now().Add(-100*time.Hour).UTC().Format(time.RFC3339))
	b, err := rule.BindWith(eipattached.Rule, map[string]string{eipattached.ParamGrace: "72", eipattached.ParamAllowRelease: "true"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := b.Evaluate(ctx, rule.Env{Session: s}, rule.Target{Type: eipattached.ResourceType, ID: id})
	if err != nil || len(f.Actions) != 1 || f.Actions[0].API != "ec2:ReleaseAddress" {
		t.Fatalf("finding = %+v, %v", f, err)
	}
	return b, f.Actions[0]
}

// exemptFor is a valid exemption tag value, expiring in days.
func exemptFor(days int) string {
	return "DR standby; owner=net@example.com; expires=" + time.Now().UTC().AddDate(0, 0, days).Format(time.DateOnly)
}

func untag(t *testing.T, s *awsclient.Session, id, key string) {
	t.Helper()
	if _, err := awsclient.Client(s, ec2.NewFromConfig).DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id},
		Tags: []ec2types.Tag{{Key: aws.String(key)}}}); err != nil {
		t.Fatal(err)
	}
}

func TestApplyRechecksBeforeReleasing(t *testing.T) {
	s := mototest.Session(t)
	id := allocate(t, s)
	old := time.Now().Add(-100 * time.Hour).UTC().Format(time.RFC3339)
	b, release := planRelease(t, s, id)
	env := rule.Env{Session: s}

	// Exempted (validly) between evaluation and apply: kept.
	tag(t, s, id, "rampart:exempt", exemptFor(30))
	if err := b.Apply(ctx, env, release); !errors.Is(err, rule.ErrNoOp) || address(t, s, id) == nil {
		t.Fatalf("exempt: err = %v", err)
	}
	untag(t, s, id, "rampart:exempt")
	// The deployment's own exemption tag counts too.
	tag(t, s, id, "corp:keep", exemptFor(30))
	if err := b.Apply(ctx, rule.Env{Session: s, ExemptTag: "corp:keep"}, release); !errors.Is(err, rule.ErrNoOp) || address(t, s, id) == nil {
		t.Fatalf("custom exemption tag: err = %v", err)
	}
	untag(t, s, id, "corp:keep")
	// The mark was renewed: kept.
	tag(t, s, id, eipattached.TagPending, time.Now().UTC().Format(time.RFC3339))
	if err := b.Apply(ctx, env, release); !errors.Is(err, rule.ErrNoOp) || address(t, s, id) == nil {
		t.Fatalf("renewed mark: err = %v", err)
	}
	tag(t, s, id, eipattached.TagPending, old)
	// Attached again: kept.
	associate(t, s, id)
	if err := b.Apply(ctx, env, release); !errors.Is(err, rule.ErrNoOp) || address(t, s, id) == nil {
		t.Fatalf("attached: err = %v", err)
	}
}

// TestApplyReleasesDespiteAnExemptionTheEngineWouldNotHonour: the re-check
// before the release counts an exemption tag only when the engine would
// honour it (owner, expiry, within the deployment's horizon): one added
// between evaluation and apply without an owner, expired, or beyond the
// horizon keeps nothing, and the address is released.
func TestApplyReleasesDespiteAnExemptionTheEngineWouldNotHonour(t *testing.T) {
	s := mototest.Session(t)
	for _, tc := range []struct {
		name    string
		value   string
		maxDays int // the deployment's horizon; 0: exemption.DefaultMaxDays
		kept    bool
	}{
		{"no owner or expiry", "keep", 0, false},
		{"expired", "DR standby; owner=net@example.com; expires=" + time.Now().UTC().AddDate(0, 0, -2).Format(time.DateOnly), 0, false},
		{"beyond the default horizon", exemptFor(120), 0, false},
		{"beyond the deployment's horizon", exemptFor(30), 7, false},
		{"within the deployment's horizon", exemptFor(30), 60, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := allocate(t, s)
			b, release := planRelease(t, s, id)
			tag(t, s, id, "rampart:exempt", tc.value)
			err := b.Apply(ctx, rule.Env{Session: s, ExemptMaxDays: tc.maxDays}, release)
			if tc.kept {
				if !errors.Is(err, rule.ErrNoOp) || address(t, s, id) == nil {
					t.Fatalf("err = %v, want kept", err)
				}
				return
			}
			if err != nil || address(t, s, id) != nil {
				t.Fatalf("err = %v, want released", err)
			}
		})
	}
}

func TestAttachedAddressLosesTheStaleTag(t *testing.T) {
	s := mototest.Session(t)
	id := allocate(t, s)
	since := time.Now().Add(-5 * time.Hour).UTC().Format(time.RFC3339)
	tag(t, s, id, eipattached.TagPending, since)
	associate(t, s, id)
	e, _ := newEngine(t, s, engine.Enforce)
	event := configEvent(t, "eip-change-notification.json", id)
	d := enginetest.One(t, e, event)
	if d.Verdict != rule.Compliant || len(d.Actions) != 1 || d.Actions[0].API != "ec2:DeleteTags" || d.Actions[0].Outcome != rule.Applied {
		t.Fatalf("decision = %+v", d)
	}
	if _, ok := tagValue(address(t, s, id), eipattached.TagPending); ok {
		t.Fatal("the stale tag is still there")
	}
	if d = enginetest.One(t, e, event); d.Verdict != rule.Compliant {
		t.Fatalf("second delivery = %+v", d)
	}
	// Undo puts the tag back.
	raw, _ := json.Marshal([]report.Decision{{Rule: "eip-attached", Actions: []rule.Action{{API: "ec2:DeleteTags", Outcome: rule.Applied,
		Undo: &rule.Action{API: "ec2:CreateTags", Target: id, Params: json.RawMessage(`{"allocationId":"` + id + `","key":"` + eipattached.TagPending + `","value":"` + since + `"}`)}}}}})
	var ds []report.Decision
	_ = json.Unmarshal(raw, &ds)
	if _, err := e.Undo(ctx, ds); err != nil {
		t.Fatal(err)
	}
	if v, _ := tagValue(address(t, s, id), eipattached.TagPending); v != since {
		t.Fatalf("after undo the tag = %q", v)
	}
}

func TestScheduledSweepOneCall(t *testing.T) {
	s := mototest.Session(t)
	idle, used := allocate(t, s), allocate(t, s)
	associate(t, s, used)
	e, rec := newEngine(t, s, engine.Report)
	srv := mototest.Record(t)
	res, err := e.Handle(ctx, configEvent(t, "scheduled-notification.json", ""))
	got, _ := srv.Calls()
	if err != nil || len(res.Decisions) != 2 || len(rec.Evals) != 2 {
		t.Fatalf("result = %+v, %v", res, err)
	}
	for _, d := range res.Decisions {
		want := map[string]rule.Verdict{idle: rule.Violation, used: rule.Compliant}[d.Resource]
		if d.Verdict != want {
			t.Fatalf("%s: %+v", d.Resource, d)
		}
		if d.Resource == idle && (len(d.Actions) != 1 || d.Actions[0].Outcome != rule.Planned) {
			t.Fatalf("report mode: %+v", d)
		}
	}
	if want := []string{"DescribeAddresses", "StarlingDoveService.PutEvaluations"}; !slices.Equal(got, want) {
		t.Fatalf("API calls = %v, want %v", got, want)
	}
	if _, ok := tagValue(address(t, s, idle), eipattached.TagPending); ok {
		t.Fatal("report mode tagged the address")
	}
}
