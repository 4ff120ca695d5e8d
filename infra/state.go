package main

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/jsii-runtime-go"

	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/notifystate"
)

// StateTableName is the notification state table's name, the same in every
// region: the daily digest reads every region's table by it.
const StateTableName = "rampart-notify-state"

// DigestScheduleExpression sends the daily digest at 08:00 UTC.
const DigestScheduleExpression = "cron(0 8 * * ? *)"

// addNotificationState gives the stack its notification state (see
// internal/notifystate): a DynamoDB table every function records its decisions
// in so that it notifies transitions only, and, in the first region, the
// daily digest of open findings across all regions. It returns the table.
func addNotificationState(rs *RampartStack, props *RampartStackProps) awsdynamodb.Table {
	stack := rs.Stack
	table := awsdynamodb.NewTable(stack, jsii.String("NotificationState"), &awsdynamodb.TableProps{
		TableName:           jsii.String(StateTableName),
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String(notifystate.AttrKey), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String(notifystate.AttrTTL),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true)},
		Encryption: awsdynamodb.TableEncryption_AWS_MANAGED,
		// The state can be lost at the cost of one repeated message per open
		// finding; a retained table would block redeploying the fixed name.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
		IndexName:      jsii.String(notifystate.OpenIndex),
		PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String(notifystate.AttrOpen), Type: awsdynamodb.AttributeType_STRING},
		SortKey:        &awsdynamodb.Attribute{Name: jsii.String(notifystate.AttrKey), Type: awsdynamodb.AttributeType_STRING},
		ProjectionType: awsdynamodb.ProjectionType_ALL,
	})
	var digest *RemediationFunction
	for i := range rs.Plan.Functions {
		fn := rs.Functions[rs.Plan.Functions[i].Name]
		if fn == nil {
			continue
		}
		if digest == nil {
			digest = fn
		}
		// The grants are in the function's one role (roles.go): its own
		// region's table by name, and, for the digest, every region's index.
		fn.Function.AddEnvironment(jsii.String(engine.EnvStateTable), jsii.String(StateTableName), nil)
	}
	regions := props.Settings.Regions
	if digest == nil || len(regions) == 0 || !rs.Plan.IsHome() {
		return table
	}
	// The home region's first function sends the digest, reading the open
	// index of every region's table.
	digest.Function.AddEnvironment(jsii.String(engine.EnvDigestRegions), jsii.String(strings.Join(regions, ",")), nil)
	awsevents.NewRule(digest.Construct, jsii.String("Digest"), &awsevents.RuleProps{
		RuleName:    jsii.String(engine.DigestSchedule),
		Description: jsii.String("Rampart: the daily digest of open findings, one message per account"),
		Schedule:    awsevents.Schedule_Expression(jsii.String(DigestScheduleExpression)),
		Targets:     &[]awsevents.IRuleTarget{target(digest)},
	})
	digest.watchRule(engine.DigestSchedule) // its failed invocations alarm in the function's composite
	return table
}
