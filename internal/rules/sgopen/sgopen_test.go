package sgopen

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/trigger"
)

func i32(v int32) *int32 { return &v }

// paramsOf are r's typed parameters: its defaults with the overrides kv
// (name, value, …), resolved and parsed as Bind does.
func paramsOf(t testing.TB, r rule.Rule, kv ...string) params {
	t.Helper()
	over := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		over[kv[i]] = kv[i+1]
	}
	raw, err := r.Meta().Resolve(over)
	if err != nil {
		t.Fatal(err)
	}
	parse := parseBlockList
	if r == OpenWorld {
		parse = parseAllowList
	}
	p, err := parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// bound is r bound with its defaults.
func bound(t testing.TB, r rule.Rule) *rule.Bound {
	t.Helper()
	b, err := rule.BindWith(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var offline = rule.Env{Session: awsclient.NewOffline("us-east-1")}

func TestPortSets(t *testing.T) {
	t.Parallel()
	cases := []struct {
		set      string
		r        portRange
		covers   bool
		overlaps bool
	}{
		{"80,443", portRange{443, 443}, true, true},
		{"80,443", portRange{22, 22}, false, false},
		{"80,443", portRange{80, 443}, false, true},
		{"1000-2000,2001-3000", portRange{1500, 2500}, true, true},
		{"1000-2000,2002-3000", portRange{1500, 2500}, false, true},
		{"0-65535", portRange{0, 65535}, true, true},
		{"", portRange{22, 22}, false, false},
		{"22", portRange{0, 65535}, false, true},
		{"3000-4000,1000-3000", portRange{1000, 4000}, true, true}, // unordered ranges
	}
	for _, tc := range cases {
		s, err := parsePorts(tc.set)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.covers(tc.r); got != tc.covers {
			t.Errorf("%q covers %v = %v", tc.set, tc.r, got)
		}
		if got := s.overlaps(tc.r); got != tc.overlaps {
			t.Errorf("%q overlaps %v = %v", tc.set, tc.r, got)
		}
	}
	for _, bad := range []string{"ssh", "22-", "70000", "443-80", "-1"} {
		if _, err := parsePorts(bad); err == nil {
			t.Errorf("parsePorts(%q) accepted", bad)
		}
	}
}

func TestViolates(t *testing.T) {
	t.Parallel()
	world := func(proto string, from, to int32) Permission {
		p := Permission{Protocol: proto, CIDR: "0.0.0.0/0"}
		if from != -99 {
			p.FromPort, p.ToPort = i32(from), i32(to)
		}
		return p
	}
	cases := []struct {
		name string
		c    rule.Rule
		p    Permission
		kv   []string
		want bool
	}{
		{"ssh", OpenWorld, world("tcp", 22, 22), nil, true},
		{"https authorized", OpenWorld, world("tcp", 443, 443), nil, false},
		{"range covering 443 and more", OpenWorld, world("tcp", 443, 8443), nil, true},
		{"all traffic", OpenWorld, world("-1", -99, 0), nil, true},
		{"protocol number 6 is tcp", OpenWorld, world("6", 80, 80), nil, false},
		{"udp not authorized", OpenWorld, world("udp", 53, 53), nil, true},
		{"udp authorized", OpenWorld, world("udp", 53, 53), []string{ParamUDP, "53"}, false},
		{"icmp left alone", OpenWorld, world("icmp", 8, -1), nil, false},
		{"gre whole protocol", OpenWorld, world("47", -99, 0), nil, true},
		{"tcp without ports is every port", OpenWorld, world("tcp", -99, 0), nil, true},
		{"tcp -1 ports is every port", OpenWorld, world("tcp", -1, -1), nil, true},
		{"custom allow list", OpenWorld, world("tcp", 8080, 8081), []string{ParamTCP, "8080-8090"}, false},
		{"restricted ssh on 22", RestrictedSSH, world("tcp", 22, 22), nil, true},
		{"restricted ssh on 443", RestrictedSSH, world("tcp", 443, 443), nil, false},
		{"restricted ssh range over 22", RestrictedSSH, world("tcp", 0, 1024), nil, true},
		{"restricted ssh all traffic", RestrictedSSH, world("-1", -99, 0), nil, true},
		{"restricted ssh icmp", RestrictedSSH, world("icmp", -1, -1), nil, false},
		{"common ports rdp", RestrictedCommonPorts, world("tcp", 3389, 3389), nil, true},
		{"common ports mysql udp", RestrictedCommonPorts, world("udp", 3306, 3306), nil, true},
		{"common ports https", RestrictedCommonPorts, world("tcp", 443, 443), nil, false},
		{"restricted CIDR", OpenWorld, Permission{Protocol: "tcp", FromPort: i32(22), ToPort: i32(22), CIDR: "10.0.0.0/8"}, nil, false},
		{"half the internet is not the whole", OpenWorld, Permission{Protocol: "tcp", FromPort: i32(22), ToPort: i32(22), CIDR: "0.0.0.0/1"}, nil, false},
		{"IPv6 world", RestrictedSSH, Permission{Protocol: "tcp", FromPort: i32(22), ToPort: i32(22), CIDR: "::/0"}, nil, true},
		{"host bits /0", RestrictedSSH, Permission{Protocol: "tcp", FromPort: i32(22), ToPort: i32(22), CIDR: "208.236.235.254/0"}, nil, true},
	}
	for _, tc := range cases {
		off, _ := paramsOf(t, tc.c, tc.kv...).judge([]Permission{tc.p}, nil)
		if got := len(off) > 0; got != tc.want {
			t.Errorf("%s: violates = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestTargetsOfRealShapes checks the world-open permissions read from each
// real-shaped sample, and the offline plan they lead to.
func TestTargetsOfRealShapes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file     string
		group    string
		added    []string // every address permission the call added
		revoke   []string // what the offline plan revokes
		ruleIDed bool     // the rule IDs from securityGroupRuleSet are attached
	}{
		{"cloudtrail/ec2-authorize-sg-ingress-ssh-world.json", "sg-0123456789abcdef0", []string{"tcp 22 from 0.0.0.0/0"}, []string{"tcp 22 from 0.0.0.0/0"}, true},
		{"raw/ec2-authorize-sg-ingress-ssh-world.json", "sg-0123456789abcdef0", []string{"tcp 22 from 0.0.0.0/0"}, []string{"tcp 22 from 0.0.0.0/0"}, true},
		{"cloudtrail/ec2-authorize-sg-ingress-mixed.json", "sg-0123456789abcdef0",
			[]string{"tcp 22 from 0.0.0.0/0", "tcp 22 from 10.0.0.0/8", "tcp 443 from 0.0.0.0/0", "tcp 6379 from prefix list pl-0b1c2d3e4f5a6b7c8", "tcp 3389 from ::/0"},
			[]string{"tcp 22 from 0.0.0.0/0", "tcp 3389 from ::/0"}, true},
		{"cloudtrail/ec2-authorize-sg-ingress-flat.json", "sg-0123456789abcdef0", []string{"tcp 3389 from 0.0.0.0/0"}, []string{"tcp 3389 from 0.0.0.0/0"}, false},
		{"cloudtrail/ec2-authorize-sg-ingress-all-traffic-ipv6.json", "sg-0123456789abcdef0",
			[]string{"all traffic from 0.0.0.0/0", "all traffic from ::/0"}, []string{"all traffic from 0.0.0.0/0", "all traffic from ::/0"}, true},
		{"cloudtrail/ec2-authorize-sg-ingress-hostbits.json", "sg-0123456789abcdef0", []string{"tcp 22 from 208.236.235.254/0"}, []string{"tcp 22 from 208.236.235.254/0"}, true},
		{"cloudtrail/ec2-modify-sg-rules-world.json", "sg-0123456789abcdef0", []string{"tcp 22 from 0.0.0.0/0"}, []string{"tcp 22 from 0.0.0.0/0"}, true},
		{"cloudtrail/ec2-modify-sg-rules-world-string-ports.json", "sg-0123456789abcdef0", []string{"tcp 3389 from 0.0.0.0/0"}, []string{"tcp 3389 from 0.0.0.0/0"}, true},
	}
	b := bound(t, OpenWorld)
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			call := enginetest.Call(t, "events/"+tc.file)
			targets, err := b.Targets(call)
			if err != nil || len(targets) != 1 {
				t.Fatalf("targets = %v, %v", targets, err)
			}
			if targets[0].ID != tc.group {
				t.Errorf("group = %s", targets[0].ID)
			}
			var added []string
			for _, p := range targets[0].Evidence.(evidence).Permissions {
				added = append(added, p.String())
				if tc.ruleIDed && !strings.HasPrefix(p.RuleID, "sgr-") {
					t.Errorf("%s has no rule ID", p)
				}
			}
			slices.Sort(added)
			want := slices.Sorted(slices.Values(tc.added))
			if !slices.Equal(added, want) {
				t.Errorf("added = %v, want %v", added, want)
			}
			f, err := b.Evaluate(context.Background(), offline, targets[0])
			if err != nil || f.Verdict != rule.Violation || len(f.Actions) != 1 {
				t.Fatalf("finding = %+v, %v", f, err)
			}
			var p revokeParams
			if err := f.Actions[0].Decode(&p); err != nil {
				t.Fatal(err)
			}
			var revoked []string
			for _, q := range p.Permissions {
				revoked = append(revoked, q.String())
			}
			slices.Sort(revoked)
			if !slices.Equal(revoked, slices.Sorted(slices.Values(tc.revoke))) {
				t.Errorf("revokes %v, want %v", revoked, tc.revoke)
			}
			if f.Actions[0].Undo == nil || f.Actions[0].Undo.API != apiAuthorize {
				t.Error("revoke without its undo")
			}
		})
	}
}

func TestTargetsRejectMalformed(t *testing.T) {
	t.Parallel()
	b := bound(t, OpenWorld)
	for _, file := range []string{"invalid/authorize-bad-port.json", "invalid/authorize-bad-cidr.json"} {
		call := enginetest.Call(t, "events/"+file)
		if _, err := b.Targets(call); !errors.Is(err, trigger.ErrInput) {
			t.Errorf("%s: err = %v, want ErrInput", file, err)
		}
	}
	call := enginetest.Call(t, "events/cloudtrail/ec2-authorize-sg-ingress-ssh-world.json")
	for name, req := range map[string]string{
		"no group":     `{"ipPermissions":{"items":[]}}`,
		"port too big": `{"groupId":"sg-1","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":1,"toPort":70000,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}`,
		"not object":   `"sg-1"`,
	} {
		c := *call
		c.Request, c.Response = []byte(req), []byte("null")
		if _, err := b.Targets(&c); !errors.Is(err, trigger.ErrInput) {
			t.Errorf("%s: err = %v, want ErrInput", name, err)
		}
	}
}

func TestRestrictedCIDRsAreNotEvidence(t *testing.T) {
	t.Parallel()
	b := bound(t, OpenWorld)
	call := enginetest.Call(t, "events/cloudtrail/ec2-authorize-sg-ingress-ssh-world.json")
	c := *call
	c.Request = []byte(`{"groupId":"sg-1","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"10.0.0.0/8"}]},"groups":{"items":[{"groupId":"sg-2"}]},"prefixListIds":{"items":[{"prefixListId":"pl-1"}]}}]}}`)
	c.Response = []byte(`null`)
	targets, err := b.Targets(&c)
	if err != nil {
		t.Fatal(err)
	}
	f, err := b.Evaluate(context.Background(), offline, targets[0])
	if err != nil || f.Verdict != rule.Compliant || len(f.Actions) != 0 {
		t.Fatalf("finding = %+v, %v", f, err)
	}
}

// FuzzTargets: no request shape may panic the parser; errors are ErrInput.
func FuzzTargets(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "events", "cloudtrail", "ec2-*sg*.json"))
	for _, file := range files {
		raw, _ := os.ReadFile(file)
		if tr, err := trigger.Decode(raw); err == nil {
			f.Add(tr.Call.EventName, []byte(tr.Call.Request), []byte(tr.Call.Response))
		}
	}
	b := bound(f, OpenWorld)
	f.Fuzz(func(t *testing.T, name string, req, resp []byte) {
		call := &trigger.APICall{EventName: name, EventSource: "ec2.amazonaws.com", Request: req, Response: resp}
		targets, err := b.Targets(call)
		if err != nil && !errors.Is(err, trigger.ErrInput) {
			t.Fatalf("error without ErrInput: %v", err)
		}
		for _, tg := range targets {
			if _, err := b.Evaluate(context.Background(), offline, tg); err != nil {
				t.Fatalf("offline evaluate: %v", err)
			}
		}
	})
}

// TestNameOnlyRecordOffline: the pre-2021 record names the group only by
// name. Targets keeps the name as evidence (no call); the offline plan
// judges the permissions but plans no revoke, which needs the ID; Apply
// refuses a name where AWS wants an ID.
func TestNameOnlyRecordOffline(t *testing.T) {
	t.Parallel()
	call := enginetest.Call(t, "events/cloudtrail/ec2-authorize-sg-ingress-by-name.json")
	b := bound(t, OpenWorld)
	targets, err := b.Targets(call)
	if err != nil || len(targets) != 1 {
		t.Fatalf("targets = %v, %v", targets, err)
	}
	ev := targets[0].Evidence.(evidence)
	if targets[0].ID != "web" || ev.GroupName != "web" || len(ev.Permissions) != 1 {
		t.Fatalf("target = %+v", targets[0])
	}
	f, err := b.Evaluate(context.Background(), offline, targets[0])
	if err != nil || f.Verdict != rule.Violation || len(f.Actions) != 0 || !strings.Contains(f.Reason, `only by name ("web")`) {
		t.Fatalf("finding = %+v, %v", f, err)
	}
	// The rule's own apply, below the Bound's offline refusal (rule.ErrOffline):
	// the name is refused before any client is asked for.
	act := rule.NewAction(apiRevoke, "web", "", revokeParams{GroupID: "web", Permissions: ev.Permissions}, nil)
	if err := apply(context.Background(), offline, act); err == nil || !strings.Contains(err.Error(), "not a security group ID") {
		t.Fatalf("apply by name: %v", err)
	}
}
