package cisalarms

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/cis"
	"github.com/rampart-aws/rampart/internal/rule"
)

// Rule is cis-alarms.
var Rule = rule.Define(rule.Spec[State, params]{
	Meta:    &meta,
	Parse:   parse,
	Targets: targets,
	Observe: observe,
	Plan:    plan,
	Judge:   judge,
	Apply:   apply,
	Sweep:   sweep,
})

// filtersAPI and alarmsAPI are what the rule reads.
type filtersAPI interface {
	DescribeMetricFilters(context.Context, *cloudwatchlogs.DescribeMetricFiltersInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeMetricFiltersOutput, error)
}

type logGroupsAPI interface {
	DescribeLogGroups(context.Context, *cloudwatchlogs.DescribeLogGroupsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error)
}

// logGroupExists reads whether the log group exists: asked only when a
// control's filter is missing, to tell a deleted filter from a deleted
// log group (which no PutMetricFilter can fix).
func logGroupExists(ctx context.Context, api logGroupsAPI, name string) (bool, error) {
	pg := cloudwatchlogs.NewDescribeLogGroupsPaginator(api, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return false, fmt.Errorf("describe the log group %s: %w", name, err)
		}
		for _, g := range page.LogGroups {
			if aws.ToString(g.LogGroupName) == name {
				return true, nil
			}
		}
	}
	return false, nil
}

type alarmsAPI interface {
	DescribeAlarms(context.Context, *cloudwatch.DescribeAlarmsInput, ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
}

// readFilters reads the filters of the log group whose names begin with
// prefix, by name. A log group that does not exist has none.
func readFilters(ctx context.Context, api filtersAPI, logGroup, prefix string) (map[string][]cis.Filter, error) {
	out := map[string][]cis.Filter{}
	pg := cloudwatchlogs.NewDescribeMetricFiltersPaginator(api, &cloudwatchlogs.DescribeMetricFiltersInput{
		LogGroupName: aws.String(logGroup), FilterNamePrefix: aws.String(prefix)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if awsclient.HasCode(err, "ResourceNotFoundException") {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("describe the metric filters of %s: %w", logGroup, err)
		}
		for _, f := range page.MetricFilters {
			out[aws.ToString(f.FilterName)] = append(out[aws.ToString(f.FilterName)], fromFilter(f))
		}
	}
	return out, nil
}

func fromFilter(f logtypes.MetricFilter) cis.Filter {
	out := cis.Filter{LogGroup: aws.ToString(f.LogGroupName), Name: aws.ToString(f.FilterName), Pattern: aws.ToString(f.FilterPattern)}
	if len(f.MetricTransformations) > 0 {
		m := f.MetricTransformations[0]
		out.MetricName, out.Namespace, out.Value = aws.ToString(m.MetricName), aws.ToString(m.MetricNamespace), aws.ToString(m.MetricValue)
		out.DefaultValue, out.Unit = m.DefaultValue, string(m.Unit)
		if len(m.Dimensions) > 0 {
			out.Dimensions = m.Dimensions
		}
	}
	return out
}

// readAlarms reads the named metric alarms (at most 100 names a call).
func readAlarms(ctx context.Context, api alarmsAPI, names []string) (map[string]*cis.Alarm, error) {
	out := map[string]*cis.Alarm{}
	for chunk := range slices.Chunk(names, 100) {
		pg := cloudwatch.NewDescribeAlarmsPaginator(api, &cloudwatch.DescribeAlarmsInput{
			AlarmNames: chunk, AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm}})
		for pg.HasMorePages() {
			page, err := pg.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("describe the alarms %s: %w", strings.Join(chunk, ", "), err)
			}
			for _, a := range page.MetricAlarms {
				al := fromAlarm(a)
				out[al.Name] = &al
			}
		}
	}
	return out, nil
}

func fromAlarm(a cwtypes.MetricAlarm) cis.Alarm {
	out := cis.Alarm{
		Name: aws.ToString(a.AlarmName), Description: aws.ToString(a.AlarmDescription),
		MetricName: aws.ToString(a.MetricName), Namespace: aws.ToString(a.Namespace),
		Statistic: string(a.Statistic), ExtendedStatistic: aws.ToString(a.ExtendedStatistic), Unit: string(a.Unit),
		PeriodSeconds: aws.ToInt32(a.Period), EvaluationPeriods: aws.ToInt32(a.EvaluationPeriods), DatapointsToAlarm: aws.ToInt32(a.DatapointsToAlarm),
		Threshold: aws.ToFloat64(a.Threshold), Comparison: string(a.ComparisonOperator), TreatMissingData: aws.ToString(a.TreatMissingData),
		ActionsEnabled: aws.ToBool(a.ActionsEnabled), AlarmActions: a.AlarmActions, OKActions: a.OKActions, InsufficientData: a.InsufficientDataActions,
		MetricMath: len(a.Metrics) > 0,
	}
	for _, d := range a.Dimensions {
		out.Dimensions = append(out.Dimensions, aws.ToString(d.Name)+"="+aws.ToString(d.Value))
	}
	return out
}

// inScope reports whether the session is in the topic's account and
// region: the alarms, the topic and the log group are there, and a
// same-named alarm elsewhere is not the deployment's.
func inScope(env rule.Env, p params) error {
	f := env.Facts()
	if f.Region != p.Region || f.Account != "" && f.Account != p.Account {
		return fmt.Errorf("the CIS alarms are in %s %s but this session is in %s %s", p.Account, p.Region, f.Account, f.Region)
	}
	return nil
}

// observe reads one control's filter, the other filters publishing to its
// metric and its alarm: three calls.
func observe(ctx context.Context, env rule.Env, t rule.Target, p params) (State, error) {
	if !p.enabled() || cis.ByName(t.ID) == nil {
		return State{}, rule.Gone(t.ID + " is not a CIS alarm of this deployment")
	}
	if err := inScope(env, p); err != nil {
		return State{}, err
	}
	logs := awsclient.Client(env.Session, cloudwatchlogs.NewFromConfig)
	filters, err := readFilters(ctx, logs, p.LogGroup, t.ID)
	if err != nil {
		return State{}, err
	}
	foreign, err := readForeign(ctx, logs, p.LogGroup, t.ID)
	if err != nil {
		return State{}, err
	}
	alarms, err := readAlarms(ctx, awsclient.Client(env.Session, cloudwatch.NewFromConfig), []string{t.ID})
	if err != nil {
		return State{}, err
	}
	st := State{Filters: filters[t.ID], Alarm: alarms[t.ID], Foreign: foreign}
	if len(st.Filters) == 0 {
		ok, err := logGroupExists(ctx, logs, p.LogGroup)
		if err != nil {
			return State{}, err
		}
		st.NoLogGroup = !ok
	}
	return st, nil
}

// readForeign reads the filters, on any log group, that publish to the
// control's metric other than the control's own filter on logGroup.
func readForeign(ctx context.Context, api filtersAPI, logGroup, name string) ([]cis.Filter, error) {
	var out []cis.Filter
	pg := cloudwatchlogs.NewDescribeMetricFiltersPaginator(api, &cloudwatchlogs.DescribeMetricFiltersInput{
		MetricName: aws.String(name), MetricNamespace: aws.String(cis.Namespace)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe the metric filters publishing to %s/%s: %w", cis.Namespace, name, err)
		}
		for _, f := range page.MetricFilters {
			if aws.ToString(f.LogGroupName) != logGroup || aws.ToString(f.FilterName) != name {
				out = append(out, fromFilter(f))
			}
		}
	}
	return out, nil
}

// sweep lists every control with its state: the log group's filters and
// the alarms in one call each, and per control the filters of any log
// group publishing to its metric (2 + 15 calls); nothing outside
// the topic's account and region or when the deployment names no log group.
func sweep(ctx context.Context, env rule.Env, p params) ([]rule.Target, error) {
	if !p.enabled() || inScope(env, p) != nil {
		return nil, nil
	}
	filters, err := readFilters(ctx, awsclient.Client(env.Session, cloudwatchlogs.NewFromConfig), p.LogGroup, cis.Prefix)
	if err != nil {
		return nil, fmt.Errorf("sweep %s: %w", ID, err)
	}
	alarms, err := readAlarms(ctx, awsclient.Client(env.Session, cloudwatch.NewFromConfig), cis.Names())
	if err != nil {
		return nil, fmt.Errorf("sweep %s: %w", ID, err)
	}
	logs := awsclient.Client(env.Session, cloudwatchlogs.NewFromConfig)
	noLogGroup := false
	if slices.ContainsFunc(cis.Names(), func(n string) bool { return len(filters[n]) == 0 }) {
		ok, err := logGroupExists(ctx, logs, p.LogGroup)
		if err != nil {
			return nil, fmt.Errorf("sweep %s: %w", ID, err)
		}
		noLogGroup = !ok
	}
	var out []rule.Target
	for _, n := range cis.Names() {
		foreign, err := readForeign(ctx, logs, p.LogGroup, n)
		if err != nil {
			return nil, fmt.Errorf("sweep %s: %w", ID, err)
		}
		st := State{Filters: filters[n], Alarm: alarms[n], Foreign: foreign, NoLogGroup: noLogGroup && len(filters[n]) == 0}
		out = append(out, rule.Target{Type: ResourceType, ID: n, Region: p.Region, State: st})
	}
	return out, nil
}

// apply makes one action of a plan, or its undo.
func apply(ctx context.Context, env rule.Env, a rule.Action) error {
	var err error
	switch a.API {
	case APIPutFilter, APIDeleteFilter:
		var f cis.Filter
		if err := a.Decode(&f); err != nil {
			return err
		}
		if f.LogGroup == "" || f.Name == "" {
			return fmt.Errorf("%s: params need logGroupName and filterName", a.API)
		}
		logs := awsclient.Client(env.Session, cloudwatchlogs.NewFromConfig)
		if a.API == APIDeleteFilter {
			_, err = logs.DeleteMetricFilter(ctx, &cloudwatchlogs.DeleteMetricFilterInput{LogGroupName: aws.String(f.LogGroup), FilterName: aws.String(f.Name)})
			if awsclient.HasCode(err, "ResourceNotFoundException") {
				return fmt.Errorf("%s %s: %w", a.API, f.Name, rule.ErrNoOp)
			}
			break
		}
		mt := logtypes.MetricTransformation{MetricName: aws.String(f.MetricName), MetricNamespace: aws.String(f.Namespace),
			MetricValue: aws.String(f.Value), DefaultValue: f.DefaultValue, Dimensions: f.Dimensions}
		if f.Unit != "" {
			mt.Unit = logtypes.StandardUnit(f.Unit)
		}
		_, err = logs.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String(f.LogGroup), FilterName: aws.String(f.Name),
			FilterPattern: aws.String(f.Pattern), MetricTransformations: []logtypes.MetricTransformation{mt}})
	case APIPutAlarm, APIDeleteAlarms:
		var al cis.Alarm
		if err := a.Decode(&al); err != nil {
			return err
		}
		if al.Name == "" {
			return fmt.Errorf("%s: params need alarmName", a.API)
		}
		cw := awsclient.Client(env.Session, cloudwatch.NewFromConfig)
		if a.API == APIDeleteAlarms {
			_, err = cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{al.Name}})
			break
		}
		_, err = cw.PutMetricAlarm(ctx, putAlarmInput(al))
	default:
		return fmt.Errorf("%s cannot apply %s", ID, a.API)
	}
	if err != nil {
		return fmt.Errorf("%s on %s in %s: %w", a.API, a.Target, env.Session.Region, err)
	}
	return nil
}

// putAlarmInput is the PutMetricAlarm request that writes al whole.
func putAlarmInput(al cis.Alarm) *cloudwatch.PutMetricAlarmInput {
	in := &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String(al.Name), MetricName: aws.String(al.MetricName), Namespace: aws.String(al.Namespace),
		Period: aws.Int32(al.PeriodSeconds), EvaluationPeriods: aws.Int32(al.EvaluationPeriods),
		Threshold: aws.Float64(al.Threshold), ComparisonOperator: cwtypes.ComparisonOperator(al.Comparison),
		ActionsEnabled: aws.Bool(al.ActionsEnabled), AlarmActions: al.AlarmActions, OKActions: al.OKActions, InsufficientDataActions: al.InsufficientData,
	}
	if al.Description != "" {
		in.AlarmDescription = aws.String(al.Description)
	}
	if al.Statistic != "" {
		in.Statistic = cwtypes.Statistic(al.Statistic)
	}
	if al.ExtendedStatistic != "" {
		in.ExtendedStatistic = aws.String(al.ExtendedStatistic)
	}
	if al.Unit != "" {
		in.Unit = cwtypes.StandardUnit(al.Unit)
	}
	if al.DatapointsToAlarm != 0 {
		in.DatapointsToAlarm = aws.Int32(al.DatapointsToAlarm)
	}
	if al.TreatMissingData != "" {
		in.TreatMissingData = aws.String(al.TreatMissingData)
	}
	for _, d := range al.Dimensions {
		name, value, _ := strings.Cut(d, "=")
		in.Dimensions = append(in.Dimensions, cwtypes.Dimension{Name: aws.String(name), Value: aws.String(value)})
	}
	return in
}
