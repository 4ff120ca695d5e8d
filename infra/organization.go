package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudformation"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsconfig"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/rampart-aws/rampart/internal/rule"
)

// Organization mode: one deploy, from the organization's delegated
// administrator ("security") account, covers every member account of the
// organization (or of the OUs named). See docs/architecture.md and
// docs/deploy.md.

// Organization is the "rampart:organization" context key.
type Organization struct {
	// ID is the organization ID, o-…: the central bus admits, and the
	// member role trusts, only principals of this organization.
	ID string `json:"id"`
	// ManagementAccount is the management account's ID. StackSets never
	// deploy to it, so the organization Config rules leave it out too.
	ManagementAccount string `json:"managementAccount,omitempty"`
	// Targets is "all" (the organization's root, Root) or a list of OU IDs.
	Targets OrgTargets `json:"targets"`
	// Root is the root ID, r-…, needed when Targets is "all" (StackSets
	// target OUs or the root, never "the organization").
	Root string `json:"root,omitempty"`
	// MemberRoleName is the remediation role in every member account;
	// default rampart-member.
	MemberRoleName string `json:"memberRoleName,omitempty"`
	// MaxConcurrency bounds the concurrent sweeps of one function in one
	// region (the fan-out queue's event source mapping); default 5.
	MaxConcurrency int `json:"maxConcurrency,omitempty"`
}

// OrgTargets is "all" or a list of OU IDs.
type OrgTargets struct {
	All bool
	OUs []string
}

// UnmarshalJSON reads "all" or ["ou-…", …].
func (t *OrgTargets) UnmarshalJSON(b []byte) error {
	var all string
	if err := json.Unmarshal(b, &all); err == nil {
		if all != "all" {
			return fmt.Errorf(`targets: %q: want "all" or a list of OU IDs`, all)
		}
		t.All = true
		return nil
	}
	return json.Unmarshal(b, &t.OUs)
}

// MarshalJSON writes what UnmarshalJSON reads.
func (t OrgTargets) MarshalJSON() ([]byte, error) {
	if t.All {
		return json.Marshal("all")
	}
	return json.Marshal(t.OUs)
}

// DeploymentTargets are the StackSet's organizational units.
func (o *Organization) DeploymentTargets() []string {
	if o.Targets.All {
		return []string{o.Root}
	}
	return slices.Clone(o.Targets.OUs)
}

const (
	defaultMemberRoleName = "rampart-member"
	defaultOrgConcurrency = 5
)

var (
	orgIDRE      = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	ouIDRE       = regexp.MustCompile(`^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$`)
	rootIDRE     = regexp.MustCompile(`^r-[0-9a-z]{4,32}$`)
	accountIDRE  = regexp.MustCompile(`^\d{12}$`)
	roleNameRE   = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	orgKeyPrefix = ctxOrganization + ": "
)

// parseOrganization reads and validates rampart:organization.
func (s *Settings) parseOrganization(read func(string, any) bool) []string {
	var o Organization
	if !read(ctxOrganization, &o) {
		return nil
	}
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, orgKeyPrefix+fmt.Sprintf(format, args...)) }
	if !orgIDRE.MatchString(o.ID) {
		bad("id %q is not an organization ID (o-…)", o.ID)
	}
	if o.ManagementAccount != "" {
		if !accountIDRE.MatchString(o.ManagementAccount) {
			bad("managementAccount %q is not a 12-digit account ID", o.ManagementAccount)
		} else if o.ManagementAccount == s.Account {
			bad("deploy from the delegated administrator (security) account, not the management account %s", o.ManagementAccount)
		}
	}
	switch {
	case o.Targets.All:
		if !rootIDRE.MatchString(o.Root) {
			bad(`targets "all" needs root, the organization's root ID (r-…; aws organizations list-roots)`)
		}
	case len(o.Targets.OUs) == 0:
		bad(`targets: want "all" or a list of OU IDs`)
	default:
		for i, ou := range o.Targets.OUs {
			if !ouIDRE.MatchString(ou) && !rootIDRE.MatchString(ou) {
				bad("targets: %q is not an OU ID (ou-…) or root ID (r-…)", ou)
			}
			if slices.Contains(o.Targets.OUs[:i], ou) {
				bad("targets: %s listed twice", ou)
			}
		}
	}
	if o.MemberRoleName == "" {
		o.MemberRoleName = defaultMemberRoleName
	}
	if !roleNameRE.MatchString(o.MemberRoleName) || strings.HasPrefix(o.MemberRoleName, "rampart-") && len(o.MemberRoleName) > 64 {
		bad("memberRoleName %q is not an IAM role name", o.MemberRoleName)
	}
	if o.MaxConcurrency == 0 {
		o.MaxConcurrency = defaultOrgConcurrency
	}
	if o.MaxConcurrency < 2 || o.MaxConcurrency > 1000 {
		bad("maxConcurrency %d is outside 2–1000 (Lambda's bounds for an SQS event source)", o.MaxConcurrency)
	}
	s.Organization = &o
	return errs
}

// newSweepQueue is a function's fan-out queue in one region (organization
// mode): the scheduled sweep, instead of looping over every member account
// in one invocation that could outrun its timeout, sends one message per
// account-region to this queue, and Lambda feeds them back to the function
// one by one with bounded concurrency (newSweepSource). Messages that keep
// failing end in the function's dead-letter queue.
func newSweepQueue(scope constructs.Construct, function string, s *Settings, dlq awssqs.IQueue) awssqs.Queue {
	return awssqs.NewQueue(scope, jsii.String("SweepQueue"), &awssqs.QueueProps{
		QueueName:  jsii.String(sweepQueueName(function)),
		Encryption: awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL: jsii.Bool(true),
		// Lambda's advice for an SQS event source: six times the timeout.
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(float64(6 * s.TimeoutSeconds))),
		RetentionPeriod:   awscdk.Duration_Days(jsii.Number(1)),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(3)},
	})
}

// newSweepSource feeds the fan-out queue to the function: one message per
// invocation, at most concurrency invocations at once.
func newSweepSource(scope constructs.Construct, fn awslambda.Function, q awssqs.IQueue, concurrency int) awslambda.EventSourceMapping {
	return fn.AddEventSourceMapping(jsii.String("SweepSource"), &awslambda.EventSourceMappingOptions{
		EventSourceArn: q.QueueArn(),
		BatchSize:      jsii.Number(1),
		MaxConcurrency: jsii.Number(float64(concurrency)),
	})
}

// newOrgBusPolicy lets the organization's accounts, and only them, put
// events on this region's default bus (the member accounts' forwarding
// rules).
func newOrgBusPolicy(stack awscdk.Stack, region string, s *Settings) awsevents.CfnEventBusPolicy {
	return awsevents.NewCfnEventBusPolicy(stack, jsii.String("OrganizationPutEvents"), &awsevents.CfnEventBusPolicyProps{
		EventBusName: jsii.String("default"),
		StatementId:  jsii.String("rampart-organization"),
		Statement: map[string]any{
			"Sid":       "rampart-organization",
			"Effect":    "Allow",
			"Principal": "*",
			"Action":    "events:PutEvents",
			"Resource":  busARN(region, s.Account),
			"Condition": map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": s.Organization.ID}},
		},
	})
}

// newOrgConfigInvokePermission lets AWS Config invoke the function for the
// organization rules. Config invokes it from each member account, so the
// permission cannot name one source account, and Lambda's SourceArn admits
// no account wildcard: the narrowest grant is the Config service principal.
// What the function then does in a member account goes through the member
// role, which it may assume only in the organization (aws:ResourceOrgID).
func newOrgConfigInvokePermission(scope constructs.Construct, fn *RemediationFunction) awslambda.CfnPermission {
	return awslambda.NewCfnPermission(scope, jsii.String("OrgConfigInvoke"), &awslambda.CfnPermissionProps{
		Action:       jsii.String("lambda:InvokeFunction"),
		FunctionName: fn.Function.FunctionArn(),
		Principal:    jsii.String("config.amazonaws.com"),
	})
}

// orgConfigRuleName is the organization rule's name (at most 64 characters).
func orgConfigRuleName(m *rule.Meta) string {
	return truncate("rampart-org-"+m.ID, 64)
}

// newOrgConfigRule is a rule's organization Config custom rule in this
// region: Config creates it in every member account, invoking this region's
// function; the evaluations are put into the member account. The security
// account (which has its own rule) and the management account (which
// StackSets never reach, so it has no member role) are excluded.
func newOrgConfigRule(scope constructs.Construct, m *rule.Meta, params map[string]string, fn *RemediationFunction, perm awslambda.CfnPermission, s *Settings) (awsconfig.CfnOrganizationConfigRule, error) {
	c := m.Config
	var triggers []string
	if len(c.ResourceTypes) > 0 {
		triggers = append(triggers, "ConfigurationItemChangeNotification", "OversizedConfigurationItemChangeNotification")
	}
	var freq *string
	if c.Frequency != "" {
		triggers = append(triggers, "ScheduledNotification")
		freq = jsii.String(c.Frequency)
	}
	var input *string
	if len(params) > 0 {
		b, err := json.Marshal(params)
		if err != nil {
			return nil, err
		}
		if len(b) > 2048 {
			return nil, fmt.Errorf("rule %s: organization Config input parameters are %d bytes, over Config's 2048", m.ID, len(b))
		}
		input = jsii.String(string(b))
	}
	excluded := []string{s.Account}
	if o := s.Organization; o.ManagementAccount != "" {
		excluded = append(excluded, o.ManagementAccount)
	}
	var types *[]*string
	if len(c.ResourceTypes) > 0 {
		types = jsii.Strings(c.ResourceTypes...)
	}
	r := awsconfig.NewCfnOrganizationConfigRule(scope, jsii.String("OrgConfig-"+m.ID), &awsconfig.CfnOrganizationConfigRuleProps{
		OrganizationConfigRuleName: jsii.String(orgConfigRuleName(m)),
		ExcludedAccounts:           jsii.Strings(excluded...),
		OrganizationCustomRuleMetadata: &awsconfig.CfnOrganizationConfigRule_OrganizationCustomRuleMetadataProperty{
			Description:                        jsii.String(truncate(m.Title+". "+m.Remediation, 256)),
			LambdaFunctionArn:                  fn.Function.FunctionArn(),
			OrganizationConfigRuleTriggerTypes: jsii.Strings(triggers...),
			ResourceTypesScope:                 types,
			MaximumExecutionFrequency:          freq,
			InputParameters:                    input,
		},
	})
	r.AddResourceDependency(perm, jsii.String("Config checks it may invoke the function when the rule is created"))
	return r, nil
}

// memberStackSetName names the StackSet of the member accounts.
const memberStackSetName = "rampart-member"

// newMemberStackSet is the service-managed StackSet that gives every member
// account of the targets (new ones automatically) the member template in
// every covered region. It lives in the home stack, after the function
// roles (the member role trusts their exact ARNs, which must exist).
func newMemberStackSet(stack awscdk.Stack, s *Settings, body string, after []constructs.IDependable) awscloudformation.CfnStackSet {
	o := s.Organization
	ss := awscloudformation.NewCfnStackSet(stack, jsii.String("MemberStackSet"), &awscloudformation.CfnStackSetProps{
		StackSetName:    jsii.String(memberStackSetName),
		Description:     jsii.String("Rampart member accounts: forward Rampart's events to the security account; the member remediation role"),
		PermissionModel: jsii.String("SERVICE_MANAGED"),
		CallAs:          jsii.String("DELEGATED_ADMIN"),
		AutoDeployment: &awscloudformation.CfnStackSet_AutoDeploymentProperty{
			Enabled:                      jsii.Bool(true),
			RetainStacksOnAccountRemoval: jsii.Bool(false),
		},
		Capabilities:     jsii.Strings("CAPABILITY_NAMED_IAM"),
		ManagedExecution: map[string]any{"Active": true}, // the L1 takes raw JSON here
		OperationPreferences: &awscloudformation.CfnStackSet_OperationPreferencesProperty{
			RegionConcurrencyType:      jsii.String("PARALLEL"),
			MaxConcurrentPercentage:    jsii.Number(25),
			FailureTolerancePercentage: jsii.Number(10),
		},
		StackInstancesGroup: []any{&awscloudformation.CfnStackSet_StackInstancesProperty{
			DeploymentTargets: &awscloudformation.CfnStackSet_DeploymentTargetsProperty{
				OrganizationalUnitIds: jsii.Strings(o.DeploymentTargets()...),
				// The security account runs Rampart itself.
				AccountFilterType: jsii.String("DIFFERENCE"),
				Accounts:          jsii.Strings(s.Account),
			},
			Regions: jsii.Strings(s.Regions...),
		}},
		TemplateBody: jsii.String(body),
	})
	for _, d := range after {
		ss.Node().AddDependency(d)
	}
	return ss
}
