package cloudtrailenabled

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trailsel"
)

func TestJudge(t *testing.T) {
	t.Parallel()
	const acct, region = "123456789012", "us-east-1"
	arn := func(region, acct, name string) string {
		return "arn:aws:cloudtrail:" + region + ":" + acct + ":trail/" + name
	}
	good := trail{Name: "main", ARN: arn(region, acct, "main"), HomeRegion: region, MultiRegion: true, Bucket: "logs",
		Topic: "arn:aws:sns:us-east-1:123456789012:trail", Logs: "arn:aws:logs:us-east-1:123456789012:log-group:trail:*", Logging: true,
		Selectors: trailsel.Selectors{Basic: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(true)}}}}
	withSel := func(tr trail, sel trailsel.Selectors) trail { tr.Selectors = sel; return tr }
	mgmt := func(rw cttypes.ReadWriteType, excl ...string) trailsel.Selectors {
		return trailsel.Selectors{Basic: []cttypes.EventSelector{{ReadWriteType: rw, IncludeManagementEvents: aws.Bool(true), ExcludeManagementEventSources: excl}}}
	}
	advanced := func(fs ...cttypes.AdvancedFieldSelector) trailsel.Selectors {
		return trailsel.Selectors{Advanced: []cttypes.AdvancedEventSelector{{FieldSelectors: append([]cttypes.AdvancedFieldSelector{
			{Field: aws.String("eventCategory"), Equals: []string{"Management"}}}, fs...)}}}
	}
	stopped := good
	stopped.Logging = false
	single := good
	single.MultiRegion = false
	elsewhere := stopped
	elsewhere.HomeRegion, elsewhere.ARN = "eu-west-1", arn("eu-west-1", acct, "main")
	orgTrail := stopped
	orgTrail.ARN = arn(region, "999999999999", "org")
	for _, tc := range []struct {
		name    string
		trails  []trail
		params  params
		verdict rule.Verdict
		start   bool   // plans StartLogging
		reason  string // part of the reason
	}{
		{"none", nil, params{}, rule.Violation, false, "no multi-region trail"},
		{"logging", []trail{good}, params{}, rule.Compliant, false, "main is logging"},
		{"single-region only", []trail{single}, params{}, rule.Violation, false, "no multi-region trail"},
		{"stopped", []trail{stopped}, params{}, rule.Violation, true, "not logging"},
		{"stopped and another logging", []trail{stopped, good}, params{}, rule.Compliant, false, "logging"},
		{"stopped in its home elsewhere", []trail{elsewhere}, params{}, rule.Violation, false, "home region eu-west-1"},
		{"another account's org trail", []trail{orgTrail}, params{}, rule.Violation, false, "999999999999"},
		{"bucket matches", []trail{good}, params{Bucket: "logs"}, rule.Compliant, false, ""},
		{"bucket differs", []trail{good}, params{Bucket: "audit"}, rule.Violation, false, "lacks bucket audit"},
		{"log group without :*", []trail{good}, params{LogGroup: "arn:aws:logs:us-east-1:123456789012:log-group:trail"}, rule.Compliant, false, ""},
		{"logging, management events off", []trail{withSel(good, trailsel.Selectors{Basic: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(false)}}})}, params{}, rule.Violation, false, "management events are not recorded"},
		{"logging, writes only", []trail{withSel(good, mgmt(cttypes.ReadWriteTypeWriteOnly))}, params{}, rule.Violation, false, "only write"},
		{"logging, reads only", []trail{withSel(good, mgmt(cttypes.ReadWriteTypeReadOnly))}, params{}, rule.Violation, false, "only read"},
		{"logging, KMS excluded", []trail{withSel(good, mgmt(cttypes.ReadWriteTypeAll, "kms.amazonaws.com"))}, params{}, rule.Violation, false, "kms.amazonaws.com are excluded"},
		{"logging, advanced reads only", []trail{withSel(good, advanced(cttypes.AdvancedFieldSelector{Field: aws.String("readOnly"), Equals: []string{"true"}}))}, params{}, rule.Violation, false, "only read"},
		{"logging, advanced source excluded", []trail{withSel(good, advanced(cttypes.AdvancedFieldSelector{Field: aws.String("eventSource"), NotEquals: []string{"rdsdata.amazonaws.com"}}))}, params{}, rule.Violation, false, "rdsdata.amazonaws.com"},
		{"logging, advanced all management", []trail{withSel(good, advanced())}, params{}, rule.Compliant, false, "logging"},
		{"stopped, writes only: not started", []trail{withSel(stopped, mgmt(cttypes.ReadWriteTypeWriteOnly))}, params{}, rule.Violation, false, "only write"},
		{"one narrowed, another complete", []trail{withSel(good, mgmt(cttypes.ReadWriteTypeWriteOnly)), func() trail { g := good; g.Name = "second"; return g }()}, params{}, rule.Compliant, false, "second is logging"},
		{"topic differs, stopped", []trail{stopped}, params{Topic: "arn:aws:sns:us-east-1:123456789012:other"}, rule.Violation, false, "lacks topic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := judgeAccount(tc.trails, rule.Target{Type: ResourceType, ID: acct}, tc.params, rule.Facts{Account: acct, Partition: "aws", Region: region})
			if f.Verdict != tc.verdict || !strings.Contains(f.Reason, tc.reason) || f.Resource != acct {
				t.Fatalf("finding = %+v", f)
			}
			if started := len(f.Actions) == 1 && f.Actions[0].API == apiStart && f.Actions[0].Undo.API == apiStop; started != tc.start || !tc.start && len(f.Actions) != 0 {
				t.Fatalf("actions = %+v", f.Actions)
			}
		})
	}
}

func TestParamChecks(t *testing.T) {
	t.Parallel()
	for _, p := range meta.Params {
		if err := p.Check(""); err != nil {
			t.Errorf("%s: empty rejected: %v", p.Name, err)
		}
		if err := p.Check("Not A Valid Value!"); err == nil {
			t.Errorf("%s: garbage accepted", p.Name)
		}
	}
}

// TestARNParams: the topic and log group are ARNs of any partition, of
// their service, with a region, an account and a resource of their kind.
func TestARNParams(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		param, value string
		ok           bool
	}{
		{ParamTopic, "arn:aws:sns:us-east-1:123456789012:trail-events", true},
		{ParamTopic, "arn:aws-us-gov:sns:us-gov-west-1:123456789012:trail", true},
		{ParamTopic, "arn:aws:sqs:us-east-1:123456789012:trail", false},
		{ParamTopic, "arn:aws:sns:us-east-1:1234:trail", false},
		{ParamTopic, "arn:aws:sns::123456789012:trail", false},
		{ParamTopic, "arn:aws:sns:us-east-1:123456789012:a/b", false},
		{ParamTopic, "arn:other:sns:us-east-1:123456789012:trail", false},
		{ParamLogGroup, "arn:aws:logs:us-east-1:123456789012:log-group:trail:*", true},
		{ParamLogGroup, "arn:aws-cn:logs:cn-north-1:123456789012:log-group:/aws/trail", true},
		{ParamLogGroup, "arn:aws:logs:us-east-1:123456789012:log-group:", false},
		{ParamLogGroup, "arn:aws:logs:us-east-1:123456789012:log-stream:x", false},
		{ParamLogGroup, "arn:aws:logs:us-east-1:123456789012:log-group:a:b", false},
	} {
		if _, err := rule.BindWith(Rule, map[string]string{c.param: c.value}); (err == nil) != c.ok {
			t.Errorf("%s=%q: err = %v", c.param, c.value, err)
		}
	}
}

// fakeTrails lists trails and answers their status, counting the calls.
type fakeTrails struct {
	trails  []cttypes.Trail
	logging map[string]bool
	calls   []string
}

func (f *fakeTrails) DescribeTrails(context.Context, *cloudtrail.DescribeTrailsInput, ...func(*cloudtrail.Options)) (*cloudtrail.DescribeTrailsOutput, error) {
	f.calls = append(f.calls, "DescribeTrails")
	return &cloudtrail.DescribeTrailsOutput{TrailList: f.trails}, nil
}

func (f *fakeTrails) GetTrailStatus(_ context.Context, in *cloudtrail.GetTrailStatusInput, _ ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailStatusOutput, error) {
	f.calls = append(f.calls, "GetTrailStatus "+aws.ToString(in.Name))
	return &cloudtrail.GetTrailStatusOutput{IsLogging: aws.Bool(f.logging[aws.ToString(in.Name)])}, nil
}

func (f *fakeTrails) GetEventSelectors(context.Context, *cloudtrail.GetEventSelectorsInput, ...func(*cloudtrail.Options)) (*cloudtrail.GetEventSelectorsOutput, error) {
	f.calls = append(f.calls, "GetEventSelectors")
	return &cloudtrail.GetEventSelectorsOutput{EventSelectors: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(true)}}}, nil
}

// TestReadStopsAtTheFirstLoggingTrail: status and selectors are read only
// for multi-region trails that meet the parameters, by name, until one
// logs every management event.
func TestReadStopsAtTheFirstLoggingTrail(t *testing.T) {
	t.Parallel()
	tr := func(name string, multi bool, bucket string) cttypes.Trail {
		return cttypes.Trail{Name: aws.String(name), TrailARN: aws.String(name), IsMultiRegionTrail: aws.Bool(multi), S3BucketName: aws.String(bucket)}
	}
	api := &fakeTrails{trails: []cttypes.Trail{tr("d", true, "logs"), tr("c", true, "logs"), tr("b", true, "other"), tr("a", false, "logs")},
		logging: map[string]bool{"c": true, "d": true}}
	got, err := read(context.Background(), api, params{Bucket: "logs"})
	if err != nil || len(got) != 4 || got[0].Name != "a" || !got[2].Logging || got[3].Logging {
		t.Fatalf("trails = %+v, %v", got, err)
	}
	if want := "DescribeTrails,GetTrailStatus c,GetEventSelectors"; strings.Join(api.calls, ",") != want {
		t.Fatalf("calls = %v, want %s", api.calls, want)
	}
}
