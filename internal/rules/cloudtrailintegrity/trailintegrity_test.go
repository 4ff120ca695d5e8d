package cloudtrailintegrity

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/trailsel"
	"github.com/rampart-aws/rampart/internal/trigger"
)

func apis(as []rule.Action) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.API)
	}
	return out
}

// TestOfflinePlansOfRealShapes: what each real-shaped sample implies, with
// no AWS call.
func TestOfflinePlansOfRealShapes(t *testing.T) {
	cases := []struct {
		file   string
		params map[string]string
		reason string
		apis   []string
	}{
		{"cloudtrail-stop-logging.json", nil, "logging is stopped", []string{apiStart}},
		{"cloudtrail-update-trail-weakened.json", nil, "one region only; log-file validation is off", []string{apiUpdate}},
		{"cloudtrail-update-trail-weakened.json", map[string]string{ParamKMS: "1234abcd-12ab-34cd-56ef-1234567890ab"}, "not KMS-encrypted", []string{apiUpdate}},
		{"cloudtrail-update-trail-by-name.json", nil, "log-file validation is off", []string{apiUpdate}},
		{"cloudtrail-update-trail-redirect.json", nil, "", nil},
		{"cloudtrail-update-trail-redirect.json", map[string]string{ParamBucket: "audit-logs-123456789012", ParamPrefix: "org"}, `bucket "attacker-sink-210987654321"`, []string{apiUpdate}},
		{"cloudtrail-update-trail-global-off.json", nil, "global service events", []string{apiUpdate}},
		{"cloudtrail-put-event-selectors-no-management.json", nil, "management events are not recorded", []string{apiSelectors}},
		{"cloudtrail-put-event-selectors-exclude-kms.json", nil, "kms.amazonaws.com, rdsdata.amazonaws.com are excluded", []string{apiSelectors}},
		{"cloudtrail-put-event-selectors-advanced-reads-only.json", nil, "only read", []string{apiSelectors}},
		{"cloudtrail-delete-trail.json", nil, "cannot recreate", []string{rule.AlertAPI}},
		{"cloudtrail-delete-trail.json", map[string]string{ParamTrailName: "management-events", ParamBucket: "logs"}, "recreating", []string{apiCreate, apiSelectors, apiStart}},
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
			f, err := Rule.Evaluate(context.Background(), awsclient.NewOffline("us-east-1"), targets[0], p)
			if err != nil {
				t.Fatal(err)
			}
			if tc.apis == nil {
				if f.Verdict != rule.Compliant || len(f.Actions) != 0 {
					t.Fatalf("finding = %+v", f)
				}
				return
			}
			if f.Verdict != rule.Violation || !strings.Contains(f.Reason, tc.reason) {
				t.Fatalf("finding = %+v", f)
			}
			if got := apis(f.Actions); !slices.Equal(got, tc.apis) {
				t.Fatalf("plan = %v, want %v", got, tc.apis)
			}
			for _, a := range f.Actions {
				if a.API == apiUpdate || a.API == apiStart || a.API == apiCreate {
					if a.Undo == nil {
						t.Errorf("%s has no undo", a.API)
					}
				}
			}
		})
	}
}

func healthy() state {
	return state{Name: "audit", Logging: true,
		Trail: cttypes.Trail{Name: aws.String("audit"), TrailARN: aws.String("arn:aws:cloudtrail:us-east-1:123456789012:trail/audit"),
			S3BucketName: aws.String("logs"), S3KeyPrefix: aws.String("org"), IsMultiRegionTrail: aws.Bool(true), IncludeGlobalServiceEvents: aws.Bool(true),
			LogFileValidationEnabled: aws.Bool(true), KmsKeyId: aws.String("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
			CloudWatchLogsLogGroupArn: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:trail:*"), CloudWatchLogsRoleArn: aws.String("arn:aws:iam::123456789012:role/ct")},
		Selectors: trailsel.Selectors{Basic: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(true)}}}}
}

var full = baseline{TrailName: "audit", Bucket: "logs", Prefix: "org", KMS: "1234abcd-12ab-34cd-56ef-1234567890ab",
	LogGroup: "arn:aws:logs:us-east-1:123456789012:log-group:trail", LogRole: "arn:aws:iam::123456789012:role/ct", MultiRegion: true, Validation: true}

func TestJudgeTheWholeBaseline(t *testing.T) {
	for _, c := range []struct {
		name    string
		edit    func(*state)
		b       baseline
		reasons []string
		apis    []string
		fix     updateParams // the UpdateTrail expected, if any
		undo    updateParams
	}{
		{"healthy", func(*state) {}, full, nil, nil, updateParams{}, updateParams{}},
		{"healthy against the universal baseline", func(*state) {}, baseline{MultiRegion: true, Validation: true}, nil, nil, updateParams{}, updateParams{}},
		{"bucket redirected", func(s *state) { s.Trail.S3BucketName = aws.String("sink") }, full, []string{`bucket "sink"`}, []string{apiUpdate},
			updateParams{S3BucketName: aws.String("logs")}, updateParams{S3BucketName: aws.String("sink")}},
		{"bucket redirected, not judged without the parameter", func(s *state) { s.Trail.S3BucketName = aws.String("sink") }, baseline{MultiRegion: true, Validation: true}, nil, nil, updateParams{}, updateParams{}},
		{"prefix moved", func(s *state) { s.Trail.S3KeyPrefix = nil }, full, []string{`key prefix ""`}, []string{apiUpdate},
			updateParams{S3KeyPrefix: aws.String("org")}, updateParams{S3KeyPrefix: aws.String("")}},
		{"KMS removed", func(s *state) { s.Trail.KmsKeyId = nil }, full, []string{"not KMS-encrypted"}, []string{apiUpdate},
			updateParams{KMSKeyID: aws.String(full.KMS)}, updateParams{KMSKeyID: aws.String("")}},
		{"KMS swapped", func(s *state) {
			s.Trail.KmsKeyId = aws.String("arn:aws:kms:us-east-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab")
		}, full,
			[]string{"not the baseline's key"}, []string{apiUpdate},
			updateParams{KMSKeyID: aws.String(full.KMS)}, updateParams{KMSKeyID: aws.String("arn:aws:kms:us-east-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab")}},
		{"log group redirected", func(s *state) {
			s.Trail.CloudWatchLogsLogGroupArn = aws.String("arn:aws:logs:us-east-1:123456789012:log-group:void:*")
		}, full, []string{"log group arn:aws:logs:us-east-1:123456789012:log-group:void:*"}, []string{apiUpdate},
			updateParams{LogGroupARN: aws.String(full.LogGroup), LogRoleARN: aws.String(full.LogRole)},
			updateParams{LogGroupARN: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:void:*"), LogRoleARN: aws.String("arn:aws:iam::123456789012:role/ct")}},
		{"log role swapped", func(s *state) { s.Trail.CloudWatchLogsRoleArn = aws.String("arn:aws:iam::123456789012:role/nothing") }, full, []string{"role/nothing"}, []string{apiUpdate},
			updateParams{LogGroupARN: aws.String(full.LogGroup), LogRoleARN: aws.String(full.LogRole)},
			updateParams{LogGroupARN: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:trail:*"), LogRoleARN: aws.String("arn:aws:iam::123456789012:role/nothing")}},
		{"single region", func(s *state) {
			s.Trail.IsMultiRegionTrail, s.Trail.IncludeGlobalServiceEvents = aws.Bool(false), aws.Bool(false)
		}, full,
			[]string{"one region only", "global service events"}, []string{apiUpdate},
			updateParams{IsMultiRegionTrail: aws.Bool(true), IncludeGlobalServiceEvents: aws.Bool(true)},
			updateParams{IsMultiRegionTrail: aws.Bool(false), IncludeGlobalServiceEvents: aws.Bool(false)}},
		{"global events off alone", func(s *state) { s.Trail.IncludeGlobalServiceEvents = aws.Bool(false) }, full, []string{"global service events"}, []string{apiUpdate},
			updateParams{IsMultiRegionTrail: aws.Bool(true), IncludeGlobalServiceEvents: aws.Bool(true)},
			updateParams{IsMultiRegionTrail: aws.Bool(true), IncludeGlobalServiceEvents: aws.Bool(false)}},
		{"single region allowed", func(s *state) { s.Trail.IsMultiRegionTrail = aws.Bool(false) }, baseline{Validation: true}, nil, nil, updateParams{}, updateParams{}},
		{"validation off", func(s *state) { s.Trail.LogFileValidationEnabled = aws.Bool(false) }, full, []string{"validation is off"}, []string{apiUpdate},
			updateParams{EnableLogFileValidation: aws.Bool(true)}, updateParams{EnableLogFileValidation: aws.Bool(false)}},
		{"stopped, write-only, redirected: one call each", func(s *state) {
			s.Logging = false
			s.Selectors.Basic[0].ReadWriteType = cttypes.ReadWriteTypeWriteOnly
			s.Trail.S3BucketName, s.Trail.LogFileValidationEnabled = aws.String("sink"), aws.Bool(false)
		}, full, []string{"logging is stopped", "only write", `bucket "sink"`, "validation is off"}, []string{apiStart, apiSelectors, apiUpdate},
			updateParams{S3BucketName: aws.String("logs"), EnableLogFileValidation: aws.Bool(true)},
			updateParams{S3BucketName: aws.String("sink"), EnableLogFileValidation: aws.Bool(false)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := healthy()
			c.edit(&st)
			problems, acts := judge(st, c.b)
			got := strings.Join(problems, "; ")
			for _, r := range c.reasons {
				if !strings.Contains(got, r) {
					t.Errorf("problems %q lack %q", got, r)
				}
			}
			if len(c.reasons) == 0 && len(problems) != 0 {
				t.Fatalf("problems = %q", got)
			}
			if !slices.Equal(apis(acts), c.apis) {
				t.Fatalf("plan = %v, want %v", apis(acts), c.apis)
			}
			for _, a := range acts {
				if a.API != apiUpdate {
					continue
				}
				var fix, undo updateParams
				if err := a.Decode(&fix); err != nil {
					t.Fatal(err)
				}
				if err := a.Undo.Decode(&undo); err != nil {
					t.Fatal(err)
				}
				c.fix.Name, c.undo.Name = "audit", "audit"
				if !sameUpdate(fix, c.fix) || !sameUpdate(undo, c.undo) {
					t.Fatalf("fix = %s\nundo = %s", a.Params, a.Undo.Params)
				}
			}
		})
	}
}

func sameUpdate(a, b updateParams) bool {
	s := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return *p
	}
	bo := func(p *bool) string {
		if p == nil {
			return "<nil>"
		}
		return map[bool]string{true: "t", false: "f"}[*p]
	}
	return a.Name == b.Name && s(a.S3BucketName) == s(b.S3BucketName) && s(a.S3KeyPrefix) == s(b.S3KeyPrefix) && s(a.KMSKeyID) == s(b.KMSKeyID) &&
		s(a.LogGroupARN) == s(b.LogGroupARN) && s(a.LogRoleARN) == s(b.LogRoleARN) && bo(a.IsMultiRegionTrail) == bo(b.IsMultiRegionTrail) &&
		bo(a.IncludeGlobalServiceEvents) == bo(b.IncludeGlobalServiceEvents) && bo(a.EnableLogFileValidation) == bo(b.EnableLogFileValidation)
}

func TestSelectorsUndoIsThePreviousSelectors(t *testing.T) {
	st := healthy()
	st.Selectors = trailsel.Selectors{Basic: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(true),
		ExcludeManagementEventSources: []string{"kms.amazonaws.com"}}}}
	_, acts := judge(st, full)
	var fix, undo selectorParams
	if err := acts[0].Decode(&fix); err != nil {
		t.Fatal(err)
	}
	if err := acts[0].Undo.Decode(&undo); err != nil {
		t.Fatal(err)
	}
	if !trailsel.RecordsAllManagement(fix.Selectors) || len(undo.Basic) != 1 || undo.Basic[0].ExcludeManagementEventSources[0] != "kms.amazonaws.com" {
		t.Fatalf("fix = %s, undo = %s", acts[0].Params, acts[0].Undo.Params)
	}
}

func TestGone(t *testing.T) {
	named := baseline{TrailName: "audit", Bucket: "logs", MultiRegion: true, Validation: true}
	for _, c := range []struct {
		name, trail, event string
		b                  baseline
		region             string
		verdict            rule.Verdict
		apis               []string
	}{
		{"baseline deleted", "audit", "DeleteTrail", named, "us-east-1", rule.Violation, []string{apiCreate, apiSelectors, apiStart}},
		{"baseline deleted, by ARN", "arn:aws:cloudtrail:us-east-1:123456789012:trail/audit", "DeleteTrail", named, "us-east-1", rule.Violation, []string{apiCreate, apiSelectors, apiStart}},
		{"baseline without a bucket", "audit", "DeleteTrail", baseline{TrailName: "audit"}, "us-east-1", rule.Violation, []string{rule.AlertAPI}},
		{"another trail, no baseline", "scratch", "DeleteTrail", baseline{}, "us-east-1", rule.Violation, []string{rule.AlertAPI}},
		{"gone before a later event", "scratch", "StopLogging", baseline{}, "us-east-1", rule.NotApplicable, nil},
		{"swept missing, home region unknown", "audit", "", named, "us-east-1", rule.Violation, []string{rule.AlertAPI}},
		{"swept missing in its home region", "audit", "", baseline{TrailName: "audit", Bucket: "logs", Region: "us-east-1"}, "us-east-1", rule.Violation, []string{apiCreate, apiSelectors, apiStart}},
		{"deleted, home region elsewhere", "audit", "DeleteTrail", baseline{TrailName: "audit", Bucket: "logs", Region: "eu-west-1"}, "us-east-1", rule.Violation, []string{rule.AlertAPI}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := gone(c.trail, c.event, c.b, c.region)
			if f.Verdict != c.verdict || !slices.Equal(apis(f.Actions), c.apis) {
				t.Fatalf("finding = %+v", f)
			}
		})
	}
	var c createParams
	if err := recreate("audit", baseline{TrailName: "audit", Bucket: "logs", Prefix: "org", MultiRegion: true, Validation: true})[0].Decode(&c); err != nil ||
		!c.MultiRegion || !c.GlobalEvents || !c.Validation || c.Prefix != "org" || c.Bucket != "logs" {
		t.Fatalf("create = %+v, %v", c, err)
	}
}

func TestNonBaselineTrailIsNotJudged(t *testing.T) {
	p, _ := meta.Resolve(map[string]string{ParamTrailName: "audit"})
	targets, _ := Rule.Targets(enginetest.Call(t, "events/cloudtrail/cloudtrail-stop-logging.json"), p)
	f, err := Rule.Evaluate(context.Background(), awsclient.NewOffline("us-east-1"), targets[0], p)
	if err != nil || f.Verdict != rule.NotApplicable || !strings.Contains(f.Reason, "not the baseline trail") {
		t.Fatalf("finding = %+v, %v", f, err)
	}
}

func TestParams(t *testing.T) {
	good := map[string]string{ParamKMS: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		ParamLogGroup: "arn:aws:logs:us-east-1:123456789012:log-group:trail:*", ParamLogRole: "arn:aws:iam::123456789012:role/ct",
		ParamTrailName: "org-audit", ParamTrailRegion: "eu-west-1", ParamBucket: "audit-logs", ParamPrefix: "org/prod"}
	if _, err := meta.Resolve(good); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{
		ParamKMS:         "alias/trail",
		ParamLogGroup:    "arn:aws:s3:::bucket",
		ParamLogRole:     "arn:aws:iam::123456789012:user/ct",
		ParamTrailName:   "a b",
		ParamTrailRegion: "moon",
		ParamBucket:      "Bad_Bucket",
		ParamMultiRegion: "maybe",
	} {
		if _, err := meta.Resolve(map[string]string{name: v}); err == nil {
			t.Errorf("%s=%q accepted", name, v)
		}
	}
	// Cross-parameter rules are checked before any call.
	for _, over := range []map[string]string{{ParamLogGroup: good[ParamLogGroup]}, {ParamPrefix: "org"}} {
		p, err := meta.Resolve(over)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Rule.Evaluate(context.Background(), awsclient.NewOffline("us-east-1"), rule.Target{Evidence: evidence{Name: "t"}}, p); err == nil {
			t.Errorf("%v accepted", over)
		}
	}
	const trail = "arn:aws:cloudtrail:us-east-1:123456789012:trail/t"
	if !kmsMatches(good[ParamKMS], "1234abcd-12ab-34cd-56ef-1234567890ab", trail) || kmsMatches("arn:aws:kms:us-east-1:123456789012:key/other", "1234abcd-12ab-34cd-56ef-1234567890ab", trail) ||
		kmsMatches("arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", "1234abcd-12ab-34cd-56ef-1234567890ab", trail) {
		t.Error("kmsMatches")
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

func TestArnRegionAndName(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:cloudtrail:eu-west-1:123456789012:trail/x": "eu-west-1",
		"management-events":  "",
		"arn:aws:cloudtrail": "",
	} {
		if got := arnRegion(in); got != want {
			t.Errorf("arnRegion(%q) = %q", in, got)
		}
	}
	if trailName("arn:aws:cloudtrail:eu-west-1:123456789012:trail/x") != "x" || trailName("y") != "y" {
		t.Error("trailName")
	}
}
