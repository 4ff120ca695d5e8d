// Package rule is the contract between the engine and the rules: the metadata
// a rule declares (from which the CLI catalog, the infrastructure and the IAM
// policies are derived), the Rule interface, and the decisions and actions a
// rule returns.
//
// It holds types and small pure helpers only: no AWS calls, no rule logic,
// no knowledge of any particular rule.
package rule

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/rampart-aws/rampart/internal/trigger"
)

// Severity ranks a violation.
type Severity string

// Severities, most urgent first.
const (
	Critical Severity = "critical"
	High     Severity = "high"
	Medium   Severity = "medium"
	Low      Severity = "low"
)

// Meta is what a rule declares about itself, next to its code.
type Meta struct {
	// ID is kebab-case and stable: it names the Config rule, the EventBridge
	// rule and the "rule" field of every decision.
	ID        string
	Title     string
	Severity  Severity
	Rationale string
	// Remediation says in one sentence what Rampart does about a violation.
	Remediation string
	// ResourceType is the CloudFormation/Config type name, e.g. AWS::EC2::SecurityGroup.
	ResourceType string
	// Function is the directory under functions/ whose Lambda carries the rule.
	Function string

	// CloudTrail lists the API calls (or console sign-ins) that invoke the
	// rule, one trigger per service: most rules watch one service, a rule
	// that guards several (Rampart's own resources, the exemption tag) lists
	// one trigger for each.
	CloudTrail []CloudTrailTrigger
	Config     *ConfigTrigger
	// Events are other AWS services' EventBridge events that invoke the
	// rule (EC2 state changes, Health events, findings…); the rule's
	// OnEvent names the resources each concerns.
	Events []EventTrigger
	// Global marks a rule about account-wide resources that have no region
	// (IAM users and keys, the root user): its sweep runs in one region only
	// (us-east-1 when deployed there, else the first deployed region), so
	// each finding is reported once, not once per region.
	Global bool
	// Schedule is an EventBridge schedule expression for a periodic sweep of
	// every resource (the rule must have a Sweep), e.g. "rate(1 day)".
	Schedule string
	// ListExemptionsOnly marks a rule that guards the audit trail or Rampart
	// itself: the exemption tag is ignored (whoever can tag the resource may
	// be the attacker) and only the checked-in list, which lives in the
	// deployment, counts.
	ListExemptionsOnly bool

	Params []Param

	// PassRoles name the parameters holding the ARNs of roles the rule hands
	// to a service (a flow log's delivery role, the Config recorder's role).
	// The function may pass exactly those roles: the infrastructure grants
	// iam:PassRole on the deployed values, and nothing when they are unset.
	// (iam:PassRole never appears in WriteActions.)
	PassRoles []string

	// ParamWrites are write actions that only a parameter enables (recreate
	// a recorder when its role is named, set a default key when one is
	// named): the infrastructure grants such an action only when one of its
	// entries holds for the deployed parameters (gates.go), as PassRoles
	// does for iam:PassRole. Write actions named by no entry are always
	// granted; every action named must be in WriteActions.
	ParamWrites []ParamWrite

	// LogAlarms are aggregate alarms on the function's decision log, for
	// findings too frequent to notify one by one (Finding.Quiet).
	LogAlarms []LogAlarm

	// ReadActions are the IAM actions Evaluate (and Sweep) call; WriteActions
	// the ones Apply calls for the plan. Undo actions are run by an operator
	// through the CLI and are not granted to the function.
	ReadActions  []string
	WriteActions []string
}

// MatchesCall reports whether one of the rule's CloudTrail triggers selects
// the call delivered under the EventBridge detail-type detail.
func (m *Meta) MatchesCall(detail string, call *trigger.APICall) bool {
	for i := range m.CloudTrail {
		if ct := &m.CloudTrail[i]; ct.EventBridgeDetailType() == detail && ct.Matches(call) {
			return true
		}
	}
	return false
}

// CloudTrailTrigger selects the CloudTrail events of one service that invoke
// the rule.
type CloudTrailTrigger struct {
	// DetailType is the EventBridge detail-type; empty means trigger.DetailAPICall.
	DetailType string
	Source     string   // e.g. ec2.amazonaws.com
	Events     []string // eventName values
	// Region pins the EventBridge rule to one region; global services
	// (IAM, console sign-in) deliver their events in us-east-1 only.
	Region string
}

// EventBridgeDetailType is DetailType with its default applied.
func (c *CloudTrailTrigger) EventBridgeDetailType() string {
	if c.DetailType == "" {
		return trigger.DetailAPICall
	}
	return c.DetailType
}

// EventBridgeDetailTypes are the detail-type values the EventBridge pattern
// matches: console sign-ins come under two spellings.
func (c *CloudTrailTrigger) EventBridgeDetailTypes() []string {
	if d := c.EventBridgeDetailType(); d != trigger.DetailSignIn {
		return []string{d}
	}
	return []string{trigger.DetailSignIn, trigger.DetailSignInLegacy}
}

// DeliveredIn reports whether the trigger's events are delivered in region.
func (c *CloudTrailTrigger) DeliveredIn(region string) bool {
	return c.Region == "" || c.Region == region
}

// Matches reports whether the call is one of the trigger's events.
func (c *CloudTrailTrigger) Matches(call *trigger.APICall) bool {
	if c == nil || call.EventSource != c.Source {
		return false
	}
	for _, e := range c.Events {
		if e == call.EventName {
			return true
		}
	}
	return false
}

// EventTrigger selects one AWS service's EventBridge events.
type EventTrigger struct {
	Source     string // e.g. aws.ec2
	DetailType string // e.g. EC2 Instance State-change Notification
	// Detail narrows the events at the bus: an EventBridge pattern over the
	// detail, e.g. {"state": ["running"]}. Nil: every event of the type.
	Detail map[string]any
	// Region pins the trigger to the one region where AWS delivers the
	// events (Health's and Trusted Advisor's global events: us-east-1).
	Region string
}

// DeliveredIn reports whether the trigger's events are delivered in region.
func (e *EventTrigger) DeliveredIn(region string) bool {
	return e.Region == "" || e.Region == region
}

// Matches reports whether the trigger selects ev: its source, detail-type
// and detail pattern. The bus applies the same pattern; applying it again
// here means an event the bus should not have delivered (a hand-edited
// pattern, a CLI replay, a broader forwarding rule) never reaches a rule
// that would act on it.
func (e *EventTrigger) Matches(ev *trigger.Event) bool {
	return e.Source == ev.Source && e.DetailType == ev.DetailType && MatchDetail(e.Detail, ev.Detail)
}

// TakesEventType reports whether one of the rule's event triggers is for
// ev's source and detail-type, whatever its detail.
func (m *Meta) TakesEventType(ev *trigger.Event) bool {
	for i := range m.Events {
		if e := &m.Events[i]; e.Source == ev.Source && e.DetailType == ev.DetailType {
			return true
		}
	}
	return false
}

// MatchesEvent reports whether one of the rule's event triggers selects ev
// (source, detail-type and the Detail pattern; see EventTrigger.Matches).
func (m *Meta) MatchesEvent(ev *trigger.Event) bool {
	for i := range m.Events {
		if m.Events[i].Matches(ev) {
			return true
		}
	}
	return false
}

// LogAlarm is a CloudWatch alarm on a count of decision log records: the
// infrastructure makes a metric filter on the function's log group and an
// alarm that notifies the topic.
type LogAlarm struct {
	// Name is kebab-case; the alarm is rampart-<rule ID>-<name>.
	Name        string
	Description string
	// Pattern is a CloudWatch Logs JSON filter pattern over decision
	// records (fields rule, verdict, reason, resource, actor, sourceIp…).
	Pattern string
	// Threshold records within Minutes raise the alarm.
	Threshold int
	Minutes   int
}

// Config frequencies for periodic Config rules.
const (
	OneHour        = "One_Hour"
	ThreeHours     = "Three_Hours"
	SixHours       = "Six_Hours"
	TwelveHours    = "Twelve_Hours"
	TwentyFourHour = "TwentyFour_Hours"
)

// ConfigTrigger makes the rule an AWS Config custom rule.
type ConfigTrigger struct {
	// ResourceTypes scopes change-triggered evaluation; empty means the rule
	// is periodic only.
	ResourceTypes []string
	// Frequency makes the rule periodic too (One_Hour … TwentyFour_Hours).
	Frequency string
}

// ConfigRuleName is the Config rule's name: "rampart-" and the rule ID.
func (m *Meta) ConfigRuleName() string { return "rampart-" + m.ID }

// Param is one rule parameter. Values are strings, as Config passes them.
type Param struct {
	Name        string
	Default     string
	Description string
	// Check validates a value; nil accepts any.
	Check func(string) error
}

// Params are a rule's resolved parameter values.
type Params map[string]string

// Resolve applies overrides to the declared defaults and validates the result.
// An override naming no declared parameter is an error.
func (m *Meta) Resolve(overrides map[string]string) (Params, error) {
	p := make(Params, len(m.Params))
	for _, d := range m.Params {
		p[d.Name] = d.Default
	}
	var errs []error
	for k, v := range overrides {
		if _, ok := p[k]; !ok {
			errs = append(errs, fmt.Errorf("unknown parameter %q", k))
			continue
		}
		p[k] = strings.TrimSpace(v)
	}
	for _, d := range m.Params {
		if d.Check != nil {
			if err := d.Check(p[d.Name]); err != nil {
				errs = append(errs, fmt.Errorf("parameter %s=%q: %w", d.Name, p[d.Name], err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("rule %s: %w", m.ID, err)
	}
	return p, nil
}

// Verdict is the outcome of evaluating one resource.
type Verdict string

// Verdicts, as they appear in decisions.
const (
	Violation     Verdict = "violation"
	Compliant     Verdict = "compliant"
	Ignored       Verdict = "ignored"
	NotApplicable Verdict = "not_applicable"
)

// Target is one resource a trigger concerns.
type Target struct {
	Type   string // CloudFormation type name
	ID     string // what the rule's APIs take: sg-…, a trail name or ARN
	Region string
	// Evidence is what the trigger says about the resource (rule-specific;
	// e.g. the permissions an AuthorizeSecurityGroupIngress call added). An
	// offline evaluation decides from it alone.
	Evidence any
	// State is the target's current state when whoever named the target
	// already read it (a sweep's listing): the rule's own state type,
	// judged as it is, with no further read.
	State any
	// Call is the API call that named the target, if any.
	Call *trigger.APICall
	// Item is the Config configuration item that named the target, if any.
	Item *trigger.ConfigItem
	// Event is the service event that named the target, if any.
	Event *trigger.Event
}

// Finding is what Evaluate concludes about one target.
type Finding struct {
	Verdict Verdict
	Reason  string
	// Actions is the plan that brings the resource back to compliance. On a
	// non-violation they are housekeeping (e.g. removing a marker tag the
	// rule set earlier), applied without a notification.
	Actions []Action
	// Resource, when set, is the canonical ID to report (e.g. a trail ARN).
	Resource string
	// Tags are the resource's current tags, for the exemption check.
	Tags map[string]string
	// Quiet marks a violation that is recorded (log, metrics, Config) but
	// not notified one by one: a Meta.LogAlarms alarm aggregates it.
	Quiet bool
}

// Action is one API call of a plan, with the call that undoes it.
type Action struct {
	// API is the call in IAM action form, e.g. ec2:RevokeSecurityGroupIngress.
	API    string          `json:"api"`
	Target string          `json:"target"`
	Params json.RawMessage `json:"params,omitempty"`
	Reason string          `json:"reason,omitempty"`
	Undo   *Action         `json:"undo,omitempty"`
	// Outcome and Error are filled in by the engine.
	Outcome Outcome `json:"outcome,omitempty"`
	Error   string  `json:"error,omitempty"`
	// Retried is set by the engine when Apply answered "nothing to do" only
	// because the SDK retried a mutating call whose first attempt got no
	// answer: that attempt did the work, so the outcome is applied (and
	// undoable), and Retried says which call.
	Retried string `json:"retried,omitempty"`
}

// Outcome is what became of an action.
type Outcome string

// Action outcomes.
const (
	Planned Outcome = "planned" // report mode, or an offline plan
	Applied Outcome = "applied"
	NoOp    Outcome = "noop" // the resource was already as the action would leave it
	Failed  Outcome = "failed"
	Skipped Outcome = "skipped" // an earlier action of the same plan failed
)

// NewAction builds an action; params must marshal to a JSON object.
func NewAction(api, target, reason string, params any, undo *Action) Action {
	raw, err := json.Marshal(params)
	if err != nil {
		panic(fmt.Sprintf("rule: params of %s do not marshal: %v", api, err))
	}
	return Action{API: api, Target: target, Params: raw, Reason: reason, Undo: undo}
}

// Decode reads an action's params into v (the rule's own typed struct).
func (a *Action) Decode(v any) error {
	if len(a.Params) == 0 {
		return fmt.Errorf("%s on %s: no params", a.API, a.Target)
	}
	if err := json.Unmarshal(a.Params, v); err != nil {
		return fmt.Errorf("%s on %s: params: %w", a.API, a.Target, err)
	}
	return nil
}

// AlertAPI is the API of an alert: the action is the notification itself,
// sent by the engine's notifier rather than by the rule.
const AlertAPI = "sns:Publish"

// Alert is an action that only notifies: used where no API can fix the
// violation (root access keys) or where acting could fight a legitimate owner.
func Alert(target, reason string) Action {
	return NewAction(AlertAPI, target, reason, map[string]string{"message": reason}, nil)
}

// ErrNoOp is returned (wrapped) by Apply when the resource was already as the
// action would leave it: e.g. revoking a rule that is already gone.
var ErrNoOp = errors.New("already in the desired state")

// DefaultExemptTag is the tag that exempts a resource unless the deployment
// names another.
const DefaultExemptTag = "rampart:exempt"
