package main

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/rampart-aws/rampart/internal/notifystate"
)

// The function roles. IAM is global, so each function has ONE role, named
// rampart-<function>, created in the home region's stack and used by the
// function in every region. Its own resources in the other regions (log
// group, dead-letter queue, fan-out queue) have fixed names, so the role
// grants them by name in every region of the account; the rules' actions
// are granted on "*" as before (they act on whatever the event names).

// Environment of the functions besides internal/engine's own variables (the
// engine reads them; docs/architecture.md).
const (
	envHomeRegion    = "RAMPART_HOME_REGION"
	envRegions       = "RAMPART_REGIONS"
	envOrgID         = "RAMPART_ORG_ID"
	envMemberRole    = "RAMPART_MEMBER_ROLE"
	envSweepQueueURL = "RAMPART_SWEEP_QUEUE_URL"
)

// regionEnv are the deployment-wide variables every function gets.
func regionEnv(s *Settings) map[string]string {
	env := map[string]string{
		envHomeRegion: s.HomeRegion,
		envRegions:    strings.Join(s.Regions, ","),
	}
	if o := s.Organization; o != nil {
		env[envOrgID] = o.ID
		env[envMemberRole] = o.MemberRoleName
	}
	return env
}

// functionRole is one function's role and the policy that must exist before
// the function runs.
type functionRole struct {
	Role   awsiam.Role
	Policy awsiam.Policy
}

// newFunctionRole is the role of the function f (its home-region plan, which
// holds every rule, Config rule and sweep the function has anywhere).
// digest says whether the function sends the daily digest (state.go): it
// may scan the open findings of every region's state table.
func newFunctionRole(scope constructs.Construct, f *functionPlan, s *Settings, topic awssns.ITopic, key awskms.IKey, digest bool) (*functionRole, error) {
	part, acct := partitionOf(s.HomeRegion), s.Account
	role := awsiam.NewRole(scope, jsii.String("Role-"+f.Name), &awsiam.RoleProps{
		RoleName:    jsii.String(roleName(f.Name)),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String(fmt.Sprintf("Rampart %s (every region): exactly the actions its rules declare", f.Name)),
	})
	st := func(sid string, actions []string, resources ...string) awsiam.PolicyStatement {
		return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Sid: jsii.String(sid), Actions: jsii.Strings(actions...), Resources: jsii.Strings(resources...)})
	}
	var statements []awsiam.PolicyStatement
	// A rule's alerts (rule.AlertAPI, sns:Publish) go through the engine's
	// notifier to Rampart's topic: the Notify statement grants them there.
	// Write actions only a parameter enables are granted when it is set
	// (grants.go).
	ruleActions, err := grantedActions(f.Rules, s, false)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", f.Name, err)
	}
	if len(ruleActions) > 0 {
		statements = append(statements, st("RuleActions", ruleActions, "*"))
	}
	roles, err := passRoles(f.Rules, s)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", f.Name, err)
	}
	if len(roles) > 0 {
		statements = append(statements, st("PassRoles", []string{"iam:PassRole"}, roles...))
	}
	statements = append(statements,
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Sid: jsii.String("Notify"), Actions: jsii.Strings("sns:Publish"), Resources: &[]*string{topic.TopicArn()}}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Sid: jsii.String("NotifyEncrypted"), Actions: jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"), Resources: &[]*string{key.KeyArn()}}),
		st("OwnLogs", []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			fmt.Sprintf("arn:%s:logs:*:%s:log-group:%s:*", part, acct, logGroupName(f.Name))),
		st("OwnDeadLetterQueue", []string{"sqs:SendMessage"}, fmt.Sprintf("arn:%s:sqs:*:%s:%s", part, acct, dlqName(f.Name))),
		st("Tracing", []string{"xray:PutTelemetryRecords", "xray:PutTraceSegments"}, "*"),
		// Always allowed by AWS; stated so the policy says what the engine calls.
		st("WhoAmI", []string{"sts:GetCallerIdentity"}, "*"),
		// The notification state table of each region (state.go).
		st("NotificationState", []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
			fmt.Sprintf("arn:%s:dynamodb:*:%s:table/%s", part, acct, StateTableName)),
	)
	if digest {
		statements = append(statements, st("DigestReadsOpenFindings", []string{"dynamodb:Scan"},
			fmt.Sprintf("arn:%s:dynamodb:*:%s:table/%s/index/%s", part, acct, StateTableName, notifystate.OpenIndex)))
	}
	if s.SecurityHub {
		statements = append(statements, securityHubStatement(s)) // securityhub.go
	}
	if len(f.ConfigRules) > 0 {
		statements = append(statements, st("ReportToConfig", []string{"config:PutEvaluations"}, "*"))
	}
	if o := s.Organization; o != nil {
		statements = append(statements,
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:        jsii.String("MemberAccounts"),
				Actions:    jsii.Strings("sts:AssumeRole"),
				Resources:  jsii.Strings(fmt.Sprintf("arn:%s:iam::*:role/%s", part, o.MemberRoleName)),
				Conditions: &map[string]any{"StringEquals": map[string]any{"aws:ResourceOrgID": o.ID}},
			}),
			st("ListMemberAccounts", []string{"organizations:DescribeOrganization", "organizations:ListAccounts"}, "*"))
		if len(f.Sweeps) > 0 {
			statements = append(statements, st("SweepFanOut",
				[]string{"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:SendMessage"},
				fmt.Sprintf("arn:%s:sqs:*:%s:%s", part, acct, sweepQueueName(f.Name))))
		}
	}
	policy := awsiam.NewPolicy(scope, jsii.String("Policy-"+f.Name), &awsiam.PolicyProps{
		PolicyName: jsii.String(roleName(f.Name)),
		Roles:      &[]awsiam.IRole{role},
		Statements: &statements,
	})
	cdknag.NagSuppressions_AddResourceSuppressions(policy, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("The rules' actions are an exact list (no wildcard actions) and act on whichever resource the triggering " +
			"event or Config item names, anywhere in the account (Resource '*'); config:PutEvaluations, organizations:ListAccounts " +
			"and the X-Ray write actions support no resource-level permissions; the function's own log group and queues are " +
			"named and granted in every region (region '*'), the one role serving every region; the member role is granted in " +
			"every account of the organization only (aws:ResourceOrgID)."),
	}}, jsii.Bool(true))
	return &functionRole{Role: role, Policy: policy}, nil
}

// importRole refers to a function's role by ARN, immutably: the CDK's
// automatic grants (logs, X-Ray, destinations) are in the role's one policy
// already, and must not add per-region policies to it.
func importRole(scope constructs.Construct, id string, s *Settings, function string) awsiam.IRole {
	return awsiam.Role_FromRoleArn(scope, jsii.String(id), jsii.String(roleARN(s, function)), &awsiam.FromRoleArnOptions{Mutable: jsii.Bool(false)})
}
