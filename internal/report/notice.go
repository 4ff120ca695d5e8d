package report

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// Notice is one notification about one resource for one event: every rule
// that fired on it, each with what happened (a new violation, remediated,
// …). The engine sends one Notice instead of one message per rule.
type Notice struct {
	Account, Region string
	Items           []NoticeItem
}

// NoticeItem is one rule's part of a Notice.
type NoticeItem struct {
	// Event is what happened, in words ("new violation", "remediated",
	// "remediation failed", "exemption started", "exemption ended",
	// "resolved", "cannot evaluate").
	Event    string
	Decision *Decision
}

// NoticeNotifier delivers Notices. report.SNS is one; a Notifier that is
// not gets each item's decision through Notify instead.
type NoticeNotifier interface {
	NotifyNotice(ctx context.Context, n *Notice) error
}

// eventRank orders events by urgency, most urgent first: the subject names
// the events in this order.
var eventRank = []string{"remediation failed", "new violation", "cannot evaluate", "exemption ended", "remediated", "exemption started", "resolved"}

func rank(ev string) int {
	if i := slices.Index(eventRank, ev); i >= 0 {
		return i
	}
	return len(eventRank)
}

var severityRank = []rule.Severity{rule.Critical, rule.High, rule.Medium, rule.Low}

// Severity is the highest severity among the notice's rules.
func (n *Notice) Severity() rule.Severity {
	best := rule.Severity("")
	bi := len(severityRank)
	for _, it := range n.Items {
		if i := slices.Index(severityRank, it.Decision.Severity); i >= 0 && i < bi {
			best, bi = it.Decision.Severity, i
		}
	}
	return best
}

// Rules are the IDs of the rules that fired, in the notice's order.
func (n *Notice) Rules() []string {
	var out []string
	for _, it := range n.Items {
		if !slices.Contains(out, it.Decision.Rule) {
			out = append(out, it.Decision.Rule)
		}
	}
	return out
}

// Events are the distinct events, most urgent first.
func (n *Notice) Events() []string {
	var out []string
	for _, it := range n.Items {
		if !slices.Contains(out, it.Event) {
			out = append(out, it.Event)
		}
	}
	slices.SortStableFunc(out, func(a, b string) int { return rank(a) - rank(b) })
	return out
}

// NoticeSubject is the subject line (at most 100 characters, as SNS allows).
func NoticeSubject(n *Notice) string {
	rules := n.Rules()
	what := rules[0]
	if len(rules) > 1 {
		what = fmt.Sprintf("%d rules", len(rules))
	}
	s := fmt.Sprintf("Rampart [%s] %s on %s: %s", orDash(string(n.Severity())), what, n.Items[0].Decision.Resource, strings.Join(n.Events(), ", "))
	return Truncate(s, 100)
}

// NoticeMessage is the body: the resource, the five W's of the call that
// led here (when a call did), then every rule that fired with its finding
// and what Rampart did.
func NoticeMessage(n *Notice) string {
	var b strings.Builder
	first := n.Items[0].Decision
	fmt.Fprintf(&b, "Resource:  %s %s\n", first.ResourceType, first.Resource)
	fmt.Fprintf(&b, "Where:     account %s, %s\n", orDash(n.Account), orDash(n.Region))
	fmt.Fprintf(&b, "Rules:     %s\n", strings.Join(n.Rules(), ", "))
	var call *trigger.APICall
	for _, it := range n.Items {
		if it.Decision.Call != nil {
			call = it.Decision.Call
			break
		}
	}
	if call != nil {
		writeCall(&b, call)
	} else {
		fmt.Fprintf(&b, "Trigger:   %s %s\n", first.Trigger, first.EventID)
	}
	for i, it := range n.Items {
		d := it.Decision
		fmt.Fprintf(&b, "\n%d. %s (%s): %s\n", i+1, d.Rule, orDash(string(d.Severity)), strings.ToUpper(it.Event))
		fmt.Fprintf(&b, "   Finding: %s\n", d.Reason)
		if d.Error != "" {
			fmt.Fprintf(&b, "   Error:   %s\n", d.Error)
		}
		fmt.Fprintf(&b, "   Mode:    %s\n", d.Mode)
		writeActions(&b, d.Actions, "   ")
	}
	return b.String()
}

func writeCall(b *strings.Builder, c *trigger.APICall) {
	mfa := "no"
	if c.Actor.MFA {
		mfa = "yes"
	}
	fmt.Fprintf(b, "Who:       %s (%s", c.Actor.Display(), orDash(c.Actor.Type))
	if c.Actor.AccessKeyID != "" {
		fmt.Fprintf(b, ", access key %s", c.Actor.AccessKeyID)
	}
	fmt.Fprintf(b, ", MFA %s)\n", mfa)
	fmt.Fprintf(b, "When:      %s\n", c.Time.UTC().Format("2006-01-02 15:04:05 MST"))
	fmt.Fprintf(b, "What:      %s:%s in %s (event %s)\n", strings.TrimSuffix(c.EventSource, ".amazonaws.com"), c.EventName, c.Region, orDash(c.EventID))
	fmt.Fprintf(b, "From:      %s, %s\n", orDash(c.SourceIP), orDash(c.UserAgent))
}

func writeActions(b *strings.Builder, as []rule.Action, indent string) {
	b.WriteString(indent + "Rampart:\n")
	if len(as) == 0 {
		b.WriteString(indent + "  no action\n")
	}
	for _, a := range as {
		fmt.Fprintf(b, "%s  - %s %s on %s", indent, a.Outcome, a.API, a.Target)
		if a.Reason != "" {
			fmt.Fprintf(b, ": %s", a.Reason)
		}
		if a.Error != "" {
			fmt.Fprintf(b, " (error: %s)", a.Error)
		}
		b.WriteByte('\n')
		if a.Undo != nil && a.Outcome == rule.Applied {
			fmt.Fprintf(b, "%s    undo: %s %s\n", indent, a.Undo.API, string(a.Undo.Params))
		}
	}
}

// NotifyNotice publishes one notice. Its message attributes serve
// subscription filter policies: rule and event are String.Array (a policy
// matches any element), severity is the highest.
func (n *SNS) NotifyNotice(ctx context.Context, nt *Notice) error {
	return n.publish(ctx, NoticeSubject(nt), NoticeMessage(nt), map[string]snstypes.MessageAttributeValue{
		"rule":     stringArray(nt.Rules()),
		"event":    stringArray(nt.Events()),
		"severity": {DataType: aws.String("String"), StringValue: aws.String(orDash(string(nt.Severity())))},
	})
}

// Digest is the daily summary of one account's open findings.
type Digest struct {
	Account string
	Day     time.Time
	Items   []DigestItem
	// More is set when there were more open findings than Items lists.
	More bool
}

// DigestItem is one open finding.
type DigestItem struct {
	Region, Rule, Resource, Severity, State, Reason string
	Since                                           time.Time
}

// DigestNotifier delivers digests. report.SNS is one.
type DigestNotifier interface {
	NotifyDigest(ctx context.Context, d *Digest) error
}

// DigestSubject is the digest's subject line.
func DigestSubject(d *Digest) string {
	more := ""
	if d.More {
		more = "+"
	}
	return fmt.Sprintf("Rampart daily digest %s: %d%s open findings in %s", d.Day.UTC().Format(time.DateOnly), len(d.Items), more, d.Account)
}

// DigestMessage lists the open findings, oldest first within each rule.
func DigestMessage(d *Digest) string {
	items := slices.Clone(d.Items)
	slices.SortStableFunc(items, func(a, b DigestItem) int {
		if c := strings.Compare(a.Rule, b.Rule); c != 0 {
			return c
		}
		return a.Since.Compare(b.Since)
	})
	var b strings.Builder
	fmt.Fprintf(&b, "Open findings in account %s on %s (violations not fixed, failed remediations).\n", d.Account, d.Day.UTC().Format(time.DateOnly))
	b.WriteString("Each was notified once when it opened; this digest replaces daily repeats.\n")
	rule := ""
	for _, it := range items {
		if it.Rule != rule {
			rule = it.Rule
			fmt.Fprintf(&b, "\n%s (%s)\n", it.Rule, orDash(it.Severity))
		}
		fmt.Fprintf(&b, "  - %s %s: %s since %s: %s\n", it.Region, it.Resource, it.State, it.Since.UTC().Format(time.DateOnly), it.Reason)
	}
	if d.More {
		b.WriteString("\n… and more: the list is cut here; see the Config rules' compliance or the decision log.\n")
	}
	return b.String()
}

// NotifyDigest publishes one digest.
func (n *SNS) NotifyDigest(ctx context.Context, d *Digest) error {
	return n.publish(ctx, DigestSubject(d), DigestMessage(d), map[string]snstypes.MessageAttributeValue{
		"event": stringArray([]string{"digest"}),
	})
}

func (n *SNS) publish(ctx context.Context, subject, message string, attrs map[string]snstypes.MessageAttributeValue) error {
	client := awsclient.Client(n.Session, sns.NewFromConfig)
	if len(message) > maxMessage {
		message = message[:maxMessage-40] + "\n… (cut at SNS's message size limit)\n"
	}
	_, err := client.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(n.TopicARN), Subject: aws.String(subject),
		Message: aws.String(message), MessageAttributes: attrs})
	if err != nil {
		return fmt.Errorf("publish to %s: %w", n.TopicARN, err)
	}
	return nil
}

// maxMessage keeps a message under SNS's 256 KB limit, with room for the
// attributes.
const maxMessage = 250 * 1024

func stringArray(vs []string) snstypes.MessageAttributeValue {
	raw, _ := json.Marshal(vs) // a []string always marshals
	return snstypes.MessageAttributeValue{DataType: aws.String("String.Array"), StringValue: aws.String(string(raw))}
}
