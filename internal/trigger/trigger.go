// Package trigger decodes the raw payloads a Rampart Lambda (or the CLI)
// receives into one typed Trigger: a CloudTrail API call, a console sign-in,
// an AWS Config rule invocation, a scheduled tick, the sweep messages an
// organization deployment's fan-out queue (SQS) delivers, or another AWS
// service's EventBridge event (an EC2 state change, a Health event, a
// GuardDuty finding…).
//
// It owns wire formats only. It makes no AWS calls and knows nothing about
// rules; the engine decides what a trigger means.
package trigger

import (
	"encoding/json"
	"time"
)

// Kind says which of the trigger shapes a Trigger holds.
type Kind string

// The trigger kinds.
const (
	KindAPICall  Kind = "cloudtrail" // "AWS API Call via CloudTrail", or a raw CloudTrail record
	KindSignIn   Kind = "signin"     // "AWS Console Signin via CloudTrail"
	KindConfig   Kind = "config"     // an AWS Config custom rule invocation
	KindSchedule Kind = "schedule"   // an EventBridge "Scheduled Event"
	KindSweep    Kind = "sweep"      // SQS records holding Rampart sweep messages (organization fan-out)
	KindEvent    Kind = "event"      // another AWS service's EventBridge event (Event)
)

// Trigger is one decoded payload. Exactly one of Call, Config, Schedule and
// Sweeps is set: Call for KindAPICall and KindSignIn, Sweeps for KindSweep.
type Trigger struct {
	Kind     Kind
	Call     *APICall
	Config   *ConfigInvocation
	Schedule *Scheduled
	Sweeps   []SweepMessage
	Event    *Event
}

// Event is an AWS service's EventBridge event that is not a CloudTrail
// record: "EC2 Instance State-change Notification", "AWS Health Event",
// "GuardDuty Finding"… Detail is the service's own shape, verbatim; the
// rules that declare the event read it.
type Event struct {
	ID         string          `json:"id"`
	Source     string          `json:"source"`      // e.g. aws.ec2
	DetailType string          `json:"detail-type"` // e.g. EC2 Instance State-change Notification
	Account    string          `json:"account"`
	Region     string          `json:"region"`
	Time       time.Time       `json:"time"`
	Resources  []string        `json:"resources,omitempty"`
	Detail     json.RawMessage `json:"detail"`
}

// EventID names the trigger for logs: the CloudTrail event ID, the
// EventBridge event ID of a schedule, or the Config result token.
func (t *Trigger) EventID() string {
	switch {
	case t.Call != nil:
		return t.Call.EventID
	case t.Schedule != nil:
		return t.Schedule.ID
	case t.Config != nil:
		return t.Config.RuleName + "/" + t.Config.MessageType
	case len(t.Sweeps) > 0:
		return t.Sweeps[0].ID
	case t.Event != nil:
		return t.Event.ID
	}
	return ""
}

// APICall is one CloudTrail record: an API call or a console sign-in.
type APICall struct {
	EventID     string    `json:"eventId"`
	EventName   string    `json:"eventName"`
	EventSource string    `json:"eventSource"`
	EventType   string    `json:"eventType"`
	Time        time.Time `json:"time"`
	Region      string    `json:"region"`
	Account     string    `json:"account"` // the recipient account
	Actor       Actor     `json:"actor"`
	SourceIP    string    `json:"sourceIp,omitempty"`
	UserAgent   string    `json:"userAgent,omitempty"`
	ReadOnly    bool      `json:"readOnly,omitempty"`
	// ErrorCode and ErrorMessage are set when the call failed.
	// A console sign-in failure sets only ErrorMessage.
	ErrorCode    string `json:"errorCode,omitempty"`
	ErrorMessage string `json:"errorMessage,omitempty"`
	// Request, Response and Additional are the record's requestParameters,
	// responseElements and additionalEventData, verbatim ("null" when absent).
	Request    json.RawMessage `json:"-"`
	Response   json.RawMessage `json:"-"`
	Additional json.RawMessage `json:"-"`
}

// Failed reports whether the call was rejected, so it changed nothing.
func (c *APICall) Failed() bool { return c.ErrorCode != "" }

// Actor is who made the call: CloudTrail's userIdentity, flattened.
type Actor struct {
	Type        string `json:"type"`
	ARN         string `json:"arn,omitempty"`
	PrincipalID string `json:"principalId,omitempty"`
	AccountID   string `json:"accountId,omitempty"`
	AccessKeyID string `json:"accessKeyId,omitempty"`
	UserName    string `json:"userName,omitempty"`
	MFA         bool   `json:"mfa"`
	// IssuerARN is the role (or user) behind a temporary session.
	IssuerARN  string `json:"issuerArn,omitempty"`
	IssuerType string `json:"issuerType,omitempty"`
	IssuerName string `json:"issuerName,omitempty"`
	// InvokedBy names the AWS service that made the call on the actor's behalf.
	InvokedBy string `json:"invokedBy,omitempty"`
}

// Display is the most telling one-line name of the actor.
func (a Actor) Display() string {
	switch {
	case a.ARN != "":
		return a.ARN
	case a.InvokedBy != "":
		return a.InvokedBy
	case a.UserName != "":
		return a.UserName
	}
	return a.Type
}

// ConfigInvocation is the event AWS Config sends a custom rule's Lambda.
type ConfigInvocation struct {
	MessageType      string            `json:"messageType"`
	RuleName         string            `json:"configRuleName"`
	RuleARN          string            `json:"configRuleArn,omitempty"`
	AccountID        string            `json:"accountId,omitempty"`
	ResultToken      string            `json:"resultToken"`
	EventLeftScope   bool              `json:"eventLeftScope"`
	ExecutionRoleARN string            `json:"executionRoleArn,omitempty"`
	Params           map[string]string `json:"ruleParameters,omitempty"`
	NotificationTime time.Time         `json:"notificationCreationTime"`
	// Item is the configuration item of a change notification; Summary is
	// what an oversized notification carries instead.
	Item    *ConfigItem `json:"configurationItem,omitempty"`
	Summary *ConfigItem `json:"configurationItemSummary,omitempty"`
}

// Config message types.
const (
	MsgChange        = "ConfigurationItemChangeNotification"
	MsgOversized     = "OversizedConfigurationItemChangeNotification"
	MsgScheduled     = "ScheduledNotification"
	MsgSnapshotReady = "ConfigurationSnapshotDeliveryCompleted"
)

// TestModeToken is the resultToken of a test invocation: evaluations are then
// sent with TestMode set (the convention of AWS's rule development kit).
const TestModeToken = "TESTMODE"

// ConfigItem is the part of a Config configuration item (or its summary)
// that rules use.
type ConfigItem struct {
	ResourceType  string            `json:"resourceType"`
	ResourceID    string            `json:"resourceId"`
	ResourceName  string            `json:"resourceName,omitempty"`
	ARN           string            `json:"arn,omitempty"`
	Region        string            `json:"awsRegion,omitempty"`
	AccountID     string            `json:"awsAccountId,omitempty"`
	Status        string            `json:"configurationItemStatus"`
	CaptureTime   time.Time         `json:"configurationItemCaptureTime"`
	Tags          map[string]string `json:"tags,omitempty"`
	Configuration json.RawMessage   `json:"configuration,omitempty"`
	// RelatedEvents are the IDs of the CloudTrail events behind the change.
	RelatedEvents []string `json:"relatedEvents,omitempty"`
}

// Gone reports whether the item says the resource no longer exists or is no
// longer recorded, so the rule does not apply to it.
func (i *ConfigItem) Gone() bool {
	switch i.Status {
	case "ResourceDeleted", "ResourceDeletedNotRecorded", "ResourceNotRecorded":
		return true
	}
	return false
}

// HasConfiguration reports whether the item carries the resource's
// configuration, so a rule can judge it offline from the item alone. A nil
// item (a trigger without one), an oversized notification's summary and a
// deleted resource's item carry none.
func (i *ConfigItem) HasConfiguration() bool {
	return i != nil && len(i.Configuration) != 0 && string(i.Configuration) != "null"
}

// Scheduled is an EventBridge scheduled event.
type Scheduled struct {
	ID        string    `json:"id"`
	Time      time.Time `json:"time"`
	Region    string    `json:"region"`
	Account   string    `json:"account"`
	Resources []string  `json:"resources"` // the schedule rule's ARN
}
