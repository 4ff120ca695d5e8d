// Package cis is the one declarative table of the CIS AWS Foundations
// Benchmark monitoring controls: for each, the CloudWatch Logs metric filter
// on the trail's log group and the CloudWatch alarm on its metric
// (Security Hub's CloudWatch.1–CloudWatch.14; CIS v1.2.0 3.1–3.14, v1.4.0
// 4.1–4.15).
//
// The infrastructure creates the filters and alarms from it (infra/cis.go)
// and the cis-alarms rule restores them from it: both read the same values,
// so what the stack deploys is exactly what the rule judges against. It
// holds data and pure helpers only: no AWS call, no CDK.
package cis

import (
	"fmt"
	"strings"
)

// The alarm shape every control shares, as the benchmark prescribes it
// (aws cloudwatch put-metric-alarm --statistic Sum --period 300 --threshold 1
// --comparison-operator GreaterThanOrEqualToThreshold --evaluation-periods 1):
// one matching event in five minutes raises the alarm.
const (
	// Namespace holds every control's metric ("Using the same
	// metricNamespace for all Foundations Benchmark metrics will group them
	// together").
	Namespace         = "CISBenchmark"
	MetricValue       = "1"
	Statistic         = "Sum"
	PeriodSeconds     = 300
	EvaluationPeriods = 1
	Comparison        = "GreaterThanOrEqualToThreshold"
	// TreatMissingData: a quiet five minutes is not a breach.
	TreatMissingData = "notBreaching"
)

// Prefix begins the name of every filter, metric and alarm of the table.
// It is not Rampart's "rampart-": these are the account's security alarms,
// guarded by cis-alarms (which restores them), not by self-protection
// (which only alerts).
const Prefix = "cis-"

// Control is one monitoring control: a metric filter on the trail's log
// group counting the matching CloudTrail records, and an alarm on it.
type Control struct {
	// SecurityHub is the Security Hub control ID (CloudWatch.1); empty for
	// the controls it has no check for.
	SecurityHub string
	// CIS names the benchmark recommendations: "1.2.0 3.3, 1.4.0 4.3".
	CIS string
	// Slug names the control: the filter, the metric and the alarm are all
	// Prefix + Slug.
	Slug  string
	Title string
	// Pattern is the exact CloudWatch Logs filter pattern the benchmark
	// prescribes: Security Hub fails a control whose pattern differs, even
	// by an added term.
	Pattern string
	// Threshold matching records within PeriodSeconds raise the alarm.
	Threshold int
}

// Name is the control's filter, metric and alarm name.
func (c *Control) Name() string { return Prefix + c.Slug }

// Description is the alarm's description.
func (c *Control) Description() string {
	ref := "CIS " + c.CIS
	if c.SecurityHub != "" {
		ref = "Security Hub " + c.SecurityHub + ", " + ref
	}
	return "CIS AWS Foundations monitoring control (" + ref + "): " + c.Title +
		". Counts the matching CloudTrail records of the trail's log group; kept in place by Rampart (rule cis-alarms)."
}

// Controls are every monitoring control, in Security Hub's order. The
// patterns are Security Hub's CloudWatch.1–14 remediation patterns, and
// CIS v1.4.0 4.15's for Organizations changes.
var Controls = []Control{
	{SecurityHub: "CloudWatch.1", CIS: "1.2.0 3.3, 1.4.0 4.3", Slug: "root-usage", Threshold: 1,
		Title:   "usage of the root user",
		Pattern: `{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}`},
	{SecurityHub: "CloudWatch.2", CIS: "1.2.0 3.1, 1.4.0 4.1", Slug: "unauthorized-api-calls", Threshold: 1,
		Title:   "unauthorized API calls",
		Pattern: `{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}`},
	{SecurityHub: "CloudWatch.3", CIS: "1.2.0 3.2, 1.4.0 4.2", Slug: "console-signin-without-mfa", Threshold: 1,
		Title:   "Management Console sign-in without MFA",
		Pattern: `{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }`},
	{SecurityHub: "CloudWatch.4", CIS: "1.2.0 3.4, 1.4.0 4.4", Slug: "iam-policy-changes", Threshold: 1,
		Title: "IAM policy changes",
		Pattern: `{($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || ($.eventName=PutGroupPolicy) || ` +
			`($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || ($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ` +
			`($.eventName=CreatePolicyVersion) || ($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || ` +
			`($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) || ($.eventName=DetachGroupPolicy)}`},
	{SecurityHub: "CloudWatch.5", CIS: "1.2.0 3.5, 1.4.0 4.5", Slug: "cloudtrail-changes", Threshold: 1,
		Title:   "CloudTrail configuration changes",
		Pattern: `{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || ($.eventName=DeleteTrail) || ($.eventName=StartLogging) || ($.eventName=StopLogging)}`},
	{SecurityHub: "CloudWatch.6", CIS: "1.2.0 3.6, 1.4.0 4.6", Slug: "console-auth-failures", Threshold: 1,
		Title:   "Management Console authentication failures",
		Pattern: `{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}`},
	{SecurityHub: "CloudWatch.7", CIS: "1.2.0 3.7, 1.4.0 4.7", Slug: "cmk-disable-or-deletion", Threshold: 1,
		Title:   "disabling or scheduled deletion of customer managed keys",
		Pattern: `{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}`},
	{SecurityHub: "CloudWatch.8", CIS: "1.2.0 3.8, 1.4.0 4.8", Slug: "s3-bucket-policy-changes", Threshold: 1,
		Title: "S3 bucket policy changes",
		Pattern: `{($.eventSource=s3.amazonaws.com) && (($.eventName=PutBucketAcl) || ($.eventName=PutBucketPolicy) || ($.eventName=PutBucketCors) || ` +
			`($.eventName=PutBucketLifecycle) || ($.eventName=PutBucketReplication) || ($.eventName=DeleteBucketPolicy) || ($.eventName=DeleteBucketCors) || ` +
			`($.eventName=DeleteBucketLifecycle) || ($.eventName=DeleteBucketReplication))}`},
	{SecurityHub: "CloudWatch.9", CIS: "1.2.0 3.9, 1.4.0 4.9", Slug: "config-changes", Threshold: 1,
		Title: "AWS Config configuration changes",
		Pattern: `{($.eventSource=config.amazonaws.com) && (($.eventName=StopConfigurationRecorder) || ($.eventName=DeleteDeliveryChannel) || ` +
			`($.eventName=PutDeliveryChannel) || ($.eventName=PutConfigurationRecorder))}`},
	{SecurityHub: "CloudWatch.10", CIS: "1.2.0 3.10, 1.4.0 4.10", Slug: "security-group-changes", Threshold: 1,
		Title: "security group changes",
		Pattern: `{($.eventName=AuthorizeSecurityGroupIngress) || ($.eventName=AuthorizeSecurityGroupEgress) || ($.eventName=RevokeSecurityGroupIngress) || ` +
			`($.eventName=RevokeSecurityGroupEgress) || ($.eventName=CreateSecurityGroup) || ($.eventName=DeleteSecurityGroup)}`},
	{SecurityHub: "CloudWatch.11", CIS: "1.2.0 3.11, 1.4.0 4.11", Slug: "nacl-changes", Threshold: 1,
		Title: "network ACL changes",
		Pattern: `{($.eventName=CreateNetworkAcl) || ($.eventName=CreateNetworkAclEntry) || ($.eventName=DeleteNetworkAcl) || ` +
			`($.eventName=DeleteNetworkAclEntry) || ($.eventName=ReplaceNetworkAclEntry) || ($.eventName=ReplaceNetworkAclAssociation)}`},
	{SecurityHub: "CloudWatch.12", CIS: "1.2.0 3.12, 1.4.0 4.12", Slug: "network-gateway-changes", Threshold: 1,
		Title: "network gateway changes",
		Pattern: `{($.eventName=CreateCustomerGateway) || ($.eventName=DeleteCustomerGateway) || ($.eventName=AttachInternetGateway) || ` +
			`($.eventName=CreateInternetGateway) || ($.eventName=DeleteInternetGateway) || ($.eventName=DetachInternetGateway)}`},
	{SecurityHub: "CloudWatch.13", CIS: "1.2.0 3.13, 1.4.0 4.13", Slug: "route-table-changes", Threshold: 1,
		Title: "route table changes",
		Pattern: `{($.eventName=CreateRoute) || ($.eventName=CreateRouteTable) || ($.eventName=ReplaceRoute) || ($.eventName=ReplaceRouteTableAssociation) || ` +
			`($.eventName=DeleteRouteTable) || ($.eventName=DeleteRoute) || ($.eventName=DisassociateRouteTable)}`},
	{SecurityHub: "CloudWatch.14", CIS: "1.2.0 3.14, 1.4.0 4.14", Slug: "vpc-changes", Threshold: 1,
		Title: "VPC changes",
		Pattern: `{($.eventName=CreateVpc) || ($.eventName=DeleteVpc) || ($.eventName=ModifyVpcAttribute) || ($.eventName=AcceptVpcPeeringConnection) || ` +
			`($.eventName=CreateVpcPeeringConnection) || ($.eventName=DeleteVpcPeeringConnection) || ($.eventName=RejectVpcPeeringConnection) || ` +
			`($.eventName=AttachClassicLinkVpc) || ($.eventName=DetachClassicLinkVpc) || ($.eventName=DisableVpcClassicLink) || ($.eventName=EnableVpcClassicLink)}`},
	{CIS: "1.4.0 4.15", Slug: "organizations-changes", Threshold: 1,
		Title: "AWS Organizations changes",
		Pattern: `{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = "AcceptHandshake") || ($.eventName = "AttachPolicy") || ` +
			`($.eventName = "CreateAccount") || ($.eventName = "CreateOrganizationalUnit") || ($.eventName = "CreatePolicy") || ` +
			`($.eventName = "DeclineHandshake") || ($.eventName = "DeleteOrganization") || ($.eventName = "DeleteOrganizationalUnit") || ` +
			`($.eventName = "DeletePolicy") || ($.eventName = "DetachPolicy") || ($.eventName = "DisablePolicyType") || ` +
			`($.eventName = "EnablePolicyType") || ($.eventName = "InviteAccountToOrganization") || ($.eventName = "LeaveOrganization") || ` +
			`($.eventName = "MoveAccount") || ($.eventName = "RemoveAccountFromOrganization") || ($.eventName = "UpdatePolicy") || ` +
			`($.eventName = "UpdateOrganizationalUnit")) }`},
}

// ByName is the control whose filter, metric and alarm are named name, or nil.
func ByName(name string) *Control {
	for i := range Controls {
		if Controls[i].Name() == name {
			return &Controls[i]
		}
	}
	return nil
}

// Names are every control's name, in table order.
func Names() []string {
	out := make([]string, len(Controls))
	for i := range Controls {
		out[i] = Controls[i].Name()
	}
	return out
}

// Filter is a metric filter as the rule reads and writes it.
type Filter struct {
	LogGroup   string `json:"logGroupName"`
	Name       string `json:"filterName"`
	Pattern    string `json:"filterPattern"`
	MetricName string `json:"metricName"`
	Namespace  string `json:"metricNamespace"`
	Value      string `json:"metricValue"`
	// DefaultValue is the value published when no record matches; nil
	// publishes nothing.
	DefaultValue *float64 `json:"defaultValue,omitempty"`
	// Unit of the metric; empty for none.
	Unit string `json:"unit,omitempty"`
	// Dimensions the filter publishes the metric with: an alarm on the
	// metric without dimensions no longer sees it.
	Dimensions map[string]string `json:"dimensions,omitempty"`
}

// Alarm is a metric alarm as the rule reads and writes it: the fields that
// decide whether, and to whom, it notifies, plus those a faithful undo
// must put back.
type Alarm struct {
	Name              string   `json:"alarmName"`
	Description       string   `json:"alarmDescription,omitempty"`
	MetricName        string   `json:"metricName"`
	Namespace         string   `json:"namespace"`
	Statistic         string   `json:"statistic,omitempty"`
	ExtendedStatistic string   `json:"extendedStatistic,omitempty"`
	Dimensions        []string `json:"dimensions,omitempty"` // name=value
	Unit              string   `json:"unit,omitempty"`
	PeriodSeconds     int32    `json:"period"`
	EvaluationPeriods int32    `json:"evaluationPeriods"`
	DatapointsToAlarm int32    `json:"datapointsToAlarm,omitempty"` // 0: unset (= EvaluationPeriods)
	Threshold         float64  `json:"threshold"`
	Comparison        string   `json:"comparisonOperator"`
	TreatMissingData  string   `json:"treatMissingData,omitempty"`
	ActionsEnabled    bool     `json:"actionsEnabled"`
	AlarmActions      []string `json:"alarmActions,omitempty"`
	OKActions         []string `json:"okActions,omitempty"`
	InsufficientData  []string `json:"insufficientDataActions,omitempty"`
	// MetricMath is set when the alarm watches metric math (Metrics)
	// rather than one metric: never what a control wants.
	MetricMath bool `json:"metricMath,omitempty"`
}

// WantFilter is the control's metric filter on logGroup.
func (c *Control) WantFilter(logGroup string) Filter {
	return Filter{LogGroup: logGroup, Name: c.Name(), Pattern: c.Pattern, MetricName: c.Name(), Namespace: Namespace, Value: MetricValue}
}

// WantAlarm is the control's alarm, notifying topicARN.
func (c *Control) WantAlarm(topicARN string) Alarm {
	return Alarm{
		Name: c.Name(), Description: c.Description(), MetricName: c.Name(), Namespace: Namespace,
		Statistic: Statistic, PeriodSeconds: PeriodSeconds, EvaluationPeriods: EvaluationPeriods,
		Threshold: float64(c.Threshold), Comparison: Comparison, TreatMissingData: TreatMissingData,
		ActionsEnabled: true, AlarmActions: []string{topicARN},
	}
}

// DocTable is the Markdown table of every control, for docs/cis-alarms.md.
func DocTable() string {
	var b strings.Builder
	b.WriteString("| Security Hub | CIS | Filter, metric and alarm | Alarms on | Filter pattern |\n|---|---|---|---|---|\n")
	for i := range Controls {
		c := &Controls[i]
		sh := c.SecurityHub
		if sh == "" {
			sh = "—"
		}
		fmt.Fprintf(&b, "| %s | %s | `%s` | %s (≥ %d in %d s) | `%s` |\n", sh, c.CIS, c.Name(), c.Title, c.Threshold, PeriodSeconds,
			strings.ReplaceAll(c.Pattern, "|", `\|`))
	}
	return b.String()
}
