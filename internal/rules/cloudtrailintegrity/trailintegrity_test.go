package cloudtrailintegrity

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/trailsel"
	"github.com/rampart-aws/rampart/internal/trigger"
)

var offline = rule.Env{Session: awsclient.NewOffline("us-east-1")}

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
	t.Parallel()
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
			t.Parallel()
			b, err := rule.BindWith(Rule, tc.params)
			if err != nil {
				t.Fatal(err)
			}
			targets, err := b.Targets(enginetest.Call(t, "events/cloudtrail/"+tc.file))
			if err != nil || len(targets) != 1 {
				t.Fatalf("targets = %+v, %v", targets, err)
			}
			f, err := b.Evaluate(context.Background(), offline, targets[0])
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

// TestJudgeTheWholeBaseline: the judgement of a trail read live, field by
// field of the baseline, with the fix and its undo.
func TestJudgeTheWholeBaseline(t *testing.T) {
	t.Parallel()
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
			t.Parallel()
			st := healthy()
			c.edit(&st)
			f := judgeTrail(observed{state: st, Tags: map[string]string{"owner": "audit"}}, stopped, c.b, facts)
			acts := f.Actions
			for _, r := range c.reasons {
				if !strings.Contains(f.Reason, r) {
					t.Errorf("reason %q lacks %q", f.Reason, r)
				}
			}
			switch {
			case f.Resource != *st.Trail.TrailARN:
				t.Fatalf("resource = %q", f.Resource)
			case len(c.reasons) == 0 && (f.Verdict != rule.Compliant || f.Reason != "the trail meets the whole baseline"):
				t.Fatalf("finding = %+v", f)
			case len(c.reasons) > 0 && (f.Verdict != rule.Violation || f.Tags["owner"] != "audit"):
				t.Fatalf("finding = %+v", f)
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

var (
	facts   = rule.Facts{Account: "123456789012", Partition: "aws", Region: "us-east-1"}
	stopped = rule.Target{Type: ResourceType, ID: "audit", Region: "us-east-1", Evidence: evidence{Event: "StopLogging", Name: "audit"},
		Call: &trigger.APICall{Account: "123456789012"}}
)

// TestJudgeWhatIsNotJudgedHere: the decisions that are not a comparison
// with the baseline — other regions, shadows, organization trails of the
// management account, trails that are gone, targets no call named.
func TestJudgeWhatIsNotJudgedHere(t *testing.T) {
	t.Parallel()
	named := baseline{TrailName: "audit", Bucket: "logs", Prefix: "org", MultiRegion: true, Validation: true}
	weak := healthy()
	weak.Logging = false
	org := weak
	org.Trail.IsOrganizationTrail = aws.Bool(true)
	shadow := weak
	shadow.Trail.HomeRegion = aws.String("eu-west-1")
	deleted := stopped
	deleted.Evidence = evidence{Event: "DeleteTrail", Name: "audit"}
	fromMember := stopped
	fromMember.Call = &trigger.APICall{Account: "210987654321"}
	for _, c := range []struct {
		name    string
		o       observed
		t       rule.Target
		b       baseline
		verdict rule.Verdict
		reason  string
		apis    []string
	}{
		{"not named by a call or the sweep", observed{state: weak}, rule.Target{ID: "audit"}, named, rule.NotApplicable, "judges trails named by CloudTrail calls or its sweep", nil},
		{"not the baseline trail", observed{state: weak}, rule.Target{ID: "scratch", Evidence: evidence{Name: "scratch"}}, named, rule.NotApplicable, "not the baseline trail audit", nil},
		{"named by an ARN of another region", observed{Elsewhere: "eu-west-1"}, stopped, named, rule.NotApplicable, "home region is eu-west-1", nil},
		{"a shadow", observed{state: shadow}, stopped, named, rule.NotApplicable, "a shadow of a trail whose home region is eu-west-1", nil},
		{"an organization trail of the management account", observed{state: org}, fromMember, named, rule.Violation, "owned by the management account; alerting only", []string{rule.AlertAPI}},
		{"an organization trail of this account", observed{state: org}, stopped, named, rule.Violation, "logging is stopped", []string{apiStart}},
		{"deleted, live", observed{Missing: true}, deleted, named, rule.Violation, "recreating it", []string{apiCreate, apiSelectors, apiStart}},
		{"deleted, live, home elsewhere", observed{Missing: true}, deleted, baseline{TrailName: "audit", Bucket: "logs", Region: "eu-west-1"}, rule.Violation, "its home region is eu-west-1", []string{rule.AlertAPI}},
		{"deleted, offline: judged as in its home region", observed{Missing: true, Planned: true}, deleted, baseline{TrailName: "audit", Bucket: "logs", Region: "eu-west-1"}, rule.Violation, "recreating it", []string{apiCreate, apiSelectors, apiStart}},
		{"gone before a later event", observed{Missing: true}, stopped, baseline{}, rule.NotApplicable, "the trail no longer exists", nil},
		{"planned, weakened", observed{state: weak, Planned: true}, stopped, named, rule.Violation, "the call left the trail so: logging is stopped", []string{apiStart}},
		{"planned, as the baseline wants", observed{state: healthy(), Planned: true}, stopped, baseline{MultiRegion: true, Validation: true}, rule.Compliant, "the call left the trail as the baseline wants", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := judgeTrail(c.o, c.t, c.b, facts)
			if f.Verdict != c.verdict || !strings.Contains(f.Reason, c.reason) || !slices.Equal(apis(f.Actions), c.apis) {
				t.Fatalf("finding = %+v", f)
			}
		})
	}
}

// fakeTrails answers the reads of one trail, counting them.
type fakeTrails struct {
	trail   cttypes.Trail
	logging bool
	calls   []string
}

func (f *fakeTrails) GetTrail(_ context.Context, in *cloudtrail.GetTrailInput, _ ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailOutput, error) {
	f.calls = append(f.calls, "GetTrail")
	if aws.ToString(in.Name) != aws.ToString(f.trail.Name) {
		return nil, &smithy.GenericAPIError{Code: "TrailNotFoundException"}
	}
	return &cloudtrail.GetTrailOutput{Trail: &f.trail}, nil
}

func (f *fakeTrails) GetTrailStatus(context.Context, *cloudtrail.GetTrailStatusInput, ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailStatusOutput, error) {
	f.calls = append(f.calls, "GetTrailStatus")
	return &cloudtrail.GetTrailStatusOutput{IsLogging: aws.Bool(f.logging)}, nil
}

func (f *fakeTrails) GetEventSelectors(context.Context, *cloudtrail.GetEventSelectorsInput, ...func(*cloudtrail.Options)) (*cloudtrail.GetEventSelectorsOutput, error) {
	f.calls = append(f.calls, "GetEventSelectors")
	return &cloudtrail.GetEventSelectorsOutput{EventSelectors: healthy().Selectors.Basic}, nil
}

func (f *fakeTrails) ListTags(context.Context, *cloudtrail.ListTagsInput, ...func(*cloudtrail.Options)) (*cloudtrail.ListTagsOutput, error) {
	f.calls = append(f.calls, "ListTags")
	return &cloudtrail.ListTagsOutput{ResourceTagList: []cttypes.ResourceTag{{TagsList: []cttypes.Tag{{Key: aws.String("owner"), Value: aws.String("audit")}}}}}, nil
}

// TestReadOnlyWhatTheJudgementNeeds: tags are read for a violation only;
// a trail of another region, named by ARN, is not read at all. (The
// integration tests assert the same calls against moto.)
func TestReadOnlyWhatTheJudgementNeeds(t *testing.T) {
	t.Parallel()
	b := baseline{MultiRegion: true, Validation: true}
	for _, c := range []struct {
		name    string
		named   string
		logging bool
		known   bool
		calls   string
		check   func(observed) bool
	}{
		{"compliant", "audit", true, false, "GetTrail,GetTrailStatus,GetEventSelectors", func(o observed) bool { return o.Logging && o.Tags == nil }},
		{"stopped", "audit", false, false, "GetTrail,GetTrailStatus,GetEventSelectors,ListTags", func(o observed) bool { return !o.Logging && o.Tags["owner"] == "audit" }},
		{"listed by the sweep", "arn:aws:cloudtrail:us-east-1:123456789012:trail/audit", true, true, "GetTrailStatus,GetEventSelectors", func(o observed) bool { return o.Name == "audit" }},
		{"gone", "scratch", true, false, "GetTrail", func(o observed) bool { return o.Missing }},
		{"another region's, by ARN", "arn:aws:cloudtrail:eu-west-1:123456789012:trail/audit", true, false, "", func(o observed) bool { return o.Elsewhere == "eu-west-1" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			api := &fakeTrails{trail: healthy().Trail, logging: c.logging}
			var known *cttypes.Trail
			if c.known {
				known = &api.trail
			}
			o, err := read(context.Background(), api, "us-east-1", c.named, known, b)
			if err != nil || strings.Join(api.calls, ",") != c.calls || !c.check(o) {
				t.Fatalf("observed %+v, %v; calls %v, want %s", o, err, api.calls, c.calls)
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
	b, err := rule.BindWith(Rule, map[string]string{ParamTrailName: "audit"})
	if err != nil {
		t.Fatal(err)
	}
	targets, _ := b.Targets(enginetest.Call(t, "events/cloudtrail/cloudtrail-stop-logging.json"))
	f, err := b.Evaluate(context.Background(), offline, targets[0])
	if err != nil || f.Verdict != rule.NotApplicable || !strings.Contains(f.Reason, "not the baseline trail") {
		t.Fatalf("finding = %+v, %v", f, err)
	}
}

func TestParams(t *testing.T) {
	t.Parallel()
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
	// Cross-parameter rules are checked before any call: binding fails.
	for _, over := range []map[string]string{{ParamLogGroup: good[ParamLogGroup]}, {ParamPrefix: "org"}} {
		if _, err := meta.Resolve(over); err != nil {
			t.Fatal(err)
		}
		if _, err := rule.BindWith(Rule, over); err == nil {
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
	t.Parallel()
	b, err := rule.BindWith(Rule, nil)
	if err != nil {
		t.Fatal(err)
	}
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
		if _, err := b.Targets(&c); !errors.Is(err, trigger.ErrInput) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestArnRegionAndName(t *testing.T) {
	t.Parallel()
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
