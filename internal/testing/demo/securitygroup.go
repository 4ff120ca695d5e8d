package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
)

// The invented IDs the ec2-authorize-sg-ingress-* events use.
const (
	eventGroupID      = "sg-0123456789abcdef0"
	eventOtherGroupID = "sg-0fedcba9876543210"
	eventPrefixListID = "pl-0b1c2d3e4f5a6b7c8"
)

var securityGroupScenarios = []Scenario{
	{
		Rule:   "sg-open-world",
		Name:   "world-open SSH",
		Events: []string{"cloudtrail/ec2-authorize-sg-ingress-ssh-world.json"},
		Seed: func(ctx context.Context, s *awsclient.Session) (Fixture, error) {
			return seedGroup(ctx, s, "web", "web tier", "cloudtrail/ec2-authorize-sg-ingress-ssh-world.json", []ec2types.IpPermission{
				tcp(22, v4("0.0.0.0/0", ""), v4("10.0.0.0/8", "corp VPN")),
				tcp(443, v4("0.0.0.0/0", "public https")),
			})
		},
		State: ingress,
		Want:  []string{"tcp 22 from 10.0.0.0/8", "tcp 443 from 0.0.0.0/0"},
	},
	{
		Rule:   "sg-open-world",
		Name:   "world-open SSH and RDP among restricted rules",
		Events: []string{"cloudtrail/ec2-authorize-sg-ingress-mixed.json"},
		Seed: func(ctx context.Context, s *awsclient.Session) (Fixture, error) {
			client := awsclient.Client(s, ec2.NewFromConfig)
			vpc, err := newVPC(ctx, client)
			if err != nil {
				return Fixture{}, err
			}
			app, err := client.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("app"),
				Description: aws.String("application servers"), VpcId: aws.String(vpc)})
			if err != nil {
				return Fixture{}, fmt.Errorf("create group app: %w", err)
			}
			pl, err := client.CreateManagedPrefixList(ctx, &ec2.CreateManagedPrefixListInput{PrefixListName: aws.String("corp-offices"),
				AddressFamily: aws.String("IPv4"), MaxEntries: aws.Int32(5),
				Entries: []ec2types.AddPrefixListEntry{{Cidr: aws.String("198.51.100.0/24"), Description: aws.String("HQ")}}})
			if err != nil {
				return Fixture{}, fmt.Errorf("create prefix list: %w", err)
			}
			appID, plID := aws.ToString(app.GroupId), aws.ToString(pl.PrefixList.PrefixListId)
			rdp := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(3389), ToPort: aws.Int32(3389),
				Ipv6Ranges: []ec2types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}}
			f, err := seedGroupIn(ctx, s, vpc, "ops", "operations hosts", "cloudtrail/ec2-authorize-sg-ingress-mixed.json", []ec2types.IpPermission{
				tcp(22, v4("0.0.0.0/0", ""), v4("10.0.0.0/8", "corp network")),
				tcp(443, v4("0.0.0.0/0", "public https")),
				{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432),
					UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(appID)}}},
				{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(6379), ToPort: aws.Int32(6379),
					PrefixListIds: []ec2types.PrefixListId{{PrefixListId: aws.String(plID)}}},
				rdp,
			}, map[string]string{eventOtherGroupID: appID, eventPrefixListID: plID})
			if err != nil {
				return Fixture{}, err
			}
			f.Names = map[string]string{appID: "group app", plID: "prefix list corp-offices"}
			return f, nil
		},
		State: ingress,
		Want: []string{"tcp 22 from 10.0.0.0/8", "tcp 443 from 0.0.0.0/0",
			"tcp 5432 from group app", "tcp 6379 from prefix list corp-offices"},
	},
	{
		Rule:   "sg-open-world",
		Name:   "all traffic from the IPv4 and IPv6 internet",
		Events: []string{"cloudtrail/ec2-authorize-sg-ingress-all-traffic-ipv6.json"},
		Seed: func(ctx context.Context, s *awsclient.Session) (Fixture, error) {
			all := ec2types.IpPermission{IpProtocol: aws.String("-1"),
				IpRanges:   []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}},
				Ipv6Ranges: []ec2types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}}
			return seedGroup(ctx, s, "legacy", "legacy app", "cloudtrail/ec2-authorize-sg-ingress-all-traffic-ipv6.json", []ec2types.IpPermission{
				all,
				tcp(5432, v4("10.0.0.0/16", "app subnet")),
				{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
					Ipv6Ranges: []ec2types.Ipv6Range{{CidrIpv6: aws.String("2001:db8::/32"), Description: aws.String("partner")}}},
			})
		},
		State: ingress,
		Want:  []string{"tcp 443 from 2001:db8::/32", "tcp 5432 from 10.0.0.0/16"},
	},
}

func tcp(port int32, ranges ...ec2types.IpRange) ec2types.IpPermission {
	return ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port), IpRanges: ranges}
}

func v4(cidr, desc string) ec2types.IpRange {
	r := ec2types.IpRange{CidrIp: aws.String(cidr)}
	if desc != "" {
		r.Description = aws.String(desc)
	}
	return r
}

func newVPC(ctx context.Context, client *ec2.Client) (string, error) {
	vpc, err := client.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		return "", fmt.Errorf("create VPC: %w", err)
	}
	return aws.ToString(vpc.Vpc.VpcId), nil
}

func seedGroup(ctx context.Context, s *awsclient.Session, name, desc, event string, perms []ec2types.IpPermission) (Fixture, error) {
	vpc, err := newVPC(ctx, awsclient.Client(s, ec2.NewFromConfig))
	if err != nil {
		return Fixture{}, err
	}
	return seedGroupIn(ctx, s, vpc, name, desc, event, perms, nil)
}

// seedGroupIn creates a group with the permissions and maps the event's
// invented group and rule IDs (and the extra ones given) to the seeded ones.
func seedGroupIn(ctx context.Context, s *awsclient.Session, vpc, name, desc, event string, perms []ec2types.IpPermission, extra map[string]string) (Fixture, error) {
	client := awsclient.Client(s, ec2.NewFromConfig)
	sg, err := client.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name),
		Description: aws.String(desc), VpcId: aws.String(vpc)})
	if err != nil {
		return Fixture{}, fmt.Errorf("create group %s: %w", name, err)
	}
	id := aws.ToString(sg.GroupId)
	if _, err := client.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: perms}); err != nil {
		return Fixture{}, fmt.Errorf("authorize ingress on %s: %w", name, err)
	}
	replace := map[string]string{eventGroupID: id}
	for k, v := range extra {
		replace[k] = v
	}
	rules, err := ruleIDs(ctx, client, id, event, replace)
	if err != nil {
		return Fixture{}, err
	}
	for k, v := range rules {
		replace[k] = v
	}
	return Fixture{ID: id, Label: id + " (" + name + ")", Replace: replace}, nil
}

// ruleIDs maps the security-group rule IDs an event's response names to the
// seeded rules with the same protocol, ports and source.
func ruleIDs(ctx context.Context, client *ec2.Client, groupID, event string, replace map[string]string) (map[string]string, error) {
	raw, err := readEvent(event)
	if err != nil {
		return nil, err
	}
	raw, _ = Rewrite(raw, replace)
	var ev struct {
		Detail struct {
			Response struct {
				RuleSet struct {
					Items []sgRule `json:"items"`
				} `json:"securityGroupRuleSet"`
			} `json:"responseElements"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("%s: %w", event, err)
	}
	out, err := client.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{
		Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{groupID}}}})
	if err != nil {
		return nil, fmt.Errorf("describe rules of %s: %w", groupID, err)
	}
	ids := map[string]string{}
	for _, want := range ev.Detail.Response.RuleSet.Items {
		i := slices.IndexFunc(out.SecurityGroupRules, func(r ec2types.SecurityGroupRule) bool {
			got := sgRule{IsEgress: aws.ToBool(r.IsEgress), Protocol: aws.ToString(r.IpProtocol),
				FromPort: aws.ToInt32(r.FromPort), ToPort: aws.ToInt32(r.ToPort),
				CIDRv4: aws.ToString(r.CidrIpv4), CIDRv6: aws.ToString(r.CidrIpv6), PrefixList: aws.ToString(r.PrefixListId)}
			if r.ReferencedGroupInfo != nil {
				got.Ref = &sgRef{GroupID: aws.ToString(r.ReferencedGroupInfo.GroupId)}
			}
			return got.same(want)
		})
		if i < 0 {
			return nil, fmt.Errorf("%s: no seeded rule matches %+v", event, want)
		}
		ids[want.ID] = aws.ToString(out.SecurityGroupRules[i].SecurityGroupRuleId)
	}
	return ids, nil
}

type sgRef struct {
	GroupID string `json:"groupId"`
}

type sgRule struct {
	ID         string `json:"securityGroupRuleId"`
	IsEgress   bool   `json:"isEgress"`
	Protocol   string `json:"ipProtocol"`
	FromPort   int32  `json:"fromPort"`
	ToPort     int32  `json:"toPort"`
	CIDRv4     string `json:"cidrIpv4"`
	CIDRv6     string `json:"cidrIpv6"`
	PrefixList string `json:"prefixListId"`
	Ref        *sgRef `json:"referencedGroupInfo"`
}

func (a sgRule) same(b sgRule) bool {
	ref := func(r *sgRef) string {
		if r == nil {
			return ""
		}
		return r.GroupID
	}
	ports := a.Protocol == "-1" || (a.FromPort == b.FromPort && a.ToPort == b.ToPort)
	return a.IsEgress == b.IsEgress && a.Protocol == b.Protocol && ports && a.CIDRv4 == b.CIDRv4 &&
		a.CIDRv6 == b.CIDRv6 && a.PrefixList == b.PrefixList && ref(a.Ref) == ref(b.Ref)
}

// ingress reads a group's ingress as sorted lines: "tcp 22 from 0.0.0.0/0",
// "all traffic from ::/0", "tcp 5432 from group app".
func ingress(ctx context.Context, s *awsclient.Session, f Fixture) ([]string, error) {
	out, err := awsclient.Client(s, ec2.NewFromConfig).DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{f.ID}})
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", f.ID, err)
	}
	if len(out.SecurityGroups) == 0 {
		return nil, fmt.Errorf("group %s is gone", f.ID)
	}
	name := func(id string) string {
		if n, ok := f.Names[id]; ok {
			return n
		}
		return id
	}
	var lines []string
	for _, p := range out.SecurityGroups[0].IpPermissions {
		what := "all traffic"
		if proto := aws.ToString(p.IpProtocol); proto != "-1" {
			from, to := aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort)
			what = fmt.Sprintf("%s %d", proto, from)
			if to != from {
				what = fmt.Sprintf("%s %d-%d", proto, from, to)
			}
		}
		for _, r := range p.IpRanges {
			lines = append(lines, what+" from "+aws.ToString(r.CidrIp))
		}
		for _, r := range p.Ipv6Ranges {
			lines = append(lines, what+" from "+aws.ToString(r.CidrIpv6))
		}
		for _, g := range p.UserIdGroupPairs {
			lines = append(lines, what+" from "+name(aws.ToString(g.GroupId)))
		}
		for _, pl := range p.PrefixListIds {
			lines = append(lines, what+" from "+name(aws.ToString(pl.PrefixListId)))
		}
	}
	sort.Strings(lines)
	return lines, nil
}
