package sgopen

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/ipspace"
	"github.com/rampart-aws/rampart/internal/rule"
	"go4.org/netipx"
)

// perm builds a permission: "tcp 22 0.0.0.0/1", "tcp 0-1000 ::/1",
// "-1 - 0.0.0.0/0", "47 - 0.0.0.0/1", "tcp 22 pl-world".
func perm(t testing.TB, spec string) Permission {
	t.Helper()
	f := strings.Fields(spec)
	if len(f) != 3 {
		t.Fatalf("bad spec %q", spec)
	}
	p := Permission{Protocol: f[0]}
	if f[1] != "-" {
		r, err := parsePorts(f[1])
		if err != nil || len(r) != 1 {
			t.Fatalf("bad ports in %q", spec)
		}
		p.FromPort, p.ToPort = i32(int32(r[0].from)), i32(int32(r[0].to))
	}
	if strings.HasPrefix(f[2], "pl-") {
		p.PrefixListID = f[2]
	} else {
		p.CIDR = f[2]
	}
	return p
}

// partition splits the family's world into about n prefixes, at random.
func partition(r *rand.Rand, w netip.Prefix, n int) []string {
	parts := []netip.Prefix{w}
	for len(parts) < n {
		i := r.IntN(len(parts))
		q := parts[i]
		if q.Bits() >= q.Addr().BitLen()-1 {
			continue
		}
		lo := netip.PrefixFrom(q.Addr(), q.Bits()+1)
		hi := netip.PrefixFrom(netipx.PrefixLastIP(lo).Next(), q.Bits()+1)
		parts = append(append(parts[:i:i], parts[i+1:]...), lo, hi)
	}
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = p.String()
	}
	return out
}

func TestJudge(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 8))
	var eights, eightsLessOne []string
	for i := range 256 {
		s := fmt.Sprintf("tcp 22 %d.0.0.0/8", i)
		eights = append(eights, s)
		if i != 203 {
			eightsLessOne = append(eightsLessOne, s)
		}
	}
	// Everything but one /32, in ranges spread over ports 0-1000 and 22.
	var holed []string
	{
		var b netipx.IPSetBuilder
		b.AddPrefix(ipspace.World4)
		b.Remove(netip.MustParseAddr("198.51.100.7"))
		set, _ := b.IPSet()
		for i, p := range set.Prefixes() {
			ports := "22"
			if i%2 == 0 {
				ports = "0-1000"
			}
			holed = append(holed, "tcp "+ports+" "+p.String())
		}
	}
	var random []string
	for i, c := range partition(r, ipspace.World4, 150) {
		proto := []string{"tcp 22", "tcp 0-65535", "-1 -", "tcp 20-30"}[i%4]
		random = append(random, proto+" "+c)
	}
	random6 := []string{}
	for _, c := range partition(r, ipspace.World6, 120) {
		random6 = append(random6, "tcp 3389 "+c)
	}
	lists := map[string][]netip.Prefix{
		"pl-world":  {netip.MustParsePrefix("0.0.0.0/1"), netip.MustParsePrefix("128.0.0.0/1")},
		"pl-half":   {netip.MustParsePrefix("0.0.0.0/1")},
		"pl-office": {netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("203.0.113.0/24")},
		"pl-v6":     {netip.MustParsePrefix("::/1"), netip.MustParsePrefix("8000::/1")},
	}
	all := func(specs []string) []int {
		out := make([]int, len(specs))
		for i := range out {
			out[i] = i
		}
		return out
	}
	cases := []struct {
		name   string
		c      rule.Rule
		perms  []string
		want   []int // indices of the offending permissions
		reason string
	}{
		{"two halves in two permissions", RestrictedSSH, []string{"tcp 22 0.0.0.0/1", "tcp 22 128.0.0.0/1"}, []int{0, 1}, "together admit every IPv4 address on tcp 22"},
		{"halves go, the /8 stays", RestrictedSSH, []string{"tcp 22 10.0.0.0/8", "tcp 22 0.0.0.0/1", "tcp 22 128.0.0.0/1"}, []int{1, 2}, ""},
		{"one half only", RestrictedSSH, []string{"tcp 22 0.0.0.0/1", "tcp 22 10.0.0.0/8"}, nil, ""},
		{"overlapping port ranges reach 22", RestrictedSSH, []string{"tcp 0-1000 0.0.0.0/1", "tcp 20-30 128.0.0.0/1"}, []int{0, 1}, "on tcp 22"},
		{"overlapping port ranges, allow-list", OpenWorld, []string{"tcp 0-1000 0.0.0.0/1", "tcp 20-30 128.0.0.0/1"}, []int{0, 1}, "on tcp 20-30"},
		{"overlap misses the blocked port", RestrictedSSH, []string{"tcp 0-1000 0.0.0.0/1", "tcp 23-30 128.0.0.0/1"}, nil, ""},
		{"overlap on common ports", RestrictedCommonPorts, []string{"tcp 0-1000 0.0.0.0/1", "tcp 20-30 128.0.0.0/1"}, []int{0, 1}, "on tcp 20-21"},
		{"authorized port split", OpenWorld, []string{"tcp 443 0.0.0.0/1", "tcp 443 128.0.0.0/1"}, nil, ""},
		{"authorized and one more port", OpenWorld, []string{"tcp 443-444 0.0.0.0/1", "tcp 443 128.0.0.0/1"}, nil, ""},
		{"both cover 444", OpenWorld, []string{"tcp 443-444 0.0.0.0/1", "tcp 440-450 128.0.0.0/1"}, []int{0, 1}, "on tcp 444 —"},
		{"-1 mixed with tcp", RestrictedSSH, []string{"-1 - 0.0.0.0/1", "tcp 22 128.0.0.0/1"}, []int{0, 1}, "tcp 22"},
		{"-1 mixed with udp, allow-list", OpenWorld, []string{"-1 - 0.0.0.0/1", "udp 53 128.0.0.0/1"}, []int{0, 1}, "udp 53"},
		{"-1 and udp 53 miss the blocked tcp port", RestrictedSSH, []string{"-1 - 0.0.0.0/1", "udp 53 128.0.0.0/1"}, nil, ""},
		{"udp 22 is blocked too", RestrictedSSH, []string{"-1 - 0.0.0.0/1", "udp 22 128.0.0.0/1"}, []int{0, 1}, "udp 22"},
		{"different descriptions, same world", RestrictedSSH, []string{"tcp 22 0.0.0.0/0", "tcp 0-65535 0.0.0.0/0"}, []int{0, 1}, ""},
		{"IPv6 halves", OpenWorld, []string{"tcp 3389 ::/1", "tcp 3389 8000::/1", "tcp 3389 2001:db8::/32"}, []int{0, 1}, "every IPv6 address on tcp 3389"},
		{"mixed families do not add up", OpenWorld, []string{"tcp 22 0.0.0.0/1", "tcp 22 8000::/1"}, nil, ""},
		{"both families", OpenWorld, []string{"tcp 22 0.0.0.0/0", "tcp 22 ::/0", "tcp 22 10.0.0.0/8"}, []int{0, 1}, "IPv4 and IPv6"},
		{"protocol 47 split, with -1", OpenWorld, []string{"47 - 0.0.0.0/1", "-1 - 128.0.0.0/1"}, []int{0, 1}, "protocol 47"},
		{"icmp from the world is left alone", OpenWorld, []string{"icmp 8 0.0.0.0/0"}, nil, ""},
		{"all traffic next to authorized https", OpenWorld, []string{"tcp 80 0.0.0.0/0", "-1 - ::/0"}, []int{1}, ""},
		{"256 /8s", RestrictedSSH, eights, all(eights), "every IPv4 address on tcp 22"},
		{"255 /8s", RestrictedSSH, eightsLessOne, nil, ""},
		{"world but one /32 over two port ranges", RestrictedSSH, holed, nil, ""},
		{"world but one /32, and the /32", RestrictedSSH, append(slices.Clone(holed), "tcp 22 198.51.100.7/32"), all(append(slices.Clone(holed), "")), ""},
		{"150 random prefixes over tcp, -1 and port ranges", RestrictedSSH, random, all(random), ""},
		{"120 random IPv6 prefixes", OpenWorld, random6, all(random6), "IPv6"},
		{"prefix list covering the world", RestrictedSSH, []string{"tcp 22 pl-world", "tcp 22 10.0.0.0/8"}, []int{0}, "prefix list pl-world admits every IPv4 address"},
		{"prefix list half and a CIDR half", RestrictedSSH, []string{"tcp 22 pl-half", "tcp 22 128.0.0.0/1", "tcp 22 pl-office"}, []int{0, 1}, ""},
		{"office prefix list stays", RestrictedSSH, []string{"tcp 22 pl-office", "tcp 22 0.0.0.0/0"}, []int{1}, ""},
		{"IPv6 prefix list", OpenWorld, []string{"tcp 22 pl-v6"}, []int{0}, "IPv6"},
		{"prefix list on an authorized port", OpenWorld, []string{"tcp 443 pl-world"}, nil, ""},
		{"unknown prefix list admits nothing known", RestrictedSSH, []string{"tcp 22 pl-unknown", "tcp 22 0.0.0.0/1"}, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ps := paramsOf(t, tc.c)
			perms := make([]Permission, len(tc.perms))
			for i, s := range tc.perms {
				perms[i] = perm(t, s)
			}
			off, opens := ps.judge(perms, lists)
			if !slices.Equal(off, tc.want) {
				t.Fatalf("offending = %v, want %v", off, tc.want)
			}
			// What is left never covers a sensitive point.
			var rest []Permission
			for i, p := range perms {
				if !slices.Contains(off, i) {
					rest = append(rest, p)
				}
			}
			if again, _ := ps.judge(rest, lists); len(again) != 0 {
				t.Fatalf("after the revoke, still offending: %v", again)
			}
			if len(off) == 0 {
				return
			}
			f := ps.finding("sg-1", perms, off, opens, "")
			if tc.reason != "" && !strings.Contains(f.Reason, tc.reason) {
				t.Errorf("reason %q lacks %q", f.Reason, tc.reason)
			}
			var p revokeParams
			if err := f.Actions[0].Decode(&p); err != nil || len(p.Permissions) != len(off) {
				t.Fatalf("revoke params %+v, %v", p, err)
			}
		})
	}
}

// TestJudgeRandomInvariants: random groups (random partitions of the
// space, random extra ranges, random ports and protocols) — the revoke
// leaves no sensitive port world-open. (ipspace's tests check that each
// revoked range takes part in a cover.)
func TestJudgeRandomInvariants(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(9, 10))
	ps := paramsOf(t, RestrictedSSH)
	// The first five reach tcp 22.
	protos := []string{"tcp 22", "tcp 0-1000", "tcp 20-30", "-1 -", "tcp 0-65535", "tcp 23-80", "udp 22", "udp 53"}
	for round := range 100 {
		var perms []Permission
		w := ipspace.World4
		if round%3 == 0 {
			w = ipspace.World6
		}
		n := len(protos)
		if round%2 == 0 {
			n = 5
		}
		for _, c := range partition(r, w, 2+r.IntN(30)) {
			perms = append(perms, perm(t, protos[r.IntN(n)]+" "+c))
		}
		for range r.IntN(8) {
			perms = append(perms, perm(t, protos[r.IntN(len(protos))]+" "+partition(r, w, 40)[r.IntN(40)]))
		}
		off, _ := ps.judge(perms, nil)
		var rest []Permission
		for i, p := range perms {
			if !slices.Contains(off, i) {
				rest = append(rest, p)
			}
		}
		if again, _ := ps.judge(rest, nil); len(again) != 0 {
			t.Fatalf("round %d: still offending after the revoke", round)
		}
		// When every permission reaches tcp 22, the partition covers it.
		reach22 := !slices.ContainsFunc(perms, func(p Permission) bool { return !p.reaches(point{"tcp", 22, 22}) })
		if reach22 && len(off) == 0 {
			t.Fatalf("round %d: a partition of the world on tcp 22 is not offending", round)
		}
	}
}

func TestPointsCutAtParams(t *testing.T) {
	t.Parallel()
	ps := paramsOf(t, OpenWorld, ParamTCP, "80,443,8000-8080")
	pts := ps.points([]Permission{perm(t, "tcp 0-65535 0.0.0.0/0")})
	var got []string
	for _, pt := range pts {
		got = append(got, pt.String())
	}
	want := []string{"tcp 0-79", "tcp 81-442", "tcp 444-7999", "tcp 8081-65535"}
	if !slices.Equal(got, want) {
		t.Fatalf("points = %v, want %v", got, want)
	}
	if ps.sensitive([]Permission{perm(t, "tcp 8000-8080 0.0.0.0/0")}) {
		t.Error("an authorized range is sensitive")
	}
	if !ps.sensitive([]Permission{perm(t, "tcp 8000-8081 10.0.0.0/8")}) {
		t.Error("a range reaching 8081 is not sensitive")
	}
}

// BenchmarkJudgeTypicalGroup: the judgement of a group like the demo's (SSH
// from the world and a /8, https, all traffic from ::/0, a prefix list).
func BenchmarkJudgeTypicalGroup(b *testing.B) {
	ps := paramsOf(b, OpenWorld)
	perms := []Permission{perm(b, "tcp 22 0.0.0.0/0"), perm(b, "tcp 22 10.0.0.0/8"), perm(b, "tcp 443 0.0.0.0/0"),
		perm(b, "-1 - ::/0"), perm(b, "tcp 6379 pl-office")}
	lists := map[string][]netip.Prefix{"pl-office": {netip.MustParsePrefix("198.51.100.0/24")}}
	for b.Loop() {
		ps.judge(perms, lists)
	}
}
