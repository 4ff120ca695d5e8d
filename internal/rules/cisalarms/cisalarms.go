// Package cisalarms holds cis-alarms: the CIS AWS Foundations Benchmark
// monitoring controls — a metric filter on the trail's CloudWatch Logs log
// group and an alarm notifying Rampart's topic, one pair per control of
// internal/cis — stay in place as deployed.
//
// An intruder who wants to act unseen silences these alarms first: deletes
// a filter or an alarm, rewrites a filter's pattern into one that matches
// nothing or sends its metric elsewhere, raises an alarm's threshold,
// lengthens its evaluation, points it at another topic or disables its
// actions. The rule watches the calls that do so (DeleteMetricFilter,
// PutMetricFilter, DeleteAlarms, PutMetricAlarm, DisableAlarmActions) and
// sweeps hourly, and judges every control's whole desired filter and alarm
// (level-triggered), whichever field a call touched. A filter of anyone's
// elsewhere that publishes to a control's metric (whose negative value
// would cancel the count out) is reported, never deleted. It restores a filter
// with PutMetricFilter and an alarm with PutMetricAlarm — the whole
// definition, actions enabled included, so no EnableAlarmActions is needed
// — each with an undo that puts back what it replaced (or deletes what it
// created).
//
// The rule acts only where the deployment names the log group and the topic
// (parameters logGroupName and topicArn, which infra sets from
// rampart:trailLogGroup), and only in the topic's region: the alarms live
// beside the topic, in the home region, where the log group must be. It
// guards the audit trail, so only the checked-in exemption list exempts.
package cisalarms

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/rampart-aws/rampart/internal/cis"
	"github.com/rampart-aws/rampart/internal/deployer"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// ID is the rule's ID.
const ID = "cis-alarms"

// ResourceType is what the rule judges: one control's alarm, with its filter.
const ResourceType = "AWS::CloudWatch::Alarm"

// Parameter names.
const (
	ParamLogGroup = "logGroupName"
	ParamTopic    = "topicArn"
)

// IAM actions, as plans name them.
const (
	APIPutFilter         = "logs:PutMetricFilter"
	APIDeleteFilter      = "logs:DeleteMetricFilter"
	APIDescribeFilter    = "logs:DescribeMetricFilters"
	APIDescribeLogGroups = "logs:DescribeLogGroups"
	APIPutAlarm          = "cloudwatch:PutMetricAlarm"
	APIDeleteAlarms      = "cloudwatch:DeleteAlarms"
	APIDescribeAlarms    = "cloudwatch:DescribeAlarms"
)

// Compiled on first use, not at every cold start: {1,512} and {1,256}
// compile into as many copies.
var (
	logGroupRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]{1,512}$`) })
	topicRE    = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$`)
	})
)

func checkLogGroup(s string) error {
	if s == "" || logGroupRE().MatchString(s) {
		return nil
	}
	return errors.New("want a CloudWatch Logs log group name (not an ARN)")
}

func checkTopic(s string) error {
	if s == "" || topicRE().MatchString(s) {
		return nil
	}
	return errors.New("want an SNS topic ARN")
}

// params are the rule's typed parameters. Zero: the deployment names no
// log group, and the rule has nothing to judge.
type params struct {
	LogGroup string
	Topic    string
	// Region and Account are the topic's: the alarms and the log group are
	// there, and a same-named alarm in another account or region is not
	// the deployment's.
	Region, Account string
	// Deployers are the roles whose stack creates the filters and alarms.
	Deployers deployer.Roles
}

func (p params) enabled() bool { return p.LogGroup != "" }

func parse(raw rule.Params) (params, error) {
	d, err := deployer.FromEnv()
	if err != nil {
		return params{}, fmt.Errorf("rule %s: %w", ID, err)
	}
	p := params{LogGroup: raw[ParamLogGroup], Topic: raw[ParamTopic], Deployers: d}
	switch {
	case p.LogGroup == "" && p.Topic == "":
		return p, nil
	case p.LogGroup == "" || p.Topic == "":
		return params{}, fmt.Errorf("rule %s: %s and %s go together (an alarm must notify someone)", ID, ParamLogGroup, ParamTopic)
	}
	a, err := arn.Parse(p.Topic)
	if err != nil {
		return params{}, fmt.Errorf("rule %s: %s: %w", ID, ParamTopic, err)
	}
	p.Region, p.Account = a.Region, a.AccountID
	return p, nil
}

var meta = rule.Meta{
	ID:       ID,
	Title:    "The CIS CloudTrail metric filters and alarms stay in place",
	Severity: rule.High,
	Rationale: "The CIS monitoring controls turn the trail's log group into alarms on root use, sign-ins without MFA, policy, trail, key, " +
		"Config and network changes. An intruder who deletes a filter, rewrites its pattern to match nothing, raises a threshold or " +
		"points an alarm elsewhere acts unseen from then on.",
	Remediation: "Puts back every CIS metric filter and alarm that was deleted or differs from the deployed definition (pattern, metric, " +
		"threshold, period, actions, topic) with PutMetricFilter and PutMetricAlarm; acts only where the deployment names the trail's log group.",
	ResourceType: ResourceType,
	Function:     "cloudtrail",
	CloudTrail: []rule.CloudTrailTrigger{
		{Source: "logs.amazonaws.com", Events: []string{"DeleteMetricFilter", "PutMetricFilter"}},
		{Source: "monitoring.amazonaws.com", Events: []string{"DeleteAlarms", "PutMetricAlarm", "DisableAlarmActions"}},
	},
	Schedule: "rate(1 hour)",
	Params: []rule.Param{
		{Name: ParamLogGroup, Description: "The trail's CloudWatch Logs log group, in the home region (empty: the rule judges nothing; infra sets it from rampart:trailLogGroup)", Check: checkLogGroup},
		{Name: ParamTopic, Description: "The SNS topic every alarm notifies (infra sets Rampart's topic)", Check: checkTopic},
	},
	ReadActions:  []string{APIDescribeFilter, APIDescribeLogGroups, APIDescribeAlarms},
	WriteActions: []string{APIPutFilter, APIPutAlarm, rule.AlertAPI},
	// Nothing to restore without a log group: no write permission either.
	ParamWrites: []rule.ParamWrite{{Actions: []string{APIPutFilter, APIPutAlarm}, When: []string{ParamLogGroup}}},

	ListExemptionsOnly: true, // guards the audit trail: only the checked-in list exempts
}

// evidence is what a call did to one control, for the offline planner.
type evidence struct {
	Event string
	// Filter is the filter PutMetricFilter wrote; Alarm the alarm
	// PutMetricAlarm wrote.
	Filter *cis.Filter
	Alarm  *cis.Alarm
}

// cloudFormation is the invokedBy of the calls a stack makes.
const cloudFormation = "cloudformation.amazonaws.com"

// request is the requestParameters of the watched calls (CloudTrail spells
// them in lowerCamelCase; JSON field names match case-insensitively).
type request struct {
	LogGroupName          string   `json:"logGroupName"`
	FilterName            string   `json:"filterName"`
	FilterPattern         *string  `json:"filterPattern"`
	MetricTransformations []mtrans `json:"metricTransformations"`

	AlarmName               string      `json:"alarmName"`
	AlarmNames              []string    `json:"alarmNames"`
	AlarmDescription        string      `json:"alarmDescription"`
	MetricName              string      `json:"metricName"`
	Namespace               string      `json:"namespace"`
	Statistic               string      `json:"statistic"`
	ExtendedStatistic       string      `json:"extendedStatistic"`
	Dimensions              []dimension `json:"dimensions"`
	Metrics                 []any       `json:"metrics"`
	Unit                    string      `json:"unit"`
	Period                  int32       `json:"period"`
	EvaluationPeriods       int32       `json:"evaluationPeriods"`
	DatapointsToAlarm       int32       `json:"datapointsToAlarm"`
	Threshold               float64     `json:"threshold"`
	ComparisonOperator      string      `json:"comparisonOperator"`
	TreatMissingData        string      `json:"treatMissingData"`
	ActionsEnabled          *bool       `json:"actionsEnabled"`
	AlarmActions            []string    `json:"alarmActions"`
	OKActions               []string    `json:"oKActions"`
	InsufficientDataActions []string    `json:"insufficientDataActions"`
}

type mtrans struct {
	MetricName      string            `json:"metricName"`
	MetricNamespace string            `json:"metricNamespace"`
	MetricValue     string            `json:"metricValue"`
	DefaultValue    *float64          `json:"defaultValue"`
	Unit            string            `json:"unit"`
	Dimensions      map[string]string `json:"dimensions"`
}

type dimension struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// targets names the controls a call touched: filters on the deployment's
// log group and alarms of the table, in the topic's region. Anything else
// (another log group, another alarm, another region) is none of the rule's
// business.
func targets(call *trigger.APICall, p params) ([]rule.Target, error) {
	if !p.enabled() || call.Region != p.Region || call.Account != "" && call.Account != p.Account {
		return nil, nil
	}
	if _, ok := p.Deployers.Made(call); ok && call.Actor.InvokedBy == cloudFormation {
		// Rampart's stack deploying (it creates these filters and alarms):
		// judging between its steps would race it, and a filter or alarm
		// Rampart created first would fail the stack's own create. The
		// hourly sweep judges what the stack left. Anyone else's stack is
		// judged at once: deploying a stack proves nothing.
		return nil, nil
	}
	var req request
	if len(call.Request) > 0 && string(call.Request) != "null" {
		if err := json.Unmarshal(call.Request, &req); err != nil {
			return nil, fmt.Errorf("%w: %s requestParameters: %w", trigger.ErrInput, call.EventName, err)
		}
	}
	ev := evidence{Event: call.EventName}
	var names []string
	switch call.EventName {
	case "PutMetricFilter", "DeleteMetricFilter":
		if req.LogGroupName == "" || req.FilterName == "" {
			return nil, fmt.Errorf("%w: %s names no log group or filter", trigger.ErrInput, call.EventName)
		}
		names = []string{req.FilterName}
		if req.LogGroupName != p.LogGroup || cis.ByName(req.FilterName) == nil {
			// Another filter: the rule's business only when it publishes to
			// a control's metric (it can cancel the count out).
			names = nil
			for _, m := range req.MetricTransformations {
				if m.MetricNamespace == cis.Namespace && cis.ByName(m.MetricName) != nil {
					names = append(names, m.MetricName)
				}
			}
			if len(names) == 0 {
				return nil, nil
			}
		}
		if call.EventName == "PutMetricFilter" {
			f := cis.Filter{LogGroup: req.LogGroupName, Name: req.FilterName}
			if req.FilterPattern != nil {
				f.Pattern = *req.FilterPattern
			}
			if len(req.MetricTransformations) > 0 {
				m := req.MetricTransformations[0]
				f.MetricName, f.Namespace, f.Value, f.DefaultValue, f.Unit = m.MetricName, m.MetricNamespace, m.MetricValue, m.DefaultValue, m.Unit
				f.Dimensions = m.Dimensions
			}
			ev.Filter = &f
		}
	case "DeleteAlarms", "DisableAlarmActions":
		names = req.AlarmNames
	case "PutMetricAlarm":
		names = []string{req.AlarmName}
		a := req.alarm()
		ev.Alarm = &a
	default:
		return nil, nil
	}
	if len(names) == 0 || slices.Contains(names, "") {
		return nil, fmt.Errorf("%w: %s names no filter or alarm", trigger.ErrInput, call.EventName)
	}
	var out []rule.Target
	for _, n := range names {
		if cis.ByName(n) != nil {
			out = append(out, rule.Target{Type: ResourceType, ID: n, Region: call.Region, Evidence: ev})
		}
	}
	return out, nil
}

// alarm is the alarm a PutMetricAlarm request writes.
func (r *request) alarm() cis.Alarm {
	a := cis.Alarm{
		Name: r.AlarmName, Description: r.AlarmDescription, MetricName: r.MetricName, Namespace: r.Namespace,
		Statistic: r.Statistic, ExtendedStatistic: r.ExtendedStatistic, Unit: r.Unit,
		PeriodSeconds: r.Period, EvaluationPeriods: r.EvaluationPeriods, DatapointsToAlarm: r.DatapointsToAlarm,
		Threshold: r.Threshold, Comparison: r.ComparisonOperator, TreatMissingData: r.TreatMissingData,
		ActionsEnabled: r.ActionsEnabled == nil || *r.ActionsEnabled, // the API's default is true
		AlarmActions:   r.AlarmActions, OKActions: r.OKActions, InsufficientData: r.InsufficientDataActions,
		MetricMath: len(r.Metrics) > 0,
	}
	for _, d := range r.Dimensions {
		a.Dimensions = append(a.Dimensions, d.Name+"="+d.Value)
	}
	return a
}

// plan is the state the call left behind, offline: what it did not touch
// is taken as deployed.
func plan(t rule.Target, p params) (State, error) {
	ev, ok := t.Evidence.(evidence)
	c := cis.ByName(t.ID)
	if !ok || c == nil {
		return State{}, rule.Undecided("the trigger says nothing about " + t.ID)
	}
	wf, wa := c.WantFilter(p.LogGroup), c.WantAlarm(p.Topic)
	st := State{Filters: []cis.Filter{wf}, Alarm: &wa}
	switch ev.Event {
	case "DeleteMetricFilter":
		st.Filters = nil
	case "PutMetricFilter":
		if f := ev.Filter; f.LogGroup == p.LogGroup && f.Name == t.ID {
			st.Filters = []cis.Filter{*f}
		} else {
			st.Foreign = []cis.Filter{*f}
		}
	case "DeleteAlarms":
		st.Alarm = nil
	case "DisableAlarmActions":
		wa.ActionsEnabled = false
	case "PutMetricAlarm":
		st.Alarm = ev.Alarm
	}
	return st, nil
}
