package cloudtrailintegrity_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/awsclient/sdkconfig"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/cloudtrailintegrity"
	"github.com/rampart-aws/rampart/internal/s3bucket"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

const (
	trail  = "org-audit"
	bucket = "audit-logs-123456789012"
)

var ctx = context.Background()

// seed creates a healthy baseline trail: multi-region, validated, logging.
func seed(t *testing.T, s *awsclient.Session) *cloudtrail.Client {
	t.Helper()
	if _, err := s3bucket.Client(s).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	ct := awsclient.Client(s, cloudtrail.NewFromConfig)
	if _, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(trail), S3BucketName: aws.String(bucket),
		IsMultiRegionTrail: aws.Bool(true), EnableLogFileValidation: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	// AWS gives a new trail one selector recording all management events;
	// moto 5.2.1 gives none.
	if _, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(trail), EventSelectors: []cttypes.EventSelector{
		{ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(true)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(trail)}); err != nil {
		t.Fatal(err)
	}
	return ct
}

func event(name, request, actorARN string) []byte {
	return fmt.Appendf(nil, `{"version":"0","id":"e","detail-type":"AWS API Call via CloudTrail","source":"aws.cloudtrail",
	"account":"123456789012","time":"2026-11-26T10:00:00Z","region":"us-east-1","resources":[],"detail":{
	"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","arn":%q,"accountId":"123456789012",
	"sessionContext":{"attributes":{"mfaAuthenticated":"false"},"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::123456789012:role/admin","userName":"admin"}}},
	"eventTime":"2026-11-26T10:00:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":%q,"awsRegion":"us-east-1",
	"sourceIPAddress":"203.0.113.9","userAgent":"aws-cli/2.15.0","requestParameters":%s,"responseElements":null,
	"eventID":"5b4a3c2d-0000-1111-2222-333344445555","eventType":"AwsApiCall","recipientAccountId":"123456789012"}}`, actorARN, name, request)
}

const mallory = "arn:aws:sts::123456789012:assumed-role/admin/mallory"

func newEngine(t *testing.T, s *awsclient.Session, cfg engine.Config) *engine.Engine {
	t.Helper()
	e, _ := enginetest.New(t, s, cfg, cloudtrailintegrity.Rule)
	return e
}

func status(t *testing.T, ct *cloudtrail.Client) (logging bool, tr *cttypes.Trail) {
	t.Helper()
	st, err := ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(trail)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ct.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(trail)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToBool(st.IsLogging), got.Trail
}

func TestStopLoggingIsRestartedOnceAndDuplicatesAreNoOps(t *testing.T) {
	s := mototest.Session(t)
	ct := seed(t, s)
	if _, err := ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(trail)}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Config{Mode: engine.Enforce})
	ev := event("StopLogging", `{"name":"`+trail+`"}`, mallory)
	res := enginetest.Handle(t, e, ev)
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || len(d.Actions) != 1 || d.Actions[0].API != "cloudtrail:StartLogging" || d.Actions[0].Outcome != rule.Applied {
		t.Fatalf("decision = %+v", d)
	}
	if logging, _ := status(t, ct); !logging {
		t.Fatal("trail is not logging after remediation")
	}
	res = enginetest.Handle(t, e, ev)
	if d := res.Decisions[0]; d.Verdict != rule.Compliant || len(d.Actions) != 0 {
		t.Fatalf("duplicate delivery = %+v", d)
	}
}

func TestUpdateTrailWeakeningIsRestored(t *testing.T) {
	s := mototest.Session(t)
	ct := seed(t, s)
	arn := "arn:aws:cloudtrail:us-east-1:123456789012:trail/" + trail
	if _, err := ct.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(trail),
		EnableLogFileValidation: aws.Bool(false), IsMultiRegionTrail: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Config{Mode: engine.Enforce})
	res := enginetest.Handle(t, e, event("UpdateTrail", `{"name":"`+arn+`","enableLogFileValidation":false,"isMultiRegionTrail":false}`, mallory))
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || len(d.Actions) != 1 || d.Actions[0].Outcome != rule.Applied {
		t.Fatalf("decision = %+v", d)
	}
	_, tr := status(t, ct)
	if !aws.ToBool(tr.LogFileValidationEnabled) || !aws.ToBool(tr.IsMultiRegionTrail) {
		t.Fatalf("trail not restored: validation=%v multi=%v", aws.ToBool(tr.LogFileValidationEnabled), aws.ToBool(tr.IsMultiRegionTrail))
	}
	if aws.ToString(tr.S3BucketName) != bucket {
		t.Fatalf("bucket changed to %q", aws.ToString(tr.S3BucketName))
	}
}

func TestEventSelectorsKeepDataEventsAndRegainManagement(t *testing.T) {
	s := mototest.Session(t)
	ct := seed(t, s)
	data := cttypes.EventSelector{ReadWriteType: cttypes.ReadWriteTypeReadOnly, IncludeManagementEvents: aws.Bool(false),
		DataResources: []cttypes.DataResource{{Type: aws.String("AWS::S3::Object"), Values: []string{"arn:aws:s3:::payroll/"}}}}
	if _, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(trail), EventSelectors: []cttypes.EventSelector{data}}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Config{Mode: engine.Enforce})
	req := `{"trailName":"` + trail + `","eventSelectors":[{"readWriteType":"ReadOnly","includeManagementEvents":false,"dataResources":[{"type":"AWS::S3::Object","values":["arn:aws:s3:::payroll/"]}]}]}`
	res := enginetest.Handle(t, e, event("PutEventSelectors", req, mallory))
	if d := res.Decisions[0]; d.Verdict != rule.Violation || d.Actions[0].Outcome != rule.Applied {
		t.Fatalf("decision = %+v", d)
	}
	got, err := ct.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(trail)})
	if err != nil {
		t.Fatal(err)
	}
	// The data selector is ReadOnly: it stays as it was, and a second
	// selector records all management events.
	if len(got.EventSelectors) != 2 {
		t.Fatalf("selectors = %+v", got.EventSelectors)
	}
	first, second := got.EventSelectors[0], got.EventSelectors[1]
	if len(first.DataResources) != 1 || aws.ToBool(first.IncludeManagementEvents) {
		t.Fatalf("data selector changed: %+v", first)
	}
	if !aws.ToBool(second.IncludeManagementEvents) || second.ReadWriteType != cttypes.ReadWriteTypeAll {
		t.Fatalf("management selector = %+v", second)
	}
}

func TestDeletedBaselineTrailIsRecreated(t *testing.T) {
	s := mototest.Session(t)
	ct := seed(t, s)
	if _, err := ct.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(trail)}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Config{Mode: engine.Enforce, Params: map[string]map[string]string{
		"cloudtrail-integrity": {"trailName": trail, "s3BucketName": bucket}}})
	res := enginetest.Handle(t, e, event("DeleteTrail", `{"name":"`+trail+`"}`, mallory))
	d := res.Decisions[0]
	if !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied cloudtrail:CreateTrail", "applied cloudtrail:PutEventSelectors", "applied cloudtrail:StartLogging"}) {
		t.Fatalf("decision = %+v", d)
	}
	// The same event again: the trail is back and meets the baseline.
	if d := enginetest.Handle(t, e, event("DeleteTrail", `{"name":"`+trail+`"}`, mallory)).Decisions[0]; d.Verdict != rule.Compliant || len(d.Actions) != 0 {
		t.Fatalf("duplicate = %+v", d)
	}
	logging, tr := status(t, ct)
	if !logging || !aws.ToBool(tr.IsMultiRegionTrail) || !aws.ToBool(tr.LogFileValidationEnabled) || aws.ToString(tr.S3BucketName) != bucket {
		t.Fatalf("recreated trail = logging %v %+v", logging, tr)
	}
}

func TestDeletedOtherTrailOnlyAlerts(t *testing.T) {
	s := mototest.Session(t)
	ct := seed(t, s)
	if _, err := ct.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(trail)}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Config{Mode: engine.Enforce})
	res := enginetest.Handle(t, e, event("DeleteTrail", `{"name":"`+trail+`"}`, mallory))
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || len(d.Actions) != 1 || d.Actions[0].API != rule.AlertAPI {
		t.Fatalf("decision = %+v", d)
	}
	if _, err := ct.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(trail)}); err == nil {
		t.Fatal("a trail was created without a baseline")
	}
}

func TestReportModeAndOwnRoleChangeNothing(t *testing.T) {
	s := mototest.Session(t)
	ct := seed(t, s)
	if _, err := ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(trail)}); err != nil {
		t.Fatal(err)
	}
	report := newEngine(t, s, engine.Config{Mode: engine.Report})
	res := enginetest.Handle(t, report, event("StopLogging", `{"name":"`+trail+`"}`, mallory))
	if d := res.Decisions[0]; d.Verdict != rule.Violation || d.Actions[0].Outcome != rule.Planned {
		t.Fatalf("report decision = %+v", d)
	}
	own := newEngine(t, s, engine.Config{Mode: engine.Enforce, OwnRoles: []string{"arn:aws:iam::123456789012:role/rampart-cloudtrail"}})
	// Rampart's own call: a session of its role, the issuer saying so too.
	ownCall := bytes.ReplaceAll(event("StopLogging", `{"name":"`+trail+`"}`, "arn:aws:sts::123456789012:assumed-role/rampart-cloudtrail/session"),
		[]byte(`"arn":"arn:aws:iam::123456789012:role/admin","userName":"admin"`), []byte(`"arn":"arn:aws:iam::123456789012:role/rampart-cloudtrail","userName":"rampart-cloudtrail"`))
	res = enginetest.Handle(t, own, ownCall)
	if d := res.Decisions[0]; d.Verdict != rule.Ignored {
		t.Fatalf("own-role decision = %+v", d)
	}
	if logging, _ := status(t, ct); logging {
		t.Fatal("report mode or own role restarted logging")
	}
}

// TestCallsPerRemediation: StopLogging is fixed with GetTrail,
// GetTrailStatus, GetEventSelectors (the whole baseline is judged), ListTags
// (read on a violation only, for the exemption check) and StartLogging.
func TestCallsPerRemediation(t *testing.T) {
	s := mototest.Session(t)
	ct := seed(t, s)
	if _, err := ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(trail)}); err != nil {
		t.Fatal(err)
	}
	_, calls := enginetest.Recorded(t, newEngine(t, s, engine.Config{Mode: engine.Enforce}), event("StopLogging", `{"name":"`+trail+`"}`, mallory))
	var names []string
	for _, c := range calls {
		names = append(names, c[strings.LastIndex(c, ".")+1:])
	}
	if want := "GetTrail,GetTrailStatus,GetEventSelectors,ListTags,StartLogging"; strings.Join(names, ",") != want {
		t.Fatalf("calls = %v, want %s", names, want)
	}
}

func BenchmarkStopLoggingRemediation(b *testing.B) {
	s := mototest.Session(b)
	if _, err := s3bucket.Client(s).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		b.Fatal(err)
	}
	ct := awsclient.Client(s, cloudtrail.NewFromConfig)
	if _, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(trail), S3BucketName: aws.String(bucket), IsMultiRegionTrail: aws.Bool(true)}); err != nil {
		b.Fatal(err)
	}
	e, _ := enginetest.New(b, s, engine.Config{Mode: engine.Enforce}, cloudtrailintegrity.Rule)
	ev := event("StopLogging", `{"name":"`+trail+`"}`, mallory)
	for b.Loop() {
		b.StopTimer()
		if _, err := ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(trail)}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if res, err := e.Handle(ctx, ev); err != nil || res.Decisions[0].Actions[0].Outcome != rule.Applied {
			b.Fatalf("%v %+v", err, res)
		}
	}
}

// A shadow of a multi-region trail seen from another region is left to the
// deployment in the trail's home region.
func TestShadowTrailIsLeftToItsHomeRegion(t *testing.T) {
	s := mototest.Session(t)
	ct := seed(t, s)
	if _, err := ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(trail)}); err != nil {
		t.Fatal(err)
	}
	eu, err := sdkconfig.Load(ctx, config.WithRegion("eu-west-1"))
	if err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:cloudtrail:us-east-1:123456789012:trail/" + trail
	res := enginetest.Handle(t, newEngine(t, eu, engine.Config{Mode: engine.Enforce}), event("StopLogging", `{"name":"`+arn+`"}`, mallory))
	// The engine's scope guard stops it first: the event is about
	// us-east-1, which this (eu-west-1) deployment does not cover.
	if d := res.Decisions[0]; d.Verdict != rule.Ignored || !strings.Contains(d.Reason, "out of scope") || len(d.Actions) != 0 {
		t.Fatalf("decision = %+v", d)
	}
	if logging, _ := status(t, ct); logging {
		t.Fatal("a shadow trail was acted on from another region")
	}
}

// An event about an organization trail recorded in another account (the
// management account's) is out of this deployment's scope: the engine's
// scope guard reports it and nothing is called or modified. (An
// organization deployment judges it in that account, through its role.)
func TestOrganizationTrailOfAnotherAccountOnlyAlerts(t *testing.T) {
	s := mototest.Session(t)
	ct := seed(t, s)
	if _, err := ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(trail)}); err != nil {
		t.Fatal(err)
	}
	// moto 5.2.1 keeps IsOrganizationTrail as given without AWS
	// Organizations; the member account is the event's recipient.
	if _, err := ct.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(trail), IsOrganizationTrail: aws.Bool(true)}); err != nil {
		t.Skipf("moto cannot mark an organization trail: %v", err)
	}
	member := strings.ReplaceAll(string(event("StopLogging", `{"name":"`+trail+`"}`, mallory)), `"recipientAccountId":"123456789012"`, `"recipientAccountId":"210987654321"`)
	res := enginetest.Handle(t, newEngine(t, s, engine.Config{Mode: engine.Enforce}), []byte(member))
	d := res.Decisions[0]
	if d.Verdict != rule.Ignored || len(d.Actions) != 0 || !strings.Contains(d.Reason, "out of scope") || !strings.Contains(d.Reason, "210987654321") {
		t.Fatalf("decision = %+v", d)
	}
	if logging, _ := status(t, ct); logging {
		t.Fatal("an organization trail of another account was modified")
	}
}
