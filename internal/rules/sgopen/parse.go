package sgopen

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rampart-aws/rampart/internal/ipspace"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// The shapes CloudTrail records for the two triggering calls. Field names
// match case-insensitively, so EC2's camelCase and the capitalised keys of
// ModifySecurityGroupRulesRequest both decode.

type ipRange struct {
	CidrIP      string `json:"cidrIp"`
	Description string `json:"description"`
}

type ipv6Range struct {
	CidrIPv6    string `json:"cidrIpv6"`
	Description string `json:"description"`
}

type prefixListID struct {
	PrefixListID string `json:"prefixListId"`
	Description  string `json:"description"`
}

type ipPermission struct {
	IPProtocol    trigger.String               `json:"ipProtocol"`
	FromPort      trigger.Int                  `json:"fromPort"`
	ToPort        trigger.Int                  `json:"toPort"`
	IPRanges      trigger.List[ipRange]        `json:"ipRanges"`
	IPv6Ranges    trigger.List[ipv6Range]      `json:"ipv6Ranges"`
	PrefixListIDs trigger.List[prefixListID]   `json:"prefixListIds"`
	Groups        trigger.List[map[string]any] `json:"groups"`
}

type authorizeRequest struct {
	GroupID   string `json:"groupId"`
	GroupName string `json:"groupName"`
	// VpcID is not a parameter of AuthorizeSecurityGroupIngress, but some
	// tools that rewrite records add it; when present it places a
	// name-only call.
	VpcID         string                     `json:"vpcId"`
	IPPermissions trigger.List[ipPermission] `json:"ipPermissions"`
	// The flat form of older records and the CLI's --cidr/--port shortcut.
	CidrIP     string         `json:"cidrIp"`
	IPProtocol trigger.String `json:"ipProtocol"`
	FromPort   trigger.Int    `json:"fromPort"`
	ToPort     trigger.Int    `json:"toPort"`
}

type ruleSetItem struct {
	GroupID      string         `json:"groupId"`
	RuleID       string         `json:"securityGroupRuleId"`
	IsEgress     trigger.Bool   `json:"isEgress"`
	IPProtocol   trigger.String `json:"ipProtocol"`
	FromPort     trigger.Int    `json:"fromPort"`
	ToPort       trigger.Int    `json:"toPort"`
	CidrIPv4     string         `json:"cidrIpv4"`
	CidrIPv6     string         `json:"cidrIpv6"`
	PrefixListID string         `json:"prefixListId"`
}

type authorizeResponse struct {
	RuleSet trigger.List[ruleSetItem] `json:"securityGroupRuleSet"`
}

func ptr(n trigger.Int) *int32 {
	if !n.Set {
		return nil
	}
	v := int32(n.Value)
	return &v
}

// addSource appends p when it admits addresses (a CIDR or a prefix list);
// a malformed CIDR is an error. Every source is kept, not only /0: ranges
// that cover the world only together are judged against the whole group.
func addSource(perms []Permission, p Permission) ([]Permission, error) {
	switch {
	case p.CIDR != "":
		if _, err := ipspace.Parse(p.CIDR); err != nil {
			return nil, err
		}
	case p.PrefixListID == "":
		return perms, nil
	}
	return append(perms, p), nil
}

func checkPortValues(from, to trigger.Int) error {
	if from.Set && (from.Value < -1 || from.Value > 65535) || to.Set && (to.Value < -1 || to.Value > 65535) {
		return fmt.Errorf("port out of range: %d-%d", from.Value, to.Value)
	}
	return nil
}

// parseAuthorize reads the group and the address permissions (CIDRs and
// prefix lists) an AuthorizeSecurityGroupIngress call added, with their rule
// IDs when the response carries them. The group is its ID, or, in records
// that name it only by name (EC2-Classic and default-VPC calls, before
// 2021), nothing: the evidence then carries the name (and the VPC, if the
// record names one) for Observe to resolve.
func parseAuthorize(call *trigger.APICall) (string, evidence, error) {
	var req authorizeRequest
	if err := json.Unmarshal(call.Request, &req); err != nil {
		return "", evidence{}, fmt.Errorf("requestParameters: %w", err)
	}
	var resp authorizeResponse
	if len(call.Response) > 0 && string(call.Response) != "null" {
		if err := json.Unmarshal(call.Response, &resp); err != nil {
			return "", evidence{}, fmt.Errorf("responseElements: %w", err)
		}
	}
	group := req.GroupID
	var perms []Permission
	var err error
	for _, ip := range req.IPPermissions {
		if err := checkPortValues(ip.FromPort, ip.ToPort); err != nil {
			return "", evidence{}, err
		}
		base := Permission{Protocol: normProtocol(string(ip.IPProtocol)), FromPort: ptr(ip.FromPort), ToPort: ptr(ip.ToPort)}
		for _, r := range ip.IPRanges {
			p := base
			p.CIDR, p.Description = r.CidrIP, r.Description
			if perms, err = addSource(perms, p); err != nil {
				return "", evidence{}, err
			}
		}
		for _, r := range ip.IPv6Ranges {
			p := base
			p.CIDR, p.Description = r.CidrIPv6, r.Description
			if perms, err = addSource(perms, p); err != nil {
				return "", evidence{}, err
			}
		}
		for _, r := range ip.PrefixListIDs {
			p := base
			p.PrefixListID, p.Description = r.PrefixListID, r.Description
			if perms, err = addSource(perms, p); err != nil {
				return "", evidence{}, err
			}
		}
	}
	if req.CidrIP != "" {
		if err := checkPortValues(req.FromPort, req.ToPort); err != nil {
			return "", evidence{}, err
		}
		p := Permission{Protocol: normProtocol(string(req.IPProtocol)), FromPort: ptr(req.FromPort), ToPort: ptr(req.ToPort), CIDR: req.CidrIP}
		if perms, err = addSource(perms, p); err != nil {
			return "", evidence{}, err
		}
	}
	// The response names the rules created (and the group ID when the
	// request named the group); with no request permissions it is the
	// only evidence.
	fromResponse := len(req.IPPermissions) == 0 && req.CidrIP == ""
	for _, item := range resp.RuleSet {
		if bool(item.IsEgress) {
			continue
		}
		if group == "" {
			group = item.GroupID
		}
		p := Permission{Protocol: normProtocol(string(item.IPProtocol)), FromPort: ptr(item.FromPort), ToPort: ptr(item.ToPort),
			CIDR: item.CidrIPv4 + item.CidrIPv6, PrefixListID: item.PrefixListID, RuleID: item.RuleID}
		if fromResponse {
			if perms, err = addSource(perms, p); err != nil {
				return "", evidence{}, err
			}
			continue
		}
		for i := range perms {
			if perms[i].RuleID == "" && perms[i].key() == p.key() {
				perms[i].RuleID = item.RuleID
				break
			}
		}
	}
	ev := evidence{Permissions: perms}
	if group == "" {
		if req.GroupName == "" {
			return "", evidence{}, errors.New("no groupId or groupName")
		}
		ev.GroupName, ev.VpcID = req.GroupName, req.VpcID
	}
	return group, ev, nil
}

type modifyRule struct {
	RuleID string `json:"SecurityGroupRuleId"`
	Rule   *struct {
		IPProtocol trigger.String `json:"IpProtocol"`
		FromPort   trigger.Int    `json:"FromPort"`
		ToPort     trigger.Int    `json:"ToPort"`
		CidrIPv4   string         `json:"CidrIpv4"`
		CidrIPv6   string         `json:"CidrIpv6"`
		PrefixList string         `json:"PrefixListId"`
		Desc       string         `json:"Description"`
	} `json:"SecurityGroupRule"`
}

type modifyRequest struct {
	GroupID string                   `json:"GroupId"`
	Rule    trigger.List[modifyRule] `json:"SecurityGroupRule"`
	Rules   trigger.List[modifyRule] `json:"SecurityGroupRules"`
}

// parseModify reads ModifySecurityGroupRules, whose CloudTrail record nests
// the request under ModifySecurityGroupRulesRequest with capitalised keys.
func parseModify(call *trigger.APICall) (string, evidence, error) {
	var wrapped struct {
		Req *modifyRequest `json:"ModifySecurityGroupRulesRequest"`
	}
	if err := json.Unmarshal(call.Request, &wrapped); err != nil {
		return "", evidence{}, fmt.Errorf("requestParameters: %w", err)
	}
	req := wrapped.Req
	if req == nil { // the un-nested form
		req = &modifyRequest{}
		if err := json.Unmarshal(call.Request, req); err != nil {
			return "", evidence{}, fmt.Errorf("requestParameters: %w", err)
		}
	}
	if req.GroupID == "" {
		return "", evidence{}, errors.New("no GroupId")
	}
	var perms []Permission
	var err error
	for _, m := range append(req.Rule, req.Rules...) {
		if m.Rule == nil {
			continue
		}
		r := m.Rule
		if err := checkPortValues(r.FromPort, r.ToPort); err != nil {
			return "", evidence{}, err
		}
		p := Permission{Protocol: normProtocol(string(r.IPProtocol)), FromPort: ptr(r.FromPort), ToPort: ptr(r.ToPort),
			CIDR: r.CidrIPv4 + r.CidrIPv6, PrefixListID: r.PrefixList, Description: r.Desc, RuleID: m.RuleID}
		if perms, err = addSource(perms, p); err != nil {
			return "", evidence{}, err
		}
	}
	return req.GroupID, evidence{Permissions: perms}, nil
}
