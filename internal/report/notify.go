package report

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
)

// Notifier delivers one notification per violation.
type Notifier interface {
	Notify(ctx context.Context, d *Decision) error
}

// SNS publishes notifications to a topic.
type SNS struct {
	Session  *awsclient.Session
	TopicARN string
}

// Notify publishes the decision: a subject a person can triage from, a
// plain-text body with the five W's, and message attributes (rule, severity,
// verdict) for subscription filter policies.
func (n *SNS) Notify(ctx context.Context, d *Decision) error {
	client := awsclient.Client(n.Session, sns.NewFromConfig)
	_, err := client.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(n.TopicARN),
		Subject:  aws.String(Subject(d)),
		Message:  aws.String(Message(d)),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"rule":     {DataType: aws.String("String"), StringValue: aws.String(d.Rule)},
			"severity": {DataType: aws.String("String"), StringValue: aws.String(orDash(string(d.Severity)))},
			"verdict":  {DataType: aws.String("String"), StringValue: aws.String(string(d.Verdict))},
		},
	})
	if err != nil {
		return fmt.Errorf("publish to %s: %w", n.TopicARN, err)
	}
	return nil
}

// Retry delivers through Next and, when that fails, tries again with
// exponential backoff (Backoff, then 4×Backoff, …) up to Attempts times in
// all, within the caller's context. The SDK client under Next already
// retries throttling and transient errors; this covers the failures it
// gives up on (a topic policy or key briefly wrong, an endpoint
// unreachable for longer than its retries).
type Retry struct {
	Next     Notifier
	Attempts int           // default 3
	Backoff  time.Duration // default 200ms
}

// Notify implements Notifier.
func (r *Retry) Notify(ctx context.Context, d *Decision) error {
	return r.do(ctx, func() error { return r.Next.Notify(ctx, d) })
}

// NotifyNotice implements NoticeNotifier when Next does: a grouped notice is
// retried like a single one.
func (r *Retry) NotifyNotice(ctx context.Context, n *Notice) error {
	nn, ok := r.Next.(NoticeNotifier)
	if !ok {
		return fmt.Errorf("report: %T cannot send grouped notices", r.Next)
	}
	return r.do(ctx, func() error { return nn.NotifyNotice(ctx, n) })
}

// NotifyDigest implements DigestNotifier when Next does.
func (r *Retry) NotifyDigest(ctx context.Context, d *Digest) error {
	dn, ok := r.Next.(DigestNotifier)
	if !ok {
		return fmt.Errorf("report: %T cannot send digests", r.Next)
	}
	return r.do(ctx, func() error { return dn.NotifyDigest(ctx, d) })
}

// do runs send up to Attempts times with a growing backoff.
func (r *Retry) do(ctx context.Context, send func() error) error {
	attempts, wait := r.Attempts, r.Backoff
	if attempts < 1 {
		attempts = 3
	}
	if wait <= 0 {
		wait = 200 * time.Millisecond
	}
	var err error
	for i := range attempts {
		if i > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("%w (gave up after %d attempts: %w)", err, i, ctx.Err())
			case <-t.C:
			}
			wait *= 4
		}
		if err = send(); err == nil {
			return nil
		}
	}
	return fmt.Errorf("%w (after %d attempts)", err, attempts)
}

// Subject is the notification's subject line (SNS allows 100 characters).
func Subject(d *Decision) string {
	state := "reported"
	for _, a := range d.Actions {
		if a.API != rule.AlertAPI && a.Outcome == rule.Applied {
			state = "remediated"
		}
		if a.Outcome == rule.Failed {
			state = "remediation FAILED"
			break
		}
	}
	s := fmt.Sprintf("Rampart [%s] %s on %s: %s", orDash(string(d.Severity)), d.Rule, d.Resource, state)
	return Truncate(s, 100)
}

// Message is the notification body: who, when, what, where from, which
// resource, why it matters and what Rampart did.
func Message(d *Decision) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Rule:      %s (%s)\n", d.Rule, orDash(string(d.Severity)))
	fmt.Fprintf(&b, "Resource:  %s %s\n", d.ResourceType, d.Resource)
	fmt.Fprintf(&b, "Finding:   %s\n", d.Reason)
	fmt.Fprintf(&b, "Mode:      %s\n", d.Mode)
	if c := d.Call; c != nil {
		mfa := "no"
		if c.Actor.MFA {
			mfa = "yes"
		}
		fmt.Fprintf(&b, "Who:       %s (%s", c.Actor.Display(), orDash(c.Actor.Type))
		if c.Actor.AccessKeyID != "" {
			fmt.Fprintf(&b, ", access key %s", c.Actor.AccessKeyID)
		}
		fmt.Fprintf(&b, ", MFA %s)\n", mfa)
		fmt.Fprintf(&b, "When:      %s\n", c.Time.UTC().Format("2006-01-02 15:04:05 MST"))
		fmt.Fprintf(&b, "What:      %s:%s in %s (event %s)\n", strings.TrimSuffix(c.EventSource, ".amazonaws.com"), c.EventName, c.Region, orDash(c.EventID))
		fmt.Fprintf(&b, "From:      %s, %s\n", orDash(c.SourceIP), orDash(c.UserAgent))
	} else {
		fmt.Fprintf(&b, "Trigger:   %s %s\n", d.Trigger, d.EventID)
	}
	b.WriteString("Rampart:\n")
	if len(d.Actions) == 0 {
		b.WriteString("  no action\n")
	}
	for _, a := range d.Actions {
		fmt.Fprintf(&b, "  - %s %s on %s", a.Outcome, a.API, a.Target)
		if a.Reason != "" {
			fmt.Fprintf(&b, ": %s", a.Reason)
		}
		if a.Error != "" {
			fmt.Fprintf(&b, " (error: %s)", a.Error)
		}
		b.WriteByte('\n')
		if a.Undo != nil && a.Outcome == rule.Applied {
			fmt.Fprintf(&b, "    undo: %s %s\n", a.Undo.API, string(a.Undo.Params))
		}
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
