// Package vpcflowlogs holds vpc-flow-logs: every VPC has an active flow log
// capturing the traffic the deployment asks for. A VPC left without one — a
// new VPC, or one whose flow log was deleted — gets a flow log to the
// deployment's destination (CloudWatch Logs or S3); with no destination
// configured the rule reports only.
//
// DeleteFlowLogs names flow logs, not VPCs, and a deleted flow log can no
// longer be described, so the VPCs to fix come from current state: the rule
// is a rule.Expander, and the engine judges each VPC of the region that now
// lacks an active flow log on its own — exempt VPCs are reported, the others
// get a flow log.
//
// The rule touches nothing but the flow log it creates: it never deletes or
// changes an existing flow log. Each flow log it creates is tagged
// rampart:created-by=vpc-flow-logs and rampart:token=<plan token>; the undo
// deletes exactly the flow log of that VPC carrying that token.
package vpcflowlogs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// ResourceType is the VPC's CloudFormation type.
const ResourceType = "AWS::EC2::VPC"

// IAM actions, as plans name them.
const (
	apiCreate           = "ec2:CreateFlowLogs"
	apiDelete           = "ec2:DeleteFlowLogs"
	apiDescribeFlowLogs = "ec2:DescribeFlowLogs"
	apiDescribeVpcs     = "ec2:DescribeVpcs"
)

// Parameter names.
const (
	ParamTrafficType     = "trafficType"
	ParamDestinationType = "destinationType"
	ParamLogGroup        = "logGroupName"
	ParamRole            = "deliverLogsRoleArn"
	ParamBucket          = "s3BucketArn"
)

// Destination types, as EC2 names them.
const (
	DestinationLogs = "cloud-watch-logs"
	DestinationS3   = "s3"
)

// Tags on every flow log Rampart creates.
const (
	TagCreatedBy = "rampart:created-by"
	TagToken     = "rampart:token"
)

// Rule is vpc-flow-logs.
var Rule = &flowLogRule{}

type flowLogRule struct{}

var meta = rule.Meta{
	ID:       "vpc-flow-logs",
	Title:    "Every VPC has an active flow log",
	Severity: rule.Medium,
	Rationale: "Flow logs are the network record of a VPC: without them there is no evidence of what talked to what during an incident. " +
		"Deleting them is a classic defence-evasion step (Stratus Red Team: aws.defense-evasion.vpc-remove-flow-logs).",
	Remediation: "Creates a flow log of the configured traffic type to the configured destination on each VPC left without an active one; " +
		"reports only when no destination is configured.",
	ResourceType: ResourceType,
	Function:     "ec2",
	CloudTrail: []rule.CloudTrailTrigger{{Source: "ec2.amazonaws.com",
		Events: []string{"CreateVpc", "DeleteFlowLogs"}}},
	Config:   &rule.ConfigTrigger{ResourceTypes: []string{ResourceType}, Frequency: rule.TwentyFourHour},
	Schedule: "rate(1 hour)",
	Params: []rule.Param{
		{Name: ParamTrafficType, Default: "ALL", Check: checkTraffic,
			Description: "traffic a VPC's flow log must capture and a new one records: ALL, REJECT or ACCEPT. ALL is the forensic record; REJECT costs far less on busy VPCs but shows only refused connections"},
		{Name: ParamDestinationType, Default: DestinationLogs, Check: checkDestination,
			Description: "where created flow logs go: cloud-watch-logs (needs logGroupName and deliverLogsRoleArn) or s3 (needs s3BucketArn)"},
		{Name: ParamLogGroup, Default: "", Description: "CloudWatch Logs log group for created flow logs"},
		{Name: ParamRole, Default: "", Check: checkRole, Description: "IAM role ARN that delivers flow logs to CloudWatch Logs"},
		{Name: ParamBucket, Default: "", Check: checkBucket, Description: "S3 bucket ARN (optionally with a /prefix) for created flow logs"},
	},
	ReadActions: []string{apiDescribeVpcs, apiDescribeFlowLogs},
	// CreateFlowLogs with tags needs ec2:CreateTags; an S3 destination needs
	// logs:CreateLogDelivery; a CloudWatch Logs destination passes the
	// delivery role.
	WriteActions: []string{apiCreate, "ec2:CreateTags", "logs:CreateLogDelivery"},
	PassRoles:    []string{ParamRole},
	// Flow logs are created only to a complete destination (destination).
	ParamWrites: []rule.ParamWrite{
		{Actions: []string{apiCreate, "ec2:CreateTags"}, When: []string{ParamDestinationType + "=" + DestinationLogs, ParamLogGroup, ParamRole}},
		{Actions: []string{apiCreate, "ec2:CreateTags", "logs:CreateLogDelivery"}, When: []string{ParamDestinationType + "=" + DestinationS3, ParamBucket}},
	},
}

func checkTraffic(s string) error {
	switch s {
	case "ALL", "ACCEPT", "REJECT":
		return nil
	}
	return errors.New("want ALL, ACCEPT or REJECT")
}

func checkDestination(s string) error {
	switch s {
	case DestinationLogs, DestinationS3:
		return nil
	}
	return fmt.Errorf("want %s or %s", DestinationLogs, DestinationS3)
}

func checkRole(s string) error {
	if s != "" && (!strings.HasPrefix(s, "arn:") || !strings.Contains(s, ":role/")) {
		return errors.New("want an IAM role ARN")
	}
	return nil
}

func checkBucket(s string) error {
	if s != "" && (!strings.HasPrefix(s, "arn:") || !strings.Contains(s, ":s3:::") || strings.HasSuffix(s, ":s3:::")) {
		return errors.New("want an S3 bucket ARN, e.g. arn:aws:s3:::flow-logs-bucket")
	}
	return nil
}

// Meta implements rule.Rule.
func (*flowLogRule) Meta() *rule.Meta { return &meta }

// Evidence of each trigger.
type (
	// created is a VPC a CreateVpc call just made: it has no flow log yet.
	created struct{}
	// deleted are the flow logs a DeleteFlowLogs call removed.
	deleted struct{ IDs []string }
	// swept is a VPC read by Sweep (or Expand) with the region's flow logs;
	// why, when set, starts the reason.
	swept struct {
		vpc  ec2types.Vpc
		logs []ec2types.FlowLog
		why  string
	}
	// covered says a deletion left every VPC with an active flow log.
	covered struct{ IDs []string }
)

// Targets implements rule.Rule.
func (*flowLogRule) Targets(call *trigger.APICall, _ rule.Params) ([]rule.Target, error) {
	switch call.EventName {
	case "CreateVpc":
		id, err := parseCreateVpc(call)
		if err != nil {
			return nil, fmt.Errorf("%w: CreateVpc: %v", trigger.ErrInput, err)
		}
		return []rule.Target{{Type: ResourceType, ID: id, Region: call.Region, Evidence: created{}}}, nil
	case "DeleteFlowLogs":
		ids, err := parseDeleteFlowLogs(call)
		if err != nil {
			return nil, fmt.Errorf("%w: DeleteFlowLogs: %v", trigger.ErrInput, err)
		}
		return []rule.Target{{Type: ResourceType, ID: strings.Join(ids, ","), Region: call.Region, Evidence: deleted{ids}}}, nil
	}
	return nil, nil
}

// Evaluate implements rule.Rule.
func (*flowLogRule) Evaluate(ctx context.Context, s *awsclient.Session, t rule.Target, p rule.Params) (rule.Finding, error) {
	switch ev := t.Evidence.(type) {
	case deleted:
		return afterDelete(ctx, s, ev, p)
	case swept:
		return judge(ev.vpc, ev.logs, p, ev.why), nil
	case covered:
		return rule.Finding{Verdict: rule.Compliant, Reason: "every VPC still has an active flow log after " + strings.Join(ev.IDs, ", ") + " were deleted"}, nil
	case created:
		if s.Offline {
			return violation(t.ID, p, "a new VPC has no flow log"), nil
		}
	}
	if s.Offline {
		return rule.Finding{Verdict: rule.NotApplicable, Reason: "offline: the trigger says nothing about the VPC's flow logs"}, nil
	}
	vpc, err := describeVpc(ctx, s, t.ID)
	if err != nil || vpc == nil {
		return gone(err, t.ID)
	}
	logs, err := flowLogs(ctx, s, t.ID)
	if err != nil {
		return rule.Finding{}, err
	}
	return judge(*vpc, logs, p, ""), nil
}

func gone(err error, id string) (rule.Finding, error) {
	if err != nil {
		return rule.Finding{}, err
	}
	return rule.Finding{Verdict: rule.NotApplicable, Reason: "VPC " + id + " no longer exists"}, nil
}

// Expand implements rule.Expander: a DeleteFlowLogs call names flow logs,
// not VPCs, so the VPCs it concerns are the ones current state shows without
// an active flow log. Each is then judged, exempted and fixed on its own,
// with no further read (two paginated lists in all).
func (*flowLogRule) Expand(ctx context.Context, s *awsclient.Session, t rule.Target, p rule.Params) ([]rule.Target, error) {
	ev, ok := t.Evidence.(deleted)
	if !ok {
		return nil, nil
	}
	bare, logs, err := bareVpcs(ctx, s, p)
	if err != nil {
		return nil, err
	}
	if len(bare) == 0 {
		return []rule.Target{{Type: ResourceType, ID: t.ID, Region: t.Region, Evidence: covered(ev)}}, nil
	}
	why := "the deletion of " + strings.Join(ev.IDs, ", ") + " left the VPC without an active flow log: "
	out := make([]rule.Target, 0, len(bare))
	for _, v := range bare {
		out = append(out, rule.Target{Type: ResourceType, ID: aws.ToString(v.VpcId), Region: t.Region, Evidence: swept{vpc: v, logs: logs, why: why}})
	}
	return out, nil
}

// bareVpcs are the region's VPCs without an active flow log of the wanted
// traffic, with the region's flow logs.
func bareVpcs(ctx context.Context, s *awsclient.Session, p rule.Params) ([]ec2types.Vpc, []ec2types.FlowLog, error) {
	vpcs, err := allVpcs(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	logs, err := allFlowLogs(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	var bare []ec2types.Vpc
	for _, v := range vpcs {
		if len(covering(aws.ToString(v.VpcId), logs, p[ParamTrafficType])) == 0 {
			bare = append(bare, v)
		}
	}
	return bare, logs, nil
}

// afterDelete judges a deletion without expansion: offline, or a caller
// that evaluates the event's target directly.
func afterDelete(ctx context.Context, s *awsclient.Session, ev deleted, p rule.Params) (rule.Finding, error) {
	ids := strings.Join(ev.IDs, ", ")
	if s.Offline {
		return rule.Finding{Verdict: rule.NotApplicable, Reason: "offline: the call deleted flow logs " + ids +
			", and the event does not name their VPCs; a live run checks which VPCs are left without an active flow log (DescribeVpcs, DescribeFlowLogs) and judges each"}, nil
	}
	bare, logs, err := bareVpcs(ctx, s, p)
	if err != nil {
		return rule.Finding{}, err
	}
	switch len(bare) {
	case 0:
		return rule.Finding{Verdict: rule.Compliant, Reason: "every VPC still has an active flow log after " + ids + " were deleted"}, nil
	case 1:
		return judge(bare[0], logs, p, "the deletion of "+ids+" left the VPC without an active flow log: "), nil
	}
	names := make([]string, len(bare))
	for i, v := range bare {
		names[i] = aws.ToString(v.VpcId)
	}
	return rule.Finding{Verdict: rule.Violation, Reason: fmt.Sprintf(
		"after the deletion of %s, %d VPCs lack an active flow log (%s); the event does not say which VPC a deleted flow log covered, and some may be exempt, "+
			"so Rampart reports only here: the periodic sweep judges each VPC on its own", ids, len(bare), strings.Join(names, ", "))}, nil
}

// judge decides one VPC from its flow logs.
func judge(vpc ec2types.Vpc, logs []ec2types.FlowLog, p rule.Params, prefix string) rule.Finding {
	id := aws.ToString(vpc.VpcId)
	tags := tagMap(vpc.Tags)
	if ok := covering(id, logs, p[ParamTrafficType]); len(ok) > 0 {
		return rule.Finding{Verdict: rule.Compliant, Resource: id, Tags: tags,
			Reason: fmt.Sprintf("flow log %s is active (%s traffic to %s)", aws.ToString(ok[0].FlowLogId), ok[0].TrafficType, ok[0].LogDestinationType)}
	}
	why := fmt.Sprintf("no active flow log captures %s traffic", p[ParamTrafficType])
	var other []string
	for _, l := range logs {
		if aws.ToString(l.ResourceId) == id {
			other = append(other, fmt.Sprintf("%s: %s %s", aws.ToString(l.FlowLogId), aws.ToString(l.FlowLogStatus), l.TrafficType))
		}
	}
	if len(other) > 0 {
		why += " (present: " + strings.Join(other, "; ") + ")"
	}
	f := violation(id, p, prefix+why)
	f.Tags = tags
	return f
}

// covering lists the VPC's active flow logs that capture the traffic type.
func covering(vpcID string, logs []ec2types.FlowLog, traffic string) []ec2types.FlowLog {
	var out []ec2types.FlowLog
	for _, l := range logs {
		if aws.ToString(l.ResourceId) != vpcID || aws.ToString(l.FlowLogStatus) != "ACTIVE" {
			continue
		}
		if l.TrafficType == ec2types.TrafficTypeAll || string(l.TrafficType) == traffic {
			out = append(out, l)
		}
	}
	return out
}

// violation is the finding for a VPC without a flow log, with the plan.
func violation(vpcID string, p rule.Params, reason string) rule.Finding {
	f := rule.Finding{Verdict: rule.Violation, Resource: vpcID, Reason: reason}
	cp, dest, ok := destination(p)
	if !ok {
		f.Reason += "; no flow-log destination is configured (" + ParamLogGroup + " and " + ParamRole + ", or " +
			ParamDestinationType + "=s3 and " + ParamBucket + "), so Rampart reports only"
		return f
	}
	cp.VpcID, cp.Token = vpcID, newToken()
	undo := rule.NewAction(apiDelete, vpcID, "delete the flow log Rampart created (tag "+TagToken+"="+cp.Token+")",
		deleteParams{VpcID: vpcID, Token: cp.Token}, nil)
	act := rule.NewAction(apiCreate, vpcID, fmt.Sprintf("create a flow log of %s traffic to %s", cp.TrafficType, dest), cp, &undo)
	f.Actions = []rule.Action{act}
	return f
}

// destination builds the create parameters from the rule's parameters;
// ok is false when the deployment configured no complete destination.
func destination(p rule.Params) (createParams, string, bool) {
	cp := createParams{TrafficType: p[ParamTrafficType], DestinationType: p[ParamDestinationType]}
	switch cp.DestinationType {
	case DestinationS3:
		cp.S3BucketARN = p[ParamBucket]
		return cp, cp.S3BucketARN, cp.S3BucketARN != ""
	default:
		cp.LogGroupName, cp.RoleARN = p[ParamLogGroup], p[ParamRole]
		return cp, "log group " + cp.LogGroupName, cp.LogGroupName != "" && cp.RoleARN != ""
	}
}

func newToken() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "rampart-" + hex.EncodeToString(b)
}

func tagMap(tags []ec2types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func client(s *awsclient.Session) *ec2.Client { return awsclient.Client(s, ec2.NewFromConfig) }

// describeVpc reads one VPC; nil when it does not exist.
func describeVpc(ctx context.Context, s *awsclient.Session, id string) (*ec2types.Vpc, error) {
	out, err := client(s).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{id}})
	if awsclient.HasCode(err, "InvalidVpcID.NotFound", "InvalidVpcID.Malformed") {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe VPC %s: %w", id, err)
	}
	if len(out.Vpcs) == 0 {
		return nil, nil
	}
	return &out.Vpcs[0], nil
}

// flowLogs lists the flow logs attached to one resource.
func flowLogs(ctx context.Context, s *awsclient.Session, resourceID string) ([]ec2types.FlowLog, error) {
	in := &ec2.DescribeFlowLogsInput{Filter: []ec2types.Filter{{Name: aws.String("resource-id"), Values: []string{resourceID}}}}
	return pagedFlowLogs(ctx, s, in)
}

func allFlowLogs(ctx context.Context, s *awsclient.Session) ([]ec2types.FlowLog, error) {
	return pagedFlowLogs(ctx, s, &ec2.DescribeFlowLogsInput{})
}

func pagedFlowLogs(ctx context.Context, s *awsclient.Session, in *ec2.DescribeFlowLogsInput) ([]ec2types.FlowLog, error) {
	pages := ec2.NewDescribeFlowLogsPaginator(client(s), in)
	var out []ec2types.FlowLog
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe flow logs: %w", err)
		}
		out = append(out, page.FlowLogs...)
	}
	return out, nil
}

func allVpcs(ctx context.Context, s *awsclient.Session) ([]ec2types.Vpc, error) {
	pages := ec2.NewDescribeVpcsPaginator(client(s), &ec2.DescribeVpcsInput{})
	var out []ec2types.Vpc
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe VPCs: %w", err)
		}
		out = append(out, page.Vpcs...)
	}
	return out, nil
}

// Sweep implements rule.Sweeper: every VPC of the region with the region's
// flow logs, read once (two paginated lists), so evaluation needs no call.
func (*flowLogRule) Sweep(ctx context.Context, s *awsclient.Session, _ rule.Params) ([]rule.Target, error) {
	vpcs, err := allVpcs(ctx, s)
	if err != nil {
		return nil, err
	}
	logs, err := allFlowLogs(ctx, s)
	if err != nil {
		return nil, err
	}
	out := make([]rule.Target, 0, len(vpcs))
	for _, v := range vpcs {
		out = append(out, rule.Target{Type: ResourceType, ID: aws.ToString(v.VpcId), Region: s.Region, Evidence: swept{vpc: v, logs: logs}})
	}
	return out, nil
}

// createParams are the params of a CreateFlowLogs action.
type createParams struct {
	VpcID           string `json:"vpcId"`
	TrafficType     string `json:"trafficType"`
	DestinationType string `json:"destinationType"`
	LogGroupName    string `json:"logGroupName,omitempty"`
	RoleARN         string `json:"deliverLogsRoleArn,omitempty"`
	S3BucketARN     string `json:"s3BucketArn,omitempty"`
	// Token is the idempotency token of the call and the value of the
	// rampart:token tag by which the undo finds the flow log.
	Token string `json:"token"`
}

// deleteParams are the params of the undo.
type deleteParams struct {
	VpcID string `json:"vpcId"`
	Token string `json:"token"`
}

// Apply implements rule.Rule: create the flow log (the plan) or delete the
// one created (the undo).
func (*flowLogRule) Apply(ctx context.Context, s *awsclient.Session, a rule.Action) error {
	switch a.API {
	case apiCreate:
		var p createParams
		if err := a.Decode(&p); err != nil {
			return err
		}
		return create(ctx, s, p)
	case apiDelete:
		var p deleteParams
		if err := a.Decode(&p); err != nil {
			return err
		}
		return undoCreate(ctx, s, p)
	}
	return fmt.Errorf("vpc-flow-logs cannot apply %s", a.API)
}

func create(ctx context.Context, s *awsclient.Session, p createParams) error {
	if p.VpcID == "" || p.Token == "" || checkTraffic(p.TrafficType) != nil {
		return fmt.Errorf("%s: params need vpcId, token and a traffic type", apiCreate)
	}
	in := &ec2.CreateFlowLogsInput{
		ResourceIds:  []string{p.VpcID},
		ResourceType: ec2types.FlowLogsResourceTypeVpc,
		TrafficType:  ec2types.TrafficType(p.TrafficType),
		ClientToken:  aws.String(p.Token),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeVpcFlowLog, Tags: []ec2types.Tag{
			{Key: aws.String(TagCreatedBy), Value: aws.String(meta.ID)}, {Key: aws.String(TagToken), Value: aws.String(p.Token)}}}},
	}
	switch p.DestinationType {
	case DestinationS3:
		if p.S3BucketARN == "" {
			return fmt.Errorf("%s: an s3 destination needs s3BucketArn", apiCreate)
		}
		in.LogDestinationType, in.LogDestination = ec2types.LogDestinationTypeS3, aws.String(p.S3BucketARN)
	case DestinationLogs:
		if p.LogGroupName == "" || p.RoleARN == "" {
			return fmt.Errorf("%s: a cloud-watch-logs destination needs logGroupName and deliverLogsRoleArn", apiCreate)
		}
		in.LogDestinationType = ec2types.LogDestinationTypeCloudWatchLogs
		in.LogGroupName, in.DeliverLogsPermissionArn = aws.String(p.LogGroupName), aws.String(p.RoleARN)
	default:
		return fmt.Errorf("%s: destination type %q", apiCreate, p.DestinationType)
	}
	out, err := client(s).CreateFlowLogs(ctx, in)
	switch {
	case awsclient.HasCode(err, "FlowLogAlreadyExists"):
		return fmt.Errorf("create flow log on %s: an identical flow log exists: %w", p.VpcID, rule.ErrNoOp)
	case awsclient.HasCode(err, "InvalidVpcID.NotFound"):
		return fmt.Errorf("create flow log on %s: the VPC is gone: %w", p.VpcID, rule.ErrNoOp)
	case err != nil:
		return fmt.Errorf("create flow log on %s: %w", p.VpcID, err)
	}
	// Per-resource failures come back in Unsuccessful, not as an error.
	for _, u := range out.Unsuccessful {
		if u.Error == nil {
			continue
		}
		code, msg := aws.ToString(u.Error.Code), aws.ToString(u.Error.Message)
		if code == "FlowLogAlreadyExists" {
			return fmt.Errorf("create flow log on %s: an identical flow log exists: %w", p.VpcID, rule.ErrNoOp)
		}
		return fmt.Errorf("create flow log on %s: %s: %s", p.VpcID, code, msg)
	}
	if len(out.FlowLogIds) == 0 {
		return fmt.Errorf("create flow log on %s: no flow log was created", p.VpcID)
	}
	return nil
}

// undoCreate deletes the flow log of the VPC that carries the plan's token.
func undoCreate(ctx context.Context, s *awsclient.Session, p deleteParams) error {
	if p.VpcID == "" || p.Token == "" {
		return fmt.Errorf("%s: params need vpcId and token", apiDelete)
	}
	logs, err := flowLogs(ctx, s, p.VpcID)
	if err != nil {
		return err
	}
	var ids []string
	for _, l := range logs {
		if slices.ContainsFunc(l.Tags, func(t ec2types.Tag) bool {
			return aws.ToString(t.Key) == TagToken && aws.ToString(t.Value) == p.Token
		}) {
			ids = append(ids, aws.ToString(l.FlowLogId))
		}
	}
	if len(ids) == 0 {
		return fmt.Errorf("delete the flow log Rampart created on %s: it is gone: %w", p.VpcID, rule.ErrNoOp)
	}
	out, err := client(s).DeleteFlowLogs(ctx, &ec2.DeleteFlowLogsInput{FlowLogIds: ids})
	if awsclient.HasCode(err, "InvalidFlowLogId.NotFound") {
		return fmt.Errorf("delete flow logs %v: already gone: %w", ids, rule.ErrNoOp)
	}
	if err != nil {
		return fmt.Errorf("delete flow logs %v: %w", ids, err)
	}
	for _, u := range out.Unsuccessful {
		if u.Error != nil {
			return fmt.Errorf("delete flow log %s: %s: %s", aws.ToString(u.ResourceId), aws.ToString(u.Error.Code), aws.ToString(u.Error.Message))
		}
	}
	return nil
}

// Bind implements rule.Rule through the legacy adapter (until the rule moves to rule.Define).
func (r *flowLogRule) Bind(p rule.Params) (*rule.Bound, error) { return rule.Adapt(r).Bind(p) }
