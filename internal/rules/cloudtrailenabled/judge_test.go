package cloudtrailenabled

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trailsel"
)

func TestJudge(t *testing.T) {
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
		params  rule.Params
		verdict rule.Verdict
		start   bool   // plans StartLogging
		reason  string // part of the reason
	}{
		{"none", nil, nil, rule.Violation, false, "no multi-region trail"},
		{"logging", []trail{good}, nil, rule.Compliant, false, "main is logging"},
		{"single-region only", []trail{single}, nil, rule.Violation, false, "no multi-region trail"},
		{"stopped", []trail{stopped}, nil, rule.Violation, true, "not logging"},
		{"stopped and another logging", []trail{stopped, good}, nil, rule.Compliant, false, "logging"},
		{"stopped in its home elsewhere", []trail{elsewhere}, nil, rule.Violation, false, "home region eu-west-1"},
		{"another account's org trail", []trail{orgTrail}, nil, rule.Violation, false, "999999999999"},
		{"bucket matches", []trail{good}, rule.Params{ParamBucket: "logs"}, rule.Compliant, false, ""},
		{"bucket differs", []trail{good}, rule.Params{ParamBucket: "audit"}, rule.Violation, false, "lacks bucket audit"},
		{"log group without :*", []trail{good}, rule.Params{ParamLogGroup: "arn:aws:logs:us-east-1:123456789012:log-group:trail"}, rule.Compliant, false, ""},
		{"logging, management events off", []trail{withSel(good, trailsel.Selectors{Basic: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(false)}}})}, nil, rule.Violation, false, "management events are not recorded"},
		{"logging, writes only", []trail{withSel(good, mgmt(cttypes.ReadWriteTypeWriteOnly))}, nil, rule.Violation, false, "only write"},
		{"logging, reads only", []trail{withSel(good, mgmt(cttypes.ReadWriteTypeReadOnly))}, nil, rule.Violation, false, "only read"},
		{"logging, KMS excluded", []trail{withSel(good, mgmt(cttypes.ReadWriteTypeAll, "kms.amazonaws.com"))}, nil, rule.Violation, false, "kms.amazonaws.com are excluded"},
		{"logging, advanced reads only", []trail{withSel(good, advanced(cttypes.AdvancedFieldSelector{Field: aws.String("readOnly"), Equals: []string{"true"}}))}, nil, rule.Violation, false, "only read"},
		{"logging, advanced source excluded", []trail{withSel(good, advanced(cttypes.AdvancedFieldSelector{Field: aws.String("eventSource"), NotEquals: []string{"rdsdata.amazonaws.com"}}))}, nil, rule.Violation, false, "rdsdata.amazonaws.com"},
		{"logging, advanced all management", []trail{withSel(good, advanced())}, nil, rule.Compliant, false, "logging"},
		{"stopped, writes only: not started", []trail{withSel(stopped, mgmt(cttypes.ReadWriteTypeWriteOnly))}, nil, rule.Violation, false, "only write"},
		{"one narrowed, another complete", []trail{withSel(good, mgmt(cttypes.ReadWriteTypeWriteOnly)), func() trail { g := good; g.Name = "second"; return g }()}, nil, rule.Compliant, false, "second is logging"},
		{"topic differs, stopped", []trail{stopped}, rule.Params{ParamTopic: "arn:aws:sns:us-east-1:123456789012:other"}, rule.Violation, false, "lacks topic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := judge(tc.trails, tc.params, acct, region)
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
	for _, p := range meta.Params {
		if err := p.Check(""); err != nil {
			t.Errorf("%s: empty rejected: %v", p.Name, err)
		}
		if err := p.Check("Not A Valid Value!"); err == nil {
			t.Errorf("%s: garbage accepted", p.Name)
		}
	}
}
