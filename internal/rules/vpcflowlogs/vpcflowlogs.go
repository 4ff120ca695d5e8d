// Package vpcflowlogs holds vpc-flow-logs: every VPC has an active flow log
// capturing the traffic the deployment asks for. A VPC left without one — a
// new VPC, or one whose flow log was deleted — gets a flow log to the
// deployment's destination (CloudWatch Logs or S3); with no destination
// configured the rule reports only.
//
// DeleteFlowLogs names flow logs, not VPCs, and a deleted flow log can no
// longer be described, so the VPCs to fix come from current state: the rule
// expands the call (rule.Spec.Expand), and the engine judges each VPC of the
// region that now lacks an active flow log on its own — exempt VPCs are
// reported, the others get a flow log.
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
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/tagmap"
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
var Rule = rule.Define(rule.Spec[state, params]{
	Meta:    &meta,
	Parse:   parse,
	Targets: targets,
	Observe: observe,
	Plan:    plan,
	Judge:   judge,
	Apply:   apply,
	Sweep:   sweep,
	Expand:  expand,
})

// params are the rule's typed parameters.
type params struct {
	// Traffic is the traffic type a VPC's flow log must capture.
	Traffic string
	// Dest is the flow log a fix creates (its VPC and token left to the
	// plan), and DestText names its destination; nil when the deployment
	// configured no complete destination (the rule then reports only).
	Dest     *createParams
	DestText string
}

func parse(p rule.Params) (params, error) {
	out := params{Traffic: p[ParamTrafficType]}
	cp := createParams{TrafficType: out.Traffic, DestinationType: p[ParamDestinationType]}
	switch cp.DestinationType {
	case DestinationS3:
		if cp.S3BucketARN = p[ParamBucket]; cp.S3BucketARN != "" {
			out.Dest, out.DestText = &cp, cp.S3BucketARN
		}
	default:
		if cp.LogGroupName, cp.RoleARN = p[ParamLogGroup], p[ParamRole]; cp.LogGroupName != "" && cp.RoleARN != "" {
			out.Dest, out.DestText = &cp, "log group "+cp.LogGroupName
		}
	}
	return out, nil
}

var meta = rule.Meta{
	ID:       "vpc-flow-logs",
	Title:    "Every VPC has an active flow log",
	Severity: rule.Medium,
	Rationale: "Flow logs are the network record of a VPC: without them there is no evidence of what talked to what during an incident. " +
		"Deleting them is a classic defence-evasion step (Stratus Red Team: aws.defense-evasion.vpc-remove-flow-logs).",
	Remediation: "Creates a flow log of the configured traffic type to the configured destination on each VPC left without an active one; " +
		"reports only when no destination is configured.",
	ResourceType:        ResourceType,
	Function:            "ec2",
	SecurityHubControls: []string{"EC2.6"},
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
	if s == "" {
		return nil
	}
	if a, err := arn.Parse(s); err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "role/") {
		return errors.New("want an IAM role ARN")
	}
	return nil
}

func checkBucket(s string) error {
	if s == "" {
		return nil
	}
	if a, err := arn.Parse(s); err != nil || a.Service != "s3" || a.Region != "" || a.AccountID != "" || a.Resource == "" {
		return errors.New("want an S3 bucket ARN, e.g. arn:aws:s3:::flow-logs-bucket")
	}
	return nil
}

// Evidence of each trigger.
type (
	// created is a VPC a CreateVpc call just made: it has no flow log yet.
	created struct{}
	// deleted are the flow logs a DeleteFlowLogs call removed.
	deleted struct{ IDs []string }
)

// flowLog is what the rule reads of a flow log.
type flowLog struct {
	ID, Status, Traffic, Destination string
}

// vpc is what the rule judges of a VPC: its tags and its flow logs.
type vpc struct {
	ID   string
	Tags map[string]string
	Logs []flowLog
}

// vpcOf is the VPC with its own flow logs, of the logs given.
func vpcOf(v ec2types.Vpc, logs []ec2types.FlowLog) vpc {
	out := vpc{ID: aws.ToString(v.VpcId), Tags: tagmap.EC2(v.Tags)}
	for _, l := range logs {
		if aws.ToString(l.ResourceId) == out.ID {
			out.Logs = append(out.Logs, flowLog{ID: aws.ToString(l.FlowLogId), Status: aws.ToString(l.FlowLogStatus),
				Traffic: string(l.TrafficType), Destination: string(l.LogDestinationType)})
		}
	}
	return out
}

// state is what the rule judges of a target: one VPC, or what a
// DeleteFlowLogs call left.
type state struct {
	// VPCs holds the VPC judged; after a deletion (Deleted set), the
	// region's VPCs it left without an active flow log, if any.
	VPCs []vpc
	// Deleted are the flow logs a DeleteFlowLogs call removed.
	Deleted []string
	// New marks the offline planner's state of a VPC a CreateVpc call just
	// made, which has no flow log.
	New bool
}

// targets names the VPC a CreateVpc call made, or the flow logs a
// DeleteFlowLogs call removed (expanded live into the VPCs left bare).
func targets(call *trigger.APICall, _ params) ([]rule.Target, error) {
	switch call.EventName {
	case "CreateVpc":
		id, err := parseCreateVpc(call)
		if err != nil {
			return nil, fmt.Errorf("%w: CreateVpc: %w", trigger.ErrInput, err)
		}
		return []rule.Target{{Type: ResourceType, ID: id, Region: call.Region, Evidence: created{}}}, nil
	case "DeleteFlowLogs":
		ids, err := parseDeleteFlowLogs(call)
		if err != nil {
			return nil, fmt.Errorf("%w: DeleteFlowLogs: %w", trigger.ErrInput, err)
		}
		return []rule.Target{{Type: ResourceType, ID: strings.Join(ids, ","), Region: call.Region, Evidence: deleted{ids}}}, nil
	}
	return nil, nil
}

// ec2API is what the rule reads of EC2.
type ec2API interface {
	DescribeVpcs(context.Context, *ec2.DescribeVpcsInput, ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error)
	DescribeFlowLogs(context.Context, *ec2.DescribeFlowLogsInput, ...func(*ec2.Options)) (*ec2.DescribeFlowLogsOutput, error)
}

func client(s *awsclient.Session) *ec2.Client { return awsclient.Client(s, ec2.NewFromConfig) }

// observe reads one VPC with its flow logs, or, for a deletion the engine
// did not expand, the VPCs it left bare.
func observe(ctx context.Context, env rule.Env, t rule.Target, p params) (state, error) {
	api := client(env.Session)
	if ev, ok := t.Evidence.(deleted); ok {
		return afterDelete(ctx, api, ev.IDs, p.Traffic)
	}
	out, err := api.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{t.ID}})
	if awsclient.HasCode(err, "InvalidVpcID.NotFound", "InvalidVpcID.Malformed") || err == nil && len(out.Vpcs) == 0 {
		return state{}, rule.Gone("VPC " + t.ID + " no longer exists")
	}
	if err != nil {
		return state{}, fmt.Errorf("describe VPC %s: %w", t.ID, err)
	}
	logs, err := flowLogs(ctx, api, t.ID)
	if err != nil {
		return state{}, err
	}
	return state{VPCs: []vpc{vpcOf(out.Vpcs[0], logs)}}, nil
}

// afterDelete is what a deletion left: the region's VPCs without an active
// flow log of the wanted traffic (two paginated lists in all).
func afterDelete(ctx context.Context, api ec2API, ids []string, traffic string) (state, error) {
	vpcs, err := allVpcs(ctx, api)
	if err != nil {
		return state{}, err
	}
	logs, err := allFlowLogs(ctx, api)
	if err != nil {
		return state{}, err
	}
	st := state{Deleted: ids}
	for _, v := range vpcs {
		if v := vpcOf(v, logs); len(covering(v, traffic)) == 0 {
			st.VPCs = append(st.VPCs, v)
		}
	}
	return st, nil
}

// expand turns a DeleteFlowLogs target, which names flow logs, into the
// VPCs current state shows without an active flow log: each is then judged,
// exempted and fixed on its own, with no further read.
func expand(ctx context.Context, env rule.Env, t rule.Target, p params) ([]rule.Target, error) {
	ev, ok := t.Evidence.(deleted)
	if !ok {
		return nil, nil
	}
	st, err := afterDelete(ctx, client(env.Session), ev.IDs, p.Traffic)
	if err != nil {
		return nil, err
	}
	if len(st.VPCs) == 0 {
		return []rule.Target{{Type: ResourceType, ID: t.ID, Region: t.Region, State: st}}, nil
	}
	out := make([]rule.Target, 0, len(st.VPCs))
	for _, v := range st.VPCs {
		out = append(out, rule.Target{Type: ResourceType, ID: v.ID, Region: t.Region, State: state{VPCs: []vpc{v}, Deleted: ev.IDs}})
	}
	return out, nil
}

// plan is the state the call alone implies, offline: a new VPC has no flow
// log; a deletion does not say which VPCs it left bare.
func plan(t rule.Target, _ params) (state, error) {
	switch ev := t.Evidence.(type) {
	case created:
		return state{VPCs: []vpc{{ID: t.ID}}, New: true}, nil
	case deleted:
		return state{}, rule.Undecided("the call deleted flow logs " + strings.Join(ev.IDs, ", ") +
			", and the event does not name their VPCs; a live run checks which VPCs are left without an active flow log (DescribeVpcs, DescribeFlowLogs) and judges each")
	}
	return state{}, rule.Undecided("the trigger says nothing about the VPC's flow logs")
}

// judge decides a target and plans the flow log a bare VPC gets.
func judge(s state, _ rule.Target, p params, _ rule.Facts) rule.Finding {
	if s.Deleted == nil {
		switch {
		case len(s.VPCs) != 1:
			return rule.Finding{Verdict: rule.NotApplicable, Reason: "no VPC to judge"}
		case s.New:
			return violation(s.VPCs[0].ID, p, "a new VPC has no flow log")
		}
		return judgeVPC(s.VPCs[0], p, "")
	}
	ids := strings.Join(s.Deleted, ", ")
	switch len(s.VPCs) {
	case 0:
		return rule.Finding{Verdict: rule.Compliant, Reason: "every VPC still has an active flow log after " + ids + " were deleted"}
	case 1:
		return judgeVPC(s.VPCs[0], p, "the deletion of "+ids+" left the VPC without an active flow log: ")
	}
	names := make([]string, len(s.VPCs))
	for i, v := range s.VPCs {
		names[i] = v.ID
	}
	return rule.Finding{Verdict: rule.Violation, Reason: fmt.Sprintf(
		"after the deletion of %s, %d VPCs lack an active flow log (%s); the event does not say which VPC a deleted flow log covered, and some may be exempt, "+
			"so Rampart reports only here: the periodic sweep judges each VPC on its own", ids, len(s.VPCs), strings.Join(names, ", "))}
}

// judgeVPC decides one VPC from its flow logs; prefix starts the reason of
// a violation.
func judgeVPC(v vpc, p params, prefix string) rule.Finding {
	if ok := covering(v, p.Traffic); len(ok) > 0 {
		return rule.Finding{Verdict: rule.Compliant, Resource: v.ID, Tags: v.Tags,
			Reason: fmt.Sprintf("flow log %s is active (%s traffic to %s)", ok[0].ID, ok[0].Traffic, ok[0].Destination)}
	}
	why := fmt.Sprintf("no active flow log captures %s traffic", p.Traffic)
	var other []string
	for _, l := range v.Logs {
		other = append(other, fmt.Sprintf("%s: %s %s", l.ID, l.Status, l.Traffic))
	}
	if len(other) > 0 {
		why += " (present: " + strings.Join(other, "; ") + ")"
	}
	f := violation(v.ID, p, prefix+why)
	f.Tags = v.Tags
	return f
}

// covering lists the VPC's active flow logs that capture the traffic type.
func covering(v vpc, traffic string) []flowLog {
	var out []flowLog
	for _, l := range v.Logs {
		if l.Status == "ACTIVE" && (l.Traffic == string(ec2types.TrafficTypeAll) || l.Traffic == traffic) {
			out = append(out, l)
		}
	}
	return out
}

// violation is the finding for a VPC without a flow log, with the plan.
func violation(vpcID string, p params, reason string) rule.Finding {
	f := rule.Finding{Verdict: rule.Violation, Resource: vpcID, Reason: reason}
	if p.Dest == nil {
		f.Reason += "; no flow-log destination is configured (" + ParamLogGroup + " and " + ParamRole + ", or " +
			ParamDestinationType + "=s3 and " + ParamBucket + "), so Rampart reports only"
		return f
	}
	cp := *p.Dest
	cp.VpcID, cp.Token = vpcID, newToken()
	undo := rule.NewAction(apiDelete, vpcID, "delete the flow log Rampart created (tag "+TagToken+"="+cp.Token+")",
		deleteParams{VpcID: vpcID, Token: cp.Token}, nil)
	act := rule.NewAction(apiCreate, vpcID, fmt.Sprintf("create a flow log of %s traffic to %s", cp.TrafficType, p.DestText), cp, &undo)
	f.Actions = []rule.Action{act}
	return f
}

// newToken is a plan's idempotency token (and the rampart:token tag the
// undo finds the flow log by): random, so that no later plan reuses it.
// A variable so that tests can pin it.
var newToken = func() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "rampart-" + hex.EncodeToString(b)
}

// flowLogs lists the flow logs attached to one resource.
func flowLogs(ctx context.Context, api ec2API, resourceID string) ([]ec2types.FlowLog, error) {
	in := &ec2.DescribeFlowLogsInput{Filter: []ec2types.Filter{{Name: aws.String("resource-id"), Values: []string{resourceID}}}}
	return pagedFlowLogs(ctx, api, in)
}

func allFlowLogs(ctx context.Context, api ec2API) ([]ec2types.FlowLog, error) {
	return pagedFlowLogs(ctx, api, &ec2.DescribeFlowLogsInput{})
}

func pagedFlowLogs(ctx context.Context, api ec2API, in *ec2.DescribeFlowLogsInput) ([]ec2types.FlowLog, error) {
	pages := ec2.NewDescribeFlowLogsPaginator(api, in)
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

func allVpcs(ctx context.Context, api ec2API) ([]ec2types.Vpc, error) {
	pages := ec2.NewDescribeVpcsPaginator(api, &ec2.DescribeVpcsInput{})
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

// sweep lists every VPC of the region with its flow logs, read once (two
// paginated lists), so judging needs no further call.
func sweep(ctx context.Context, env rule.Env, _ params) ([]rule.Target, error) {
	api := client(env.Session)
	vpcs, err := allVpcs(ctx, api)
	if err != nil {
		return nil, err
	}
	logs, err := allFlowLogs(ctx, api)
	if err != nil {
		return nil, err
	}
	out := make([]rule.Target, 0, len(vpcs))
	for _, v := range vpcs {
		v := vpcOf(v, logs)
		out = append(out, rule.Target{Type: ResourceType, ID: v.ID, Region: env.Session.Region, State: state{VPCs: []vpc{v}}})
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

// apply creates the flow log (the plan) or deletes the one created (the
// undo).
func apply(ctx context.Context, env rule.Env, a rule.Action) error {
	switch a.API {
	case apiCreate:
		var p createParams
		if err := a.Decode(&p); err != nil {
			return err
		}
		return create(ctx, env.Session, p)
	case apiDelete:
		var p deleteParams
		if err := a.Decode(&p); err != nil {
			return err
		}
		return undoCreate(ctx, env.Session, p)
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
	logs, err := flowLogs(ctx, client(s), p.VpcID)
	if err != nil {
		return err
	}
	var ids []string
	for _, l := range logs {
		if tag, ok := tagmap.EC2(l.Tags)[TagToken]; ok && tag == p.Token {
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
