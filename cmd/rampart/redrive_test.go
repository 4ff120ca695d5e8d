package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

// A CloudTrail event as EventBridge delivers it, and Lambda's on-failure
// record of it (docs: "Capturing records of Lambda asynchronous invocations").
const (
	trailEvent = `{"version":"0","id":"7bf73129-1428-4cd3-a780-95db273d1602","detail-type":"AWS API Call via CloudTrail","source":"aws.ec2","region":"us-east-1","detail":{"eventName":"AuthorizeSecurityGroupIngress","eventSource":"ec2.amazonaws.com"}}`
	record     = `{"version":"1.0","timestamp":"2026-11-30T18:16:05.568Z",` +
		`"requestContext":{"requestId":"e4b46cbf-b738-xmpl-8880-a18cdf61200e","functionArn":"arn:aws:lambda:us-east-1:123456789012:function:rampart-securitygroup:$LATEST","condition":"RetriesExhausted","approximateInvokeCount":3},` +
		`"requestPayload":` + trailEvent + `,` +
		`"responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},` +
		`"responsePayload":{"errorMessage":"describe security groups: throttled","errorType":"Error"}}`
	configEvent = `{"configRuleName":"rampart-ebs-attached-encrypted","invokingEvent":"{\"messageType\":\"ConfigurationItemChangeNotification\",\"configurationItem\":{\"resourceType\":\"AWS::EC2::Volume\",\"resourceId\":\"vol-1\"}}","resultToken":"t"}`
)

func TestUnwrapMessage(t *testing.T) {
	ebAttrs := map[string]string{
		"RULE_ARN": "arn:aws:events:us-east-1:123456789012:rule/rampart-sg-ingress", "TARGET_ARN": "arn:aws:lambda:us-east-1:123456789012:function:rampart-securitygroup",
		"ERROR_CODE": "Throttling", "ERROR_MESSAGE": "Rate exceeded", "RETRY_ATTEMPTS": "185",
	}
	tests := []struct {
		name, body string
		attrs      map[string]string
		fallback   string
		shape      string
		function   string
		kind, id   string
		errText    string
		attempts   int
		payload    string // "" : none (unredrivable)
	}{
		{"lambda record", record, nil, "", shapeRecord,
			"arn:aws:lambda:us-east-1:123456789012:function:rampart-securitygroup:$LATEST",
			"aws.ec2 AWS API Call via CloudTrail: AuthorizeSecurityGroupIngress", "7bf73129-1428-4cd3-a780-95db273d1602",
			"RetriesExhausted: Error describe security groups: throttled", 3, trailEvent},
		{"record names its function, not the fallback", record, nil, "rampart-other", shapeRecord,
			"arn:aws:lambda:us-east-1:123456789012:function:rampart-securitygroup:$LATEST", "aws.ec2 AWS API Call via CloudTrail: AuthorizeSecurityGroupIngress", "7bf73129-1428-4cd3-a780-95db273d1602",
			"RetriesExhausted: Error describe security groups: throttled", 3, trailEvent},
		{"eventbridge dlq", trailEvent, ebAttrs, "", shapeEventBus,
			"arn:aws:lambda:us-east-1:123456789012:function:rampart-securitygroup", "aws.ec2 AWS API Call via CloudTrail: AuthorizeSecurityGroupIngress", "7bf73129-1428-4cd3-a780-95db273d1602",
			"Throttling: Rate exceeded", 185, trailEvent},
		{"bare config event takes the fallback", configEvent, nil, "rampart-ebs", shapeRawEvent,
			"rampart-ebs", "config rampart-ebs-attached-encrypted ConfigurationItemChangeNotification", "AWS::EC2::Volume vol-1", "", 0, configEvent},
		{"not json", "hello", nil, "rampart-x", shapeUnreadable, "", "", "", "", 0, ""},
		{"record of a non-object payload", `{"requestContext":{"functionArn":"arn:aws:lambda:us-east-1:1:function:rampart-a"},"requestPayload":"x"}`, nil, "", shapeRecord,
			"arn:aws:lambda:us-east-1:1:function:rampart-a", "", "", "", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := unwrapMessage(tt.body, tt.attrs, tt.fallback)
			if it.Shape != tt.shape || it.Function != tt.function || it.Kind != tt.kind || it.EventID != tt.id || it.Error != tt.errText || it.Attempts != tt.attempts {
				t.Errorf("got shape=%q function=%q kind=%q id=%q error=%q attempts=%d", it.Shape, it.Function, it.Kind, it.EventID, it.Error, it.Attempts)
			}
			if string(it.payload) != tt.payload {
				t.Errorf("payload = %s, want %s", it.payload, tt.payload)
			}
		})
	}
}

func TestFunctionTarget(t *testing.T) {
	tests := []struct{ in, target, name, region, err string }{
		{"arn:aws:lambda:eu-west-1:123456789012:function:rampart-s3:$LATEST", "arn:aws:lambda:eu-west-1:123456789012:function:rampart-s3", "rampart-s3", "eu-west-1", ""},
		{"rampart-s3", "rampart-s3", "rampart-s3", "", ""},
		{"rampart-s3:7", "rampart-s3", "rampart-s3", "", ""},
		{"arn:aws:lambda:us-east-1:123456789012:function:payroll", "", "", "", "not a Rampart function"},
		{"arn:aws:sqs:us-east-1:123456789012:rampart-q", "", "", "", "not a Lambda function ARN"},
		{"", "", "", "", "names no function"},
	}
	for _, tt := range tests {
		target, name, region, err := functionTarget(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("functionTarget(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || target != tt.target || name != tt.name || region != tt.region {
			t.Errorf("functionTarget(%q) = %q %q %q %v", tt.in, target, name, region, err)
		}
	}
	if !sameFunction("rampart-securitygroup", "arn:aws:lambda:us-east-1:123456789012:function:rampart-securitygroup:$LATEST") ||
		sameFunction("arn:aws:lambda:eu-west-1:123456789012:function:rampart-securitygroup", "arn:aws:lambda:us-east-1:123456789012:function:rampart-securitygroup") {
		t.Error("sameFunction: want name matches, and ARNs of other regions not to")
	}
}

// simpleLambda switches moto's Lambda to its docker-less backend: Invoke then
// accepts any payload without running code. moto records the request, which
// is what the test reads back.
func simpleLambda(t *testing.T, srv *mototest.Server) {
	t.Helper()
	resp, err := http.Post(srv.URL+"/moto-api/config", "application/json", strings.NewReader(`{"lambda":{"use_docker":false}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// invocations reads moto's recording for the Lambda Invoke requests: the
// function path, the invocation type and the payload of each.
func invocations(t *testing.T, srv *mototest.Server) []string {
	t.Helper()
	if _, err := http.Post(srv.URL+"/moto-api/recorder/stop-recording", "", nil); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.URL + "/moto-api/recorder/download-recording")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out []string
	for _, line := range strings.Split(string(raw), "\n") {
		var rec struct {
			Path, URL   string
			Headers     map[string]string
			Body        string
			BodyEncoded bool `json:"body_encoded"`
		}
		if json.Unmarshal([]byte(line), &rec) != nil || !strings.Contains(rec.URL+rec.Path, "/invocations") {
			continue
		}
		body := rec.Body
		if rec.BodyEncoded {
			b, _ := base64.StdEncoding.DecodeString(body)
			body = string(b)
		}
		typ := ""
		for k, v := range rec.Headers {
			if strings.EqualFold(k, "X-Amz-Invocation-Type") {
				typ = v
			}
		}
		_, path, _ := strings.Cut(rec.URL+rec.Path, "/2015-03-31/")
		out = append(out, "/2015-03-31/"+path+" "+typ+" "+body)
	}
	return out
}

func visible(t *testing.T, s *awsclient.Session, queue string) string {
	t.Helper()
	out, err := awsclient.Client(s, sqs.NewFromConfig).GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queue), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)]
}

func TestRedriveAgainstMoto(t *testing.T) {
	s := mototest.Session(t)
	srv := mototest.Shared(t)
	simpleLambda(t, srv)
	ctx := context.Background()
	q := awsclient.Client(s, sqs.NewFromConfig)
	cq, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("rampart-securitygroup-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	queue := aws.ToString(cq.QueueUrl)
	str := func(v string) sqstypes.MessageAttributeValue {
		return sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	for _, m := range []sqs.SendMessageInput{
		{MessageBody: aws.String(record)},
		{MessageBody: aws.String(configEvent), MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"RULE_ARN":   str("arn:aws:events:us-east-1:123456789012:rule/rampart-x"),
			"TARGET_ARN": str("arn:aws:lambda:us-east-1:123456789012:function:rampart-securitygroup"),
			"ERROR_CODE": str("Throttling")}},
		{MessageBody: aws.String(strings.Replace(record, "rampart-securitygroup", "payroll", 1))},
		{MessageBody: aws.String("not json")},
		{MessageBody: aws.String(strings.Replace(record, "rampart-securitygroup", "rampart-s3", 1))},
	} {
		m.QueueUrl = aws.String(queue)
		if _, err := q.SendMessage(ctx, &m); err != nil {
			t.Fatal(err)
		}
	}

	// Dry run: everything listed, nothing invoked, nothing deleted, all visible again.
	mototest.Record(t)
	code, out, errOut := cli(t, "", nil, "redrive", "--queue", queue, "--dry-run", "--json")
	if code != exitFailed { // two messages cannot be redriven
		t.Fatalf("dry run exit %d, want %d\n%s%s", code, exitFailed, out, errOut)
	}
	var res struct{ Messages []dlqItem }
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, m := range res.Messages {
		got[m.Outcome]++
	}
	if got[redriveListed] != 3 || got[redriveRejected] != 2 || len(res.Messages) != 5 {
		t.Errorf("dry run outcomes %v, want 3 would-redrive, 2 rejected\n%s", got, out)
	}
	if inv := invocations(t, srv); len(inv) != 0 {
		t.Errorf("dry run invoked: %v", inv)
	}
	if n := visible(t, s, queue); n != "5" {
		t.Errorf("after the dry run %s messages visible, want 5", n)
	}

	// Redrive for one function: its two events go back to it as they were
	// first delivered, asynchronously; the others stay in the queue.
	mototest.Record(t)
	code, out, errOut = cli(t, "", nil, "redrive", "--queue", queue, "--function", "rampart-securitygroup")
	if code != exitFailed {
		t.Fatalf("redrive exit %d, want %d (unredrivable messages)\n%s%s", code, exitFailed, out, errOut)
	}
	if !strings.Contains(out, "2 redriven and deleted, 1 skipped, 2 cannot be redriven, 0 failed") {
		t.Errorf("summary:\n%s", out)
	}
	inv := invocations(t, srv)
	want := []string{
		"/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:rampart-securitygroup/invocations Event " + trailEvent,
		"/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:rampart-securitygroup/invocations Event " + configEvent,
	}
	if !sameSet(inv, want) {
		t.Errorf("invocations:\n%s\nwant:\n%s", strings.Join(inv, "\n"), strings.Join(want, "\n"))
	}
	if n := visible(t, s, queue); n != "3" {
		t.Errorf("after the redrive %s messages visible, want 3 (payroll, not json, rampart-s3)", n)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		found := false
		for _, y := range b {
			found = found || x == y
		}
		if !found {
			return false
		}
	}
	return true
}

func TestRedriveUsage(t *testing.T) {
	for _, args := range [][]string{
		{"redrive"},
		{"redrive", "--queue", "q", "--max", "0"},
		{"redrive", "--queue", "q", "--function", "payroll"},
		{"redrive", "--queue", "q", "extra"},
	} {
		if code, _, _ := cli(t, "", nil, args...); code != exitBadUsed {
			t.Errorf("%v: exit %d, want %d", args, code, exitBadUsed)
		}
	}
}
