package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/jsii-runtime-go"

	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
)

// The dashboards, derived from the plan like the alarms. Every region gets
// one, rampart-<region> (dashboard names are account-wide): its alarms,
// the decisions, violations, remediations, failures and exemptions of each
// rule wired there, its functions' errors and throttles, and its
// dead-letter queues' depth. The home region's also shows every covered
// region's totals side by side (cross-region SEARCH expressions), so a
// region that stops deciding stands out.
//
// One dashboard per region rather than one with a row per region: an alarm
// status widget shows alarms of the dashboard's region, and each body stays
// small (17 regions × every rule in one body approaches the limits).

// dashboardMetrics are the engine's per-rule EMF metrics (internal/report/metrics.go,
// dimension Rule) and their titles.
var dashboardMetrics = []struct{ Name, Title string }{
	{"Decisions", "Decisions"},
	{"Violations", "Violations"},
	{"Remediated", "Remediations"},
	{"Failed", "Failures"},
	{"Exempt", "Exemptions"},
}

// dashboardName is the region's dashboard.
func dashboardName(region string) string { return "rampart-" + region }

// maxAlarmsPerWidget is CloudWatch's limit for an alarm status widget.
const maxAlarmsPerWidget = 100

// regionRules are the rules wired in the plan's region (an event, Config
// rule or sweep there), in catalog order.
func regionRules(p *regionPlan) []rule.Rule {
	var out []rule.Rule
	for _, f := range p.Functions {
		for _, r := range f.Rules {
			if slices.Contains(f.EventRules, r) || slices.Contains(f.ConfigRules, r) || slices.Contains(f.Sweeps, r) {
				out = append(out, r)
			}
		}
	}
	return out
}

// notifyingAlarmNames are the region's alarms that notify on their own: the
// composites, the rules' log alarms, the heartbeats, the operations alarms
// (operations.go), the forwarding DLQ.
func notifyingAlarmNames(p *regionPlan) []string {
	var out []string
	for _, f := range p.Functions {
		out = append(out, compositeAlarmName(f.Name))
		for _, r := range f.Rules {
			for _, la := range r.Meta().LogAlarms {
				out = append(out, "rampart-"+r.Meta().ID+"-"+la.Name)
			}
		}
		for _, r := range f.Sweeps {
			if slices.Contains(heartbeatRules, r.Meta().ID) {
				out = append(out, "rampart-"+r.Meta().ID+"-heartbeat")
			}
		}
	}
	for _, a := range operationsAlarms {
		out = append(out, a.name)
	}
	if !p.IsHome() {
		out = append(out, "rampart-forward-dlq")
	}
	return out
}

// newDashboard adds the region's dashboard (the stack's last step: every
// alarm exists). regions are all covered regions (the home dashboard's
// overview).
func newDashboard(rs *RampartStack, s *Settings) awscloudwatch.Dashboard {
	p := &rs.Plan
	stack := rs.Stack
	d := awscloudwatch.NewDashboard(stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName:   jsii.String(dashboardName(p.Region)),
		DefaultInterval: awscdk.Duration_Days(jsii.Number(7)),
	})
	// The app's "app" tag: cfn-lint 1.51 (and CloudFormation's published
	// schema it follows) knows no Tags on a dashboard, which the CDK would add.
	awscdk.Tags_Of(d).Remove(jsii.String("app"), nil)
	rules := regionRules(p)
	var fns []string
	for _, f := range p.Functions {
		fns = append(fns, f.Name)
	}
	role := "a covered region: its alarms reach the topic through the home region " + s.HomeRegion
	if p.IsHome() {
		role = "the home region: the topic, the function roles, the global rules"
	}
	d.AddWidgets(awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{
		Width: jsii.Number(24), Height: jsii.Number(2),
		Markdown: jsii.String(fmt.Sprintf("# Rampart in %s\n%s. Functions: %s. %d rules wired here. Generated from the rule catalog; docs/deploy.md explains every alarm.",
			p.Region, role, strings.Join(fns, ", "), len(rules))),
	}))

	// Alarms: those that notify, then the composites' children.
	var notifying []interfacesawscloudwatch.IAlarmRef
	for i, n := range notifyingAlarmNames(p) {
		notifying = append(notifying, awscloudwatch.Alarm_FromAlarmName(stack, jsii.String(fmt.Sprintf("DashboardAlarm%d", i)), jsii.String(n)))
	}
	d.AddWidgets(awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
		Title:  jsii.String("Alarms that notify (composite per function, findings, heartbeats)"),
		Alarms: &notifying, Width: jsii.Number(24), Height: jsii.Number(4),
		SortBy: awscloudwatch.AlarmStatusWidgetSortBy_STATE_UPDATED_TIMESTAMP,
	}))
	var children []interfacesawscloudwatch.IAlarmRef
	for _, f := range p.Functions {
		if fn := rs.Functions[f.Name]; fn != nil {
			for _, a := range fn.Alarms {
				children = append(children, a)
			}
		}
	}
	for i := 0; i < len(children); i += maxAlarmsPerWidget {
		part := children[i:min(i+maxAlarmsPerWidget, len(children))]
		d.AddWidgets(awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
			Title:  jsii.String("Function alarms (what raised a composite)"),
			Alarms: &part, Width: jsii.Number(24), Height: jsii.Number(6),
			SortBy: awscloudwatch.AlarmStatusWidgetSortBy_STATE_UPDATED_TIMESTAMP,
		}))
	}

	if len(rs.CISAlarms) > 0 {
		var cisAlarms []interfacesawscloudwatch.IAlarmRef
		for _, a := range rs.CISAlarms {
			cisAlarms = append(cisAlarms, a)
		}
		d.AddWidgets(awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
			Title:  jsii.String("CIS monitoring alarms on the trail's log group " + s.TrailLogGroup + " (docs/cis-alarms.md)"),
			Alarms: &cisAlarms, Width: jsii.Number(24), Height: jsii.Number(4),
			SortBy: awscloudwatch.AlarmStatusWidgetSortBy_STATE_UPDATED_TIMESTAMP,
		}))
	}

	// Per rule: one graph per metric, one line per rule wired here.
	var graphs []awscloudwatch.IWidget
	for _, m := range dashboardMetrics {
		var lines []awscloudwatch.IMetric
		for _, r := range rules {
			lines = append(lines, awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace: jsii.String(report.Namespace), MetricName: jsii.String(m.Name),
				DimensionsMap: &map[string]*string{"Rule": jsii.String(r.Meta().ID)},
				Statistic:     jsii.String("Sum"), Period: awscdk.Duration_Hours(jsii.Number(1)),
				Label: jsii.String(r.Meta().ID),
			}))
		}
		graphs = append(graphs, awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(m.Title + " per rule (" + p.Region + ")"), Left: &lines,
			Width: jsii.Number(8), Height: jsii.Number(6), Stacked: jsii.Bool(true),
		}))
	}
	var sources []awscloudwatch.IMetric
	for _, src := range []string{"tag", "list"} {
		sources = append(sources, awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(report.Namespace), MetricName: jsii.String("Exempt"),
			DimensionsMap: &map[string]*string{"Source": jsii.String(src)},
			Statistic:     jsii.String("Sum"), Period: awscdk.Duration_Hours(jsii.Number(1)),
			Label: jsii.String("exempt by " + src),
		}))
	}
	graphs = append(graphs, awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
		Title: jsii.String("Exemptions by source (tag, list)"), Left: &sources, Width: jsii.Number(8), Height: jsii.Number(6),
	}))
	d.AddWidgets(graphs...)

	// The functions and their dead-letter queues.
	var errs, dlqs []awscloudwatch.IMetric
	for _, f := range p.Functions {
		fn := rs.Functions[f.Name]
		if fn == nil {
			continue
		}
		errs = append(errs,
			fn.Function.MetricErrors(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: awscdk.Duration_Minutes(jsii.Number(5)), Label: jsii.String(f.Name + " errors")}),
			fn.Function.MetricThrottles(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: awscdk.Duration_Minutes(jsii.Number(5)), Label: jsii.String(f.Name + " throttles")}))
		dlqs = append(dlqs, fn.DLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Statistic: jsii.String("Maximum"), Period: awscdk.Duration_Minutes(jsii.Number(5)), Label: jsii.String(dlqName(f.Name))}))
	}
	if !p.IsHome() {
		dlqs = append(dlqs, awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String("AWS/SQS"), MetricName: jsii.String("ApproximateNumberOfMessagesVisible"),
			DimensionsMap: &map[string]*string{"QueueName": jsii.String("rampart-forward-dlq")},
			Statistic:     jsii.String("Maximum"), Period: awscdk.Duration_Minutes(jsii.Number(5)), Label: jsii.String("rampart-forward-dlq"),
		}))
	}
	d.AddWidgets(
		awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String("Function errors and throttles"), Left: &errs, Width: jsii.Number(12), Height: jsii.Number(6)}),
		awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String("Dead-letter queue depth"), Left: &dlqs, Width: jsii.Number(12), Height: jsii.Number(6)}),
	)

	if p.IsHome() && len(s.Regions) > 1 {
		var overview []awscloudwatch.IWidget
		for _, m := range dashboardMetrics {
			var lines []awscloudwatch.IMetric
			for _, region := range s.Regions {
				lines = append(lines, awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
					Expression:   jsii.String(fmt.Sprintf(`SUM(SEARCH('{%s,Rule} MetricName="%s"', 'Sum', 3600))`, report.Namespace, m.Name)),
					SearchRegion: jsii.String(region),
					Label:        jsii.String(region),
					Period:       awscdk.Duration_Hours(jsii.Number(1)),
					UsingMetrics: &map[string]awscloudwatch.IMetric{},
				}))
			}
			overview = append(overview, awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
				Title: jsii.String(m.Title + " per region (all rules)"), Left: &lines,
				Width: jsii.Number(8), Height: jsii.Number(6), Stacked: jsii.Bool(true),
			}))
		}
		d.AddWidgets(awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{
			Width: jsii.Number(24), Height: jsii.Number(1),
			Markdown: jsii.String(fmt.Sprintf("## Every covered region (%d): totals of all rules; each region's dashboard rampart-<region> has the detail", len(s.Regions))),
		}))
		d.AddWidgets(overview...)
	}
	return d
}
