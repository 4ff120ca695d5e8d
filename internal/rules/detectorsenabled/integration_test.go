package detectorsenabled_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	aatypes "github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	gdtypes "github.com/aws/aws-sdk-go-v2/service/guardduty/types"
	"github.com/aws/aws-sdk-go-v2/service/inspector2"
	i2types "github.com/aws/aws-sdk-go-v2/service/inspector2/types"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/smithy-go"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/detectorsenabled"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

var ctx = context.Background()

const account = "123456789012"

func newEngine(t *testing.T, s *awsclient.Session, mode engine.Mode, baseline string) *engine.Engine {
	t.Helper()
	e, _ := enginetest.New(t, s, engine.Config{Mode: mode, Params: map[string]map[string]string{
		"detectors-enabled": {detectorsenabled.ParamBaseline: baseline}}}, detectorsenabled.Rule)
	return e
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	return enginetest.Sample(t, "events/cloudtrail/"+name)
}

// --- GuardDuty (moto) -------------------------------------------------------

func gd(s *awsclient.Session) *guardduty.Client { return awsclient.Client(s, guardduty.NewFromConfig) }

func createDetector(t *testing.T, s *awsclient.Session, enable bool) string {
	t.Helper()
	out, err := gd(s).CreateDetector(ctx, &guardduty.CreateDetectorInput{Enable: aws.Bool(enable)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.DetectorId)
}

// detectorStates lists the region's detectors as "enabled"/"disabled".
func detectorStates(t *testing.T, s *awsclient.Session) []string {
	t.Helper()
	ids, err := gd(s).ListDetectors(ctx, &guardduty.ListDetectorsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, id := range ids.DetectorIds {
		d, err := gd(s).GetDetector(ctx, &guardduty.GetDetectorInput{DetectorId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.ToLower(string(d.Status)))
	}
	return out
}

func TestGuardDutyDisabledIsReEnabledAndUndone(t *testing.T) {
	s := mototest.Session(t)
	id := createDetector(t, s, true)
	if _, err := gd(s).UpdateDetector(ctx, &guardduty.UpdateDetectorInput{DetectorId: aws.String(id), Enable: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Enforce, "guardduty")
	res, calls := enginetest.RecordedOne(t, e, sample(t, "guardduty-update-detector-disable.json"))
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied guardduty:UpdateDetector"}) {
		t.Fatalf("decision = %+v", d)
	}
	if got := detectorStates(t, s); !slices.Equal(got, []string{"enabled"}) {
		t.Fatalf("detectors = %v", got)
	}
	want := []string{"GET /detector", "GET /detector/" + id, "POST /detector/" + id}
	if !slices.Equal(calls, want) {
		t.Fatalf("API calls = %v, want %v", calls, want)
	}
	// The same event again: compliant, nothing done.
	if d := enginetest.One(t, e, sample(t, "guardduty-update-detector-disable.json")); d.Verdict != rule.Compliant || len(d.Actions) != 0 {
		t.Fatalf("duplicate = %+v", d)
	}
	if got := enginetest.Undo(t, e, enginetest.RoundTrip(t, res)); !slices.Equal(got, []string{"applied guardduty:UpdateDetector"}) {
		t.Fatalf("undo = %v", got)
	}
	if got := detectorStates(t, s); !slices.Equal(got, []string{"disabled"}) {
		t.Fatalf("after undo detectors = %v", got)
	}
}

func TestGuardDutyDeletedIsRecreatedAndUndone(t *testing.T) {
	s := mototest.Session(t)
	e := newEngine(t, s, engine.Enforce, "guardduty,securityhub")
	res, calls := enginetest.RecordedOne(t, e, sample(t, "guardduty-delete-detector.json"))
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied guardduty:CreateDetector"}) {
		t.Fatalf("decision = %+v", d)
	}
	if got := detectorStates(t, s); !slices.Equal(got, []string{"enabled"}) {
		t.Fatalf("detectors = %v", got)
	}
	// One list to judge; one more before creating, as AWS refuses a second detector.
	if want := []string{"GET /detector", "GET /detector", "POST /detector"}; !slices.Equal(calls, want) {
		t.Fatalf("API calls = %v, want %v", calls, want)
	}
	if got := enginetest.Undo(t, e, enginetest.RoundTrip(t, res)); !slices.Equal(got, []string{"applied guardduty:DeleteDetector"}) {
		t.Fatalf("undo = %v", got)
	}
	if got := detectorStates(t, s); len(got) != 0 {
		t.Fatalf("after undo detectors = %v", got)
	}
}

func TestGuardDutyDeletedAndRecreatedDisabledIsAViolation(t *testing.T) {
	s := mototest.Session(t)
	id := createDetector(t, s, false) // the attacker's re-creation
	e := newEngine(t, s, engine.Enforce, "guardduty")
	d := enginetest.One(t, e, sample(t, "guardduty-create-detector-disabled.json"))
	if d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied guardduty:UpdateDetector"}) || !strings.Contains(d.Reason, id) {
		t.Fatalf("decision = %+v", d)
	}
	if got := detectorStates(t, s); !slices.Equal(got, []string{"enabled"}) {
		t.Fatalf("detectors = %v", got)
	}
}

func TestGuardDutyFrequencyChangeIsNotAViolation(t *testing.T) {
	s := mototest.Session(t)
	id := createDetector(t, s, true)
	if _, err := gd(s).UpdateDetector(ctx, &guardduty.UpdateDetectorInput{DetectorId: aws.String(id),
		FindingPublishingFrequency: gdtypes.FindingPublishingFrequencySixHours}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Enforce, "guardduty")
	if d := enginetest.One(t, e, sample(t, "guardduty-update-detector-frequency.json")); d.Verdict != rule.Compliant || len(d.Actions) != 0 {
		t.Fatalf("decision = %+v", d)
	}
}

func TestReportModeChangesNothing(t *testing.T) {
	s := mototest.Session(t)
	e := newEngine(t, s, engine.Report, "guardduty,securityhub,inspector2")
	for _, f := range []string{"guardduty-delete-detector.json", "securityhub-disable-security-hub.json", "inspector2-disable.json"} {
		res, calls := enginetest.RecordedOne(t, e, sample(t, f))
		d := res.Decisions[0]
		if d.Verdict != rule.Violation || len(d.Actions) != 1 || d.Actions[0].Outcome != rule.Planned {
			t.Fatalf("%s: decision = %+v", f, d)
		}
		for _, c := range calls {
			if !strings.HasPrefix(c, "GET ") && c != "POST /accounts/describe" && c != "POST /status/batch/get" {
				t.Fatalf("%s: report mode made a write call: %v", f, calls)
			}
		}
	}
	if got := detectorStates(t, s); len(got) != 0 {
		t.Fatalf("detectors = %v", got)
	}
}

func TestServiceOutsideTheBaselineIsOnlyAlerted(t *testing.T) {
	s := mototest.Session(t)
	topic := mototest.NewTopic(t, s, "rampart-notifications")
	e, _ := enginetest.New(t, s, engine.Config{Mode: engine.Enforce, TopicARN: topic.ARN, Params: map[string]map[string]string{
		"detectors-enabled": {detectorsenabled.ParamBaseline: "securityhub"}}}, detectorsenabled.Rule)
	res, calls := enginetest.RecordedOne(t, e, sample(t, "guardduty-delete-detector.json"))
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || len(d.Actions) != 1 || d.Actions[0].API != rule.AlertAPI || !strings.Contains(d.Reason, "not in the deployment's baseline") {
		t.Fatalf("decision = %+v", d)
	}
	for _, c := range calls {
		if c == "POST /detector" {
			t.Fatalf("a service outside the baseline was changed: %v", calls)
		}
	}
	if got := detectorStates(t, s); len(got) != 0 {
		t.Fatalf("detectors = %v", got)
	}
	if n := topic.Received(t); len(n) != 1 {
		t.Fatalf("notifications = %+v", n)
	}
}

// --- Security Hub (moto) ----------------------------------------------------

func hubOn(t *testing.T, s *awsclient.Session) bool {
	t.Helper()
	_, err := awsclient.Client(s, securityhub.NewFromConfig).DescribeHub(ctx, &securityhub.DescribeHubInput{})
	if awsclient.HasCode(err, "InvalidAccessException") {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func TestSecurityHubDisabledIsReEnabledAndUndone(t *testing.T) {
	s := mototest.Session(t) // moto starts with the hub off: the attacker's result
	e := newEngine(t, s, engine.Enforce, "securityhub")
	res, calls := enginetest.RecordedOne(t, e, sample(t, "securityhub-disable-security-hub.json"))
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied securityhub:EnableSecurityHub"}) || !hubOn(t, s) {
		t.Fatalf("decision = %+v", d)
	}
	if want := []string{"GET /accounts", "POST /accounts"}; !slices.Equal(calls, want) {
		t.Fatalf("API calls = %v, want %v", calls, want)
	}
	if d := enginetest.One(t, e, sample(t, "securityhub-disable-security-hub.json")); d.Verdict != rule.Compliant {
		t.Fatalf("duplicate = %+v", d)
	}
	if got := enginetest.Undo(t, e, enginetest.RoundTrip(t, res)); !slices.Equal(got, []string{"applied securityhub:DisableSecurityHub"}) || hubOn(t, s) {
		t.Fatalf("undo = %v", got)
	}
}

// --- Inspector2 (moto) ------------------------------------------------------

func i2(s *awsclient.Session) *inspector2.Client {
	return awsclient.Client(s, inspector2.NewFromConfig)
}

func scanned(t *testing.T, s *awsclient.Session) []string {
	t.Helper()
	out, err := i2(s).BatchGetAccountStatus(ctx, &inspector2.BatchGetAccountStatusInput{AccountIds: []string{account}})
	if err != nil {
		t.Fatal(err)
	}
	var on []string
	for _, a := range out.Accounts {
		rs := a.ResourceState
		for name, st := range map[string]*i2types.State{"EC2": rs.Ec2, "ECR": rs.Ecr, "LAMBDA": rs.Lambda, "LAMBDA_CODE": rs.LambdaCode} {
			if st != nil && st.Status == i2types.StatusEnabled {
				on = append(on, name)
			}
		}
	}
	slices.Sort(on)
	return on
}

func TestInspectorDisabledTypesAreReEnabledAndUndone(t *testing.T) {
	s := mototest.Session(t)
	all := []i2types.ResourceScanType{"EC2", "ECR", "LAMBDA", "LAMBDA_CODE"}
	if _, err := i2(s).Enable(ctx, &inspector2.EnableInput{AccountIds: []string{account}, ResourceTypes: all}); err != nil {
		t.Fatal(err)
	}
	if _, err := i2(s).Disable(ctx, &inspector2.DisableInput{AccountIds: []string{account}, ResourceTypes: []i2types.ResourceScanType{"EC2", "LAMBDA_CODE"}}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Enforce, "inspector2")
	res, calls := enginetest.RecordedOne(t, e, sample(t, "inspector2-disable.json"))
	d := res.Decisions[0]
	// LAMBDA_CODE is not in the default baseline types: it stays off.
	if d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied inspector2:Enable"}) || !strings.Contains(d.Reason, "does not scan EC2 in") {
		t.Fatalf("decision = %+v", d)
	}
	if got := scanned(t, s); !slices.Equal(got, []string{"EC2", "ECR", "LAMBDA"}) {
		t.Fatalf("scanned = %v", got)
	}
	if want := []string{"POST /status/batch/get", "POST /enable"}; !slices.Equal(calls, want) {
		t.Fatalf("API calls = %v, want %v", calls, want)
	}
	if got := enginetest.Undo(t, e, enginetest.RoundTrip(t, res)); !slices.Equal(got, []string{"applied inspector2:Disable"}) {
		t.Fatalf("undo = %v", got)
	}
	if got := scanned(t, s); !slices.Equal(got, []string{"ECR", "LAMBDA"}) {
		t.Fatalf("after undo scanned = %v (the undo must disable exactly what was enabled)", got)
	}
}

// --- Access Analyzer (fake: moto 5.2.1 does not serve it) -------------------

// fakeAnalyzer is an in-memory IAM Access Analyzer: only the three calls the
// rule makes, with AWS's error codes for a duplicate and a missing name.
type fakeAnalyzer struct {
	mu     sync.Mutex
	calls  []string
	byName map[string]aatypes.AnalyzerSummary
}

func (f *fakeAnalyzer) ListAnalyzers(_ context.Context, in *accessanalyzer.ListAnalyzersInput, _ ...func(*accessanalyzer.Options)) (*accessanalyzer.ListAnalyzersOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "ListAnalyzers")
	out := &accessanalyzer.ListAnalyzersOutput{}
	for _, a := range f.byName {
		if in.Type == "" || a.Type == in.Type {
			out.Analyzers = append(out.Analyzers, a)
		}
	}
	return out, nil
}

func (f *fakeAnalyzer) CreateAnalyzer(_ context.Context, in *accessanalyzer.CreateAnalyzerInput, _ ...func(*accessanalyzer.Options)) (*accessanalyzer.CreateAnalyzerOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "CreateAnalyzer")
	name := aws.ToString(in.AnalyzerName)
	if _, ok := f.byName[name]; ok {
		return nil, &smithy.GenericAPIError{Code: "ConflictException", Message: "analyzer exists"}
	}
	arn := "arn:aws:access-analyzer:us-east-1:" + account + ":analyzer/" + name
	f.byName[name] = aatypes.AnalyzerSummary{Name: aws.String(name), Arn: aws.String(arn), Type: in.Type, Status: aatypes.AnalyzerStatusActive}
	return &accessanalyzer.CreateAnalyzerOutput{Arn: aws.String(arn)}, nil
}

func (f *fakeAnalyzer) DeleteAnalyzer(_ context.Context, in *accessanalyzer.DeleteAnalyzerInput, _ ...func(*accessanalyzer.Options)) (*accessanalyzer.DeleteAnalyzerOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "DeleteAnalyzer")
	name := aws.ToString(in.AnalyzerName)
	if _, ok := f.byName[name]; !ok {
		return nil, &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "no analyzer " + name}
	}
	delete(f.byName, name)
	return &accessanalyzer.DeleteAnalyzerOutput{}, nil
}

func useFake(t *testing.T) *fakeAnalyzer {
	f := &fakeAnalyzer{byName: map[string]aatypes.AnalyzerSummary{}}
	t.Cleanup(detectorsenabled.UseAnalyzer(f))
	return f
}

func TestAnalyzerDeletedIsRecreatedAndUndone(t *testing.T) {
	s := mototest.Session(t)
	f := useFake(t)
	e := newEngine(t, s, engine.Enforce, "accessanalyzer")
	res := enginetest.Handle(t, e, sample(t, "access-analyzer-delete-analyzer.json"))
	d := enginetest.Only(t, res)
	if d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied access-analyzer:CreateAnalyzer"}) {
		t.Fatalf("decision = %+v", d)
	}
	if _, ok := f.byName[detectorsenabled.DefaultAnalyzerName]; !ok || !slices.Equal(f.calls, []string{"ListAnalyzers", "CreateAnalyzer"}) {
		t.Fatalf("analyzers = %v, calls = %v", f.byName, f.calls)
	}
	if d := enginetest.One(t, e, sample(t, "access-analyzer-delete-analyzer.json")); d.Verdict != rule.Compliant {
		t.Fatalf("duplicate = %+v", d)
	}
	if got := enginetest.Undo(t, e, enginetest.RoundTrip(t, res)); !slices.Equal(got, []string{"applied access-analyzer:DeleteAnalyzer"}) || len(f.byName) != 0 {
		t.Fatalf("undo = %v, analyzers = %v", got, f.byName)
	}
	// Undo twice: nothing left to delete.
	if got := enginetest.Undo(t, e, enginetest.RoundTrip(t, res)); !slices.Equal(got, []string{"noop access-analyzer:DeleteAnalyzer"}) {
		t.Fatalf("second undo = %v", got)
	}
}

// --- GuardDuty publishing destinations (fake: moto 5.2.1 does not serve them) --

// fakeDestinations is GuardDuty's publishing destinations in memory, per
// detector; the detectors themselves are moto's.
type fakeDestinations struct {
	mu    sync.Mutex
	calls []string
	n     int
	byDet map[string]map[string]string // detector → destination ID → ARN
}

func (f *fakeDestinations) ListPublishingDestinations(_ context.Context, in *guardduty.ListPublishingDestinationsInput, _ ...func(*guardduty.Options)) (*guardduty.ListPublishingDestinationsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "ListPublishingDestinations")
	out := &guardduty.ListPublishingDestinationsOutput{}
	for id := range f.byDet[aws.ToString(in.DetectorId)] {
		out.Destinations = append(out.Destinations, gdtypes.Destination{DestinationId: aws.String(id), DestinationType: gdtypes.DestinationTypeS3, Status: gdtypes.PublishingStatusPublishing})
	}
	return out, nil
}

func (f *fakeDestinations) DescribePublishingDestination(_ context.Context, in *guardduty.DescribePublishingDestinationInput, _ ...func(*guardduty.Options)) (*guardduty.DescribePublishingDestinationOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "DescribePublishingDestination")
	arn, ok := f.byDet[aws.ToString(in.DetectorId)][aws.ToString(in.DestinationId)]
	if !ok {
		return nil, &smithy.GenericAPIError{Code: "BadRequestException", Message: "no such destination"}
	}
	return &guardduty.DescribePublishingDestinationOutput{DestinationId: in.DestinationId, DestinationType: gdtypes.DestinationTypeS3,
		DestinationProperties: &gdtypes.DestinationProperties{DestinationArn: aws.String(arn)}}, nil
}

func (f *fakeDestinations) CreatePublishingDestination(_ context.Context, in *guardduty.CreatePublishingDestinationInput, _ ...func(*guardduty.Options)) (*guardduty.CreatePublishingDestinationOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "CreatePublishingDestination")
	if in.DestinationProperties == nil || in.DestinationProperties.KmsKeyArn == nil {
		return nil, &smithy.GenericAPIError{Code: "BadRequestException", Message: "an S3 destination needs a KMS key"}
	}
	det := aws.ToString(in.DetectorId)
	if f.byDet[det] == nil {
		f.byDet[det] = map[string]string{}
	}
	f.n++
	id := fmt.Sprintf("dest%d", f.n)
	f.byDet[det][id] = aws.ToString(in.DestinationProperties.DestinationArn)
	return &guardduty.CreatePublishingDestinationOutput{DestinationId: aws.String(id)}, nil
}

func (f *fakeDestinations) DeletePublishingDestination(_ context.Context, in *guardduty.DeletePublishingDestinationInput, _ ...func(*guardduty.Options)) (*guardduty.DeletePublishingDestinationOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "DeletePublishingDestination")
	delete(f.byDet[aws.ToString(in.DetectorId)], aws.ToString(in.DestinationId))
	return &guardduty.DeletePublishingDestinationOutput{}, nil
}

// exports are the ARNs detector exports to.
func (f *fakeDestinations) exports(detector string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, arn := range f.byDet[detector] {
		out = append(out, arn)
	}
	slices.Sort(out)
	return out
}

const (
	destination = "arn:aws:s3:::findings-archive/guardduty/"
	destKey     = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

func destEngine(t *testing.T, s *awsclient.Session, mode engine.Mode) (*engine.Engine, *fakeDestinations) {
	t.Helper()
	f := &fakeDestinations{byDet: map[string]map[string]string{}}
	t.Cleanup(detectorsenabled.UseDestinations(f))
	e, _ := enginetest.New(t, s, engine.Config{Mode: mode, Params: map[string]map[string]string{"detectors-enabled": {
		detectorsenabled.ParamBaseline: "guardduty", detectorsenabled.ParamDestination: destination, detectorsenabled.ParamDestinationKey: destKey}}}, detectorsenabled.Rule)
	return e, f
}

func TestRemovedPublishingDestinationIsRestoredAndUndone(t *testing.T) {
	s := mototest.Session(t)
	id := createDetector(t, s, true)
	e, f := destEngine(t, s, engine.Enforce)
	f.byDet[id] = map[string]string{"keep": "arn:aws:s3:::team-bucket"} // another destination stays
	res := enginetest.Handle(t, e, sample(t, "guardduty-delete-publishing-destination.json"))
	d := enginetest.Only(t, res)
	if d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied guardduty:CreatePublishingDestination"}) {
		t.Fatalf("decision = %+v", d)
	}
	if got := f.exports(id); !slices.Equal(got, []string{destination, "arn:aws:s3:::team-bucket"}) {
		t.Fatalf("exports = %v", got)
	}
	// Judge: list + describe each; apply: list + describe again (the ID is
	// GuardDuty's), create.
	want := []string{"ListPublishingDestinations", "DescribePublishingDestination", "ListPublishingDestinations", "DescribePublishingDestination", "CreatePublishingDestination"}
	if !slices.Equal(f.calls, want) {
		t.Fatalf("destination calls = %v, want %v", f.calls, want)
	}
	if d := enginetest.One(t, e, sample(t, "guardduty-delete-publishing-destination.json")); d.Verdict != rule.Compliant {
		t.Fatalf("duplicate = %+v", d)
	}
	if got := enginetest.Undo(t, e, enginetest.RoundTrip(t, res)); !slices.Equal(got, []string{"applied guardduty:DeletePublishingDestination"}) {
		t.Fatalf("undo = %v", got)
	}
	if got := f.exports(id); !slices.Equal(got, []string{"arn:aws:s3:::team-bucket"}) {
		t.Fatalf("after undo exports = %v", got)
	}
}

func TestDeletedDetectorIsRecreatedWithItsDestination(t *testing.T) {
	s := mototest.Session(t)
	e, f := destEngine(t, s, engine.Enforce)
	d := enginetest.One(t, e, sample(t, "guardduty-delete-detector.json"))
	if !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied guardduty:CreateDetector", "applied guardduty:CreatePublishingDestination"}) {
		t.Fatalf("decision = %+v", d)
	}
	ids, err := gd(s).ListDetectors(ctx, &guardduty.ListDetectorsInput{})
	if err != nil || len(ids.DetectorIds) != 1 {
		t.Fatalf("detectors = %v, %v", ids, err)
	}
	if got := f.exports(ids.DetectorIds[0]); !slices.Equal(got, []string{destination}) {
		t.Fatalf("the new detector exports to %v", got)
	}
}

func TestPublishingDestinationReportModeChangesNothing(t *testing.T) {
	s := mototest.Session(t)
	id := createDetector(t, s, true)
	e, f := destEngine(t, s, engine.Report)
	d := enginetest.One(t, e, sample(t, "guardduty-delete-publishing-destination.json"))
	if d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"planned guardduty:CreatePublishingDestination"}) || len(f.exports(id)) != 0 {
		t.Fatalf("decision = %+v, exports = %v", d, f.exports(id))
	}
}

// --- the sweep --------------------------------------------------------------

func TestSweepJudgesEveryBaselineServiceOnly(t *testing.T) {
	s := mototest.Session(t)
	useFake(t)
	createDetector(t, s, true)
	e := newEngine(t, s, engine.Enforce, "guardduty,securityhub,accessanalyzer")
	res := enginetest.Handle(t, e, enginetest.ScheduledEvent(t, "detectors-enabled"))
	got := map[string]string{}
	for _, d := range res.Decisions {
		got[d.Resource] = string(d.Verdict) + " " + strings.Join(enginetest.Outcomes(d.Actions), ",")
	}
	want := map[string]string{
		"guardduty":      "compliant ",
		"securityhub":    "violation applied securityhub:EnableSecurityHub",
		"accessanalyzer": "violation applied access-analyzer:CreateAnalyzer",
	}
	if len(got) != len(want) {
		t.Fatalf("decisions = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("decisions = %v, want %v", got, want)
		}
	}
	if !hubOn(t, s) {
		t.Fatal("the hub is still off")
	}
}
