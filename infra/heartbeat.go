package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/rampart-aws/rampart/internal/report"
)

// heartbeatRules are the rules whose scheduled sweep reports at least one
// decision on every run whatever the account holds, so that silence means
// the sweep did not run or did not finish: config-tampering decides the
// region's Config setup (always one decision), self-protection every
// Rampart EventBridge rule and function (Rampart always has some, its own
// sweep schedule among them). Other sweeps report nothing in an account
// without their resources, and would raise a false alarm.
var heartbeatRules = []string{"config-tampering", "self-protection"}

// maxHeartbeatWindow is CloudWatch's limit on an alarm's period times its
// evaluation periods.
const maxHeartbeatWindow = 24 * time.Hour

// heartbeatWindow is the period of a sweep's heartbeat alarm: two sweep
// intervals (one late or failed run is tolerated, two in a row are not),
// capped at a day. ok is false for a schedule that is not rate(…).
func heartbeatWindow(schedule string) (time.Duration, bool) {
	inner, ok := strings.CutPrefix(schedule, "rate(")
	if !ok {
		return 0, false
	}
	if inner, ok = strings.CutSuffix(inner, ")"); !ok {
		return 0, false
	}
	num, unit, ok := strings.Cut(strings.TrimSpace(inner), " ")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n < 1 {
		return 0, false
	}
	var d time.Duration
	switch strings.TrimSuffix(unit, "s") {
	case "minute":
		d = time.Duration(n) * time.Minute
	case "hour":
		d = time.Duration(n) * time.Hour
	case "day":
		d = time.Duration(n) * 24 * time.Hour
	default:
		return 0, false
	}
	return min(2*d, maxHeartbeatWindow), true
}

// NewHeartbeats adds a heartbeat alarm for each heartbeat rule swept in the
// plan's region: raised when the rule's Decisions metric (Rampart
// namespace, dimension Rule; the engine writes it in Embedded Metric Format
// on every invocation that decides something) has no data point for a whole
// window. Missing data is breaching: a sweep that stops running reports
// nothing at all. The alarm notifies the topic: directly in the home region
// (action), through the alarm relay elsewhere (action is nil there).
func NewHeartbeats(scope constructs.Construct, plan regionPlan, action awscloudwatch.IAlarmAction) ([]awscloudwatch.Alarm, error) {
	var out []awscloudwatch.Alarm
	for _, f := range plan.Functions {
		for _, r := range f.Sweeps {
			m := r.Meta()
			if !slices.Contains(heartbeatRules, m.ID) {
				continue
			}
			window, ok := heartbeatWindow(m.Schedule)
			if !ok {
				return nil, fmt.Errorf("rule %s: heartbeat needs a rate(…) schedule, not %q", m.ID, m.Schedule)
			}
			metric := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace:     jsii.String(report.Namespace),
				MetricName:    jsii.String("Decisions"),
				DimensionsMap: &map[string]*string{"Rule": jsii.String(m.ID)},
				Statistic:     jsii.String("Sum"),
				Period:        awscdk.Duration_Seconds(jsii.Number(window.Seconds())),
			})
			a := awscloudwatch.NewAlarm(scope, jsii.String("Heartbeat-"+m.ID), &awscloudwatch.AlarmProps{
				AlarmName: jsii.String("rampart-" + m.ID + "-heartbeat"),
				AlarmDescription: jsii.String(fmt.Sprintf("Rampart's %s sweep (%s, function %s) reported no decision for %s: "+
					"its schedule, function or role may have been disabled or broken. Check the function's logs and errors alarm.",
					m.ID, m.Schedule, f.Name, hours(window))),
				Metric:             metric,
				Threshold:          jsii.Number(1),
				EvaluationPeriods:  jsii.Number(1),
				ComparisonOperator: awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD,
				TreatMissingData:   awscloudwatch.TreatMissingData_BREACHING,
			})
			addAction(a, action)
			out = append(out, a)
		}
	}
	return out, nil
}

// hours writes a whole number of hours, or minutes.
func hours(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return fmt.Sprintf("%d minutes", int(d.Minutes()))
}
