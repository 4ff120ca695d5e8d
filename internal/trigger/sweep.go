package trigger

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/rampart-aws/rampart/internal/awsname"
)

// SweepMarker is the value of a sweep message's "rampart" field.
const SweepMarker = "sweep"

// SweepMessage asks for one rule's sweep in one account and region: the body
// of a message on an organization deployment's sweep queue,
// {"rampart":"sweep","rule":…,"account":…,"region":…,"schedule":…}.
type SweepMessage struct {
	Rampart  string `json:"rampart"`
	Rule     string `json:"rule"`
	Account  string `json:"account"`
	Region   string `json:"region"`
	Schedule string `json:"schedule,omitempty"` // the scheduled event's ID that fanned out
	// ID is the SQS message ID (not part of the body).
	ID string `json:"-"`
}

// sqsEvent is the payload of an SQS event source mapping.
type sqsEvent struct {
	Records []struct {
		MessageID      string `json:"messageId"`
		Body           string `json:"body"`
		EventSource    string `json:"eventSource"`
		EventSourceARN string `json:"eventSourceARN"`
	} `json:"Records"`
}

// isSQS reports whether a payload with Records is an SQS event.
func isSQS(raw []byte) bool {
	var probe struct {
		Records []struct {
			EventSource string `json:"eventSource"`
		} `json:"Records"`
	}
	return json.Unmarshal(raw, &probe) == nil && len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:sqs"
}

// decodeSQS reads an SQS event whose every record is a Rampart sweep
// message. Any other body is bad input: the queue is Rampart's alone.
func decodeSQS(raw []byte) (*Trigger, error) {
	var ev sqsEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, inputErr("SQS event: %v", err)
	}
	t := &Trigger{Kind: KindSweep}
	for i, r := range ev.Records {
		if r.EventSource != "aws:sqs" {
			return nil, inputErr("SQS event record %d: eventSource %q", i, r.EventSource)
		}
		m, err := decodeSweepMessage([]byte(r.Body))
		if err != nil {
			return nil, inputErr("SQS message %s: %v", r.MessageID, err)
		}
		m.ID = r.MessageID
		t.Sweeps = append(t.Sweeps, m)
	}
	return t, nil
}

func decodeSweepMessage(body []byte) (SweepMessage, error) {
	var m SweepMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, inputErr("not a Rampart sweep message: %v", err)
	}
	if dec.More() {
		return m, inputErr("not a Rampart sweep message: trailing data")
	}
	switch {
	case m.Rampart != SweepMarker:
		return m, inputErr("not a Rampart sweep message (rampart=%q)", m.Rampart)
	case !awsname.RuleID(m.Rule):
		return m, inputErr("sweep message: rule %q is not a rule ID", m.Rule)
	case !awsname.Account(m.Account):
		return m, inputErr("sweep message: account %q is not an account ID", m.Account)
	case !awsname.Region(m.Region):
		return m, inputErr("sweep message: region %q is not a region", m.Region)
	}
	return m, nil
}

// ConfigRuleRegion is the region of a Config rule ARN
// (arn:aws:config:eu-west-1:111122223333:config-rule/config-rule-ab12cd), or "".
func ConfigRuleRegion(ruleARN string) string {
	a, err := arn.Parse(strings.TrimSpace(ruleARN))
	if err != nil || a.Service != "config" {
		return ""
	}
	return a.Region
}
