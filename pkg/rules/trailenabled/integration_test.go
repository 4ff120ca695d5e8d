package trailenabled_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rampart-aws/rampart/pkg/awsclient"
	"github.com/rampart-aws/rampart/pkg/engine"
	"github.com/rampart-aws/rampart/pkg/mototest"
	"github.com/rampart-aws/rampart/pkg/report"
	"github.com/rampart-aws/rampart/pkg/rule"
	"github.com/rampart-aws/rampart/pkg/rules/trailenabled"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

var ctx = context.Background()

const bucket = "audit-logs-123456789012"

// scheduled is the real-shaped ScheduledNotification aimed at this rule,
// with the test-mode token: moto 5.2.1 accepts PutEvaluations only in test
// mode.
func scheduled(t *testing.T, file, params string) []byte {
	t.Helper()
	raw, err := os.ReadFile("../../../events/config/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	ev["configRuleName"], ev["resultToken"], ev["ruleParameters"] = "rampart-cloudtrail-enabled", "TESTMODE", params
	out, _ := json.Marshal(ev)
	return out
}

type recorder struct {
	next  report.Evaluator
	evals []cfgtypes.Evaluation
}

func (r *recorder) PutEvaluations(ctx context.Context, token string, evals []cfgtypes.Evaluation) error {
	r.evals = append(r.evals, evals...)
	return r.next.PutEvaluations(ctx, token, evals)
}

func newEngine(t *testing.T, s *awsclient.Session, mode engine.Mode) (*engine.Engine, *recorder) {
	t.Helper()
	e, err := engine.New(engine.Config{Mode: mode}, s, trailenabled.Rule)
	if err != nil {
		t.Fatal(err)
	}
	e.Log, e.Metrics = slog.New(slog.NewJSONHandler(io.Discard, nil)), io.Discard
	rec := &recorder{next: e.Evaluator}
	e.Evaluator = rec
	return e, rec
}

func handle(t *testing.T, e *engine.Engine, raw []byte) report.Decision {
	t.Helper()
	res, err := e.Handle(ctx, raw)
	if err != nil {
		t.Fatalf("handle: %v (%+v)", err, res)
	}
	if len(res.Decisions) != 1 {
		t.Fatalf("decisions = %+v", res.Decisions)
	}
	return res.Decisions[0]
}

// seed creates a trail (not logging: CreateTrail does not start it).
func seed(t *testing.T, s *awsclient.Session, name string, multi bool) *cloudtrail.Client {
	t.Helper()
	s3c := awsclient.Client(s, s3.NewFromConfig, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil && !strings.Contains(err.Error(), "BucketAlready") {
		t.Fatal(err)
	}
	ct := awsclient.Client(s, cloudtrail.NewFromConfig)
	if _, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String(bucket),
		IsMultiRegionTrail: aws.Bool(multi)}); err != nil {
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

func record(t *testing.T) *mototest.Server {
	t.Helper()
	srv := mototest.Shared(t)
	if err := srv.StartRecording(); err != nil {
		t.Fatal(err)
	}
	return srv
}

func TestStoppedMultiRegionTrailIsStarted(t *testing.T) {
	s := mototest.Session(t)
	ct := seed(t, s, "org-audit", true)
	e, rec := newEngine(t, s, engine.Enforce)
	srv := record(t)
	d := handle(t, e, scheduled(t, "scheduled-notification.json", `{"s3BucketName":"`+bucket+`"}`))
	got, _ := srv.Calls()
	if d.Verdict != rule.Violation || d.Resource != "123456789012" || len(d.Actions) != 1 ||
		d.Actions[0].API != "cloudtrail:StartLogging" || d.Actions[0].Outcome != rule.Applied {
		t.Fatalf("decision = %+v", d)
	}
	if !logging(t, ct, "org-audit") {
		t.Fatal("the trail is still not logging")
	}
	want := []string{"AWSSecurityTokenServiceV20110615.GetCallerIdentity", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails",
		"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.GetTrailStatus", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.StartLogging",
		"StarlingDoveService.PutEvaluations"}
	if !slices.Equal(short(got), short(want)) {
		t.Fatalf("API calls = %v", got)
	}
	ev := rec.evals[0]
	if aws.ToString(ev.ComplianceResourceType) != "AWS::::Account" || ev.ComplianceType != cfgtypes.ComplianceTypeNonCompliant ||
		!strings.Contains(aws.ToString(ev.Annotation), "applied cloudtrail:StartLogging") {
		t.Fatalf("evaluation = %+v", ev)
	}
	// Next period: compliant, nothing done.
	if d = handle(t, e, scheduled(t, "scheduled-notification.json", "{}")); d.Verdict != rule.Compliant || len(d.Actions) != 0 {
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
	if d := handle(t, e, scheduled(t, "scheduled-notification.json", "{}")); d.Verdict != rule.Violation || len(d.Actions) != 0 ||
		!strings.Contains(d.Reason, "no multi-region trail") {
		t.Fatalf("no trail = %+v", d)
	}
	ct := seed(t, s, "regional", false)
	if d := handle(t, e, scheduled(t, "scheduled-notification.json", "{}")); d.Verdict != rule.Violation || len(d.Actions) != 0 {
		t.Fatalf("single-region trail = %+v", d)
	}
	if logging(t, ct, "regional") {
		t.Fatal("a single-region trail was started")
	}
	seed(t, s, "org-audit", true)
	d := handle(t, e, scheduled(t, "scheduled-notification.json", `{"s3BucketName":"other-bucket"}`))
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
	if d := handle(t, e, scheduled(t, "scheduled-notification.json", "{}")); d.Verdict != rule.Violation || d.Actions[0].Outcome != rule.Planned {
		t.Fatalf("report = %+v", d)
	}
	if logging(t, ct, "org-audit") {
		t.Fatal("report mode started the trail")
	}
	srv := record(t)
	// The sample's own parameter belongs to cloudtrail-integrity, not here.
	_, err := e.Handle(ctx, scheduled(t, "scheduled-notification.json", `{"requireMultiRegion":"true"}`))
	_, err2 := e.Handle(ctx, scheduled(t, "scheduled-notification.json", `{"snsTopicArn":"my-topic"}`))
	got, _ := srv.Calls()
	if err == nil || err2 == nil || len(got) != 0 {
		t.Fatalf("bad parameters: %v, %v; calls %v", err, err2, got)
	}
	// A snapshot delivery is ignored without a call.
	srv = record(t)
	raw, err := os.ReadFile("../../../events/config/snapshot-delivery-completed.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Handle(ctx, raw)
	got, _ = srv.Calls()
	if err != nil || len(res.Decisions) != 1 || res.Decisions[0].Verdict != rule.Ignored || len(got) != 0 {
		t.Fatalf("snapshot delivery = %+v, %v; calls %v", res, err, got)
	}
}
