// Package sgopen holds the security-group rules: no ingress open to the whole
// internet (0.0.0.0/0, ::/0, any /0) except on authorized ports — the seed's
// "no unrestricted access to port 22" and "no unrestricted access to these
// ports" — as one parameterised check with three registrations:
//
//   - sg-open-world: event-driven (AuthorizeSecurityGroupIngress,
//     ModifySecurityGroupRules) and a Config rule; an allow-list of ports.
//   - sg-restricted-ssh and sg-restricted-common-ports: Config rules with a
//     block-list of ports, like AWS's managed rules of those names.
//
// The remediation revokes exactly the offending world-open permissions and
// nothing else: restricted CIDRs, security-group references, prefix lists,
// egress rules and authorized ports stay.
package sgopen

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/rampart-aws/rampart/pkg/awsclient"
	"github.com/rampart-aws/rampart/pkg/rule"
	"github.com/rampart-aws/rampart/pkg/trigger"
)

// ResourceType is the security group's CloudFormation type.
const ResourceType = "AWS::EC2::SecurityGroup"

// IAM actions, as the plan names them.
const (
	apiRevoke    = "ec2:RevokeSecurityGroupIngress"
	apiAuthorize = "ec2:AuthorizeSecurityGroupIngress"
	apiDescribe  = "ec2:DescribeSecurityGroups"
)

// Parameter names.
const (
	ParamTCP     = "authorizedTcpPorts"
	ParamUDP     = "authorizedUdpPorts"
	ParamBlocked = "blockedPorts"
)

// Check is one registration of the security-group check.
type Check struct {
	meta rule.Meta
	// allowList: world-open is fine only within the authorized ports;
	// otherwise (block-list) world-open is wrong only on the blocked ports.
	allowList bool
}

var sgConfig = &rule.ConfigTrigger{ResourceTypes: []string{ResourceType}, Frequency: rule.TwentyFourHour}

// OpenWorld is sg-open-world.
var OpenWorld = &Check{allowList: true, meta: rule.Meta{
	ID:           "sg-open-world",
	Title:        "Security groups admit the internet only on authorized ports",
	Severity:     rule.High,
	Rationale:    "An ingress rule open to 0.0.0.0/0 or ::/0 exposes every port it covers to the whole internet; SSH, RDP and databases are scanned within minutes of exposure.",
	Remediation:  "Revokes exactly the world-open ingress permissions outside the authorized ports; restricted CIDRs, group references, prefix lists and egress stay.",
	ResourceType: ResourceType,
	Function:     "securitygroup",
	CloudTrail: []rule.CloudTrailTrigger{{Source: "ec2.amazonaws.com",
		Events: []string{"AuthorizeSecurityGroupIngress", "ModifySecurityGroupRules"}}},
	Config: sgConfig,
	Params: []rule.Param{
		{Name: ParamTCP, Default: "80,443", Description: "TCP ports and ranges that may be open to the world, e.g. 443,8080-8081", Check: checkPorts},
		{Name: ParamUDP, Default: "", Description: "UDP ports and ranges that may be open to the world", Check: checkPorts},
	},
	ReadActions:  []string{apiDescribe},
	WriteActions: []string{apiRevoke},
}}

// RestrictedSSH is sg-restricted-ssh: no world-open access to port 22.
var RestrictedSSH = &Check{meta: rule.Meta{
	ID:           "sg-restricted-ssh",
	Title:        "Security groups do not admit SSH (port 22) from the internet",
	Severity:     rule.High,
	Rationale:    "SSH open to the world invites brute force and exploitation of the daemon; reach instances through Session Manager or a restricted CIDR instead.",
	Remediation:  "Revokes the world-open permissions that cover port 22.",
	ResourceType: ResourceType,
	Function:     "securitygroup",
	Config:       sgConfig,
	Params: []rule.Param{
		{Name: ParamBlocked, Default: "22", Description: "ports that must not be open to the world", Check: checkNonEmptyPorts},
	},
	ReadActions:  []string{apiDescribe},
	WriteActions: []string{apiRevoke},
}}

// RestrictedCommonPorts is sg-restricted-common-ports.
var RestrictedCommonPorts = &Check{meta: rule.Meta{
	ID:           "sg-restricted-common-ports",
	Title:        "Security groups do not admit common service ports from the internet",
	Severity:     rule.High,
	Rationale:    "FTP, RDP, MySQL and similar services must never face the whole internet.",
	Remediation:  "Revokes the world-open permissions that cover any blocked port.",
	ResourceType: ResourceType,
	Function:     "securitygroup",
	Config:       sgConfig,
	Params: []rule.Param{
		{Name: ParamBlocked, Default: "20,21,3389,3306,4333", Description: "ports that must not be open to the world", Check: checkNonEmptyPorts},
	},
	ReadActions:  []string{apiDescribe},
	WriteActions: []string{apiRevoke},
}}

func checkNonEmptyPorts(s string) error {
	set, err := parsePorts(s)
	if err == nil && len(set) == 0 {
		err = fmt.Errorf("at least one port is required")
	}
	return err
}

// Meta implements rule.Rule.
func (c *Check) Meta() *rule.Meta { return &c.meta }

// Permission is one world-open ingress permission: one protocol, one port
// range, one CIDR. It is the unit of evidence, of state and of revocation.
type Permission struct {
	Protocol    string `json:"ipProtocol"`
	FromPort    *int32 `json:"fromPort,omitempty"`
	ToPort      *int32 `json:"toPort,omitempty"`
	CIDR        string `json:"cidr"`
	Description string `json:"description,omitempty"`
	RuleID      string `json:"ruleId,omitempty"`
}

func (p Permission) ipv6() bool { return strings.Contains(p.CIDR, ":") }

// ports is the range a TCP/UDP permission opens; all ports when unset.
func (p Permission) ports() portRange {
	if p.FromPort == nil || p.ToPort == nil || *p.FromPort < 0 {
		return portRange{0, 65535}
	}
	return portRange{int(*p.FromPort), int(*p.ToPort)}
}

// key identifies the permission as AWS stores it (AWS canonicalises CIDRs,
// so 208.236.235.254/0 is stored as 0.0.0.0/0).
func (p Permission) key() string {
	cidr := p.CIDR
	if pre, err := netip.ParsePrefix(cidr); err == nil {
		cidr = pre.Masked().String()
	}
	r := p.ports()
	proto := normProtocol(p.Protocol)
	if proto != "tcp" && proto != "udp" {
		r = portRange{}
		if proto != "-1" && p.FromPort != nil && p.ToPort != nil {
			r = portRange{int(*p.FromPort), int(*p.ToPort)}
		}
	}
	return fmt.Sprintf("%s/%d-%d/%s", proto, r.from, r.to, cidr)
}

func (p Permission) String() string {
	proto := normProtocol(p.Protocol)
	switch proto {
	case "-1":
		return "all traffic from " + p.CIDR
	case "tcp", "udp":
		r := p.ports()
		if r.from == r.to {
			return fmt.Sprintf("%s %d from %s", proto, r.from, p.CIDR)
		}
		return fmt.Sprintf("%s %d-%d from %s", proto, r.from, r.to, p.CIDR)
	}
	return fmt.Sprintf("protocol %s from %s", proto, p.CIDR)
}

// violates judges one world-open permission under the rule's parameters.
func (c *Check) violates(p Permission, params rule.Params) bool {
	proto := normProtocol(p.Protocol)
	if proto == "-1" {
		return true
	}
	if c.allowList {
		var allowed portSet
		switch proto {
		case "tcp":
			allowed, _ = parsePorts(params[ParamTCP])
		case "udp":
			allowed, _ = parsePorts(params[ParamUDP])
		case "icmp", "icmpv6":
			return false // ICMP carries no ports; ping from anywhere is left alone
		default:
			return true // a whole IP protocol open to the world
		}
		return !allowed.covers(p.ports())
	}
	if proto != "tcp" && proto != "udp" {
		return false
	}
	blocked, _ := parsePorts(params[ParamBlocked])
	return blocked.overlaps(p.ports())
}

// evidence is what an API call says it opened.
type evidence struct {
	Permissions []Permission
}

// swept is a group read by Sweep: its state is already current.
type swept struct{ group ec2types.SecurityGroup }

// Targets implements rule.Rule: the group the call changed, with the
// world-open permissions the call added.
func (c *Check) Targets(call *trigger.APICall, _ rule.Params) ([]rule.Target, error) {
	var groupID string
	var perms []Permission
	var err error
	switch call.EventName {
	case "AuthorizeSecurityGroupIngress":
		groupID, perms, err = parseAuthorize(call)
	case "ModifySecurityGroupRules":
		groupID, perms, err = parseModify(call)
	default:
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", trigger.ErrInput, call.EventName, err)
	}
	return []rule.Target{{Type: ResourceType, ID: groupID, Region: call.Region, Evidence: evidence{perms}}}, nil
}

// Evaluate implements rule.Rule.
func (c *Check) Evaluate(ctx context.Context, s *awsclient.Session, t rule.Target, params rule.Params) (rule.Finding, error) {
	ev, fromEvent := t.Evidence.(evidence)
	if fromEvent {
		var claimed []Permission
		for _, p := range ev.Permissions {
			if c.violates(p, params) {
				claimed = append(claimed, p)
			}
		}
		if len(claimed) == 0 {
			return rule.Finding{Verdict: rule.Compliant, Reason: "the call opened nothing to the world outside the authorized ports"}, nil
		}
		if s.Offline {
			return c.finding(t.ID, claimed, nil, "the call opened "), nil
		}
		group, err := c.describe(ctx, s, t)
		if err != nil || group == nil {
			return notFound(err)
		}
		current := c.violations(group, params)
		var still []Permission
		for _, p := range current {
			if slices.ContainsFunc(claimed, func(q Permission) bool { return q.key() == p.key() }) {
				still = append(still, p)
			}
		}
		if len(still) == 0 {
			return rule.Finding{Verdict: rule.Compliant, Tags: tags(group),
				Reason: "the world-open permissions the call added are no longer present"}, nil
		}
		return c.finding(t.ID, still, tags(group), ""), nil
	}
	if s.Offline {
		return rule.Finding{Verdict: rule.NotApplicable, Reason: "offline: the trigger carries no permissions to judge"}, nil
	}
	var group *ec2types.SecurityGroup
	if sw, ok := t.Evidence.(swept); ok {
		group = &sw.group
	} else {
		var err error
		if group, err = c.describe(ctx, s, t); err != nil || group == nil {
			return notFound(err)
		}
	}
	current := c.violations(group, params)
	if len(current) == 0 {
		return rule.Finding{Verdict: rule.Compliant, Tags: tags(group), Reason: "no world-open ingress outside the authorized ports"}, nil
	}
	return c.finding(t.ID, current, tags(group), ""), nil
}

func notFound(err error) (rule.Finding, error) {
	if err != nil {
		return rule.Finding{}, err
	}
	return rule.Finding{Verdict: rule.NotApplicable, Reason: "the security group no longer exists"}, nil
}

func (c *Check) finding(groupID string, perms []Permission, tags map[string]string, prefix string) rule.Finding {
	descs := make([]string, len(perms))
	for i, p := range perms {
		descs[i] = p.String()
	}
	reason := prefix + strings.Join(descs, "; ")
	if c.allowList {
		reason += " — outside the authorized ports"
	} else {
		reason += " — covers a blocked port"
	}
	params := revokeParams{GroupID: groupID, Permissions: perms}
	undo := rule.NewAction(apiAuthorize, groupID, "restore the revoked permissions", params, nil)
	act := rule.NewAction(apiRevoke, groupID, "revoke "+strings.Join(descs, "; "), params, &undo)
	return rule.Finding{Verdict: rule.Violation, Reason: reason, Actions: []rule.Action{act}, Tags: tags}
}

// describe reads the group's current state; nil when it does not exist.
func (c *Check) describe(ctx context.Context, s *awsclient.Session, t rule.Target) (*ec2types.SecurityGroup, error) {
	in := &ec2.DescribeSecurityGroupsInput{}
	if strings.HasPrefix(t.ID, "sg-") {
		in.GroupIds = []string{t.ID}
	} else {
		in.Filters = []ec2types.Filter{{Name: aws.String("group-name"), Values: []string{t.ID}}}
	}
	out, err := awsclient.Client(s, ec2.NewFromConfig).DescribeSecurityGroups(ctx, in)
	if awsclient.HasCode(err, "InvalidGroup.NotFound", "InvalidGroupId.Malformed") {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe security group %s: %w", t.ID, err)
	}
	if len(out.SecurityGroups) == 0 {
		return nil, nil
	}
	return &out.SecurityGroups[0], nil
}

// violations lists the group's offending world-open ingress permissions.
func (c *Check) violations(g *ec2types.SecurityGroup, params rule.Params) []Permission {
	var out []Permission
	for _, ip := range g.IpPermissions {
		base := Permission{Protocol: aws.ToString(ip.IpProtocol), FromPort: ip.FromPort, ToPort: ip.ToPort}
		var cands []Permission
		for _, r := range ip.IpRanges {
			p := base
			p.CIDR, p.Description = aws.ToString(r.CidrIp), aws.ToString(r.Description)
			cands = append(cands, p)
		}
		for _, r := range ip.Ipv6Ranges {
			p := base
			p.CIDR, p.Description = aws.ToString(r.CidrIpv6), aws.ToString(r.Description)
			cands = append(cands, p)
		}
		for _, p := range cands {
			if open, err := worldOpen(p.CIDR); err == nil && open && c.violates(p, params) {
				out = append(out, p)
			}
		}
	}
	return out
}

func tags(g *ec2types.SecurityGroup) map[string]string {
	m := make(map[string]string, len(g.Tags))
	for _, t := range g.Tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// Sweep implements rule.Sweeper: every security group in the region, read
// once (paginated) so evaluation needs no further call.
func (c *Check) Sweep(ctx context.Context, s *awsclient.Session, _ rule.Params) ([]rule.Target, error) {
	pages := ec2.NewDescribeSecurityGroupsPaginator(awsclient.Client(s, ec2.NewFromConfig), &ec2.DescribeSecurityGroupsInput{})
	var out []rule.Target
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list security groups: %w", err)
		}
		for _, g := range page.SecurityGroups {
			out = append(out, rule.Target{Type: ResourceType, ID: aws.ToString(g.GroupId), Region: s.Region, Evidence: swept{g}})
		}
	}
	return out, nil
}

// revokeParams are the params of a revoke and of its undo (an authorize).
type revokeParams struct {
	GroupID     string       `json:"groupId"`
	Permissions []Permission `json:"permissions"`
}

func (p revokeParams) ipPermissions() []ec2types.IpPermission {
	out := make([]ec2types.IpPermission, 0, len(p.Permissions))
	for _, q := range p.Permissions {
		ip := ec2types.IpPermission{IpProtocol: aws.String(q.Protocol), FromPort: q.FromPort, ToPort: q.ToPort}
		var desc *string
		if q.Description != "" {
			desc = aws.String(q.Description)
		}
		if q.ipv6() {
			ip.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: aws.String(q.CIDR), Description: desc}}
		} else {
			ip.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(q.CIDR), Description: desc}}
		}
		out = append(out, ip)
	}
	return out
}

// Apply implements rule.Rule: revoke (the plan) or authorize (its undo).
func (c *Check) Apply(ctx context.Context, s *awsclient.Session, a rule.Action) error {
	var p revokeParams
	if err := a.Decode(&p); err != nil {
		return err
	}
	if p.GroupID == "" || len(p.Permissions) == 0 {
		return fmt.Errorf("%s: params need groupId and permissions", a.API)
	}
	client := awsclient.Client(s, ec2.NewFromConfig)
	switch a.API {
	case apiRevoke:
		return revoke(ctx, client, p)
	case apiAuthorize:
		_, err := client.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
			GroupId: aws.String(p.GroupID), IpPermissions: p.ipPermissions()})
		if awsclient.HasCode(err, "InvalidPermission.Duplicate") {
			return fmt.Errorf("authorize on %s: %w", p.GroupID, rule.ErrNoOp)
		}
		if err != nil {
			return fmt.Errorf("authorize on %s: %w", p.GroupID, err)
		}
		return nil
	}
	return fmt.Errorf("sgopen cannot apply %s", a.API)
}

// revoke removes the permissions in one call. If AWS rejects the batch
// because one is already gone, each is revoked alone so the rest still go.
func revoke(ctx context.Context, client *ec2.Client, p revokeParams) error {
	out, err := client.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{
		GroupId: aws.String(p.GroupID), IpPermissions: p.ipPermissions()})
	switch {
	case awsclient.HasCode(err, "InvalidGroup.NotFound"):
		return fmt.Errorf("revoke on %s: the group is gone: %w", p.GroupID, rule.ErrNoOp)
	case awsclient.HasCode(err, "InvalidPermission.NotFound") && len(p.Permissions) > 1:
		revoked := 0
		for _, q := range p.Permissions {
			err := revoke(ctx, client, revokeParams{GroupID: p.GroupID, Permissions: []Permission{q}})
			switch {
			case err == nil:
				revoked++
			case !errors.Is(err, rule.ErrNoOp):
				return err
			}
		}
		if revoked == 0 {
			return fmt.Errorf("revoke on %s: every permission was already gone: %w", p.GroupID, rule.ErrNoOp)
		}
		return nil
	case awsclient.HasCode(err, "InvalidPermission.NotFound"):
		return fmt.Errorf("revoke on %s: already gone: %w", p.GroupID, rule.ErrNoOp)
	case err != nil:
		return fmt.Errorf("revoke on %s: %w", p.GroupID, err)
	}
	if out != nil && len(out.UnknownIpPermissions) >= len(p.Permissions) {
		return fmt.Errorf("revoke on %s: already gone: %w", p.GroupID, rule.ErrNoOp)
	}
	return nil
}
