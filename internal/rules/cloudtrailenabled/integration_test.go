package cloudtrailenabled_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/cloudtrailenabled"
	"github.com/rampart-aws/rampart/internal/s3bucket"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

var ctx = context.Background()

const bucket = "audit-logs-123456789012"

// scheduled is the real-shaped ScheduledNotification aimed at this rule,
// with the test-mode token (see enginetest.ConfigInvocation).
func scheduled(t *testing.T, file, params string) []byte {
	t.Helper()
	return enginetest.ConfigInvocation(t, file, "rampart-cloudtrail-enabled", params, nil)
}

func newEngine(t *testing.T, s *awsclient.Session, mode engine.Mode) (*engine.Engine, *enginetest.Evaluations) {
	t.Helper()
	return enginetest.New(t, s, engine.Config{Mode: mode}, cloudtrailenabled.Rule)
}

// seed creates a trail (not logging: CreateTrail does not start it).
func seed(t *testing.T, s *awsclient.Session, name string, multi bool) *cloudtrail.Client {
	t.Helper()
	if _, err := s3bucket.Client(s).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil && !strings.Contains(err.Error(), "BucketAlready") {
		t.Fatal(err)
	}
	ct := awsclient.Client(s, cloudtrail.NewFromConfig)
	if _, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String(bucket),
		IsMultiRegionTrail: aws.Bool(multi)}); err != nil {
		t.Fatal(err)
	}
	// AWS gives a new trail one selector recording all management events;
	// moto 5.2.1 gives none.
	if _, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(name), EventSelectors: []cttypes.EventSelector{
		{ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(true)}}}); err != nil {
		t.Fatal(err)
	}
	return ct
}

func logging(t *testing.T, ct *cloudtrail.Client, name string) bool {
	t.Helper()
	st, err := ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToBool(st.IsLogging)
}

func TestStoppedMultiRegionTrailIsStarted(t *testing.T) {
	s := mototest.Session(t)
	ct := seed(t, s, "org-audit", true)
	e, rec := newEngine(t, s, engine.Enforce)
	srv := mototest.Record(t)
	d := enginetest.One(t, e, scheduled(t, "scheduled-notification.json", `{"s3BucketName":"`+bucket+`"}`))
	got, _ := srv.Calls()
	if d.Verdict != rule.Violation || d.Resource != "123456789012" || len(d.Actions) != 1 ||
		d.Actions[0].API != "cloudtrail:StartLogging" || d.Actions[0].Outcome != rule.Applied {
		t.Fatalf("decision = %+v", d)
	}
	if !logging(t, ct, "org-audit") {
		t.Fatal("the trail is still not logging")
	}
	want := []string{"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails",
		"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.GetTrailStatus", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.GetEventSelectors",
		"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.StartLogging",
		"StarlingDoveService.PutEvaluations"}
	if !slices.Equal(short(got), short(want)) {
		t.Fatalf("API calls = %v", got)
	}
	ev := rec.Evals[0]
	if aws.ToString(ev.ComplianceResourceType) != "AWS::::Account" || ev.ComplianceType != cfgtypes.ComplianceTypeNonCompliant ||
		!strings.Contains(aws.ToString(ev.Annotation), "applied cloudtrail:StartLogging") {
		t.Fatalf("evaluation = %+v", ev)
	}
	// Next period: compliant, nothing done.
	if d = enginetest.One(t, e, scheduled(t, "scheduled-notification.json", "{}")); d.Verdict != rule.Compliant || len(d.Actions) != 0 {
		t.Fatalf("next period = %+v", d)
	}
	// Undo stops it again.
	if _, err := e.Undo(ctx, []report.Decision{{Rule: "cloudtrail-enabled", Actions: []rule.Action{{API: "cloudtrail:StartLogging", Outcome: rule.Applied,
		Undo: &rule.Action{API: "cloudtrail:StopLogging", Params: json.RawMessage(`{"name":"org-audit"}`)}}}}}); err != nil {
		t.Fatal(err)
	}
	if logging(t, ct, "org-audit") {
		t.Fatal("undo did not stop logging")
	}
}

// short keeps the operation name of a recorded call.
func short(calls []string) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c[strings.LastIndex(c, ".")+1:]
	}
	return out
}

func TestReportsWhatItCannotFix(t *testing.T) {
	s := mototest.Session(t)
	e, _ := newEngine(t, s, engine.Enforce)
	if d := enginetest.One(t, e, scheduled(t, "scheduled-notification.json", "{}")); d.Verdict != rule.Violation || len(d.Actions) != 0 ||
		!strings.Contains(d.Reason, "no multi-region trail") {
		t.Fatalf("no trail = %+v", d)
	}
	ct := seed(t, s, "regional", false)
	if d := enginetest.One(t, e, scheduled(t, "scheduled-notification.json", "{}")); d.Verdict != rule.Violation || len(d.Actions) != 0 {
		t.Fatalf("single-region trail = %+v", d)
	}
	if logging(t, ct, "regional") {
		t.Fatal("a single-region trail was started")
	}
	seed(t, s, "org-audit", true)
	d := enginetest.One(t, e, scheduled(t, "scheduled-notification.json", `{"s3BucketName":"other-bucket"}`))
	if d.Verdict != rule.Violation || len(d.Actions) != 0 || !strings.Contains(d.Reason, "lacks bucket other-bucket") {
		t.Fatalf("wrong bucket = %+v", d)
	}
	if logging(t, ct, "org-audit") {
		t.Fatal("a trail that misses the requirements was started")
	}
}

func TestReportModeAndBadParameters(t *testing.T) {
	s := mototest.Session(t)
	ct := seed(t, s, "org-audit", true)
	e, _ := newEngine(t, s, engine.Report)
	if d := enginetest.One(t, e, scheduled(t, "scheduled-notification.json", "{}")); d.Verdict != rule.Violation || d.Actions[0].Outcome != rule.Planned {
		t.Fatalf("report = %+v", d)
	}
	if logging(t, ct, "org-audit") {
		t.Fatal("report mode started the trail")
	}
	srv := mototest.Record(t)
	// The sample's own parameter belongs to cloudtrail-integrity, not here.
	_, err := e.Handle(ctx, scheduled(t, "scheduled-notification.json", `{"requireMultiRegion":"true"}`))
	_, err2 := e.Handle(ctx, scheduled(t, "scheduled-notification.json", `{"snsTopicArn":"my-topic"}`))
	got, _ := srv.Calls()
	if err == nil || err2 == nil || len(got) != 0 {
		t.Fatalf("bad parameters: %v, %v; calls %v", err, err2, got)
	}
	// A snapshot delivery is ignored without a call.
	srv = mototest.Record(t)
	res, err := e.Handle(ctx, enginetest.Sample(t, "events/config/snapshot-delivery-completed.json"))
	got, _ = srv.Calls()
	if err != nil || len(res.Decisions) != 1 || res.Decisions[0].Verdict != rule.Ignored || len(got) != 0 {
		t.Fatalf("snapshot delivery = %+v, %v; calls %v", res, err, got)
	}
}

// A trail that logs but excludes management events or sources is not
// compliant, and is not started either when stopped.
func TestLoggingTrailWithoutAllManagementEventsIsNotCompliant(t *testing.T) {
	s := mototest.Session(t)
	ct := seed(t, s, "org-audit", true)
	if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("org-audit")}); err != nil {
		t.Fatal(err)
	}
	e, _ := newEngine(t, s, engine.Enforce)
	for _, sel := range []cttypes.EventSelector{
		{ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(true), ExcludeManagementEventSources: []string{"kms.amazonaws.com"}},
		{ReadWriteType: cttypes.ReadWriteTypeWriteOnly, IncludeManagementEvents: aws.Bool(true)},
	} {
		if _, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("org-audit"), EventSelectors: []cttypes.EventSelector{sel}}); err != nil {
			t.Fatal(err)
		}
		if d := enginetest.One(t, e, scheduled(t, "scheduled-notification.json", "{}")); d.Verdict != rule.Violation || len(d.Actions) != 0 {
			t.Fatalf("%+v: decision = %+v", sel, d)
		}
	}
	if _, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("org-audit"), AdvancedEventSelectors: []cttypes.AdvancedEventSelector{
		{FieldSelectors: []cttypes.AdvancedFieldSelector{{Field: aws.String("eventCategory"), Equals: []string{"Management"}}, {Field: aws.String("readOnly"), Equals: []string{"false"}}}}}}); err != nil {
		t.Fatal(err)
	}
	if d := enginetest.One(t, e, scheduled(t, "scheduled-notification.json", "{}")); d.Verdict != rule.Violation || !strings.Contains(d.Reason, "only write") {
		t.Fatalf("advanced writes only = %+v", d)
	}
}
