package main

// `rampart redrive`: give the events a Rampart function failed on back to it.
//
// Every Rampart function's asynchronous invocations (EventBridge for
// CloudTrail events and schedules, AWS Config for its custom rules) have an
// SQS queue as on-failure destination (infra/function.go), and the
// EventBridge targets use the same queue as their dead-letter queue. The
// queue therefore holds two shapes of message:
//
//   - a Lambda invocation record, once Lambda has given up on an event:
//     {"version":"1.0","timestamp":…,"requestContext":{"requestId","functionArn",
//     "condition","approximateInvokeCount"},"requestPayload":<the event>,
//     "responseContext":{"statusCode","executedVersion","functionError"},
//     "responsePayload":{"errorType","errorMessage",…}};
//   - the raw event, when EventBridge could not invoke the target at all,
//     with message attributes RULE_ARN, TARGET_ARN, ERROR_CODE,
//     ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION, RETRY_ATTEMPTS.
//
// The SQS console's "redrive" moves messages back to a source queue; there is
// none here (Lambda, not SQS, sent them), so redrive is this command:
// receive, unwrap the original event, invoke the function it was meant for
// the way EventBridge and Config do (asynchronously: InvocationType Event, so
// the function's retries and on-failure destination still apply and an event
// that fails again comes back to the queue instead of being lost), and delete
// each message only once Lambda has accepted its event. --dry-run lists and
// deletes nothing.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/awsclient/sdkconfig"
)

// Message shapes in a Rampart function's failure queue.
const (
	shapeRecord     = "lambda-record"   // Lambda's on-failure invocation record
	shapeEventBus   = "eventbridge-dlq" // the raw event, EventBridge's DLQ attributes
	shapeRawEvent   = "raw-event"       // a bare event (a Lambda DLQ): needs --function
	shapeUnreadable = "unreadable"
)

// Outcomes of one message.
const (
	redriveListed   = "would-redrive" // --dry-run
	redriveDone     = "redriven"      // invoked, then deleted
	redriveSkipped  = "skipped"       // for another function than --function: left in the queue
	redriveRejected = "rejected"      // cannot be redriven: left in the queue
	redriveFailed   = "failed"        // invoke or delete failed: left in the queue
)

// functionPrefix is the name prefix of every Rampart function
// (infra/plan.go functionName): redrive invokes nothing else, whatever a
// message in the queue claims.
const functionPrefix = "rampart-"

// dlqItem is one message of the queue as redrive judged it.
type dlqItem struct {
	MessageID string `json:"messageId"`
	Shape     string `json:"shape"`
	// Function is the unqualified name or ARN of the function the event was
	// for ("" when the message does not say and no --function was given).
	Function string `json:"function,omitempty"`
	// Kind and EventID describe the original event.
	Kind    string `json:"kind,omitempty"`
	EventID string `json:"eventId,omitempty"`
	// Sent is when the message entered the queue; Age is its age then.
	Sent  *time.Time `json:"sent,omitempty"`
	Age   string     `json:"age,omitempty"`
	Error string     `json:"error,omitempty"` // why the event failed before
	// Attempts is Lambda's approximateInvokeCount or EventBridge's RETRY_ATTEMPTS.
	Attempts int    `json:"attempts,omitempty"`
	Outcome  string `json:"outcome"`
	Detail   string `json:"detail,omitempty"` // why skipped/rejected/failed

	payload json.RawMessage
	receipt string
}

// unwrapMessage decodes one SQS message into the event to redrive and the
// function to redrive it to. fallback (--function) names the function for a
// bare event; a message that names its function keeps it.
func unwrapMessage(body string, attrs map[string]string, fallback string) dlqItem {
	it := dlqItem{Shape: shapeUnreadable}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &obj); err != nil || obj == nil {
		it.Detail = "the message is not a JSON object"
		return it
	}
	var rec struct {
		RequestContext *struct {
			FunctionARN            string `json:"functionArn"`
			Condition              string `json:"condition"`
			ApproximateInvokeCount int    `json:"approximateInvokeCount"`
		} `json:"requestContext"`
		RequestPayload  json.RawMessage `json:"requestPayload"`
		ResponseContext *struct {
			FunctionError string `json:"functionError"`
		} `json:"responseContext"`
		ResponsePayload json.RawMessage `json:"responsePayload"`
	}
	_, hasContext := obj["requestContext"]
	_, hasPayload := obj["requestPayload"]
	switch {
	case hasContext && hasPayload:
		it.Shape = shapeRecord
		if err := json.Unmarshal([]byte(body), &rec); err != nil || rec.RequestContext == nil {
			it.Detail = "an invocation record without a readable requestContext"
			return it
		}
		it.Function = rec.RequestContext.FunctionARN
		it.Attempts = rec.RequestContext.ApproximateInvokeCount
		it.Error = rec.RequestContext.Condition
		var resp struct {
			ErrorType    string `json:"errorType"`
			ErrorMessage string `json:"errorMessage"`
		}
		if json.Unmarshal(rec.ResponsePayload, &resp) == nil && (resp.ErrorType != "" || resp.ErrorMessage != "") {
			it.Error = strings.TrimSpace(it.Error + ": " + strings.TrimSpace(resp.ErrorType+" "+resp.ErrorMessage))
		} else if rec.ResponseContext != nil && rec.ResponseContext.FunctionError != "" {
			it.Error += ": " + rec.ResponseContext.FunctionError
		}
		it.payload = rec.RequestPayload
	case attrs["TARGET_ARN"] != "" || attrs["RULE_ARN"] != "":
		it.Shape = shapeEventBus
		it.Function = attrs["TARGET_ARN"]
		it.Error = strings.TrimSuffix(strings.TrimSpace(attrs["ERROR_CODE"]+": "+attrs["ERROR_MESSAGE"]), ":")
		if n, err := strconv.Atoi(attrs["RETRY_ATTEMPTS"]); err == nil {
			it.Attempts = n
		}
		it.payload = json.RawMessage(body)
	default:
		it.Shape = shapeRawEvent
		it.payload = json.RawMessage(body)
	}
	if it.Function == "" {
		it.Function = fallback
	}
	var inner map[string]json.RawMessage
	if err := json.Unmarshal(it.payload, &inner); err != nil || inner == nil {
		it.Detail = "the original event is not a JSON object"
		it.payload = nil
		return it
	}
	it.Kind, it.EventID = describeEvent(inner)
	return it
}

// describeEvent names an event for the listing: an EventBridge event by its
// source, detail-type and (CloudTrail) eventName and id; an AWS Config
// invocation by its rule and the configuration item's resource.
func describeEvent(ev map[string]json.RawMessage) (kind, id string) {
	str := func(m map[string]json.RawMessage, k string) string {
		var s string
		_ = json.Unmarshal(m[k], &s)
		return s
	}
	if rule := str(ev, "configRuleName"); rule != "" || ev["invokingEvent"] != nil {
		var inv struct {
			MessageType string `json:"messageType"`
			Item        struct {
				ResourceType string `json:"resourceType"`
				ResourceID   string `json:"resourceId"`
			} `json:"configurationItem"`
		}
		_ = json.Unmarshal([]byte(str(ev, "invokingEvent")), &inv)
		kind = strings.TrimSpace("config " + rule + " " + inv.MessageType)
		if inv.Item.ResourceID != "" {
			id = inv.Item.ResourceType + " " + inv.Item.ResourceID
		}
		return kind, id
	}
	kind = strings.TrimSpace(str(ev, "source") + " " + str(ev, "detail-type"))
	var detail map[string]json.RawMessage
	if json.Unmarshal(ev["detail"], &detail) == nil {
		if name := str(detail, "eventName"); name != "" {
			kind += ": " + name
		}
	}
	return kind, str(ev, "id")
}

// functionTarget is the function to invoke for a message's function: the
// unqualified ARN (or name) and its name, or an error when it is not a
// Rampart function. Lambda's records name a qualified ARN (…:$LATEST); the
// redrive goes to the function as it is now.
func functionTarget(fn string) (target, name, region string, err error) {
	if fn == "" {
		return "", "", "", errors.New("the message names no function: pass --function")
	}
	name, target = fn, fn
	if arn.IsARN(fn) {
		a, err := arn.Parse(fn)
		if err != nil {
			return "", "", "", fmt.Errorf("function %q: %w", fn, err)
		}
		parts := strings.Split(a.Resource, ":")
		if a.Service != "lambda" || len(parts) < 2 || parts[0] != "function" {
			return "", "", "", fmt.Errorf("%q is not a Lambda function ARN", fn)
		}
		name, region = parts[1], a.Region
		a.Resource = "function:" + name
		target = a.String()
	} else if strings.Contains(fn, ":") {
		name = strings.SplitN(fn, ":", 2)[0]
		target = name
	}
	if !strings.HasPrefix(name, functionPrefix) {
		return "", "", "", fmt.Errorf("function %q is not a Rampart function (rampart-*): not invoked", name)
	}
	return target, name, region, nil
}

// sameFunction reports whether the --function filter names fn.
func sameFunction(filter, fn string) bool {
	_, a, _, errA := functionTarget(filter)
	_, b, _, errB := functionTarget(fn)
	if errA != nil || errB != nil || a != b {
		return false
	}
	if arn.IsARN(filter) && arn.IsARN(fn) {
		fa, _ := arn.Parse(filter)
		fb, _ := arn.Parse(fn)
		return fa.AccountID == fb.AccountID && fa.Region == fb.Region
	}
	return true
}

type redriveOptions struct {
	queue, function string
	dryRun          bool
	max             int
	now             func() time.Time
}

func redriveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rampart redrive", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	var o redriveOptions
	fs.StringVar(&o.queue, "queue", "", "URL of the function's failure queue (the stack output / rampart-<function>-dlq alarm names it)")
	fs.StringVar(&o.function, "function", "", "only the messages for this function (name or ARN); also the target of bare events")
	fs.BoolVar(&o.dryRun, "dry-run", false, "list the messages and what would be redriven; change nothing")
	fs.IntVar(&o.max, "max", 100, "handle at most this many messages")
	if err := fs.Parse(args); err != nil {
		return exitBadUsed
	}
	if o.queue == "" || fs.NArg() != 0 || o.max < 1 {
		fmt.Fprintln(stderr, "usage: rampart redrive --queue URL [--function NAME|ARN] [--dry-run] [--max N] [--json]")
		return exitBadUsed
	}
	if o.function != "" {
		if _, _, _, err := functionTarget(o.function); err != nil {
			fmt.Fprintf(stderr, "rampart redrive: --function: %v\n", err)
			return exitBadUsed
		}
	}
	sess, err := sdkconfig.Load(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "rampart redrive: %v\n", err)
		return exitFailed
	}
	o.now = time.Now
	items, err := redrive(ctx, sess, o)
	if *asJSON {
		writeJSON(stdout, map[string]any{"queue": o.queue, "dryRun": o.dryRun, "messages": items})
	} else {
		printRedrive(stdout, items, o.dryRun)
	}
	if err != nil {
		fmt.Fprintf(stderr, "rampart redrive: %v\n", err)
		return exitFailed
	}
	for _, it := range items {
		if it.Outcome == redriveRejected || it.Outcome == redriveFailed {
			return exitFailed
		}
	}
	return exitOK
}

// redrive receives up to o.max messages, judges each and, unless dry-run,
// invokes and deletes. Every message it does not delete is made visible
// again before it returns, so a dry run leaves the queue as it was.
func redrive(ctx context.Context, sess *awsclient.Session, o redriveOptions) ([]dlqItem, error) {
	q := awsclient.Client(sess, sqs.NewFromConfig)
	var items []dlqItem
	var keep []sqstypes.ChangeMessageVisibilityBatchRequestEntry
	seen := map[string]bool{}
	defer func() {
		// Release what stays, on a context of its own: also after Ctrl-C.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		for len(keep) > 0 {
			n := min(10, len(keep))
			_, _ = q.ChangeMessageVisibilityBatch(rctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(o.queue), Entries: keep[:n]})
			keep = keep[n:]
		}
	}()
	for len(items) < o.max {
		out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(o.queue),
			MaxNumberOfMessages:         int32(min(10, o.max-len(items))),
			WaitTimeSeconds:             1,
			VisibilityTimeout:           300, // ours while we work on it
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameSentTimestamp},
		})
		if err != nil {
			return items, fmt.Errorf("receive from %s: %w", o.queue, err)
		}
		if len(out.Messages) == 0 {
			break
		}
		fresh := 0
		for _, m := range out.Messages {
			id := aws.ToString(m.MessageId)
			if seen[id] || len(items) == o.max { // a standard queue may deliver a message twice
				keep = append(keep, sqstypes.ChangeMessageVisibilityBatchRequestEntry{
					Id: aws.String(strconv.Itoa(len(keep))), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0})
				continue
			}
			seen[id] = true
			fresh++
			it := judgeMessage(m, o)
			if it.Outcome == "" {
				it.Outcome, it.Detail = invokeAndDelete(ctx, sess, q, o.queue, it)
			}
			if it.Outcome != redriveDone {
				keep = append(keep, sqstypes.ChangeMessageVisibilityBatchRequestEntry{
					Id: aws.String(strconv.Itoa(len(keep))), ReceiptHandle: aws.String(it.receipt), VisibilityTimeout: 0})
			}
			items = append(items, it)
		}
		if fresh == 0 {
			break
		}
	}
	return items, nil
}

// judgeMessage unwraps one message and decides what to do with it: an
// outcome when it is not to be invoked, "" when it is.
func judgeMessage(m sqstypes.Message, o redriveOptions) dlqItem {
	attrs := map[string]string{}
	for k, v := range m.MessageAttributes {
		attrs[k] = aws.ToString(v.StringValue)
	}
	it := unwrapMessage(aws.ToString(m.Body), attrs, o.function)
	it.MessageID, it.receipt = aws.ToString(m.MessageId), aws.ToString(m.ReceiptHandle)
	if ms, err := strconv.ParseInt(m.Attributes[string(sqstypes.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
		sent := time.UnixMilli(ms).UTC()
		it.Sent = &sent
		it.Age = o.now().Sub(sent).Round(time.Second).String()
	}
	_, _, _, targetErr := functionTarget(it.Function)
	switch {
	case it.payload == nil:
		it.Outcome = redriveRejected
	case targetErr != nil:
		it.Outcome, it.Detail = redriveRejected, targetErr.Error()
	case o.function != "" && !sameFunction(o.function, it.Function):
		it.Outcome, it.Detail = redriveSkipped, "for another function than --function"
	case o.dryRun:
		it.Outcome = redriveListed
	}
	return it
}

// invokeAndDelete hands the event to its function asynchronously and, once
// Lambda has accepted it, deletes the message.
func invokeAndDelete(ctx context.Context, sess *awsclient.Session, q *sqs.Client, queue string, it dlqItem) (outcome, detail string) {
	target, _, region, err := functionTarget(it.Function)
	if err != nil {
		return redriveRejected, err.Error()
	}
	lc := awsclient.Client(sess, lambda.NewFromConfig)
	var opts []func(*lambda.Options)
	if region != "" && region != sess.Region {
		opts = append(opts, func(o *lambda.Options) { o.Region = region })
	}
	out, err := lc.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(target),
		InvocationType: lambdatypes.InvocationTypeEvent,
		Payload:        it.payload,
	}, opts...)
	if err != nil {
		return redriveFailed, fmt.Sprintf("invoke %s: %v", target, err)
	}
	if out.StatusCode != 202 {
		return redriveFailed, fmt.Sprintf("invoke %s: status %d, want 202 (accepted)", target, out.StatusCode)
	}
	if _, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queue), ReceiptHandle: aws.String(it.receipt)}); err != nil {
		// The event is on its way; the message will come back: a second
		// redrive of it is harmless (Rampart re-reads the resource).
		return redriveFailed, fmt.Sprintf("invoked %s, but delete the message: %v", target, err)
	}
	return redriveDone, ""
}

func printRedrive(w io.Writer, items []dlqItem, dryRun bool) {
	if len(items) == 0 {
		fmt.Fprintln(w, "the queue is empty")
		return
	}
	counts := map[string]int{}
	for _, it := range items {
		counts[it.Outcome]++
		fn := it.Function
		if _, name, _, err := functionTarget(fn); err == nil {
			fn = name
		}
		if fn == "" {
			fn = "-"
		}
		fmt.Fprintf(w, "%-14s %-22s %s  (%s, age %s)\n", strings.ToUpper(it.Outcome), fn, orDash(it.Kind), it.Shape, orDash(it.Age))
		if it.EventID != "" {
			fmt.Fprintf(w, "  event:  %s\n", it.EventID)
		}
		if it.Error != "" {
			if it.Attempts > 0 {
				fmt.Fprintf(w, "  failed: %s (attempts %d)\n", it.Error, it.Attempts)
			} else {
				fmt.Fprintf(w, "  failed: %s\n", it.Error)
			}
		}
		if it.Detail != "" {
			fmt.Fprintf(w, "  %s\n", it.Detail)
		}
	}
	if dryRun {
		fmt.Fprintf(w, "dry run: %d would be redriven, %d skipped, %d cannot be; every message left in the queue\n",
			counts[redriveListed], counts[redriveSkipped], counts[redriveRejected])
		return
	}
	fmt.Fprintf(w, "%d redriven and deleted, %d skipped, %d cannot be redriven, %d failed; those not redriven are left in the queue\n",
		counts[redriveDone], counts[redriveSkipped], counts[redriveRejected], counts[redriveFailed])
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
