package sgopen

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/rampart-aws/rampart/internal/rule"
)

// TestJudgeGroup: the rules' Judge over states — a live or swept group, an
// offline plan (by ID, by name), and a call that opened nothing sensitive.
func TestJudgeGroup(t *testing.T) {
	t.Parallel()
	ssh := Permission{Protocol: "tcp", FromPort: i32(22), ToPort: i32(22), CIDR: "0.0.0.0/0"}
	office := Permission{Protocol: "tcp", FromPort: i32(22), ToPort: i32(22), CIDR: "10.0.0.0/8"}
	https := Permission{Protocol: "tcp", FromPort: i32(443), ToPort: i32(443), CIDR: "0.0.0.0/0"}
	pl := Permission{Protocol: "tcp", FromPort: i32(3389), ToPort: i32(3389), PrefixListID: "pl-1"}
	call := func(perms ...Permission) rule.Target {
		return rule.Target{ID: "sg-1", Evidence: evidence{Permissions: perms}}
	}
	tags := map[string]string{"team": "web"}
	for _, tc := range []struct {
		name     string
		r        rule.Rule
		g        group
		t        rule.Target
		verdict  rule.Verdict
		reason   string
		revoke   []string // the permissions revoked; nil: no plan
		resource string
	}{
		{"live: world SSH goes, the office range stays", OpenWorld, group{ID: "sg-1", Perms: []Permission{ssh, office, https}, Tags: tags}, call(ssh),
			rule.Violation, "tcp 22 from 0.0.0.0/0 admits every IPv4 address on tcp 22 — outside the authorized ports", []string{"tcp 22 from 0.0.0.0/0"}, "sg-1"},
		{"live: compliant", OpenWorld, group{ID: "sg-1", Perms: []Permission{office, https}, Tags: tags}, call(office),
			rule.Compliant, "no sensitive port admits the whole IPv4 or IPv6 address space", nil, "sg-1"},
		{"swept: a prefix list covering the world", RestrictedCommonPorts, group{ID: "sg-2", Perms: []Permission{pl},
			Lists: map[string][]netip.Prefix{"pl-1": {netip.MustParsePrefix("0.0.0.0/1"), netip.MustParsePrefix("128.0.0.0/1")}}}, rule.Target{ID: "sg-2"},
			rule.Violation, "prefix list pl-1 admits every IPv4 address on tcp 3389 — a blocked port", []string{"tcp 3389 from prefix list pl-1"}, "sg-2"},
		{"swept: a list that no longer exists admits nothing", RestrictedCommonPorts, group{ID: "sg-2", Perms: []Permission{pl}, Lists: map[string][]netip.Prefix{"pl-1": nil}},
			rule.Target{ID: "sg-2"}, rule.Compliant, "no sensitive port", nil, "sg-2"},
		{"the call opened nothing sensitive: no state needed", OpenWorld, group{}, call(https),
			rule.Compliant, "the call opened no address range to a port outside the authorized ones", nil, ""},
		{"offline plan by ID", OpenWorld, group{ID: "sg-1", Perms: []Permission{ssh, office}, Planned: true}, call(ssh, office),
			rule.Violation, "the call opened tcp 22 from 0.0.0.0/0 admits", []string{"tcp 22 from 0.0.0.0/0"}, ""},
		{"offline plan: half the internet by itself", RestrictedSSH, group{ID: "sg-1", Perms: []Permission{{Protocol: "tcp", FromPort: i32(22), ToPort: i32(22), CIDR: "0.0.0.0/1"}}, Planned: true}, rule.Target{ID: "sg-1"},
			rule.Compliant, "do not by themselves cover", nil, ""},
		{"offline plan by name: no revoke without the ID", OpenWorld, group{ID: "web", Name: "web", Perms: []Permission{ssh}, Planned: true}, rule.Target{ID: "web"},
			rule.Violation, `the call names the group only by name ("web")`, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := judgeGroup(tc.g, tc.t, paramsOf(t, tc.r), rule.Facts{Region: "us-east-1"})
			if f.Verdict != tc.verdict || !strings.Contains(f.Reason, tc.reason) || f.Resource != tc.resource {
				t.Fatalf("finding = %+v\nwant %s, %q, resource %q", f, tc.verdict, tc.reason, tc.resource)
			}
			if tc.g.Tags != nil && f.Tags["team"] != "web" {
				t.Fatalf("tags = %v", f.Tags)
			}
			if tc.revoke == nil {
				if len(f.Actions) != 0 {
					t.Fatalf("actions = %+v", f.Actions)
				}
				return
			}
			if len(f.Actions) != 1 || f.Actions[0].API != apiRevoke || f.Actions[0].Undo == nil || f.Actions[0].Undo.API != apiAuthorize {
				t.Fatalf("actions = %+v", f.Actions)
			}
			var p revokeParams
			if err := f.Actions[0].Decode(&p); err != nil || p.GroupID != tc.g.ID {
				t.Fatalf("params = %+v, %v", p, err)
			}
			var got []string
			for _, q := range p.Permissions {
				got = append(got, q.String())
			}
			if !slices.Equal(got, tc.revoke) {
				t.Fatalf("revokes %v, want %v", got, tc.revoke)
			}
		})
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	p, err := parseAllowList(rule.Params{ParamTCP: "443,8000-8080", ParamUDP: ""})
	if err != nil || !p.allowList || p.tcp.String() != "443,8000-8080" || len(p.udp) != 0 {
		t.Fatalf("allow-list = %+v, %v", p, err)
	}
	if p, err := parseBlockList(rule.Params{ParamBlocked: "22, 3389"}); err != nil || p.allowList || p.blocked.String() != "22,3389" {
		t.Fatalf("block-list = %+v, %v", p, err)
	}
	for _, bad := range []func() error{
		func() error { _, err := parseAllowList(rule.Params{ParamTCP: "ssh"}); return err },
		func() error { _, err := parseAllowList(rule.Params{ParamUDP: "70000"}); return err },
		func() error { _, err := parseBlockList(rule.Params{ParamBlocked: ""}); return err },
		func() error { _, err := parseBlockList(rule.Params{ParamBlocked: "22-"}); return err },
	} {
		if bad() == nil {
			t.Error("bad ports accepted")
		}
	}
}

// TestPlan: the offline planner judges the call's own permissions; a
// target without them (a Config item) is undecided, with the reason the
// rule has always given.
func TestPlan(t *testing.T) {
	t.Parallel()
	ps := paramsOf(t, OpenWorld)
	ssh := Permission{Protocol: "tcp", FromPort: i32(22), ToPort: i32(22), CIDR: "0.0.0.0/0"}
	g, err := plan(rule.Target{ID: "sg-1", Evidence: evidence{Permissions: []Permission{ssh}}}, ps)
	if err != nil || !g.Planned || g.ID != "sg-1" || len(g.Perms) != 1 {
		t.Fatalf("plan = %+v, %v", g, err)
	}
	if _, err := plan(rule.Target{ID: "sg-1"}, ps); !errors.Is(err, rule.ErrUndecided) {
		t.Fatalf("no evidence: %v", err)
	}
	f, err := bound(t, OpenWorld).Evaluate(context.Background(), offline, rule.Target{ID: "sg-1"})
	if err != nil || f.Verdict != rule.NotApplicable || f.Reason != "offline: the trigger carries no permissions to judge" {
		t.Fatalf("offline without evidence = %+v, %v", f, err)
	}
	// A call that opened nothing sensitive is decided live without a read:
	// Observe returns before it would build a client (none here).
	if g, err := observe(context.Background(), rule.Env{}, rule.Target{ID: "sg-1", Evidence: evidence{}}, ps); err != nil || g.ID != "" {
		t.Fatalf("observe = %+v, %v", g, err)
	}
}

// fakeEC2 serves DescribeSecurityGroups from groups (one page) and prefix
// lists from lists (an error for a listed failure), counting the reads.
type fakeEC2 struct {
	groups []ec2types.SecurityGroup
	lists  map[string][]string
	fail   map[string]error
	reads  map[string]int
}

func (f *fakeEC2) DescribeSecurityGroups(_ context.Context, in *ec2.DescribeSecurityGroupsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	if len(in.GroupIds) == 0 {
		return &ec2.DescribeSecurityGroupsOutput{SecurityGroups: f.groups}, nil
	}
	for _, g := range f.groups {
		if aws.ToString(g.GroupId) == in.GroupIds[0] {
			return &ec2.DescribeSecurityGroupsOutput{SecurityGroups: []ec2types.SecurityGroup{g}}, nil
		}
	}
	return nil, &smithy.GenericAPIError{Code: "InvalidGroup.NotFound"}
}

func (f *fakeEC2) GetManagedPrefixListEntries(_ context.Context, in *ec2.GetManagedPrefixListEntriesInput, _ ...func(*ec2.Options)) (*ec2.GetManagedPrefixListEntriesOutput, error) {
	id := aws.ToString(in.PrefixListId)
	f.reads[id]++
	if err := f.fail[id]; err != nil {
		return nil, err
	}
	cidrs, ok := f.lists[id]
	if !ok {
		return nil, &smithy.GenericAPIError{Code: "InvalidPrefixListID.NotFound"}
	}
	out := &ec2.GetManagedPrefixListEntriesOutput{}
	for _, c := range cidrs {
		out.Entries = append(out.Entries, ec2types.PrefixListEntry{Cidr: aws.String(c)})
	}
	return out, nil
}

func (f *fakeEC2) DescribeVpcs(context.Context, *ec2.DescribeVpcsInput, ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error) {
	return &ec2.DescribeVpcsOutput{}, nil
}

func sg(id string, plists ...string) ec2types.SecurityGroup {
	p := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(3389), ToPort: aws.Int32(3389)}
	for _, l := range plists {
		p.PrefixListIds = append(p.PrefixListIds, ec2types.PrefixListId{PrefixListId: aws.String(l)})
	}
	return ec2types.SecurityGroup{GroupId: aws.String(id), IpPermissions: []ec2types.IpPermission{p}}
}

// TestSweepListing: the sweep reads each prefix list once, puts the state
// on every target, and leaves a group whose list cannot be read without a
// state (it is read live, and fails on its own); a list that no longer
// exists admits nothing.
func TestSweepListing(t *testing.T) {
	t.Parallel()
	denied := &smithy.GenericAPIError{Code: "UnauthorizedOperation"}
	api := &fakeEC2{
		groups: []ec2types.SecurityGroup{sg("sg-1", "pl-world"), sg("sg-2", "pl-world"), sg("sg-3", "pl-denied"), sg("sg-4", "pl-gone"), sg("sg-5", "pl-denied")},
		lists:  map[string][]string{"pl-world": {"0.0.0.0/1", "128.0.0.0/1"}},
		fail:   map[string]error{"pl-denied": denied},
		reads:  map[string]int{},
	}
	ps := paramsOf(t, RestrictedCommonPorts)
	ts, err := list(context.Background(), api, "us-east-1", ps)
	if err != nil || len(ts) != 5 {
		t.Fatalf("list = %v, %v", ts, err)
	}
	if api.reads["pl-world"] != 1 || api.reads["pl-denied"] != 1 || api.reads["pl-gone"] != 1 {
		t.Fatalf("reads = %v, want each list once", api.reads)
	}
	want := map[string]rule.Verdict{"sg-1": rule.Violation, "sg-2": rule.Violation, "sg-4": rule.Compliant}
	for _, tg := range ts {
		g, ok := tg.State.(group)
		if v, judged := want[tg.ID]; judged {
			if !ok {
				t.Fatalf("%s has no state", tg.ID)
			}
			if f := judgeGroup(g, tg, ps, rule.Facts{}); f.Verdict != v {
				t.Fatalf("%s: %+v", tg.ID, f)
			}
			continue
		}
		if ok {
			t.Fatalf("%s has a state though its list could not be read: %+v", tg.ID, g)
		}
		// Read live, the list still fails: an error, not a verdict.
		if _, err := read(context.Background(), api, tg.ID, evidence{}, ps); !errors.Is(err, denied) {
			t.Fatalf("%s read live: %v", tg.ID, err)
		}
	}
	// A group that is gone.
	if _, err := read(context.Background(), api, "sg-9", evidence{}, ps); !errors.Is(err, rule.ErrGone) || err.Error() != "the security group no longer exists" {
		t.Fatalf("gone: %v", err)
	}
}

// fakeIngress answers revokes: AWS rejects a batch naming a permission that
// is gone (InvalidPermission.NotFound); gone lists the sources gone.
type fakeIngress struct {
	gone    map[string]bool
	revoked []string
}

func (f *fakeIngress) RevokeSecurityGroupIngress(_ context.Context, in *ec2.RevokeSecurityGroupIngressInput, _ ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupIngressOutput, error) {
	var cidrs []string
	for _, p := range in.IpPermissions {
		for _, r := range p.IpRanges {
			if f.gone[aws.ToString(r.CidrIp)] {
				return nil, &smithy.GenericAPIError{Code: "InvalidPermission.NotFound"}
			}
			cidrs = append(cidrs, aws.ToString(r.CidrIp))
		}
	}
	f.revoked = append(f.revoked, cidrs...)
	return &ec2.RevokeSecurityGroupIngressOutput{}, nil
}

func (f *fakeIngress) AuthorizeSecurityGroupIngress(context.Context, *ec2.AuthorizeSecurityGroupIngressInput, ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupIngressOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "InvalidPermission.Duplicate"}
}

// TestRevokeWhenSomeAreGone: a batch that AWS rejects because one
// permission is already gone is revoked one by one, so the rest still go;
// all gone is a no-op. (On a fake: it needs the batch rejected for one
// missing permission, which the moto tests do not set up.)
func TestRevokeWhenSomeAreGone(t *testing.T) {
	t.Parallel()
	perm := func(cidr string) Permission {
		return Permission{Protocol: "tcp", FromPort: i32(22), ToPort: i32(22), CIDR: cidr}
	}
	p := revokeParams{GroupID: "sg-1", Permissions: []Permission{perm("0.0.0.0/1"), perm("128.0.0.0/1")}}
	api := &fakeIngress{gone: map[string]bool{"0.0.0.0/1": true}}
	if err := applyWith(context.Background(), api, apiRevoke, p); err != nil || !slices.Equal(api.revoked, []string{"128.0.0.0/1"}) {
		t.Fatalf("err = %v, revoked %v", err, api.revoked)
	}
	api = &fakeIngress{gone: map[string]bool{"0.0.0.0/1": true, "128.0.0.0/1": true}}
	if err := applyWith(context.Background(), api, apiRevoke, p); !errors.Is(err, rule.ErrNoOp) {
		t.Fatalf("all gone: %v", err)
	}
	if err := applyWith(context.Background(), api, apiAuthorize, p); !errors.Is(err, rule.ErrNoOp) {
		t.Fatalf("undo of a permission already back: %v", err)
	}
}

// TestApplyRefusesBadActions: refused before any client is built.
func TestApplyRefusesBadActions(t *testing.T) {
	t.Parallel()
	b := bound(t, OpenWorld)
	perms := []Permission{{Protocol: "tcp", CIDR: "0.0.0.0/0"}}
	for name, a := range map[string]rule.Action{
		"another API":    rule.NewAction("ec2:DeleteSecurityGroup", "sg-1", "", revokeParams{GroupID: "sg-1", Permissions: perms}, nil),
		"no permissions": rule.NewAction(apiRevoke, "sg-1", "", revokeParams{GroupID: "sg-1"}, nil),
		"no group":       rule.NewAction(apiRevoke, "", "", revokeParams{Permissions: perms}, nil),
		"a name":         rule.NewAction(apiAuthorize, "web", "", revokeParams{GroupID: "web", Permissions: perms}, nil),
		"no params":      {API: apiRevoke, Target: "sg-1"},
	} {
		if err := b.Apply(context.Background(), offline, a); err == nil {
			t.Errorf("%s: applied", name)
		}
	}
}
