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
)

// ErrAmbiguous is returned (wrapped, naming the candidates) when an old
// record names a security group only by name and current state cannot say
// which group that was. Nothing is changed; the decision is an error, so the
// event is retried and, in the end, kept in the dead-letter queue for a
// human to look at.
var ErrAmbiguous = errors.New("ambiguous security group name")

// groupsAPI is what the rules read of EC2.
type groupsAPI interface {
	ec2.DescribeSecurityGroupsAPIClient
	ec2.GetManagedPrefixListEntriesAPIClient
	DescribeVpcs(context.Context, *ec2.DescribeVpcsInput, ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error)
}

// current reads the group a target names; an error made with rule.Gone,
// saying why, when it no longer exists.
//
// By ID it is one DescribeSecurityGroups. By name (a pre-2021 record of a
// call that named the group with groupName only) it resolves the name as
// AWS did: in the VPC the record names, if any; otherwise in the region's
// default VPC, the only VPC whose groups a name-only call could change. It
// never acts on the first of several groups that share a name in different
// VPCs, and never passes the name where AWS wants an ID.
func current(ctx context.Context, api groupsAPI, id string, ev evidence) (ec2types.SecurityGroup, error) {
	if strings.HasPrefix(id, "sg-") {
		out, err := api.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
		switch {
		case awsclient.HasCode(err, "InvalidGroup.NotFound", "InvalidGroupId.NotFound", "InvalidGroupId.Malformed"):
			return ec2types.SecurityGroup{}, rule.Gone("the security group no longer exists")
		case err != nil:
			return ec2types.SecurityGroup{}, fmt.Errorf("describe security group %s: %w", id, err)
		case len(out.SecurityGroups) == 0:
			return ec2types.SecurityGroup{}, rule.Gone("the security group no longer exists")
		}
		return out.SecurityGroups[0], nil
	}
	name := ev.GroupName
	if name == "" {
		name = id
	}
	if name == "" {
		return ec2types.SecurityGroup{}, errors.New("the target names no security group")
	}
	return byName(ctx, api, name, ev.VpcID)
}

// byName resolves a group name: one DescribeSecurityGroups filtered by name
// (every VPC), then, when the record names no VPC and some group has the
// name, one DescribeVpcs for the default VPC.
func byName(ctx context.Context, client groupsAPI, name, vpc string) (ec2types.SecurityGroup, error) {
	var none ec2types.SecurityGroup
	in := &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{{Name: aws.String("group-name"), Values: []string{name}}}}
	var all []ec2types.SecurityGroup
	for pages := ec2.NewDescribeSecurityGroupsPaginator(client, in); pages.HasMorePages(); {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return none, fmt.Errorf("describe security groups named %q: %w", name, err)
		}
		// The filter matches exactly, but a wildcard in a hostile name
		// (group-name filters accept * and ?) must not widen it.
		for _, g := range page.SecurityGroups {
			if aws.ToString(g.GroupName) == name {
				all = append(all, g)
			}
		}
	}
	if len(all) == 0 {
		return none, rule.Gone(fmt.Sprintf("no security group named %q exists any more", name))
	}
	where := "the VPC the record names, " + vpc
	if vpc == "" {
		out, err := client.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
		if err != nil {
			return none, fmt.Errorf("find the default VPC for security group name %q: %w", name, err)
		}
		if len(out.Vpcs) == 0 {
			return none, fmt.Errorf("%w: the record names group %q without an ID or a VPC, and the region has no default VPC, the only place a name-only call can change; groups of that name: %s",
				ErrAmbiguous, name, candidates(all))
		}
		vpc = aws.ToString(out.Vpcs[0].VpcId)
		where = "the default VPC, " + vpc
	}
	var in1 []ec2types.SecurityGroup
	for _, g := range all {
		if aws.ToString(g.VpcId) == vpc {
			in1 = append(in1, g)
		}
	}
	switch len(in1) {
	case 0:
		return none, rule.Gone(fmt.Sprintf("no security group named %q exists any more in %s (groups of that name elsewhere, %s, are not the one the call changed)", name, where, candidates(all)))
	case 1:
		return in1[0], nil
	}
	return none, fmt.Errorf("%w: %q matches several groups in %s: %s", ErrAmbiguous, name, where, candidates(in1))
}

func candidates(gs []ec2types.SecurityGroup) string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = aws.ToString(g.GroupId) + " in " + aws.ToString(g.VpcId)
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// listCache holds what each managed prefix list read so far gave: its
// entries, or the failure (not tried again through the same cache).
type listCache map[string]listRead

type listRead struct {
	entries []netip.Prefix
	err     error
}

// fill puts the entries of the prefix lists g references on a sensitive
// point into g.Lists, reading each list not read yet: one
// GetManagedPrefixListEntries (paginated). A list that no longer exists
// admits nothing. Any other failure is returned: without a list's entries
// the group cannot be judged.
func (lc listCache) fill(ctx context.Context, api ec2.GetManagedPrefixListEntriesAPIClient, g *group, p params) error {
	for _, id := range p.listsToRead(g.Perms) {
		r, ok := lc[id]
		if !ok {
			r.entries, r.err = entries(ctx, api, id)
			lc[id] = r
		}
		if r.err != nil {
			return r.err
		}
		if g.Lists == nil {
			g.Lists = map[string][]netip.Prefix{}
		}
		g.Lists[id] = r.entries
	}
	return nil
}

func entries(ctx context.Context, api ec2.GetManagedPrefixListEntriesAPIClient, id string) ([]netip.Prefix, error) {
	var got []netip.Prefix
	pages := ec2.NewGetManagedPrefixListEntriesPaginator(api, &ec2.GetManagedPrefixListEntriesInput{PrefixListId: aws.String(id)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if awsclient.HasCode(err, "InvalidPrefixListID.NotFound", "InvalidPrefixListId.NotFound") {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read prefix list %s: %w", id, err)
		}
		for _, e := range page.Entries {
			p, err := ipspace.Parse(aws.ToString(e.Cidr))
			if err != nil {
				return nil, fmt.Errorf("prefix list %s: %w", id, err)
			}
			got = append(got, p)
		}
	}
	return got, nil
}
