// Package sgopen holds the security-group rules: no sensitive port open to
// the whole internet — the seed's "no unrestricted access to port 22" and
// "no unrestricted access to these ports" — as one parameterised check with
// three registrations:
//
//   - sg-open-world: event-driven (AuthorizeSecurityGroupIngress,
//     ModifySecurityGroupRules) and a Config rule; an allow-list of ports.
//   - sg-restricted-ssh and sg-restricted-common-ports: Config rules with a
//     block-list of ports, like AWS's managed rules of those names.
//
// World-open means the address space, not the spelling /0 (package
// ipspace): a port is world-open when the IPv4 (or the IPv6) ranges of all
// the group's permissions that reach it — CIDRs and the entries of managed
// prefix lists — together cover every address. The remediation revokes
// exactly the permissions that take part in such a cover and nothing else:
// restricted CIDRs, security-group references, prefix lists that do not
// complete a cover, egress rules and authorized ports stay.
//
// It owns the judgement and the revoke/undo of ingress permissions; it does
// not edit prefix lists (a shared list is revoked from this group, not
// emptied for everyone).
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
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/ipspace"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/tagmap"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// ResourceType is the security group's CloudFormation type.
const ResourceType = "AWS::EC2::SecurityGroup"

// IAM actions, as the plan names them.
const (
	apiRevoke    = "ec2:RevokeSecurityGroupIngress"
	apiAuthorize = "ec2:AuthorizeSecurityGroupIngress"
	apiDescribe  = "ec2:DescribeSecurityGroups"
	// An old record naming a group only by name is resolved in the
	// default VPC; prefix lists on sensitive ports are read entry by entry.
	apiDescribeVpcs = "ec2:DescribeVpcs"
	apiPrefixList   = "ec2:GetManagedPrefixListEntries"
)

// readActions are what Observe and Sweep call.
var readActions = []string{apiDescribe, apiDescribeVpcs, apiPrefixList}

// Parameter names.
const (
	ParamTCP     = "authorizedTcpPorts"
	ParamUDP     = "authorizedUdpPorts"
	ParamBlocked = "blockedPorts"
)

// params are one registration's typed parameters: an allow-list
// (sg-open-world: world-open is fine only on the authorized ports) or a
// block-list (sg-restricted-*: world-open is wrong only on the blocked
// ports).
type params struct {
	allowList bool
	tcp, udp  portSet // the allow-list's authorized ports
	blocked   portSet // the block-list's ports
}

// parseAllowList reads sg-open-world's authorized ports.
func parseAllowList(p rule.Params) (params, error) {
	tcp, err := parsePorts(p[ParamTCP])
	if err != nil {
		return params{}, fmt.Errorf("parameter %s: %w", ParamTCP, err)
	}
	udp, err := parsePorts(p[ParamUDP])
	if err != nil {
		return params{}, fmt.Errorf("parameter %s: %w", ParamUDP, err)
	}
	return params{allowList: true, tcp: tcp, udp: udp}, nil
}

// parseBlockList reads an sg-restricted-* rule's blocked ports.
func parseBlockList(p rule.Params) (params, error) {
	if err := checkNonEmptyPorts(p[ParamBlocked]); err != nil {
		return params{}, fmt.Errorf("parameter %s: %w", ParamBlocked, err)
	}
	blocked, _ := parsePorts(p[ParamBlocked]) // checked above
	return params{blocked: blocked}, nil
}

// define makes one registration of the check: the three share everything
// but their metadata and parameters. Only a rule with CloudTrail triggers
// names targets of API calls.
func define(m *rule.Meta, parse func(rule.Params) (params, error)) rule.Rule {
	spec := rule.Spec[group, params]{
		Meta:    m,
		Parse:   parse,
		Observe: observe,
		Plan:    plan,
		Judge:   judgeGroup,
		Apply:   apply,
		Sweep:   sweep,
	}
	if len(m.CloudTrail) > 0 {
		spec.Targets = targets
	}
	return rule.Define(spec)
}

var sgConfig = &rule.ConfigTrigger{ResourceTypes: []string{ResourceType}, Frequency: rule.TwentyFourHour}

// OpenWorld is sg-open-world.
var OpenWorld = define(&openWorld, parseAllowList)

var openWorld = rule.Meta{
	ID:                  "sg-open-world",
	Title:               "Security groups admit the internet only on authorized ports",
	Severity:            rule.High,
	Rationale:           "Ingress open to the whole address space (0.0.0.0/0, ::/0, or ranges and prefix lists that add up to it) exposes every port it covers to the internet; SSH, RDP and databases are scanned within minutes of exposure.",
	Remediation:         "Revokes exactly the ingress permissions whose ranges together cover the whole IPv4 or IPv6 space outside the authorized ports; restricted CIDRs, group references, other prefix lists and egress stay.",
	ResourceType:        ResourceType,
	Function:            "securitygroup",
	SecurityHubControls: []string{"EC2.18"},
	CloudTrail: []rule.CloudTrailTrigger{{Source: "ec2.amazonaws.com",
		Events: []string{"AuthorizeSecurityGroupIngress", "ModifySecurityGroupRules"}}},
	Config: sgConfig,
	Params: []rule.Param{
		{Name: ParamTCP, Default: "80,443", Description: "TCP ports and ranges that may be open to the world, e.g. 443,8080-8081", Check: checkPorts},
		{Name: ParamUDP, Default: "", Description: "UDP ports and ranges that may be open to the world", Check: checkPorts},
	},
	ReadActions:  readActions,
	WriteActions: []string{apiRevoke},
}

// RestrictedSSH is sg-restricted-ssh: no world-open access to port 22.
var RestrictedSSH = define(&restrictedSSH, parseBlockList)

var restrictedSSH = rule.Meta{
	ID:                  "sg-restricted-ssh",
	Title:               "Security groups do not admit SSH (port 22) from the internet",
	Severity:            rule.High,
	Rationale:           "SSH open to the world invites brute force and exploitation of the daemon; reach instances through Session Manager or a restricted CIDR instead.",
	Remediation:         "Revokes the permissions whose ranges together cover the whole address space on port 22.",
	ResourceType:        ResourceType,
	Function:            "securitygroup",
	SecurityHubControls: []string{"EC2.13"},
	Config:              sgConfig,
	Params: []rule.Param{
		{Name: ParamBlocked, Default: "22", Description: "ports that must not be open to the world", Check: checkNonEmptyPorts},
	},
	ReadActions:  readActions,
	WriteActions: []string{apiRevoke},
}

// RestrictedCommonPorts is sg-restricted-common-ports.
var RestrictedCommonPorts = define(&restrictedCommonPorts, parseBlockList)

var restrictedCommonPorts = rule.Meta{
	ID:                  "sg-restricted-common-ports",
	Title:               "Security groups do not admit common service ports from the internet",
	Severity:            rule.High,
	Rationale:           "FTP, RDP, MySQL and similar services must never face the whole internet.",
	Remediation:         "Revokes the permissions whose ranges together cover the whole address space on a blocked port.",
	ResourceType:        ResourceType,
	Function:            "securitygroup",
	SecurityHubControls: []string{"EC2.14", "EC2.19"},
	Config:              sgConfig,
	Params: []rule.Param{
		{Name: ParamBlocked, Default: "20,21,3389,3306,4333", Description: "ports that must not be open to the world", Check: checkNonEmptyPorts},
	},
	ReadActions:  readActions,
	WriteActions: []string{apiRevoke},
}

func checkNonEmptyPorts(s string) error {
	set, err := parsePorts(s)
	if err == nil && len(set) == 0 {
		err = fmt.Errorf("at least one port is required")
	}
	return err
}

// Permission is one ingress permission with an address source: one
// protocol, one port range, and one CIDR or one prefix list. It is the unit
// of evidence, of state and of revocation.
type Permission struct {
	Protocol     string `json:"ipProtocol"`
	FromPort     *int32 `json:"fromPort,omitempty"`
	ToPort       *int32 `json:"toPort,omitempty"`
	CIDR         string `json:"cidr,omitempty"`
	PrefixListID string `json:"prefixListId,omitempty"`
	Description  string `json:"description,omitempty"`
	RuleID       string `json:"ruleId,omitempty"`
}

func (p Permission) ipv6() bool { return strings.Contains(p.CIDR, ":") }

// ports is the range a TCP/UDP permission opens; all ports when unset.
func (p Permission) ports() portRange {
	if p.FromPort == nil || p.ToPort == nil || *p.FromPort < 0 {
		return portRange{0, 65535}
	}
	return portRange{int(*p.FromPort), int(*p.ToPort)}
}

// source is the CIDR (canonical: AWS stores 208.236.235.254/0 as
// 0.0.0.0/0) or the prefix list.
func (p Permission) source() string {
	if p.PrefixListID != "" {
		return p.PrefixListID
	}
	if pre, err := ipspace.Parse(p.CIDR); err == nil {
		return pre.String()
	}
	return p.CIDR
}

// key identifies the permission as AWS stores it.
func (p Permission) key() string {
	r := p.ports()
	proto := normProtocol(p.Protocol)
	if proto != "tcp" && proto != "udp" {
		r = portRange{}
		if proto != "-1" && p.FromPort != nil && p.ToPort != nil {
			r = portRange{int(*p.FromPort), int(*p.ToPort)}
		}
	}
	return fmt.Sprintf("%s/%d-%d/%s", proto, r.from, r.to, p.source())
}

func (p Permission) String() string {
	from := p.CIDR
	if p.PrefixListID != "" {
		from = "prefix list " + p.PrefixListID
	}
	proto := normProtocol(p.Protocol)
	switch proto {
	case "-1":
		return "all traffic from " + from
	case "tcp", "udp":
		r := p.ports()
		if r.from == r.to {
			return fmt.Sprintf("%s %d from %s", proto, r.from, from)
		}
		return fmt.Sprintf("%s %d-%d from %s", proto, r.from, r.to, from)
	}
	return fmt.Sprintf("protocol %s from %s", proto, from)
}

// evidence is what an API call says it opened: every address permission it
// added (restricted ones too, since ranges may cover the world only
// together with what the group already had), and, for an old record that
// names the group only by name, that name and the VPC if the record names
// one.
type evidence struct {
	Permissions []Permission
	GroupName   string
	VpcID       string
}

// group is what the rules judge of a security group.
type group struct {
	// ID is the group's ID (sg-…); in an offline plan, the target's ID,
	// which is the group's name when the record names it only by name.
	ID string
	// Name is the name a name-only record gave the group (offline plan).
	Name string
	// Perms are the group's ingress permissions with an address source;
	// in an offline plan only those the call added.
	Perms []Permission
	// Lists holds the entries of the prefix lists Perms reference on a
	// sensitive point (no entries: the list no longer exists); unknown
	// lists admit nothing known.
	Lists map[string][]netip.Prefix
	Tags  map[string]string
	// Planned marks an offline plan: the state is only what the call
	// added, not the whole group.
	Planned bool
}

// fromSDK is a group as DescribeSecurityGroups shows it, before its prefix
// lists are read.
func fromSDK(g ec2types.SecurityGroup) group {
	return group{ID: aws.ToString(g.GroupId), Perms: permissions(&g), Tags: tagmap.EC2(g.Tags)}
}

// targets names the group the call changed, with the address permissions
// the call added. It makes no call: a group named only by name (old
// records) keeps the name in its evidence, and Observe resolves it.
func targets(call *trigger.APICall, _ params) ([]rule.Target, error) {
	var groupID string
	var ev evidence
	var err error
	switch call.EventName {
	case "AuthorizeSecurityGroupIngress":
		groupID, ev, err = parseAuthorize(call)
	case "ModifySecurityGroupRules":
		groupID, ev, err = parseModify(call)
	default:
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", trigger.ErrInput, call.EventName, err)
	}
	id := groupID
	if id == "" {
		id = ev.GroupName
	}
	return []rule.Target{{Type: ResourceType, ID: id, Region: call.Region, Evidence: ev}}, nil
}

// unopened reports whether the target is a call that opened no address
// range to a sensitive port: judged from the call alone, with no read.
func (p params) unopened(t rule.Target) bool {
	ev, ok := t.Evidence.(evidence)
	return ok && !p.sensitive(ev.Permissions)
}

// observe reads the group's current state: an event says where to look,
// the whole group decides (a call that adds 128.0.0.0/1 to a group that
// already admits 0.0.0.0/1 on the same port is caught). A call that opened
// nothing sensitive needs no read.
func observe(ctx context.Context, env rule.Env, t rule.Target, p params) (group, error) {
	if p.unopened(t) {
		return group{}, nil
	}
	ev, _ := t.Evidence.(evidence)
	return read(ctx, awsclient.Client(env.Session, ec2.NewFromConfig), t.ID, ev, p)
}

// read is one group (by ID, or by the name a record gave it) with the
// entries of the prefix lists it references on a sensitive point.
func read(ctx context.Context, api groupsAPI, id string, ev evidence, p params) (group, error) {
	sg, err := current(ctx, api, id, ev)
	if err != nil {
		return group{}, err
	}
	g := fromSDK(sg)
	if err := (listCache{}).fill(ctx, api, &g, p); err != nil {
		return group{}, err
	}
	return g, nil
}

// plan is the offline planner: the call's own permissions. It cannot know
// what the group already had, nor what a prefix list holds.
func plan(t rule.Target, p params) (group, error) {
	ev, ok := t.Evidence.(evidence)
	switch {
	case !ok:
		return group{}, rule.Undecided("the trigger carries no permissions to judge")
	case p.unopened(t):
		return group{}, nil
	}
	return group{ID: t.ID, Name: ev.GroupName, Perms: ev.Permissions, Planned: true}, nil
}

// judgeGroup is the judgement: the permissions that together admit the
// whole address space on a sensitive point, and the revoke of exactly
// those. It is pure.
func judgeGroup(g group, t rule.Target, p params, _ rule.Facts) rule.Finding {
	if p.unopened(t) {
		return rule.Finding{Verdict: rule.Compliant, Reason: "the call opened no address range to a port outside the authorized ones"}
	}
	off, opens := p.judge(g.Perms, g.Lists)
	if g.Planned {
		switch {
		case len(off) == 0:
			return rule.Finding{Verdict: rule.Compliant,
				Reason: "the ranges the call added do not by themselves cover the whole address space on a port outside the authorized ones; a live run judges them with the rest of the group"}
		case g.Name != "" && !strings.HasPrefix(g.ID, "sg-"):
			f := p.finding("", g.Perms, off, opens, "the call opened ")
			f.Reason += fmt.Sprintf("; the call names the group only by name (%q), which a live run resolves to its ID before any revoke", g.Name)
			return f
		}
		return p.finding(g.ID, g.Perms, off, opens, "the call opened ")
	}
	if len(off) == 0 {
		return rule.Finding{Verdict: rule.Compliant, Resource: g.ID, Tags: g.Tags,
			Reason: "no sensitive port admits the whole IPv4 or IPv6 address space"}
	}
	f := p.finding(g.ID, g.Perms, off, opens, "")
	f.Resource, f.Tags = g.ID, g.Tags
	return f
}

// permissions lists the group's ingress permissions that have an address
// source: each CIDR and each prefix list, one by one.
func permissions(g *ec2types.SecurityGroup) []Permission {
	var out []Permission
	for _, ip := range g.IpPermissions {
		base := Permission{Protocol: aws.ToString(ip.IpProtocol), FromPort: ip.FromPort, ToPort: ip.ToPort}
		for _, r := range ip.IpRanges {
			p := base
			p.CIDR, p.Description = aws.ToString(r.CidrIp), aws.ToString(r.Description)
			out = append(out, p)
		}
		for _, r := range ip.Ipv6Ranges {
			p := base
			p.CIDR, p.Description = aws.ToString(r.CidrIpv6), aws.ToString(r.Description)
			out = append(out, p)
		}
		for _, r := range ip.PrefixListIds {
			p := base
			p.PrefixListID, p.Description = aws.ToString(r.PrefixListId), aws.ToString(r.Description)
			out = append(out, p)
		}
	}
	return out
}

// listsToRead are the prefix lists referenced on a sensitive point: only
// their entries can matter.
func (p params) listsToRead(perms []Permission) []string {
	pts := p.points(perms)
	var ids []string
	for _, q := range perms {
		if q.PrefixListID == "" || slices.Contains(ids, q.PrefixListID) {
			continue
		}
		if slices.ContainsFunc(pts, q.reaches) {
			ids = append(ids, q.PrefixListID)
		}
	}
	return ids
}

// finding plans the revoke of the offending permissions (indices into
// perms). With no group ID (an offline plan for a group named only by name)
// it plans nothing: a revoke needs the ID.
func (p params) finding(groupID string, perms []Permission, off []int, opens []openness, prefix string) rule.Finding {
	var how []string
	for _, o := range opens {
		how = append(how, o.describe(perms))
	}
	reason := prefix + strings.Join(how, "; and ")
	if p.allowList {
		reason += " — outside the authorized ports"
	} else {
		reason += " — a blocked port"
	}
	revoked := make([]Permission, len(off))
	descs := make([]string, len(off))
	for i, j := range off {
		revoked[i], descs[i] = perms[j], perms[j].String()
	}
	f := rule.Finding{Verdict: rule.Violation, Reason: reason}
	if !strings.HasPrefix(groupID, "sg-") {
		return f
	}
	rp := revokeParams{GroupID: groupID, Permissions: revoked}
	undo := rule.NewAction(apiAuthorize, groupID, "restore the revoked permissions", rp, nil)
	f.Actions = []rule.Action{rule.NewAction(apiRevoke, groupID, "revoke "+strings.Join(descs, "; "), rp, &undo)}
	return f
}

// sweep lists every security group in the region, read once (paginated),
// each with its state: the entries of the prefix lists the groups reference
// on a sensitive point are read too, each list once per sweep, so
// evaluation needs no further call.
func sweep(ctx context.Context, env rule.Env, p params) ([]rule.Target, error) {
	return list(ctx, awsclient.Client(env.Session, ec2.NewFromConfig), env.Session.Region, p)
}

// list is the sweep's listing. A group whose prefix lists cannot be read
// is left without a state: when its turn comes it is read live (Observe)
// and, if the list still cannot be read, its own decision is an error — as
// when the lists were read at evaluation — while the other groups are
// judged.
func list(ctx context.Context, api groupsAPI, region string, p params) ([]rule.Target, error) {
	pages := ec2.NewDescribeSecurityGroupsPaginator(api, &ec2.DescribeSecurityGroupsInput{})
	var out []rule.Target
	lists := listCache{}
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list security groups: %w", err)
		}
		for _, sg := range page.SecurityGroups {
			t := rule.Target{Type: ResourceType, ID: aws.ToString(sg.GroupId), Region: region}
			g := fromSDK(sg)
			if lists.fill(ctx, api, &g, p) == nil {
				t.State = g
			}
			out = append(out, t)
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
		switch {
		case q.PrefixListID != "":
			ip.PrefixListIds = []ec2types.PrefixListId{{PrefixListId: aws.String(q.PrefixListID), Description: desc}}
		case q.ipv6():
			ip.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: aws.String(q.CIDR), Description: desc}}
		default:
			ip.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(q.CIDR), Description: desc}}
		}
		out = append(out, ip)
	}
	return out
}

// ingressAPI is what Apply changes of EC2.
type ingressAPI interface {
	RevokeSecurityGroupIngress(context.Context, *ec2.RevokeSecurityGroupIngressInput, ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupIngressOutput, error)
	AuthorizeSecurityGroupIngress(context.Context, *ec2.AuthorizeSecurityGroupIngressInput, ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupIngressOutput, error)
}

// apply makes the revoke (the plan) or the authorize (its undo). Bad params
// are refused before any client is built.
func apply(ctx context.Context, env rule.Env, a rule.Action) error {
	p, err := actionParams(a)
	if err != nil {
		return err
	}
	return applyWith(ctx, awsclient.Client(env.Session, ec2.NewFromConfig), a.API, p)
}

// actionParams reads and checks an action's params.
func actionParams(a rule.Action) (revokeParams, error) {
	var p revokeParams
	if a.API != apiRevoke && a.API != apiAuthorize {
		return p, fmt.Errorf("sgopen cannot apply %s", a.API)
	}
	if err := a.Decode(&p); err != nil {
		return p, err
	}
	if p.GroupID == "" || len(p.Permissions) == 0 {
		return p, fmt.Errorf("%s: params need groupId and permissions", a.API)
	}
	if !strings.HasPrefix(p.GroupID, "sg-") {
		// Never a name where AWS wants an ID: by name, AWS would act on the
		// default VPC's group of that name, whichever it is.
		return p, fmt.Errorf("%s: groupId %q is not a security group ID", a.API, p.GroupID)
	}
	return p, nil
}

func applyWith(ctx context.Context, client ingressAPI, api string, p revokeParams) error {
	if api == apiRevoke {
		return revoke(ctx, client, p)
	}
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

// revoke removes the permissions in one call. If AWS rejects the batch
// because one is already gone, each is revoked alone so the rest still go.
func revoke(ctx context.Context, client ingressAPI, p revokeParams) error {
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
