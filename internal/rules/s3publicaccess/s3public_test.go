package s3publicaccess

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/trigger"
)

const sampleBucket = "payments-exports-123456789012"

func TestBucketTargetsOnSampleEvents(t *testing.T) {
	for _, c := range []struct {
		file    string
		block   *Block
		exposed []string
	}{
		{"s3-put-bucket-public-access-block.json", &Block{IgnorePublicAcls: true, RestrictPublicBuckets: true}, nil},
		{"s3-delete-bucket-public-access-block.json", nil, nil},
		{"s3-put-bucket-policy-public.json", nil, []string{"bucket policy statement PublicRead allows s3:GetObject to everyone"}},
		{"s3-put-bucket-acl-public-legacy.json", nil, []string{"ACL grants READ to AllUsers"}},
		{"s3-put-bucket-acl-canned-public-read.json", nil, []string{"canned ACL public-read grants READ to AllUsers"}},
	} {
		t.Run(c.file, func(t *testing.T) {
			ts, err := bucketTargets(enginetest.Call(t, "events/cloudtrail/"+c.file), struct{}{})
			if err != nil {
				t.Fatal(err)
			}
			if len(ts) != 1 || ts[0].ID != sampleBucket || ts[0].Type != BucketResourceType {
				t.Fatalf("targets = %+v", ts)
			}
			ev := ts[0].Evidence.(bucketEvent)
			if (ev.Block == nil) != (c.block == nil) || ev.Block != nil && *ev.Block != *c.block {
				t.Fatalf("block = %+v, want %+v", ev.Block, c.block)
			}
			if !slices.Equal(ev.Exposed, c.exposed) {
				t.Fatalf("exposed = %q, want %q", ev.Exposed, c.exposed)
			}
		})
	}
	// The account-level events are not the bucket rule's.
	if ts, err := bucketTargets(enginetest.Call(t, "events/cloudtrail/s3-put-account-public-access-block.json"), struct{}{}); err != nil || ts != nil {
		t.Fatalf("account event: %v %v", ts, err)
	}
}

func TestAccountTargetsOnSampleEvents(t *testing.T) {
	ts, err := accountTargets(enginetest.Call(t, "events/cloudtrail/s3-put-account-public-access-block.json"), struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	ev := ts[0].Evidence.(accountEvent)
	if ts[0].ID != "123456789012" || ts[0].Type != AccountResourceType || *ev.Block != (Block{BlockPublicAcls: true, IgnorePublicAcls: true}) {
		t.Fatalf("put: %+v %+v", ts, ev)
	}
	ts, err = accountTargets(enginetest.Call(t, "events/cloudtrail/s3-delete-account-public-access-block.json"), struct{}{})
	if err != nil || ts[0].ID != "123456789012" || ts[0].Evidence.(accountEvent).Block != nil {
		t.Fatalf("delete: %+v %v", ts, err)
	}
	if ts, err := accountTargets(enginetest.Call(t, "events/cloudtrail/s3-put-bucket-policy-public.json"), struct{}{}); err != nil || ts != nil {
		t.Fatalf("bucket event: %v %v", ts, err)
	}
}

func s3call(event, account, req string) *trigger.APICall {
	return &trigger.APICall{EventName: event, EventSource: "s3.amazonaws.com", Region: "us-east-1", Account: account,
		Request: json.RawMessage(req), Response: json.RawMessage("null")}
}

func TestBucketShapes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, event, req string
		bucket           string
		exposed          int
		err              string
	}{
		{"bucket from a virtual-host Host", "DeleteBucketPublicAccessBlock", `{"Host":"logs-1.s3.eu-west-1.amazonaws.com"}`, "logs-1", 0, ""},
		{"bucket from a legacy host array", "DeleteBucketPublicAccessBlock", `{"host":["logs-2.s3.amazonaws.com"]}`, "logs-2", 0, ""},
		{"bucketName as a one-element array", "DeleteBucketPublicAccessBlock", `{"bucketName":["logs-3"]}`, "logs-3", 0, ""},
		{"no bucket", "DeleteBucketPublicAccessBlock", `{"Host":"s3.amazonaws.com"}`, "", 0, "no bucketName"},
		{"bad bucket name", "DeleteBucketPublicAccessBlock", `{"bucketName":"Bad_Name!"}`, "", 0, "not a bucket name"},
		{"legacy booleans as strings", "PutBucketPublicAccessBlock", `{"bucketName":"b-1","PublicAccessBlockConfiguration":{"BlockPublicAcls":"true","IgnorePublicAcls":"false","BlockPublicPolicy":true,"RestrictPublicBuckets":"True"}}`, "b-1", 0, ""},
		{"block of the wrong type", "PutBucketPublicAccessBlock", `{"bucketName":"b-1","PublicAccessBlockConfiguration":{"BlockPublicAcls":"maybe"}}`, "", 0, "requestParameters"},
		{"no block", "PutBucketPublicAccessBlock", `{"bucketName":"b-1"}`, "", 0, "no PublicAccessBlockConfiguration"},
		{"policy as a string", "PutBucketPolicy", `{"bucketName":"b-1","bucketPolicy":"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"*\"},\"Action\":[\"s3:GetObject\",\"s3:ListBucket\"]}}"}`, "b-1", 1, ""},
		{"policy pinned to a VPC endpoint", "PutBucketPolicy", `{"bucketName":"b-1","bucketPolicy":{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1"}}}]}}`, "b-1", 0, ""},
		{"policy pinned to split halves is public", "PutBucketPolicy", `{"bucketName":"b-1","bucketPolicy":{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"IpAddress":{"aws:SourceIp":["0.0.0.0/1","128.0.0.0/1"]}}}]}}`, "b-1", 1, ""},
		{"policy pinned to IPv6 halves is public", "PutBucketPolicy", `{"bucketName":"b-1","bucketPolicy":{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","::/1","8000::/1"]}}}]}}`, "b-1", 1, ""},
		{"policy pinned to an office", "PutBucketPolicy", `{"bucketName":"b-1","bucketPolicy":{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:db8::/32"]}}}]}}`, "b-1", 0, ""},
		{"NotIpAddress pins nothing", "PutBucketPolicy", `{"bucketName":"b-1","bucketPolicy":{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"NotIpAddress":{"aws:SourceIp":["0.0.0.0/0","::/0"]}}}]}}`, "b-1", 1, ""},
		{"no policy", "PutBucketPolicy", `{"bucketName":"b-1","policy":[""]}`, "", 0, "no bucketPolicy"},
		{"bad policy", "PutBucketPolicy", `{"bucketName":"b-1","bucketPolicy":{"Statement":[{"Effect":"Perhaps"}]}}`, "", 0, "Effect"},
		{"grant list with two public groups", "PutBucketAcl", `{"bucketName":"b-1","AccessControlPolicy":{"AccessControlList":{"Grant":[{"Grantee":{"xsi:type":"CanonicalUser","ID":"abc"},"Permission":"FULL_CONTROL"},{"Grantee":{"xsi:type":"Group","URI":"http://acs.amazonaws.com/groups/global/AuthenticatedUsers"},"Permission":"READ_ACP"},{"Grantee":{"URI":"http://acs.amazonaws.com/groups/global/AllUsers"},"Permission":"WRITE"}]}}}`, "b-1", 2, ""},
		{"log-delivery group is not public", "PutBucketAcl", `{"bucketName":"b-1","AccessControlPolicy":{"AccessControlList":{"Grant":{"Grantee":{"URI":"http://acs.amazonaws.com/groups/s3/LogDelivery"},"Permission":"WRITE"}}}}`, "b-1", 0, ""},
		{"grant header", "PutBucketAcl", `{"bucketName":"b-1","x-amz-grant-read":["uri=http://acs.amazonaws.com/groups/global/AllUsers"]}`, "b-1", 1, ""},
		{"private canned ACL", "PutBucketAcl", `{"bucketName":"b-1","x-amz-acl":"private","acl":""}`, "b-1", 0, ""},
		{"Grant of the wrong type", "PutBucketAcl", `{"bucketName":"b-1","AccessControlPolicy":{"AccessControlList":{"Grant":[7]}}}`, "", 0, "requestParameters"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts, err := bucketTargets(s3call(c.event, "123456789012", c.req), struct{}{})
			if c.err != "" {
				if !errors.Is(err, trigger.ErrInput) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want ErrInput with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ts[0].ID != c.bucket || len(ts[0].Evidence.(bucketEvent).Exposed) != c.exposed {
				t.Fatalf("target = %+v", ts[0])
			}
		})
	}
}

func TestAccountShapes(t *testing.T) {
	t.Parallel()
	// No recipient account: the S3 Control host names it.
	ts, err := accountTargets(s3call("DeleteAccountPublicAccessBlock", "", `{"Host":"210987654321.s3-control.eu-west-1.amazonaws.com"}`), struct{}{})
	if err != nil || ts[0].ID != "210987654321" {
		t.Fatalf("%+v %v", ts, err)
	}
	for _, c := range []struct{ account, req, err string }{
		{"", `{"Host":"s3-control.eu-west-1.amazonaws.com"}`, "no account ID"},
		{"123456789012", `{}`, "no PublicAccessBlockConfiguration"},
		{"123456789012", `[]`, "requestParameters"},
	} {
		_, err := accountTargets(s3call("PutAccountPublicAccessBlock", c.account, c.req), struct{}{})
		if !errors.Is(err, trigger.ErrInput) || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: err = %v, want %q", c.req, err, c.err)
		}
	}
}

func TestBlock(t *testing.T) {
	t.Parallel()
	if !AllOn.On() || (Block{BlockPublicAcls: true}).On() {
		t.Fatal("On")
	}
	if got := (Block{BlockPublicAcls: true, RestrictPublicBuckets: true}).Off(); !slices.Equal(got, []string{"IgnorePublicAcls", "BlockPublicPolicy"}) {
		t.Fatalf("Off = %v", got)
	}
	if describe(nil) != "no Block Public Access configuration" {
		t.Fatal(describe(nil))
	}
}

// actions lists a finding's plan as "api block→undo-block" lines.
func plan(t *testing.T, f rule.Finding) []string {
	t.Helper()
	var out []string
	for _, a := range f.Actions {
		var p, u blockParams
		if err := a.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if err := a.Undo.Decode(&u); err != nil {
			t.Fatal(err)
		}
		out = append(out, a.API+" "+blockText(p.Block)+" undo "+blockText(u.Block))
	}
	return out
}

func blockText(b *Block) string {
	if b == nil {
		return "delete"
	}
	if b.On() {
		return "all-on"
	}
	return "off:" + strings.Join(b.Off(), ",")
}

// bind binds r with its defaults.
func bind(t testing.TB, r rule.Rule) *rule.Bound {
	t.Helper()
	b, err := rule.BindWith(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOfflineDecisions(t *testing.T) {
	env := rule.Env{Session: awsclient.NewOffline("us-east-1")}
	ctx := context.Background()
	bucketRule, accountRule := bind(t, BucketAccess), bind(t, AccountBlock)
	for _, c := range []struct {
		r       *rule.Bound
		file    string
		verdict rule.Verdict
		plan    []string
	}{
		{bucketRule, "s3-put-bucket-public-access-block.json", rule.Violation,
			[]string{"s3:PutBucketPublicAccessBlock all-on undo off:BlockPublicAcls,BlockPublicPolicy"}},
		{bucketRule, "s3-delete-bucket-public-access-block.json", rule.Violation, []string{"s3:PutBucketPublicAccessBlock all-on undo delete"}},
		{bucketRule, "s3-put-bucket-policy-public.json", rule.Violation, []string{"s3:PutBucketPublicAccessBlock all-on undo delete"}},
		{bucketRule, "s3-put-bucket-acl-public-legacy.json", rule.Violation, []string{"s3:PutBucketPublicAccessBlock all-on undo delete"}},
		{bucketRule, "s3-put-bucket-policy-deny-cloudtrail.json", rule.Compliant, nil},
		{accountRule, "s3-put-account-public-access-block.json", rule.Violation,
			[]string{"s3:PutAccountPublicAccessBlock all-on undo off:BlockPublicPolicy,RestrictPublicBuckets"}},
		{accountRule, "s3-delete-account-public-access-block.json", rule.Violation, []string{"s3:PutAccountPublicAccessBlock all-on undo delete"}},
	} {
		t.Run(c.file, func(t *testing.T) {
			ts, err := c.r.Targets(enginetest.Call(t, "events/cloudtrail/"+c.file))
			if err != nil {
				t.Fatal(err)
			}
			f, err := c.r.Evaluate(ctx, env, ts[0])
			if err != nil {
				t.Fatal(err)
			}
			if f.Verdict != c.verdict || !slices.Equal(plan(t, f), c.plan) {
				t.Fatalf("finding = %s %q %v", f.Verdict, f.Reason, plan(t, f))
			}
		})
	}
	// A PutBucketPublicAccessBlock that turns everything on is compliant.
	ts, _ := bucketTargets(s3call("PutBucketPublicAccessBlock", "", `{"bucketName":"b-1","PublicAccessBlockConfiguration":{"BlockPublicAcls":true,"IgnorePublicAcls":true,"BlockPublicPolicy":true,"RestrictPublicBuckets":true}}`), struct{}{})
	if f, _ := bucketRule.Evaluate(ctx, env, ts[0]); f.Verdict != rule.Compliant {
		t.Fatalf("all on = %+v", f)
	}
	// Config and sweep targets carry no evidence: nothing to say offline.
	for _, r := range []*rule.Bound{bucketRule, accountRule} {
		if f, err := r.Evaluate(ctx, env, rule.Target{ID: "x"}); err != nil || f.Verdict != rule.NotApplicable || !strings.HasPrefix(f.Reason, "offline: the trigger says nothing") {
			t.Fatalf("%s without evidence = %+v %v", r.Meta().ID, f, err)
		}
	}
}

func TestApplyRefusesBadActions(t *testing.T) {
	t.Parallel()
	env := rule.Env{Session: awsclient.NewOffline("us-east-1")} // refused before any client is built
	bucketRule, accountRule := bind(t, BucketAccess), bind(t, AccountBlock)
	for _, c := range []struct {
		r *rule.Bound
		a rule.Action
	}{
		{bucketRule, rule.NewAction("s3:PutBucketPolicy", "b", "", blockParams{Bucket: "b"}, nil)},
		{bucketRule, rule.NewAction(apiPutBucketBlock, "b", "", blockParams{}, nil)},
		{bucketRule, rule.Action{API: apiPutBucketBlock, Target: "b"}},
		{accountRule, rule.NewAction(apiPutAccountBlock, "a", "", blockParams{Account: "12"}, nil)},
		{accountRule, rule.NewAction(apiPutBucketBlock, "a", "", blockParams{Account: "123456789012"}, nil)},
	} {
		if err := c.r.Apply(context.Background(), env, c.a); err == nil {
			t.Errorf("%s accepted %s %s", c.r.Meta().ID, c.a.API, c.a.Params)
		}
	}
}

func FuzzTargets(f *testing.F) {
	for _, name := range []string{"s3-put-bucket-public-access-block.json", "s3-put-bucket-policy-public.json",
		"s3-put-bucket-acl-public-legacy.json", "s3-put-bucket-acl-canned-public-read.json", "s3-put-account-public-access-block.json"} {
		c := enginetest.Call(f, "events/cloudtrail/"+name)
		f.Add(c.EventName, []byte(c.Request))
	}
	rules := []*rule.Bound{bind(f, BucketAccess), bind(f, AccountBlock)}
	f.Fuzz(func(t *testing.T, event string, req []byte) {
		if !json.Valid(req) {
			return
		}
		for _, r := range rules {
			ts, err := r.Targets(s3call(event, "", string(req)))
			if err != nil && !errors.Is(err, trigger.ErrInput) {
				t.Fatalf("%s: error without ErrInput: %v", r.Meta().ID, err)
			}
			for _, tg := range ts {
				if tg.ID == "" {
					t.Fatal("empty target")
				}
			}
		}
	})
}

func TestJudgeBucket(t *testing.T) {
	t.Parallel()
	weak := &Block{IgnorePublicAcls: true, RestrictPublicBuckets: true}
	granted := bucketEvent{Event: "PutBucketPolicy", Exposed: []string{"bucket policy statement P allows s3:GetObject to everyone"}}
	tags := map[string]string{"owner": "web"}
	for _, c := range []struct {
		name     string
		s        bucketState
		evidence any
		verdict  rule.Verdict
		reason   string
		plan     []string
	}{
		{"all on", bucketState{Block: &AllOn}, nil, rule.Compliant, "all four Block Public Access settings are on", nil},
		{"all on neutralises the call's grant", bucketState{Block: &AllOn}, granted, rule.Compliant, "they neutralise what the call granted: bucket policy statement P", nil},
		{"none, nothing public", bucketState{Tags: tags}, nil, rule.Violation, "no Block Public Access configuration; nothing is public yet",
			[]string{"s3:PutBucketPublicAccessBlock all-on undo delete"}},
		{"weak, public", bucketState{Block: weak, Exposed: []string{"ACL grants READ to AllUsers"}, Tags: tags}, nil, rule.Violation,
			"settings off: BlockPublicAcls, BlockPublicPolicy; public: ACL grants READ to AllUsers",
			[]string{"s3:PutBucketPublicAccessBlock all-on undo off:BlockPublicAcls,BlockPublicPolicy"}},
		{"planned: put all on", bucketState{Call: "PutBucketPublicAccessBlock", Block: &AllOn}, nil, rule.Compliant, "the call turned all four", nil},
		{"planned: put weak", bucketState{Call: "PutBucketPublicAccessBlock", Block: weak}, nil, rule.Violation, "the call left Block Public Access settings off",
			[]string{"s3:PutBucketPublicAccessBlock all-on undo off:BlockPublicAcls,BlockPublicPolicy"}},
		{"planned: delete", bucketState{Call: "DeleteBucketPublicAccessBlock"}, nil, rule.Violation, "the call deleted",
			[]string{"s3:PutBucketPublicAccessBlock all-on undo delete"}},
		{"planned: public grant", bucketState{Call: "PutBucketAcl", Exposed: []string{"ACL grants READ to AllUsers"}}, nil, rule.Violation,
			"the call granted public access: ACL grants READ to AllUsers", []string{"s3:PutBucketPublicAccessBlock all-on undo delete"}},
		{"planned: nothing public", bucketState{Call: "PutBucketPolicy"}, nil, rule.Compliant, "the call granted no public access", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := judgeBucket(c.s, rule.Target{Type: BucketResourceType, ID: "b-1", Evidence: c.evidence}, struct{}{}, rule.Facts{})
			if f.Verdict != c.verdict || !strings.Contains(f.Reason, c.reason) || !slices.Equal(plan(t, f), c.plan) {
				t.Fatalf("finding = %s %q %v", f.Verdict, f.Reason, plan(t, f))
			}
			if c.verdict == rule.Violation && c.s.Call == "" && f.Tags["owner"] != "web" {
				t.Fatalf("tags = %v", f.Tags)
			}
		})
	}
}

func TestJudgeAccount(t *testing.T) {
	t.Parallel()
	weak := &Block{BlockPublicAcls: true, IgnorePublicAcls: true}
	for _, c := range []struct {
		name    string
		s       accountState
		target  rule.Target
		verdict rule.Verdict
		reason  string
		plan    []string
	}{
		{"all on", accountState{Block: &AllOn}, rule.Target{ID: "123456789012"}, rule.Compliant, "all four account-level", nil},
		{"none", accountState{}, rule.Target{ID: "123456789012"}, rule.Violation, "account-level no Block Public Access configuration; every bucket",
			[]string{"s3:PutAccountPublicAccessBlock all-on undo delete"}},
		{"weak", accountState{Block: weak}, rule.Target{ID: "123456789012"}, rule.Violation, "settings off: BlockPublicPolicy, RestrictPublicBuckets",
			[]string{"s3:PutAccountPublicAccessBlock all-on undo off:BlockPublicPolicy,RestrictPublicBuckets"}},
		{"the Config item names the account", accountState{}, rule.Target{ID: "AWS::S3::AccountPublicAccessBlock", Item: &trigger.ConfigItem{AccountID: "210987654321"}},
			rule.Violation, "account-level", []string{"s3:PutAccountPublicAccessBlock all-on undo delete"}},
		{"planned: put all on", accountState{Call: "PutAccountPublicAccessBlock", Block: &AllOn}, rule.Target{ID: "123456789012"}, rule.Compliant, "the call turned all four", nil},
		{"planned: put weak", accountState{Call: "PutAccountPublicAccessBlock", Block: weak}, rule.Target{ID: "123456789012"}, rule.Violation, "the call left account-level",
			[]string{"s3:PutAccountPublicAccessBlock all-on undo off:BlockPublicPolicy,RestrictPublicBuckets"}},
		{"planned: delete", accountState{Call: "DeleteAccountPublicAccessBlock"}, rule.Target{ID: "123456789012"}, rule.Violation, "the call deleted",
			[]string{"s3:PutAccountPublicAccessBlock all-on undo delete"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := judgeAccount(c.s, c.target, struct{}{}, rule.Facts{Account: "123456789012", Partition: "aws", Region: "us-east-1"})
			if f.Verdict != c.verdict || !strings.Contains(f.Reason, c.reason) || !slices.Equal(plan(t, f), c.plan) {
				t.Fatalf("finding = %s %q %v", f.Verdict, f.Reason, plan(t, f))
			}
			if want := accountOf(c.target); f.Resource != want || !awsclient.ValidAccount(want) {
				t.Fatalf("resource = %q, want %q", f.Resource, want)
			}
			for _, a := range f.Actions {
				var p blockParams
				if err := a.Decode(&p); err != nil || p.Account != f.Resource {
					t.Fatalf("action account = %q, %v", p.Account, err)
				}
			}
		})
	}
}

func TestSweepAccountNeedsTheSessionsAccount(t *testing.T) {
	t.Parallel()
	ts, err := sweepAccount(context.Background(), rule.Env{Session: &awsclient.Session{Region: "us-east-1", Account: "123456789012", Partition: "aws"}}, struct{}{})
	if err != nil || len(ts) != 1 || ts[0].ID != "123456789012" || ts[0].Type != AccountResourceType {
		t.Fatalf("sweep = %+v, %v", ts, err)
	}
	if _, err := sweepAccount(context.Background(), rule.Env{Session: &awsclient.Session{Region: "us-east-1"}}, struct{}{}); err == nil {
		t.Fatal("a sweep without the session's account named a resource")
	}
}
