package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// EventBridge detail types Rampart handles.
const (
	DetailAPICall = "AWS API Call via CloudTrail"
	// DetailSignIn is the detail-type EventBridge gives console sign-ins;
	// DetailSignInLegacy is the spelling older documentation and events use.
	// Both are accepted, and the EventBridge rules match both.
	DetailSignIn       = "AWS Console Sign In via CloudTrail"
	DetailSignInLegacy = "AWS Console Signin via CloudTrail"
	DetailSchedule     = "Scheduled Event"
)

// ErrInput marks every decoding error: the payload is not something Rampart
// can act on. Callers test for it with errors.Is to tell bad input (no retry)
// from failures worth retrying.
var ErrInput = errors.New("bad input")

func inputErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInput, fmt.Sprintf(format, args...))
}

// Decode turns one raw payload into a Trigger. It accepts an EventBridge event
// (CloudTrail API call, console sign-in, scheduled), a bare CloudTrail record
// as shown by the console's Event history, an AWS Config rule invocation, or
// an SQS event carrying Rampart sweep messages.
// Anything else is an ErrInput naming what is wrong.
func Decode(raw []byte) (*Trigger, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, inputErr("empty payload")
	}
	if raw[0] != '{' {
		return nil, inputErr("payload is not a JSON object")
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, inputErr("payload is not valid JSON: %v", err)
	}
	switch {
	case has(probe, "detail-type"):
		return decodeEventBridge(raw)
	case has(probe, "invokingEvent"):
		return decodeConfig(raw)
	case has(probe, "eventName") && has(probe, "eventSource"):
		call, err := decodeRecord(raw)
		if err != nil {
			return nil, err
		}
		return callTrigger(call), nil
	case has(probe, "Records") && isSQS(raw):
		return decodeSQS(raw)
	case has(probe, "Records"):
		return nil, inputErr("this is a CloudTrail log file; pass one record from its Records array")
	}
	return nil, inputErr("unrecognised payload: expected an EventBridge event (detail-type), a CloudTrail record (eventName, eventSource) or a Config rule invocation (invokingEvent)")
}

func has(m map[string]json.RawMessage, k string) bool {
	v, ok := m[k]
	return ok && string(v) != "null"
}

func callTrigger(c *APICall) *Trigger {
	if isSignIn(c) {
		return &Trigger{Kind: KindSignIn, Call: c}
	}
	return &Trigger{Kind: KindAPICall, Call: c}
}

// eventTypeSignIn is the eventType of console sign-in records.
const eventTypeSignIn = "AwsConsoleSignIn"

// isSignIn reports whether a record is a console sign-in. Its eventType says
// so, but records before eventVersion 1.02 (2014) have no eventType, and
// neither do records some tools pass on: a ConsoleLogin — or any other
// event of signin.amazonaws.com, the console sign-in service — without an
// eventType is a sign-in all the same. A record that states another
// eventType is taken at its word.
func isSignIn(c *APICall) bool {
	switch c.EventType {
	case eventTypeSignIn:
		return true
	case "":
		return c.EventSource == "signin.amazonaws.com"
	}
	return false
}

type envelope struct {
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

func decodeEventBridge(raw []byte) (*Trigger, error) {
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, inputErr("EventBridge envelope: %v", err)
	}
	switch env.DetailType {
	case DetailAPICall, DetailSignIn, DetailSignInLegacy:
		if len(env.Detail) == 0 || string(env.Detail) == "null" {
			return nil, inputErr("%q event has no detail", env.DetailType)
		}
		call, err := decodeRecord(env.Detail)
		if err != nil {
			return nil, err
		}
		if call.Region == "" {
			call.Region = env.Region
		}
		if call.Account == "" {
			call.Account = env.Account
		}
		t := callTrigger(call)
		if env.DetailType != DetailAPICall {
			t.Kind = KindSignIn
		}
		return t, nil
	case DetailSchedule:
		s := &Scheduled{ID: env.ID, Region: env.Region, Account: env.Account, Resources: env.Resources}
		if env.Time != "" {
			ts, err := time.Parse(time.RFC3339, env.Time)
			if err != nil {
				return nil, inputErr("scheduled event time %q: %v", env.Time, err)
			}
			s.Time = ts
		}
		return &Trigger{Kind: KindSchedule, Schedule: s}, nil
	case "":
		return nil, inputErr("EventBridge event has an empty detail-type")
	}
	return decodeServiceEvent(&env)
}

// decodeServiceEvent keeps another AWS service's event for the rules that
// declare it (the engine refuses one no rule declares). Only AWS's own
// sources are accepted: a custom source could be put on the bus by anyone
// with events:PutEvents.
func decodeServiceEvent(env *envelope) (*Trigger, error) {
	if !strings.HasPrefix(env.Source, "aws.") {
		return nil, inputErr("unsupported EventBridge detail-type %q (source %q): not an AWS service's event", env.DetailType, env.Source)
	}
	if d := bytes.TrimSpace(env.Detail); len(d) == 0 || d[0] != '{' {
		return nil, inputErr("%q event: detail is not a JSON object", env.DetailType)
	}
	ev := &Event{ID: env.ID, Source: env.Source, DetailType: env.DetailType, Account: env.Account, Region: env.Region,
		Resources: env.Resources, Detail: env.Detail}
	if env.Time != "" {
		ts, err := time.Parse(time.RFC3339, env.Time)
		if err != nil {
			return nil, inputErr("%q event time %q: %v", env.DetailType, env.Time, err)
		}
		ev.Time = ts
	}
	return &Trigger{Kind: KindEvent, Event: ev}, nil
}

// record is a CloudTrail record as CloudTrail writes it.
type record struct {
	EventVersion string `json:"eventVersion"`
	UserIdentity *struct {
		Type           string `json:"type"`
		PrincipalID    string `json:"principalId"`
		ARN            string `json:"arn"`
		AccountID      string `json:"accountId"`
		AccessKeyID    string `json:"accessKeyId"`
		UserName       string `json:"userName"`
		InvokedBy      string `json:"invokedBy"`
		SessionContext *struct {
			Attributes *struct {
				MFAAuthenticated Bool `json:"mfaAuthenticated"`
			} `json:"attributes"`
			SessionIssuer *struct {
				Type     string `json:"type"`
				ARN      string `json:"arn"`
				UserName string `json:"userName"`
			} `json:"sessionIssuer"`
		} `json:"sessionContext"`
	} `json:"userIdentity"`
	EventTime           string          `json:"eventTime"`
	EventSource         string          `json:"eventSource"`
	EventName           string          `json:"eventName"`
	AWSRegion           string          `json:"awsRegion"`
	SourceIPAddress     string          `json:"sourceIPAddress"`
	UserAgent           string          `json:"userAgent"`
	ErrorCode           string          `json:"errorCode"`
	ErrorMessage        string          `json:"errorMessage"`
	RequestParameters   json.RawMessage `json:"requestParameters"`
	ResponseElements    json.RawMessage `json:"responseElements"`
	AdditionalEventData json.RawMessage `json:"additionalEventData"`
	EventID             string          `json:"eventID"`
	ReadOnly            Bool            `json:"readOnly"`
	EventType           string          `json:"eventType"`
	RecipientAccountID  string          `json:"recipientAccountId"`
}

func decodeRecord(raw []byte) (*APICall, error) {
	var r record
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, inputErr("CloudTrail record: %v", err)
	}
	var missing []string
	for name, v := range map[string]string{"eventName": r.EventName, "eventSource": r.EventSource, "eventTime": r.EventTime} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, inputErr("CloudTrail record lacks %s", strings.Join(missing, ", "))
	}
	ts, err := time.Parse(time.RFC3339, r.EventTime)
	if err != nil {
		return nil, inputErr("CloudTrail eventTime %q: %v", r.EventTime, err)
	}
	c := &APICall{
		EventID:      r.EventID,
		EventName:    r.EventName,
		EventSource:  r.EventSource,
		EventType:    r.EventType,
		Time:         ts,
		Region:       r.AWSRegion,
		Account:      r.RecipientAccountID,
		SourceIP:     r.SourceIPAddress,
		UserAgent:    r.UserAgent,
		ReadOnly:     bool(r.ReadOnly),
		ErrorCode:    r.ErrorCode,
		ErrorMessage: r.ErrorMessage,
		Request:      orNull(r.RequestParameters),
		Response:     orNull(r.ResponseElements),
		Additional:   orNull(r.AdditionalEventData),
	}
	if u := r.UserIdentity; u != nil {
		c.Actor = Actor{Type: u.Type, ARN: u.ARN, PrincipalID: u.PrincipalID, AccountID: u.AccountID,
			AccessKeyID: u.AccessKeyID, UserName: u.UserName, InvokedBy: u.InvokedBy}
		if sc := u.SessionContext; sc != nil {
			if sc.Attributes != nil {
				c.Actor.MFA = bool(sc.Attributes.MFAAuthenticated)
			}
			if si := sc.SessionIssuer; si != nil {
				c.Actor.IssuerARN, c.Actor.IssuerType, c.Actor.IssuerName = si.ARN, si.Type, si.UserName
			}
		}
	}
	if isSignIn(c) {
		var extra struct {
			MFAUsed string `json:"MFAUsed"`
		}
		if json.Unmarshal(c.Additional, &extra) == nil && extra.MFAUsed == "Yes" {
			c.Actor.MFA = true
		}
	}
	if c.Account == "" {
		c.Account = c.Actor.AccountID
	}
	return c, nil
}

func orNull(r json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(r)) == 0 {
		return json.RawMessage("null")
	}
	return r
}

// configEvent is the Lambda payload of an AWS Config custom rule.
type configEvent struct {
	InvokingEvent    *string         `json:"invokingEvent"`
	RuleParameters   json.RawMessage `json:"ruleParameters"`
	ResultToken      string          `json:"resultToken"`
	EventLeftScope   Bool            `json:"eventLeftScope"`
	ExecutionRoleARN string          `json:"executionRoleArn"`
	ConfigRuleARN    string          `json:"configRuleArn"`
	ConfigRuleName   string          `json:"configRuleName"`
	AccountID        string          `json:"accountId"`
}

type invokingEvent struct {
	MessageType              string      `json:"messageType"`
	NotificationCreationTime string      `json:"notificationCreationTime"`
	AWSAccountID             string      `json:"awsAccountId"`
	ConfigurationItem        *ConfigItem `json:"configurationItem"`
	ConfigurationItemSummary *ConfigItem `json:"configurationItemSummary"`
}

func decodeConfig(raw []byte) (*Trigger, error) {
	var ev configEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, inputErr("Config rule invocation: %v", err)
	}
	if ev.InvokingEvent == nil {
		return nil, inputErr("Config rule invocation: invokingEvent must be a JSON string")
	}
	var inv invokingEvent
	if err := json.Unmarshal([]byte(*ev.InvokingEvent), &inv); err != nil {
		return nil, inputErr("Config invokingEvent: %v", err)
	}
	params, err := decodeRuleParameters(ev.RuleParameters)
	if err != nil {
		return nil, err
	}
	ci := &ConfigInvocation{
		MessageType:      inv.MessageType,
		RuleName:         ev.ConfigRuleName,
		RuleARN:          ev.ConfigRuleARN,
		AccountID:        firstNonEmpty(ev.AccountID, inv.AWSAccountID),
		ResultToken:      ev.ResultToken,
		EventLeftScope:   bool(ev.EventLeftScope),
		ExecutionRoleARN: ev.ExecutionRoleARN,
		Params:           params,
		Item:             inv.ConfigurationItem,
		Summary:          inv.ConfigurationItemSummary,
	}
	if inv.NotificationCreationTime != "" {
		ts, err := time.Parse(time.RFC3339, inv.NotificationCreationTime)
		if err != nil {
			return nil, inputErr("Config notificationCreationTime %q: %v", inv.NotificationCreationTime, err)
		}
		ci.NotificationTime = ts
	}
	switch ci.MessageType {
	case MsgChange:
		if ci.Item == nil {
			return nil, inputErr("%s without a configurationItem", MsgChange)
		}
	case MsgOversized:
		if ci.Summary == nil {
			return nil, inputErr("%s without a configurationItemSummary", MsgOversized)
		}
	case MsgScheduled, MsgSnapshotReady:
	case "":
		return nil, inputErr("Config invokingEvent has no messageType")
	default:
		return nil, inputErr("unsupported Config messageType %q", ci.MessageType)
	}
	if ci.ResultToken == "" && ci.MessageType != MsgSnapshotReady {
		return nil, inputErr("Config rule invocation has no resultToken")
	}
	return &Trigger{Kind: KindConfig, Config: ci}, nil
}

// decodeRuleParameters reads Config's ruleParameters: a JSON string holding
// an object of strings. Numbers and booleans are tolerated and kept as text.
func decodeRuleParameters(raw json.RawMessage) (map[string]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		return nil, inputErr("ruleParameters must be a JSON string holding an object: %v", err)
	}
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(text), &obj); err != nil {
		return nil, inputErr("ruleParameters is not a JSON object: %v", err)
	}
	out := make(map[string]string, len(obj))
	for k, v := range obj {
		switch v := v.(type) {
		case string:
			out[k] = v
		case float64, bool:
			out[k] = fmt.Sprint(v)
		default:
			return nil, inputErr("ruleParameters[%q] must be a string, got %T", k, v)
		}
	}
	return out, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
