package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/rampart-aws/rampart/internal/rule"
)

// RemediationFunctionProps configure one Rampart Lambda function.
type RemediationFunctionProps struct {
	Plan     *functionPlan
	Region   string
	Settings *Settings
	// Env is the function's environment (see Settings.functionEnv).
	Env map[string]string
	// Role is the function's role (roles.go), imported by ARN.
	Role awsiam.IRole
	// DependsOn is what the function must wait for in this stack (the role
	// and its policy in the home region), or nil.
	DependsOn constructs.IDependable
	// AlarmAction notifies the topic from the home region; nil elsewhere,
	// where the alarm relay (forwarding.go) carries alarms home.
	AlarmAction awscloudwatch.IAlarmAction
	// FanOutConcurrency, when positive (organization mode), gives each
	// sweep a fan-out queue read with this bounded concurrency.
	FanOutConcurrency int
}

// RemediationFunction is one Lambda function of functions/<name> with its
// own role, log group, dead-letter queue and alarms.
type RemediationFunction struct {
	constructs.Construct
	// Name is the function's name under functions/.
	Name     string
	Function awslambda.Function
	// Role is the function's role, created once in the home stack
	// (roles.go) and referred to by ARN here.
	Role awsiam.IRole
	// DLQ receives the events the function failed on, from Lambda's
	// asynchronous invocations (EventBridge, Config) and from EventBridge
	// targets that could not invoke it.
	DLQ awssqs.Queue
	// SweepQueue feeds the function the account-region pairs of its sweeps
	// (organization mode), nil otherwise.
	SweepQueue awssqs.Queue
	// Alarms are the children of the function's composite alarm
	// rampart-<name> (monitoring.go): alarms without actions, whose
	// descriptions begin with childMarker (use childAlarm). Append to it
	// before newCompositeAlarms runs, at the end of NewRampartStack.
	Alarms []awscloudwatch.IAlarm
}

// NewRemediationFunction builds the function from dist/<name>, which the
// build (make build) must have produced.
func NewRemediationFunction(scope constructs.Construct, id string, props *RemediationFunctionProps) (*RemediationFunction, error) {
	p := props.Plan
	asset := filepath.Join(props.Settings.DistDir, p.Name)
	if st, err := os.Stat(asset); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("function %s: asset directory %s is missing: build the functions first (make build)", p.Name, asset)
	}
	c := constructs.NewConstruct(scope, jsii.String(id))

	role := props.Role
	// Named, so that the function's one role (roles.go) grants them in
	// every region by name.
	logs := awslogs.NewLogGroup(c, jsii.String("Logs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String(logGroupName(p.Name)),
		Retention:     retentionDays[props.Settings.LogRetentionDays],
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})

	dlq := awssqs.NewQueue(c, jsii.String("DLQ"), &awssqs.QueueProps{
		QueueName:       jsii.String(dlqName(p.Name)),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})

	env := map[string]*string{}
	for k, v := range props.Env {
		env[k] = jsii.String(v)
	}
	var sweepQueue awssqs.Queue
	if props.FanOutConcurrency > 0 && len(p.Sweeps) > 0 {
		sweepQueue = newSweepQueue(c, p.Name, props.Settings, dlq)
		env[envSweepQueueURL] = sweepQueue.QueueUrl()
	}
	var ids []string
	for _, r := range p.Rules {
		ids = append(ids, r.Meta().ID)
	}
	desc := truncate("Rampart "+p.Name+": "+strings.Join(ids, ", "), 256)
	fn := awslambda.NewFunction(c, jsii.String("Function"), &awslambda.FunctionProps{
		FunctionName:  jsii.String(functionName(p.Name)),
		Description:   jsii.String(desc),
		Code:          awslambda.Code_FromAsset(jsii.String(asset), nil),
		Handler:       jsii.String("bootstrap"),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		MemorySize:    jsii.Number(float64(props.Settings.memoryFor(p.Name))),
		Timeout:       awscdk.Duration_Seconds(jsii.Number(float64(props.Settings.TimeoutSeconds))),
		Role:          role,
		LogGroup:      logs,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		Tracing:       awslambda.Tracing_ACTIVE,
		Environment:   &env,
		OnFailure:     awslambdadestinations.NewSqsDestination(dlq),
		RetryAttempts: jsii.Number(2),
		MaxEventAge:   awscdk.Duration_Hours(jsii.Number(6)),
	})

	// In the home region the role is in this stack: the function must not
	// run before the role and its permissions exist. Elsewhere the stack
	// depends on the home stack.
	if props.DependsOn != nil {
		fn.Node().AddDependency(props.DependsOn)
	}
	if sweepQueue != nil {
		newSweepSource(c, fn, sweepQueue, props.FanOutConcurrency)
	}

	rf := &RemediationFunction{Construct: c, Name: p.Name, Function: fn, Role: role, DLQ: dlq, SweepQueue: sweepQueue}
	action := props.AlarmAction
	// The errors and dead-letter alarms are children of the function's
	// composite alarm, which notifies (monitoring.go).
	rf.childAlarm("ErrorsAlarm", fmt.Sprintf("rampart-%s-errors", p.Name),
		fmt.Sprintf("Rampart function %s failed: its logs say why; events it gave up on are in its dead-letter queue.", p.Name),
		fn.MetricErrors(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Sum")}), 1)
	rf.childAlarm("DLQAlarm", fmt.Sprintf("rampart-%s-dlq", p.Name),
		fmt.Sprintf("Events Rampart function %s could not handle wait in its dead-letter queue: inspect, fix, redrive.", p.Name),
		dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Maximum")}), 1)
	rf.addFunctionAlarms(p, logs)
	for _, r := range p.Rules {
		for _, la := range r.Meta().LogAlarms {
			addAction(logAlarm(c, logs, r.Meta().ID, la), action)
		}
	}

	cdknag.NagSuppressions_AddResourceSuppressions(dlq, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is itself the dead-letter queue: the function's on-failure destination and its " +
			"EventBridge targets' DLQ. A DLQ of a DLQ adds nothing; the DLQ-depth alarm watches it."),
	}}, jsii.Bool(true))

	return rf, nil
}

// retentionDays maps the CloudWatch Logs retention values to the CDK enum.
var retentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

// logAlarm is a rule's aggregate alarm on its function's decision log: a
// metric filter counting the matching records (namespace Rampart, metric
// <rule>-<alarm>) and an alarm at the rule's threshold.
func logAlarm(scope constructs.Construct, logs awslogs.ILogGroup, ruleID string, la rule.LogAlarm) awscloudwatch.Alarm {
	name := ruleID + "-" + la.Name
	mf := awslogs.NewMetricFilter(scope, jsii.String("LogMetric-"+name), &awslogs.MetricFilterProps{
		LogGroup:        logs,
		FilterPattern:   awslogs.FilterPattern_Literal(jsii.String(la.Pattern)),
		MetricNamespace: jsii.String("Rampart"),
		MetricName:      jsii.String(name),
		MetricValue:     jsii.String("1"),
	})
	return alarm(scope, "LogAlarm-"+name, "rampart-"+name, truncate(la.Description, 1024),
		mf.Metric(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(float64(la.Minutes))), Statistic: jsii.String("Sum")}),
		la.Threshold)
}

// passRoles are the role ARNs the function's rules may hand to a service
// (rule.Meta.PassRoles): the deployed values of those parameters. A rule
// whose role parameter is unset passes no role, and gets no iam:PassRole.
func passRoles(rules []rule.Rule, s *Settings) ([]string, error) {
	var out []string
	for _, r := range rules {
		m := r.Meta()
		if len(m.PassRoles) == 0 {
			continue
		}
		p, err := m.Resolve(s.Params[m.ID])
		if err != nil {
			return nil, err
		}
		for _, name := range m.PassRoles {
			if v := p[name]; v != "" && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// alarm is every Rampart alarm's shape: raised when one period of the metric
// reaches the threshold; no data is not a breach.
func alarm(scope constructs.Construct, id, name, description string, metric awscloudwatch.IMetric, threshold int) awscloudwatch.Alarm {
	return awscloudwatch.NewAlarm(scope, jsii.String(id), &awscloudwatch.AlarmProps{
		AlarmName:          jsii.String(name),
		AlarmDescription:   jsii.String(description),
		Metric:             metric,
		Threshold:          jsii.Number(float64(threshold)),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
}

// addAction adds the alarm's action, absent outside the home region, where
// the alarm relay (forwarding.go) carries its state changes home.
func addAction(a awscloudwatch.Alarm, action awscloudwatch.IAlarmAction) {
	if action != nil {
		a.AddAlarmAction(action)
	}
}
