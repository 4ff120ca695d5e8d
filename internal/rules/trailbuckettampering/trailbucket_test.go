package trailbuckettampering

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/iampolicy"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/trigger"
)

const sampleBucket = "aws-cloudtrail-logs-123456789012-3f9c1a2b"

func ids(rules []s3types.LifecycleRule) []string {
	var out []string
	for _, r := range rules {
		out = append(out, aws.ToString(r.ID))
	}
	return out
}

// bound is the rule with its default parameters.
func bound(t testing.TB) *rule.Bound {
	t.Helper()
	b, err := rule.BindWith(Rule, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTargetsOnSampleEvents(t *testing.T) {
	t.Parallel()
	b := bound(t)
	for _, c := range []struct {
		file   string
		aspect aspect
		rules  []string
	}{
		{"s3-put-bucket-lifecycle-short-expiry.json", aspectLifecycle, []string{"expire-logs-weekly"}},
		{"s3-put-bucket-lifecycle-list.json", aspectLifecycle, []string{"archive-after-90", "expire-cloudtrail"}},
		{"s3-put-bucket-lifecycle-stratus.json", aspectLifecycle, []string{"nuke-cloudtrail-logs-after-1-day"}},
		{"s3-put-bucket-policy-deny-cloudtrail.json", aspectPolicy, nil},
	} {
		t.Run(c.file, func(t *testing.T) {
			ts, err := b.Targets(enginetest.Call(t, "events/cloudtrail/"+c.file))
			if err != nil {
				t.Fatal(err)
			}
			ev := ts[0].Evidence.(evidence)
			if len(ts) != 1 || ts[0].ID != sampleBucket || ev.Aspect != c.aspect || !slices.Equal(ids(ev.Rules), c.rules) || ev.Account != "123456789012" {
				t.Fatalf("targets = %+v", ts)
			}
			if c.aspect == aspectPolicy && len(ev.Policy.Doc.Statement) != 2 {
				t.Fatalf("policy = %+v", ev.Policy)
			}
		})
	}
	// The short-expiry sample's Filter is "", the empty filter.
	ts, _ := b.Targets(enginetest.Call(t, "events/cloudtrail/s3-put-bucket-lifecycle-short-expiry.json"))
	if r := ts[0].Evidence.(evidence).Rules[0]; r.Filter == nil || r.Filter.Prefix != nil || aws.ToInt32(r.Expiration.Days) != 7 {
		t.Fatalf("rule = %+v", r)
	}
}

func call(event, req string) *trigger.APICall {
	return &trigger.APICall{EventName: event, EventSource: "s3.amazonaws.com", Region: "us-east-1", Account: "123456789012",
		Request: json.RawMessage(req), Response: json.RawMessage("null")}
}

func TestLifecycleShapes(t *testing.T) {
	t.Parallel()
	b := bound(t)
	for _, c := range []struct {
		name, req string
		check     func(r s3types.LifecycleRule) bool
		err       string
	}{
		{"legacy top-level prefix, numbers as strings",
			`{"bucketName":"b-1","LifecycleConfiguration":{"Rule":{"ID":"r","Prefix":"AWSLogs/","Status":"Enabled","Expiration":{"Days":"30"}}}}`,
			func(r s3types.LifecycleRule) bool {
				return aws.ToString(r.Prefix) == "AWSLogs/" && aws.ToInt32(r.Expiration.Days) == 30 //nolint:staticcheck // the legacy field under test
			}, ""},
		{"And with a single Tag object and a size",
			`{"bucketName":"b-1","LifecycleConfiguration":{"Rule":{"ID":"r","Status":"Enabled","Filter":{"And":{"Prefix":"tmp/","Tag":{"Key":"k","Value":"v"},"ObjectSizeGreaterThan":"1024"}},"Expiration":{"Days":1}}}}`,
			func(r s3types.LifecycleRule) bool {
				return len(r.Filter.And.Tags) == 1 && aws.ToString(r.Filter.And.Prefix) == "tmp/" && aws.ToInt64(r.Filter.And.ObjectSizeGreaterThan) == 1024
			}, ""},
		{"And with a Tag list, transitions list, date, delete marker, noncurrent, abort",
			`{"bucketName":"b-1","LifecycleConfiguration":{"Rule":{"ID":"r","Status":"Enabled","Filter":{"And":{"Tag":[{"Key":"a","Value":"1"},{"Key":"b","Value":"2"}]}},` +
				`"Expiration":{"Date":"2027-01-01T00:00:00Z","ExpiredObjectDeleteMarker":"false"},"Transition":[{"Days":30,"StorageClass":"STANDARD_IA"},{"Days":90,"StorageClass":"GLACIER"}],` +
				`"NoncurrentVersionExpiration":{"NoncurrentDays":60,"NewerNoncurrentVersions":3},"NoncurrentVersionTransition":{"NoncurrentDays":10,"StorageClass":"GLACIER"},"AbortIncompleteMultipartUpload":{"DaysAfterInitiation":7}}}}`,
			func(r s3types.LifecycleRule) bool {
				return len(r.Filter.And.Tags) == 2 && len(r.Transitions) == 2 && r.Expiration.Date.Year() == 2027 && !aws.ToBool(r.Expiration.ExpiredObjectDeleteMarker) &&
					aws.ToInt32(r.NoncurrentVersionExpiration.NewerNoncurrentVersions) == 3 && len(r.NoncurrentVersionTransitions) == 1 &&
					aws.ToInt32(r.AbortIncompleteMultipartUpload.DaysAfterInitiation) == 7
			}, ""},
		{"Filter with a tag", `{"bucketName":"b-1","LifecycleConfiguration":{"Rule":{"Status":"Disabled","Filter":{"Tag":{"Key":"k","Value":"v"}},"Expiration":{"Days":1}}}}`,
			func(r s3types.LifecycleRule) bool {
				return r.ID == nil && r.Filter.Tag != nil && r.Status == s3types.ExpirationStatusDisabled
			}, ""},
		{"bad status", `{"bucketName":"b-1","LifecycleConfiguration":{"Rule":{"ID":"r","Status":"Sometimes"}}}`, nil, "Status"},
		{"bad date", `{"bucketName":"b-1","LifecycleConfiguration":{"Rule":{"ID":"r","Status":"Enabled","Expiration":{"Date":"soon"}}}}`, nil, "date"},
		{"bad filter string", `{"bucketName":"b-1","LifecycleConfiguration":{"Rule":{"ID":"r","Status":"Enabled","Filter":"x"}}}`, nil, "filter"},
		{"no configuration", `{"bucketName":"b-1","lifecycle":""}`, nil, "no LifecycleConfiguration"},
		{"no bucket", `{"LifecycleConfiguration":{"Rule":[]}}`, nil, "no bucketName"},
		{"days not a number", `{"bucketName":"b-1","LifecycleConfiguration":{"Rule":{"ID":"r","Status":"Enabled","Expiration":{"Days":"one"}}}}`, nil, "requestParameters"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts, err := b.Targets(call("PutBucketLifecycle", c.req))
			if c.err != "" {
				if !errors.Is(err, trigger.ErrInput) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want ErrInput with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r := ts[0].Evidence.(evidence).Rules[0]; !c.check(r) {
				raw, _ := json.Marshal(r)
				t.Fatalf("rule = %s", raw)
			}
		})
	}
	for _, req := range []string{`{"bucketName":"b-1"}`, `{"bucketName":"b-1","bucketPolicy":{"Statement":[{"Effect":"x"}]}}`} {
		if _, err := b.Targets(call("PutBucketPolicy", req)); !errors.Is(err, trigger.ErrInput) {
			t.Errorf("%s: err = %v", req, err)
		}
	}
	if ts, err := b.Targets(call("PutBucketAcl", `{}`)); ts != nil || err != nil {
		t.Fatalf("another event: %v %v", ts, err)
	}
}

var now = time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)

func lc(id, status, prefix string, days int32, tagged bool) s3types.LifecycleRule {
	r := s3types.LifecycleRule{ID: aws.String(id), Status: s3types.ExpirationStatus(status), Filter: &s3types.LifecycleRuleFilter{Prefix: aws.String(prefix)}}
	if tagged {
		r.Filter = &s3types.LifecycleRuleFilter{And: &s3types.LifecycleRuleAndOperator{Prefix: aws.String(prefix), Tags: []s3types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}}
	}
	if days > 0 {
		r.Expiration = &s3types.LifecycleExpiration{Days: aws.Int32(days)}
	}
	return r
}

func TestExpiresLogs(t *testing.T) {
	t.Parallel()
	paths := []logPath{{Trail: "main", Prefix: "AWSLogs/", Account: "123456789012"}}
	prefixed := []logPath{{Trail: "org", Prefix: "audit/AWSLogs/", Account: "123456789012"}}
	date := func(d time.Time) s3types.LifecycleRule {
		return s3types.LifecycleRule{ID: aws.String("d"), Status: s3types.ExpirationStatusEnabled, Expiration: &s3types.LifecycleExpiration{Date: &d}}
	}
	for _, c := range []struct {
		name  string
		r     s3types.LifecycleRule
		paths []logPath
		want  bool
	}{
		{"whole bucket, 7 days", lc("a", "Enabled", "", 7, false), paths, true},
		{"log prefix, 3 days", lc("a", "Enabled", "AWSLogs/123456789012/CloudTrail/", 3, false), paths, true},
		{"parent of the log prefix", lc("a", "Enabled", "AWS", 3, false), paths, true},
		{"other prefix", lc("a", "Enabled", "tmp/", 1, false), paths, false},
		{"disabled", lc("a", "Disabled", "", 1, false), paths, false},
		{"exactly the retention", lc("a", "Enabled", "", 365, false), paths, false},
		{"longer than the retention", lc("a", "Enabled", "", 400, false), paths, false},
		{"tag-filtered", lc("a", "Enabled", "", 1, true), paths, false},
		{"no expiration (a transition)", lc("a", "Enabled", "", 0, false), paths, false},
		{"stratus literal star", lc("nuke", "Enabled", "*", 1, false), paths, true},
		{"key prefix of the trail", lc("a", "Enabled", "audit/", 30, false), prefixed, true},
		{"default prefix under a key-prefixed trail", lc("a", "Enabled", "AWSLogs/", 30, false), prefixed, false},
		{"expiry date within the retention", date(now.AddDate(0, 1, 0)), paths, true},
		{"expiry date beyond the retention", date(now.AddDate(2, 0, 0)), paths, false},
		{"legacy top-level prefix", s3types.LifecycleRule{ID: aws.String("l"), Status: "Enabled", Prefix: aws.String("AWSLogs/"), Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(1)}}, paths, true}, //nolint:staticcheck // the legacy field under test
	} {
		t.Run(c.name, func(t *testing.T) {
			why, got := expiresLogs(c.r, c.paths, 365, now)
			if got != c.want {
				t.Fatalf("expiresLogs = %v (%s), want %v", got, why, c.want)
			}
		})
	}
}

func policy(t *testing.T, js string) *iampolicy.Document {
	t.Helper()
	d, err := iampolicy.Parse([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

const (
	acct     = "123456789012"
	trailARN = "arn:aws:cloudtrail:us-east-1:123456789012:trail/main"
	aclOK    = `{"Sid":"AWSCloudTrailAclCheck","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:GetBucketAcl","Resource":"arn:aws:s3:::logs","Condition":{"StringEquals":{"aws:SourceArn":"` + trailARN + `"}}}`
	writeOK  = `{"Sid":"AWSCloudTrailWrite","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::logs/AWSLogs/123456789012/*","Condition":{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control","aws:SourceArn":"` + trailARN + `"}}}`
)

var mainPath = logPath{Trail: "main", Prefix: "AWSLogs/", Account: acct, ARN: trailARN, Region: "us-east-1", MultiRegion: true}

func pol(t *testing.T, stmts ...string) *bucketPolicy {
	t.Helper()
	raw := `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
	return &bucketPolicy{Doc: policy(t, raw), Raw: raw}
}

// TestAnalyse: whether the policy still lets CloudTrail deliver — an Allow
// must grant it, and no Deny may block it.
func TestAnalyse(t *testing.T) {
	t.Parallel()
	write := func(edit string) string { return strings.Replace(writeOK, `"Action":"s3:PutObject"`, edit, 1) }
	for _, c := range []struct {
		name                      string
		stmts                     []string
		missing, removable, alert int
		problem                   string
	}{
		{"documented policy", []string{aclOK, writeOK}, 0, 0, 0, ""},
		{"Allow removed", []string{aclOK}, 1, 0, 0, "no bucket policy statement allows CloudTrail"},
		{"ACL check removed", []string{writeOK}, 1, 0, 0, "trail main"},
		{"no statement", nil, 1, 0, 0, ""},
		{"principal as a list, action as a list", []string{aclOK, strings.Replace(strings.Replace(writeOK, `{"Service":"cloudtrail.amazonaws.com"}`, `{"Service":["cloudtrail.amazonaws.com"]}`, 1),
			`"Action":"s3:PutObject"`, `"Action":["s3:PutObject"]`, 1)}, 0, 0, 0, ""},
		{"s3:* counts", []string{aclOK, write(`"Action":"s3:*"`)}, 0, 0, 0, ""},
		{"s3:Put* counts", []string{aclOK, write(`"Action":"s3:Put*"`)}, 0, 0, 0, ""},
		{"another action", []string{aclOK, write(`"Action":"s3:GetObject"`)}, 1, 0, 0, ""},
		{"whole bucket resource", []string{aclOK, strings.Replace(writeOK, "logs/AWSLogs/123456789012/*", "logs/*", 1)}, 0, 0, 0, ""},
		{"another prefix", []string{aclOK, strings.Replace(writeOK, "logs/AWSLogs/123456789012/*", "logs/other/AWSLogs/123456789012/*", 1)}, 1, 0, 0, ""},
		{"another account", []string{aclOK, strings.Replace(writeOK, "AWSLogs/123456789012/*", "AWSLogs/210987654321/*", 1)}, 1, 0, 0, ""},
		{"one region only of a multi-region trail", []string{aclOK, strings.Replace(writeOK, "AWSLogs/123456789012/*", "AWSLogs/123456789012/CloudTrail/us-east-1/*", 1)}, 1, 0, 0, ""},
		{"log files but not digests", []string{aclOK, strings.Replace(writeOK, "AWSLogs/123456789012/*", "AWSLogs/123456789012/CloudTrail/*", 1)}, 1, 0, 0, ""},
		{"source ARN of another trail", []string{aclOK, strings.Replace(writeOK, "trail/main", "trail/shadow", 1)}, 1, 0, 0, ""},
		{"source ARN by wildcard", []string{aclOK, strings.Replace(strings.Replace(writeOK, "StringEquals", "ArnLike", 1), "trail/main", "trail/*", 1)}, 0, 0, 0, ""},
		{"without the ACL condition (CloudTrail still sends it)", []string{aclOK, strings.Replace(writeOK, `"s3:x-amz-acl":"bucket-owner-full-control",`, "", 1)}, 0, 0, 0, ""},
		{"another ACL required", []string{aclOK, strings.Replace(writeOK, "bucket-owner-full-control", "private", 1)}, 1, 0, 0, ""},
		{"source account condition", []string{aclOK, strings.Replace(writeOK, `"aws:SourceArn":"`+trailARN+`"`, `"aws:SourceAccount":"123456789012"`, 1)}, 0, 0, 0, ""},
		{"undecidable condition", []string{aclOK, strings.Replace(writeOK, `"StringEquals"`, `"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"StringEquals"`, 1)}, 1, 0, 0, ""},
		{"public allow counts", []string{aclOK, `{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::logs/*"}`}, 0, 0, 0, ""},
		{"Deny to CloudTrail overrides", []string{aclOK, writeOK, `{"Sid":"x","Effect":"Deny","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::logs/*"}`}, 0, 1, 0, "statement x denies"},
		{"Deny GetBucketAcl to everyone", []string{aclOK, writeOK, `{"Sid":"x","Effect":"Deny","Principal":"*","Action":"s3:GetBucketAcl","Resource":"arn:aws:s3:::logs"}`}, 0, 0, 1, "widen their access"},
		{"Deny to CloudTrail and others", []string{aclOK, writeOK, `{"Sid":"x","Effect":"Deny","Principal":{"Service":"cloudtrail.amazonaws.com","AWS":"*"},"Action":"s3:*","Resource":"*"}`}, 0, 0, 1, ""},
		{"Deny on another prefix", []string{aclOK, writeOK, `{"Sid":"x","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::logs/private/*"}`}, 0, 0, 0, ""},
		{"Deny to another service", []string{aclOK, writeOK, `{"Sid":"x","Effect":"Deny","Principal":{"Service":"config.amazonaws.com"},"Action":"s3:*","Resource":"arn:aws:s3:::logs/*"}`}, 0, 0, 0, ""},
		{"TLS-only Deny", []string{aclOK, writeOK, `{"Sid":"x","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::logs/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`}, 0, 0, 0, ""},
		{"Deny unless an AWS service", []string{aclOK, writeOK, `{"Sid":"x","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::logs/*","Condition":{"Bool":{"aws:PrincipalIsAWSService":false}}}`}, 0, 0, 0, ""},
		{"Deny outside the organisation blocks CloudTrail", []string{aclOK, writeOK, `{"Sid":"x","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::logs/*","Condition":{"StringNotEquals":{"aws:PrincipalOrgID":"o-1"}}}`}, 0, 0, 1, "statement x denies"},
		{"Deny of other source accounts", []string{aclOK, writeOK, `{"Sid":"x","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::logs/*","Condition":{"StringNotEquals":{"aws:SourceAccount":"123456789012"}}}`}, 0, 0, 0, ""},
		{"Deny on an undecidable condition", []string{aclOK, writeOK, `{"Sid":"x","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::logs/*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`}, 0, 0, 1, "conditionally, on aws:sourceip"},
		{"NotPrincipal sparing CloudTrail", []string{aclOK, writeOK, `{"Sid":"x","Effect":"Deny","NotPrincipal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:*","Resource":"arn:aws:s3:::logs/*"}`}, 0, 0, 0, ""},
		{"NotAction sparing delivery", []string{aclOK, writeOK, `{"Sid":"x","Effect":"Deny","Principal":"*","NotAction":["s3:PutObject","s3:GetBucketAcl"],"Resource":"*"}`}, 0, 0, 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := analyse("aws", pol(t, c.stmts...), "logs", []logPath{mainPath})
			got := strings.Join(d.problems, "; ")
			if len(d.missing) != c.missing || len(d.removable) != c.removable || len(d.alerts) != c.alert || !strings.Contains(got, c.problem) ||
				(c.missing+c.removable+c.alert == 0) != (got == "") {
				t.Fatalf("missing %d removable %d alerts %d: %q", len(d.missing), len(d.removable), len(d.alerts), got)
			}
			if c.missing+c.removable == 0 {
				return
			}
			// The fix makes the policy allow delivery and keeps the rest.
			p := pol(t, c.stmts...)
			remove, add, err := policyFix("aws", p, "logs", d)
			if err != nil {
				t.Fatal(err)
			}
			next, changed, err := rewrite(p.Raw, remove, add)
			if err != nil || !changed {
				t.Fatalf("rewrite: %v %v", changed, err)
			}
			fixed := &bucketPolicy{Doc: policy(t, next), Raw: next}
			if d := analyse("aws", fixed, "logs", []logPath{mainPath}); len(d.missing)+len(d.removable) != 0 {
				t.Fatalf("after the fix: %+v\n%s", d, next)
			}
			if len(fixed.Doc.Statement) != len(c.stmts)-len(remove)+len(add) {
				t.Fatalf("statements lost: %s", next)
			}
			if _, again, _ := rewrite(next, remove, add); again {
				t.Fatal("the fix applied twice changes the policy again")
			}
		})
	}
}

func TestAnalyseNoPolicy(t *testing.T) {
	t.Parallel()
	d := analyse("aws", nil, "logs", []logPath{mainPath, {Trail: "org", Prefix: "audit/AWSLogs/", Account: acct, ARN: "arn:aws:cloudtrail:us-east-1:123456789012:trail/org", Region: "us-east-1"}})
	if len(d.missing) != 2 {
		t.Fatalf("no policy = %+v", d)
	}
	remove, add, _ := policyFix("aws", nil, "logs", d)
	next, _, err := rewrite("", remove, add)
	if err != nil || len(add) != 4 {
		t.Fatal(err, add)
	}
	doc := policy(t, next)
	if doc.Version != "2012-10-17" || doc.Statement[0].Sid != "RampartCloudTrailAclCheckmain" || doc.Statement[3].Resource[0] != "arn:aws:s3:::logs/audit/AWSLogs/123456789012/*" {
		t.Fatalf("policy = %s", next)
	}
	if d := analyse("aws", &bucketPolicy{Doc: doc, Raw: next}, "logs", d.missing); len(d.problems) != 0 {
		t.Fatalf("documented statements do not allow delivery: %v", d.problems)
	}
	// Sids already taken get a number.
	used := map[string]bool{"RampartCloudTrailAclCheckmain": true}
	if st := documented("aws", "logs", mainPath, used); !strings.Contains(string(st[0]), `"RampartCloudTrailAclCheckmain2"`) {
		t.Fatalf("statement = %s", st[0])
	}
	// S3 refuses a policy over 20 KB: the rewrite does too.
	big := strings.Repeat("x", maxPolicyBytes)
	if _, _, err := rewrite(`{"Statement":[{"Sid":"`+big+`","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}`, nil, add); err == nil {
		t.Fatal("an oversized policy was accepted")
	}
}

func TestJudgePlan(t *testing.T) {
	t.Parallel()
	rules := []s3types.LifecycleRule{lc("keep-tmp", "Enabled", "tmp/", 1, false), lc("nuke", "Enabled", "", 1, false), lc("archive", "Enabled", "", 0, false)}
	deny := pol(t, aclOK, writeOK, `{"Sid":"stop","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"*"}`)
	paths := []logPath{mainPath}
	f := judge("aws", "logs", rules, "all_storage_classes_128K", deny, paths, 365, now, "")
	if f.Verdict != rule.Violation || len(f.Actions) != 2 || f.Actions[0].API != apiPutLifecycle || f.Actions[1].API != rule.AlertAPI {
		t.Fatalf("finding = %+v", f)
	}
	var fix, undo lifecycleParams
	if err := f.Actions[0].Decode(&fix); err != nil {
		t.Fatal(err)
	}
	if err := f.Actions[0].Undo.Decode(&undo); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(fix.Remove), []string{"nuke"}) || fix.Restore != nil || !slices.Equal(ids(undo.Restore.Rules), []string{"keep-tmp", "nuke", "archive"}) ||
		undo.Restore.MinSize != "all_storage_classes_128K" || len(undo.Remove) != 0 {
		t.Fatalf("fix = %+v, undo = %+v", fix, undo)
	}
	// An event concerns one aspect: a lifecycle event does not alert on the policy.
	if f := judge("aws", "logs", rules, "", deny, paths, 365, now, aspectLifecycle); len(f.Actions) != 1 || f.Actions[0].API != apiPutLifecycle {
		t.Fatalf("lifecycle only = %+v", f)
	}
	if f := judge("aws", "logs", rules[:1], "", pol(t, aclOK, writeOK), paths, 365, now, ""); f.Verdict != rule.Compliant || len(f.Actions) != 0 {
		t.Fatalf("compliant = %+v", f)
	}
}

// The plan finds rules again at apply time by their JSON: the round trip
// through the action's params must not change it.
func TestCanonicalSurvivesParams(t *testing.T) {
	t.Parallel()
	d := now.AddDate(0, 2, 0)
	r := s3types.LifecycleRule{ID: aws.String("x"), Status: "Enabled",
		Filter:      &s3types.LifecycleRuleFilter{And: &s3types.LifecycleRuleAndOperator{Prefix: aws.String("p/"), Tags: []s3types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}, ObjectSizeGreaterThan: aws.Int64(5)}},
		Expiration:  &s3types.LifecycleExpiration{Date: &d},
		Transitions: []s3types.Transition{{Days: aws.Int32(30), StorageClass: s3types.TransitionStorageClassGlacier}}}
	a := rule.NewAction(apiPutLifecycle, "b", "", lifecycleParams{Bucket: "b", Remove: []s3types.LifecycleRule{r}}, nil)
	var back lifecycleParams
	if err := a.Decode(&back); err != nil {
		t.Fatal(err)
	}
	if canonical(back.Remove[0]) != canonical(r) {
		t.Fatalf("%s\n%s", canonical(back.Remove[0]), canonical(r))
	}
}

func TestOfflineDecisions(t *testing.T) {
	t.Parallel()
	env := rule.Env{Session: awsclient.NewOffline("us-east-1")}
	b := bound(t)
	for _, c := range []struct {
		file string
		want []string
	}{
		{"s3-put-bucket-lifecycle-short-expiry.json", []string{apiPutLifecycle}},
		{"s3-put-bucket-lifecycle-list.json", []string{apiPutLifecycle}},
		{"s3-put-bucket-lifecycle-stratus.json", []string{apiPutLifecycle}},
		{"s3-put-bucket-policy-deny-cloudtrail.json", []string{apiPutPolicy}},
		{"s3-delete-bucket-policy.json", []string{apiPutPolicy}},
		{"s3-put-bucket-policy-public.json", nil},
	} {
		t.Run(c.file, func(t *testing.T) {
			ts, err := b.Targets(enginetest.Call(t, "events/cloudtrail/"+c.file))
			if err != nil {
				t.Fatal(err)
			}
			f, err := b.Evaluate(context.Background(), env, ts[0])
			if err != nil {
				t.Fatal(err)
			}
			var apis []string
			for _, a := range f.Actions {
				apis = append(apis, a.API)
			}
			if !slices.Equal(apis, c.want) {
				t.Fatalf("plan = %v (%s: %s)", apis, f.Verdict, f.Reason)
			}
			if len(c.want) > 0 && (f.Verdict != rule.Violation || !strings.HasPrefix(f.Reason, "if a trail delivers")) {
				t.Fatalf("finding = %+v", f)
			}
		})
	}
	// The list sample keeps its transition rule and removes the 3-day expiry.
	ts, _ := b.Targets(enginetest.Call(t, "events/cloudtrail/s3-put-bucket-lifecycle-list.json"))
	f, _ := b.Evaluate(context.Background(), env, ts[0])
	var fix lifecycleParams
	if err := f.Actions[0].Decode(&fix); err != nil || !slices.Equal(ids(fix.Remove), []string{"expire-cloudtrail"}) {
		t.Fatalf("fix = %+v, %v", fix, err)
	}
	if f, _ := b.Evaluate(context.Background(), env, rule.Target{ID: "b"}); f.Verdict != rule.NotApplicable {
		t.Fatalf("no evidence = %+v", f)
	}
}

func TestPathsTo(t *testing.T) {
	t.Parallel()
	trails := []cttypes.Trail{
		{Name: aws.String("main"), S3BucketName: aws.String("logs"), TrailARN: aws.String("arn:aws:cloudtrail:us-east-1:123456789012:trail/main")},
		{Name: aws.String("org"), S3BucketName: aws.String("logs"), S3KeyPrefix: aws.String("/audit/"), TrailARN: aws.String("arn:aws:cloudtrail:eu-west-1:210987654321:trail/org")},
		{Name: aws.String("other"), S3BucketName: aws.String("elsewhere")},
	}
	got := pathsTo("logs", trails)
	if len(got) != 2 || got[0] != (logPath{"main", "AWSLogs/", "123456789012", "arn:aws:cloudtrail:us-east-1:123456789012:trail/main", "", false}) ||
		got[1] != (logPath{"org", "audit/AWSLogs/", "210987654321", "arn:aws:cloudtrail:eu-west-1:210987654321:trail/org", "", false}) {
		t.Fatalf("paths = %+v", got)
	}
}

func TestParamsAndApplyChecks(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"0", "-1", "forever", "36501"} {
		if _, err := meta.Resolve(map[string]string{ParamRetention: v}); err == nil {
			t.Errorf("retention %q accepted", v)
		}
	}
	b := bound(t)
	env := rule.Env{Session: awsclient.NewOffline("us-east-1")}
	for _, a := range []rule.Action{
		rule.NewAction("s3:PutBucketPolicy", "b", "", lifecycleParams{Bucket: "b", Restore: &lifecycleConfig{}}, nil),
		rule.NewAction(apiPutLifecycle, "b", "", lifecycleParams{Bucket: "b"}, nil),
		rule.NewAction(apiPutLifecycle, "b", "", lifecycleParams{Restore: &lifecycleConfig{}}, nil),
		rule.NewAction(apiPutLifecycle, "b", "", lifecycleParams{Bucket: "b", Restore: &lifecycleConfig{}, Remove: []s3types.LifecycleRule{{}}}, nil),
		{API: apiPutLifecycle, Target: "b"},
	} {
		if err := b.Apply(context.Background(), env, a); err == nil {
			t.Errorf("accepted %s %s", a.API, a.Params)
		}
	}
}

func FuzzTargets(f *testing.F) {
	for _, name := range []string{"s3-put-bucket-lifecycle-short-expiry.json", "s3-put-bucket-lifecycle-list.json",
		"s3-put-bucket-lifecycle-stratus.json", "s3-put-bucket-policy-deny-cloudtrail.json"} {
		c := enginetest.Call(f, "events/cloudtrail/"+name)
		f.Add(c.EventName, []byte(c.Request))
	}
	b := bound(f)
	f.Fuzz(func(t *testing.T, event string, req []byte) {
		if !json.Valid(req) {
			return
		}
		ts, err := b.Targets(call(event, string(req)))
		if err != nil && !errors.Is(err, trigger.ErrInput) {
			t.Fatalf("error without ErrInput: %v", err)
		}
		for _, tg := range ts {
			ev := tg.Evidence.(evidence)
			_ = judge("aws", tg.ID, ev.Rules, "", ev.Policy, []logPath{{Prefix: "AWSLogs/"}}, 365, now, "")
		}
	})
}

// TestJudgeBucket: the Judge over bucket states — live and planned, each
// aspect, the partition's ARNs in the policy fix.
func TestJudgeBucket(t *testing.T) {
	t.Parallel()
	nuke := []s3types.LifecycleRule{lc("nuke", "Enabled", "", 1, false)}
	lifecycleCall := rule.Target{ID: "logs", Evidence: evidence{Event: "PutBucketLifecycle", Aspect: aspectLifecycle}}
	policyCall := rule.Target{ID: "logs", Evidence: evidence{Event: "PutBucketPolicy", Aspect: aspectPolicy}}
	swept := rule.Target{ID: "logs", Evidence: listed{}}
	public := pol(t, `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*"}`)
	denied := pol(t, aclOK, writeOK, `{"Sid":"x","Effect":"Deny","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::logs/*"}`)
	assumed := []logPath{{Trail: "(assumed)", Prefix: "AWSLogs/", Account: acct, Region: "us-east-1"}}
	for _, c := range []struct {
		name      string
		b         bucket
		t         rule.Target
		partition string
		verdict   rule.Verdict
		reason    string
		apis      []string
	}{
		{"no trail delivers here", bucket{Rules: nuke, Now: now}, swept, "aws", rule.NotApplicable, "no trail of this region delivers to bucket logs", nil},
		{"short expiry", bucket{Paths: []logPath{mainPath}, Rules: nuke, Policy: pol(t, aclOK, writeOK), Now: now, Tags: map[string]string{"k": "v"}}, swept, "aws", rule.Violation, "lifecycle rule nuke", []string{apiPutLifecycle}},
		{"lifecycle event: the policy is not judged", bucket{Paths: []logPath{mainPath}, Rules: nuke, Now: now}, lifecycleCall, "aws", rule.Violation, "lifecycle rule nuke", []string{apiPutLifecycle}},
		{"policy event: the lifecycle is not judged", bucket{Paths: []logPath{mainPath}, Rules: nuke, Policy: pol(t, aclOK, writeOK), Now: now}, policyCall, "aws", rule.Compliant, "lets CloudTrail deliver", nil},
		{"deny aimed at CloudTrail", bucket{Paths: []logPath{mainPath}, Policy: denied, Now: now}, policyCall, "aws", rule.Violation, "statement x denies", []string{apiPutPolicy}},
		{"planned: a policy that never names CloudTrail", bucket{Paths: assumed, Policy: public, Now: now, Assumed: true}, policyCall, "aws", rule.Compliant, "offline: the policy gives no sign", nil},
		{"planned: a short expiry", bucket{Paths: assumed, Rules: nuke, Now: now, Assumed: true}, lifecycleCall, "aws", rule.Violation, "if a trail delivers to this bucket under AWSLogs/", []string{apiPutLifecycle}},
		{"planned: the policy deleted", bucket{Paths: assumed, Now: now, Assumed: true}, rule.Target{ID: "logs", Evidence: evidence{Event: "DeleteBucketPolicy", Aspect: aspectPolicy}}, "aws", rule.Violation, "no bucket policy statement allows CloudTrail", []string{apiPutPolicy}},
		{"no policy, in aws-cn", bucket{Paths: []logPath{mainPath}, Now: now}, policyCall, "aws-cn", rule.Violation, "no bucket policy statement allows CloudTrail", []string{apiPutPolicy}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := judgeBucket(c.b, c.t, params{Retention: 365}, rule.Facts{Account: acct, Partition: c.partition, Region: "us-east-1"})
			var apis []string
			for _, a := range f.Actions {
				apis = append(apis, a.API)
			}
			if f.Verdict != c.verdict || !strings.Contains(f.Reason, c.reason) || !slices.Equal(apis, c.apis) {
				t.Fatalf("finding = %+v", f)
			}
			if c.b.Tags != nil && f.Tags["k"] != "v" {
				t.Fatalf("tags = %v", f.Tags)
			}
			for _, a := range f.Actions {
				if a.API != apiPutPolicy {
					continue
				}
				var fix policyParams
				if err := a.Decode(&fix); err != nil {
					t.Fatal(err)
				}
				for _, st := range fix.Add {
					if !strings.Contains(string(st), `"arn:`+c.partition+`:s3:::logs`) {
						t.Fatalf("statement in another partition than %s: %s", c.partition, st)
					}
				}
			}
		})
	}
}

// fakeBucket answers a bucket's lifecycle and policy reads, counting them.
type fakeBucket struct {
	gone  bool
	calls []string
}

func (f *fakeBucket) GetBucketLifecycleConfiguration(context.Context, *s3.GetBucketLifecycleConfigurationInput, ...func(*s3.Options)) (*s3.GetBucketLifecycleConfigurationOutput, error) {
	f.calls = append(f.calls, "GetBucketLifecycleConfiguration")
	if f.gone {
		return nil, &smithy.GenericAPIError{Code: "NoSuchBucket"}
	}
	return &s3.GetBucketLifecycleConfigurationOutput{Rules: []s3types.LifecycleRule{lc("nuke", "Enabled", "", 1, false)}}, nil
}

func (f *fakeBucket) GetBucketPolicy(context.Context, *s3.GetBucketPolicyInput, ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error) {
	f.calls = append(f.calls, "GetBucketPolicy")
	if f.gone {
		return nil, &smithy.GenericAPIError{Code: "NoSuchBucket"}
	}
	return nil, &smithy.GenericAPIError{Code: "NoSuchBucketPolicy"}
}

// TestReadOnlyTheAspect: a bucket no trail writes into is not read; an
// event reads the aspect it concerns; a bucket that is gone is Gone.
func TestReadOnlyTheAspect(t *testing.T) {
	t.Parallel()
	paths := []logPath{mainPath}
	for _, c := range []struct {
		name  string
		paths []logPath
		only  aspect
		gone  bool
		calls string
	}{
		{"not a trail bucket", nil, "", false, ""},
		{"both", paths, "", false, "GetBucketLifecycleConfiguration,GetBucketPolicy"},
		{"lifecycle", paths, aspectLifecycle, false, "GetBucketLifecycleConfiguration"},
		{"policy", paths, aspectPolicy, false, "GetBucketPolicy"},
		{"gone", paths, aspectPolicy, true, "GetBucketPolicy"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			api := &fakeBucket{gone: c.gone}
			b, err := read(context.Background(), api, "logs", c.paths, c.only)
			if got := strings.Join(api.calls, ","); got != c.calls {
				t.Fatalf("calls = %s, want %s", got, c.calls)
			}
			switch {
			case c.gone && !errors.Is(err, rule.ErrGone):
				t.Fatalf("err = %v, want gone", err)
			case !c.gone && err != nil:
				t.Fatal(err)
			case !c.gone && c.only != aspectPolicy && len(c.paths) > 0 && len(b.Rules) != 1:
				t.Fatalf("bucket = %+v", b)
			case !c.gone && b.Policy != nil:
				t.Fatalf("a policy from NoSuchBucketPolicy: %+v", b.Policy)
			}
		})
	}
}
