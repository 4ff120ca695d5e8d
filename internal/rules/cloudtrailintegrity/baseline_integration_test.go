package cloudtrailintegrity_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/s3bucket"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

const (
	logGroup = "arn:aws:logs:us-east-1:123456789012:log-group:org-audit:*"
	logRole  = "arn:aws:iam::123456789012:role/cloudtrail-logs"
	sink     = "attacker-sink-210987654321"
)

// baselineParams is a deployment naming every field of the trail.
var baselineParams = map[string]map[string]string{"cloudtrail-integrity": {
	"trailName": trail, "s3BucketName": bucket, "s3KeyPrefix": "org",
	"cloudWatchLogsLogGroupArn": logGroup, "cloudWatchLogsRoleArn": logRole}}

// seedBaseline is seed with the baseline's prefix and CloudWatch Logs delivery.
func seedBaseline(t *testing.T, s *awsclient.Session) *cloudtrail.Client {
	t.Helper()
	ct := seed(t, s)
	if _, err := ct.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(trail), S3KeyPrefix: aws.String("org"),
		CloudWatchLogsLogGroupArn: aws.String(logGroup), CloudWatchLogsRoleArn: aws.String(logRole)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3bucket.Client(s).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(sink)}); err != nil {
		t.Fatal(err)
	}
	return ct
}

func names(calls []string) string {
	var out []string
	for _, c := range calls {
		out = append(out, c[strings.LastIndex(c, ".")+1:])
	}
	return strings.Join(out, ",")
}

// A redirect of bucket, prefix and log group, single-region without global
// events (the pair AWS accepts: it refuses a multi-region trail without
// global events, which moto 5.2.1 accepts and Apply refuses), as one
// UpdateTrail: one UpdateTrail puts the whole baseline back, and its undo
// puts back exactly what the attacker left.
func TestRedirectIsRestoredInOneCallAndUndoneExactly(t *testing.T) {
	s := mototest.Session(t)
	ct := seedBaseline(t, s)
	attack := &cloudtrail.UpdateTrailInput{Name: aws.String(trail), S3BucketName: aws.String(sink), S3KeyPrefix: aws.String("x"),
		CloudWatchLogsLogGroupArn: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:scratch:*"),
		CloudWatchLogsRoleArn:     aws.String("arn:aws:iam::123456789012:role/scratch"), IncludeGlobalServiceEvents: aws.Bool(false),
		IsMultiRegionTrail: aws.Bool(false)}
	if _, err := ct.UpdateTrail(ctx, attack); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Config{Mode: engine.Enforce, Params: baselineParams})
	ev := event("UpdateTrail", `{"name":"`+trail+`","s3BucketName":"`+sink+`","s3KeyPrefix":"x","includeGlobalServiceEvents":false}`, mallory)
	res, calls := enginetest.Recorded(t, e, ev)
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied cloudtrail:UpdateTrail"}) {
		t.Fatalf("decision = %+v", d)
	}
	for _, want := range []string{`bucket "` + sink + `"`, `key prefix "x"`, "log group", "global service events", "one region only"} {
		if !strings.Contains(d.Reason, want) {
			t.Errorf("reason %q lacks %q", d.Reason, want)
		}
	}
	if got := names(calls); got != "GetTrail,GetTrailStatus,GetEventSelectors,ListTags,UpdateTrail" {
		t.Fatalf("calls = %s", got)
	}
	_, tr := status(t, ct)
	if aws.ToString(tr.S3BucketName) != bucket || aws.ToString(tr.S3KeyPrefix) != "org" || aws.ToString(tr.CloudWatchLogsLogGroupArn) != logGroup ||
		aws.ToString(tr.CloudWatchLogsRoleArn) != logRole || !aws.ToBool(tr.IncludeGlobalServiceEvents) || !aws.ToBool(tr.IsMultiRegionTrail) {
		t.Fatalf("trail not restored: %+v", tr)
	}
	if d := enginetest.Handle(t, e, ev).Decisions[0]; d.Verdict != rule.Compliant || len(d.Actions) != 0 {
		t.Fatalf("duplicate = %+v", d)
	}
	if got := enginetest.Undo(t, e, enginetest.RoundTrip(t, res)); !slices.Equal(got, []string{"applied cloudtrail:UpdateTrail"}) {
		t.Fatalf("undo = %v", got)
	}
	_, tr = status(t, ct)
	if aws.ToString(tr.S3BucketName) != sink || aws.ToString(tr.S3KeyPrefix) != "x" || aws.ToString(tr.CloudWatchLogsRoleArn) != *attack.CloudWatchLogsRoleArn ||
		aws.ToBool(tr.IncludeGlobalServiceEvents) || aws.ToBool(tr.IsMultiRegionTrail) {
		t.Fatalf("undo did not put back the previous state: %+v", tr)
	}
}

// Without the parameters, a redirect is not judged; the universal baseline is.
func TestUnsetParametersAreNotJudged(t *testing.T) {
	s := mototest.Session(t)
	ct := seedBaseline(t, s)
	if _, err := ct.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(trail), S3BucketName: aws.String(sink)}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Config{Mode: engine.Enforce})
	if d := enginetest.Handle(t, e, event("UpdateTrail", `{"name":"`+trail+`","s3BucketName":"`+sink+`"}`, mallory)).Decisions[0]; d.Verdict != rule.Compliant {
		t.Fatalf("decision = %+v", d)
	}
}

func selectors(t *testing.T, ct *cloudtrail.Client) *cloudtrail.GetEventSelectorsOutput {
	t.Helper()
	got, err := ct.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(trail)})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestAdvancedSelectorsAreRestoredInAdvancedForm(t *testing.T) {
	s := mototest.Session(t)
	ct := seed(t, s)
	data := cttypes.AdvancedEventSelector{Name: aws.String("payroll"), FieldSelectors: []cttypes.AdvancedFieldSelector{
		{Field: aws.String("eventCategory"), Equals: []string{"Data"}}, {Field: aws.String("resources.type"), Equals: []string{"AWS::S3::Object"}}}}
	reads := cttypes.AdvancedEventSelector{Name: aws.String("Management reads"), FieldSelectors: []cttypes.AdvancedFieldSelector{
		{Field: aws.String("eventCategory"), Equals: []string{"Management"}}, {Field: aws.String("readOnly"), Equals: []string{"true"}}}}
	if _, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(trail),
		AdvancedEventSelectors: []cttypes.AdvancedEventSelector{reads, data}}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Config{Mode: engine.Enforce})
	raw := enginetest.Sample(t, "events/cloudtrail/cloudtrail-put-event-selectors-advanced-reads-only.json", "management-events", trail)
	res, calls := enginetest.Recorded(t, e, raw)
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || !strings.Contains(d.Reason, "only read") || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied cloudtrail:PutEventSelectors"}) {
		t.Fatalf("decision = %+v", d)
	}
	if got := names(calls); got != "GetTrail,GetTrailStatus,GetEventSelectors,ListTags,PutEventSelectors" {
		t.Fatalf("calls = %s", got)
	}
	got := selectors(t, ct)
	if len(got.EventSelectors) != 0 || len(got.AdvancedEventSelectors) != 2 {
		t.Fatalf("selectors = %+v", got)
	}
	m, dt := got.AdvancedEventSelectors[0], got.AdvancedEventSelectors[1]
	if len(m.FieldSelectors) != 1 || m.FieldSelectors[0].Equals[0] != "Management" || aws.ToString(dt.Name) != "payroll" || len(dt.FieldSelectors) != 2 {
		t.Fatalf("selectors = %+v", got.AdvancedEventSelectors)
	}
	if got := enginetest.Undo(t, e, enginetest.RoundTrip(t, res)); !slices.Equal(got, []string{"applied cloudtrail:PutEventSelectors"}) {
		t.Fatalf("undo = %v", got)
	}
	if got := selectors(t, ct); len(got.AdvancedEventSelectors) != 2 || len(got.AdvancedEventSelectors[0].FieldSelectors) != 2 {
		t.Fatalf("undo selectors = %+v", got.AdvancedEventSelectors)
	}
}

func TestExcludedSourcesAreRecordedAgain(t *testing.T) {
	s := mototest.Session(t)
	ct := seed(t, s)
	if _, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(trail), EventSelectors: []cttypes.EventSelector{
		{ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(true), ExcludeManagementEventSources: []string{"kms.amazonaws.com", "rdsdata.amazonaws.com"}}}}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Config{Mode: engine.Enforce})
	raw := enginetest.Sample(t, "events/cloudtrail/cloudtrail-put-event-selectors-exclude-kms.json", "management-events", trail)
	if d := enginetest.Handle(t, e, raw).Decisions[0]; d.Verdict != rule.Violation || d.Actions[0].Outcome != rule.Applied {
		t.Fatalf("decision = %+v", d)
	}
	got := selectors(t, ct)
	if len(got.EventSelectors) != 1 || len(got.EventSelectors[0].ExcludeManagementEventSources) != 0 || got.EventSelectors[0].ReadWriteType != cttypes.ReadWriteTypeAll {
		t.Fatalf("selectors = %+v", got.EventSelectors)
	}
}

// TestFiveBasicSelectorsStayFive covers a moto 5.2.1 gap: moto accepts a
// sixth basic selector, AWS refuses it. The restore merges two data
// selectors instead, and moto's state shows five.
func TestFiveBasicSelectorsStayFive(t *testing.T) {
	s := mototest.Session(t)
	ct := seed(t, s)
	var five []cttypes.EventSelector
	for i, rw := range []cttypes.ReadWriteType{"ReadOnly", "WriteOnly", "ReadOnly", "WriteOnly", "ReadOnly"} {
		five = append(five, cttypes.EventSelector{ReadWriteType: rw, IncludeManagementEvents: aws.Bool(false),
			DataResources: []cttypes.DataResource{{Type: aws.String("AWS::S3::Object"), Values: []string{"arn:aws:s3:::bucket-" + string(rune('a'+i)) + "/"}}}})
	}
	if _, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(trail), EventSelectors: five}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Config{Mode: engine.Enforce})
	if d := enginetest.Handle(t, e, event("PutEventSelectors", `{"trailName":"`+trail+`"}`, mallory)).Decisions[0]; d.Verdict != rule.Violation || d.Actions[0].Outcome != rule.Applied {
		t.Fatalf("decision = %+v", d)
	}
	got := selectors(t, ct)
	values := 0
	for _, sel := range got.EventSelectors {
		for _, dr := range sel.DataResources {
			values += len(dr.Values)
		}
	}
	if len(got.EventSelectors) != 5 || values != 5 || !aws.ToBool(got.EventSelectors[4].IncludeManagementEvents) {
		t.Fatalf("selectors = %+v", got.EventSelectors)
	}
}

// TestSweepReconcilesLostEvents: no event arrives, the hourly sweep finds
// the weakened trail and the missing baseline trail.
func TestSweepReconcilesLostEvents(t *testing.T) {
	s := mototest.Session(t)
	ct := seed(t, s)
	if _, err := ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(trail)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(trail), EnableLogFileValidation: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Config{Mode: engine.Enforce})
	res, calls := enginetest.Recorded(t, e, enginetest.ScheduledEvent(t, "cloudtrail-integrity"))
	if len(res.Decisions) != 1 {
		t.Fatalf("decisions = %+v", res.Decisions)
	}
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied cloudtrail:StartLogging", "applied cloudtrail:UpdateTrail"}) {
		t.Fatalf("decision = %+v", d)
	}
	// DescribeTrails replaces GetTrail.
	if got := names(calls); got != "DescribeTrails,GetTrailStatus,GetEventSelectors,ListTags,StartLogging,UpdateTrail" {
		t.Fatalf("calls = %s", got)
	}
	if logging, tr := status(t, ct); !logging || !aws.ToBool(tr.LogFileValidationEnabled) {
		t.Fatalf("not reconciled: logging %v %+v", logging, tr)
	}
	// The baseline trail deleted while no event reached Rampart: recreated
	// by the sweep of its home region.
	if _, err := ct.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(trail)}); err != nil {
		t.Fatal(err)
	}
	e = newEngine(t, s, engine.Config{Mode: engine.Enforce, Params: map[string]map[string]string{
		"cloudtrail-integrity": {"trailName": trail, "trailRegion": "us-east-1", "s3BucketName": bucket}}})
	d = enginetest.Handle(t, e, enginetest.ScheduledEvent(t, "cloudtrail-integrity")).Decisions[0]
	if d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied cloudtrail:CreateTrail", "applied cloudtrail:PutEventSelectors", "applied cloudtrail:StartLogging"}) {
		t.Fatalf("decision = %+v", d)
	}
	if d := enginetest.Handle(t, e, enginetest.ScheduledEvent(t, "cloudtrail-integrity")).Decisions[0]; d.Verdict != rule.Compliant {
		t.Fatalf("second sweep = %+v", d)
	}
}

// With a baseline trail named, another trail is not the rule's to judge: no
// call is made.
func TestOtherTrailsAreLeftAlone(t *testing.T) {
	s := mototest.Session(t)
	ct := seed(t, s)
	if _, err := ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(trail)}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Config{Mode: engine.Enforce, Params: map[string]map[string]string{"cloudtrail-integrity": {"trailName": "the-real-one"}}})
	res, calls := enginetest.Recorded(t, e, event("StopLogging", `{"name":"`+trail+`"}`, mallory))
	if d := res.Decisions[0]; d.Verdict != rule.NotApplicable || len(calls) != 0 {
		t.Fatalf("decision = %+v, calls %v", d, calls)
	}
}
