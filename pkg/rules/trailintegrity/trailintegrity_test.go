package trailintegrity

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/rampart-aws/rampart/pkg/awsclient"
	"github.com/rampart-aws/rampart/pkg/enginetest"
	"github.com/rampart-aws/rampart/pkg/rule"
	"github.com/rampart-aws/rampart/pkg/trigger"
)

// TestOfflinePlansOfRealShapes: what each real-shaped sample implies, with
// no AWS call.
func TestOfflinePlansOfRealShapes(t *testing.T) {
	cases := []struct {
		file    string
		params  map[string]string
		aspects []aspect
		apis    []string
	}{
		{"cloudtrail-stop-logging.json", nil, []aspect{aspectLogging}, []string{apiStart}},
		{"cloudtrail-update-trail-weakened.json", nil, []aspect{aspectValidation, aspectMulti}, []string{apiUpdate}},
		{"cloudtrail-update-trail-weakened.json", map[string]string{ParamMultiRegion: "false"}, []aspect{aspectValidation}, []string{apiUpdate}},
		{"cloudtrail-update-trail-by-name.json", nil, []aspect{aspectValidation}, []string{apiUpdate}},
		{"cloudtrail-put-event-selectors-no-management.json", nil, []aspect{aspectSelectors}, []string{apiSelectors}},
		{"cloudtrail-delete-trail.json", nil, []aspect{aspectExists}, []string{rule.AlertAPI}},
		{"cloudtrail-delete-trail.json", map[string]string{ParamTrailName: "management-events", ParamBucket: "logs"}, []aspect{aspectExists}, []string{apiCreate, apiStart}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			p, err := meta.Resolve(tc.params)
			if err != nil {
				t.Fatal(err)
			}
			targets, err := Rule.Targets(enginetest.Call(t, "events/cloudtrail/"+tc.file), p)
			if err != nil || len(targets) != 1 {
				t.Fatalf("targets = %+v, %v", targets, err)
			}
			if got := targets[0].Evidence.(evidence).Aspects; !slices.Equal(got, tc.aspects) {
				t.Fatalf("aspects = %v, want %v", got, tc.aspects)
			}
			f, err := Rule.Evaluate(context.Background(), awsclient.NewOffline("us-east-1"), targets[0], p)
			if err != nil || f.Verdict != rule.Violation {
				t.Fatalf("finding = %+v, %v", f, err)
			}
			var apis []string
			for _, a := range f.Actions {
				apis = append(apis, a.API)
				if a.API != rule.AlertAPI && a.Undo == nil {
					t.Errorf("%s has no undo", a.API)
				}
			}
			if !slices.Equal(apis, tc.apis) {
				t.Fatalf("plan = %v, want %v", apis, tc.apis)
			}
		})
	}
}

func TestUpdatesThatWeakenNothingAreCompliant(t *testing.T) {
	call := enginetest.Call(t, "events/cloudtrail/cloudtrail-update-trail-by-name.json")
	c := *call
	c.Request = []byte(`{"name":"management-events","s3KeyPrefix":"new/","enableLogFileValidation":true}`)
	p, _ := meta.Resolve(nil)
	targets, err := Rule.Targets(&c, p)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Rule.Evaluate(context.Background(), awsclient.NewOffline("us-east-1"), targets[0], p)
	if err != nil || f.Verdict != rule.Compliant || len(f.Actions) != 0 {
		t.Fatalf("finding = %+v, %v", f, err)
	}
	// KMS and CloudWatch Logs removals matter only when the baseline names them.
	c.Request = []byte(`{"name":"t","kmsKeyId":"","cloudWatchLogsLogGroupArn":""}`)
	if targets, _ = Rule.Targets(&c, p); len(targets[0].Evidence.(evidence).Aspects) != 0 {
		t.Fatalf("aspects without a baseline: %v", targets[0].Evidence)
	}
	p, _ = meta.Resolve(map[string]string{ParamKMS: "alias/trail", ParamLogGroup: "arn:aws:logs:us-east-1:123456789012:log-group:trail", ParamLogRole: "arn:aws:iam::123456789012:role/ct"})
	if targets, _ = Rule.Targets(&c, p); !slices.Equal(targets[0].Evidence.(evidence).Aspects, []aspect{aspectKMS, aspectLogs}) {
		t.Fatalf("aspects with a baseline: %v", targets[0].Evidence)
	}
}

func TestTargetsRejectMalformed(t *testing.T) {
	call := enginetest.Call(t, "events/cloudtrail/cloudtrail-stop-logging.json")
	for name, req := range map[string]string{
		"no name":         `{}`,
		"name not string": `{"name":7}`,
		"not an object":   `"trail"`,
		"bad boolean":     `{"name":"t","isMultiRegionTrail":"maybe"}`,
	} {
		c := *call
		if name == "bad boolean" {
			c.EventName = "UpdateTrail"
		}
		c.Request = []byte(req)
		if _, err := Rule.Targets(&c, nil); !errors.Is(err, trigger.ErrInput) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestRecordsManagement(t *testing.T) {
	cases := []struct {
		name     string
		basic    []cttypes.EventSelector
		advanced []cttypes.AdvancedEventSelector
		want     bool
	}{
		{"default", []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(true)}}, nil, true},
		{"writes only", []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeWriteOnly, IncludeManagementEvents: aws.Bool(true)}}, nil, false},
		{"data only", []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(false)}}, nil, false},
		{"none", nil, nil, false},
		{"advanced management", nil, []cttypes.AdvancedEventSelector{{FieldSelectors: []cttypes.AdvancedFieldSelector{
			{Field: aws.String("eventCategory"), Equals: []string{"Management"}}}}}, true},
		{"advanced reads only", nil, []cttypes.AdvancedEventSelector{{FieldSelectors: []cttypes.AdvancedFieldSelector{
			{Field: aws.String("eventCategory"), Equals: []string{"Management"}}, {Field: aws.String("readOnly"), Equals: []string{"true"}}}}}, false},
	}
	for _, tc := range cases {
		if got := recordsManagement(tc.basic, tc.advanced); got != tc.want {
			t.Errorf("%s: %v", tc.name, got)
		}
		if !tc.want {
			fix := withManagement(tc.basic, tc.advanced)
			if !recordsManagement(fix.Basic, fix.Advanced) || len(fix.Basic)+len(fix.Advanced) != len(tc.basic)+len(tc.advanced)+1 {
				t.Errorf("%s: the fix %+v does not add exactly one management selector", tc.name, fix)
			}
		}
	}
}

func TestArnRegion(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:cloudtrail:eu-west-1:123456789012:trail/x": "eu-west-1",
		"management-events":  "",
		"arn:aws:cloudtrail": "",
	} {
		if got := arnRegion(in); got != want {
			t.Errorf("arnRegion(%q) = %q", in, got)
		}
	}
	if !strings.HasSuffix(trailName("arn:aws:cloudtrail:eu-west-1:123456789012:trail/x"), "x") || trailName("y") != "y" {
		t.Error("trailName")
	}
}
