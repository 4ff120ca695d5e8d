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
			ts, err := BucketAccess.Targets(enginetest.Call(t, "events/cloudtrail/"+c.file), nil)
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
	if ts, err := BucketAccess.Targets(enginetest.Call(t, "events/cloudtrail/s3-put-account-public-access-block.json"), nil); err != nil || ts != nil {
		t.Fatalf("account event: %v %v", ts, err)
	}
}

func TestAccountTargetsOnSampleEvents(t *testing.T) {
	ts, err := AccountBlock.Targets(enginetest.Call(t, "events/cloudtrail/s3-put-account-public-access-block.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ev := ts[0].Evidence.(accountEvent)
	if ts[0].ID != "123456789012" || ts[0].Type != AccountResourceType || *ev.Block != (Block{BlockPublicAcls: true, IgnorePublicAcls: true}) {
		t.Fatalf("put: %+v %+v", ts, ev)
	}
	ts, err = AccountBlock.Targets(enginetest.Call(t, "events/cloudtrail/s3-delete-account-public-access-block.json"), nil)
	if err != nil || ts[0].ID != "123456789012" || ts[0].Evidence.(accountEvent).Block != nil {
		t.Fatalf("delete: %+v %v", ts, err)
	}
	if ts, err := AccountBlock.Targets(enginetest.Call(t, "events/cloudtrail/s3-put-bucket-policy-public.json"), nil); err != nil || ts != nil {
		t.Fatalf("bucket event: %v %v", ts, err)
	}
}

func s3call(event, account, req string) *trigger.APICall {
	return &trigger.APICall{EventName: event, EventSource: "s3.amazonaws.com", Region: "us-east-1", Account: account,
		Request: json.RawMessage(req), Response: json.RawMessage("null")}
}

func TestBucketShapes(t *testing.T) {
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
			ts, err := BucketAccess.Targets(s3call(c.event, "123456789012", c.req), nil)
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
	// No recipient account: the S3 Control host names it.
	ts, err := AccountBlock.Targets(s3call("DeleteAccountPublicAccessBlock", "", `{"Host":"210987654321.s3-control.eu-west-1.amazonaws.com"}`), nil)
	if err != nil || ts[0].ID != "210987654321" {
		t.Fatalf("%+v %v", ts, err)
	}
	for _, c := range []struct{ account, req, err string }{
		{"", `{"Host":"s3-control.eu-west-1.amazonaws.com"}`, "no account ID"},
		{"123456789012", `{}`, "no PublicAccessBlockConfiguration"},
		{"123456789012", `[]`, "requestParameters"},
	} {
		_, err := AccountBlock.Targets(s3call("PutAccountPublicAccessBlock", c.account, c.req), nil)
		if !errors.Is(err, trigger.ErrInput) || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: err = %v, want %q", c.req, err, c.err)
		}
	}
}

func TestBlock(t *testing.T) {
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

func TestOfflineDecisions(t *testing.T) {
	s := awsclient.NewOffline("us-east-1")
	ctx := context.Background()
	for _, c := range []struct {
		r       rule.LegacyRule
		file    string
		verdict rule.Verdict
		plan    []string
	}{
		{BucketAccess, "s3-put-bucket-public-access-block.json", rule.Violation,
			[]string{"s3:PutBucketPublicAccessBlock all-on undo off:BlockPublicAcls,BlockPublicPolicy"}},
		{BucketAccess, "s3-delete-bucket-public-access-block.json", rule.Violation, []string{"s3:PutBucketPublicAccessBlock all-on undo delete"}},
		{BucketAccess, "s3-put-bucket-policy-public.json", rule.Violation, []string{"s3:PutBucketPublicAccessBlock all-on undo delete"}},
		{BucketAccess, "s3-put-bucket-acl-public-legacy.json", rule.Violation, []string{"s3:PutBucketPublicAccessBlock all-on undo delete"}},
		{BucketAccess, "s3-put-bucket-policy-deny-cloudtrail.json", rule.Compliant, nil},
		{AccountBlock, "s3-put-account-public-access-block.json", rule.Violation,
			[]string{"s3:PutAccountPublicAccessBlock all-on undo off:BlockPublicPolicy,RestrictPublicBuckets"}},
		{AccountBlock, "s3-delete-account-public-access-block.json", rule.Violation, []string{"s3:PutAccountPublicAccessBlock all-on undo delete"}},
	} {
		t.Run(c.file, func(t *testing.T) {
			ts, err := c.r.Targets(enginetest.Call(t, "events/cloudtrail/"+c.file), nil)
			if err != nil {
				t.Fatal(err)
			}
			f, err := c.r.Evaluate(ctx, s, ts[0], nil)
			if err != nil {
				t.Fatal(err)
			}
			if f.Verdict != c.verdict || !slices.Equal(plan(t, f), c.plan) {
				t.Fatalf("finding = %s %q %v", f.Verdict, f.Reason, plan(t, f))
			}
		})
	}
	// A PutBucketPublicAccessBlock that turns everything on is compliant.
	ts, _ := BucketAccess.Targets(s3call("PutBucketPublicAccessBlock", "", `{"bucketName":"b-1","PublicAccessBlockConfiguration":{"BlockPublicAcls":true,"IgnorePublicAcls":true,"BlockPublicPolicy":true,"RestrictPublicBuckets":true}}`), nil)
	if f, _ := BucketAccess.Evaluate(ctx, s, ts[0], nil); f.Verdict != rule.Compliant {
		t.Fatalf("all on = %+v", f)
	}
	// Config and sweep targets carry no evidence: nothing to say offline.
	for _, r := range []rule.LegacyRule{BucketAccess, AccountBlock} {
		if f, err := r.Evaluate(ctx, s, rule.Target{ID: "x"}, nil); err != nil || f.Verdict != rule.NotApplicable {
			t.Fatalf("%s without evidence = %+v %v", r.Meta().ID, f, err)
		}
	}
}

func TestApplyRefusesBadActions(t *testing.T) {
	s := awsclient.NewOffline("us-east-1") // refused before any client is built
	for _, c := range []struct {
		r rule.LegacyRule
		a rule.Action
	}{
		{BucketAccess, rule.NewAction("s3:PutBucketPolicy", "b", "", blockParams{Bucket: "b"}, nil)},
		{BucketAccess, rule.NewAction(apiPutBucketBlock, "b", "", blockParams{}, nil)},
		{BucketAccess, rule.Action{API: apiPutBucketBlock, Target: "b"}},
		{AccountBlock, rule.NewAction(apiPutAccountBlock, "a", "", blockParams{Account: "12"}, nil)},
		{AccountBlock, rule.NewAction(apiPutBucketBlock, "a", "", blockParams{Account: "123456789012"}, nil)},
	} {
		if err := c.r.Apply(context.Background(), s, c.a); err == nil {
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
	f.Fuzz(func(t *testing.T, event string, req []byte) {
		if !json.Valid(req) {
			return
		}
		for _, r := range []rule.LegacyRule{BucketAccess, AccountBlock} {
			ts, err := r.Targets(s3call(event, "", string(req)), nil)
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
