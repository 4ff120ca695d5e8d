package sgopen

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/rampart-aws/rampart/internal/ipspace"
)

// The judgement: a group is world-open on a sensitive point — a protocol and
// port the rule's parameters do not authorize (sg-open-world) or block
// (sg-restricted-*) — when the address ranges of all its permissions that
// reach that point together cover every IPv4 or every IPv6 address. Ranges
// spread over several permissions, several port ranges (0-1000 and 20-30
// both reach 22), protocol -1 next to tcp, and the entries of referenced
// prefix lists all count. The offending permissions are the ones whose
// ranges take part in the cover (ipspace.Offending): revoked, they leave no
// sensitive point covered, and nothing else is touched.

// point is one protocol and port range the judgement looks at: ports for
// tcp and udp; for any other protocol its number, or otherProtocols for
// every protocol no permission names (reached only by -1).
type point struct {
	proto    string
	from, to int
}

const otherProtocols = "other"

func (pt point) String() string {
	switch pt.proto {
	case "tcp", "udp":
		if pt.from == pt.to {
			return fmt.Sprintf("%s %d", pt.proto, pt.from)
		}
		return fmt.Sprintf("%s %d-%d", pt.proto, pt.from, pt.to)
	case otherProtocols:
		return "every other IP protocol"
	}
	return "protocol " + pt.proto
}

// reaches reports whether the permission admits traffic at the point.
func (p Permission) reaches(pt point) bool {
	proto := normProtocol(p.Protocol)
	switch {
	case proto == "-1":
		return true
	case proto != pt.proto:
		return false
	case proto == "tcp" || proto == "udp":
		r := p.ports()
		return r.from <= pt.from && pt.to <= r.to
	}
	return true
}

// points are the sensitive points the permissions reach: the ports of tcp
// and udp cut at every permission's and parameter's range boundary (so each
// piece is reached, authorized or blocked as a whole), and, for the
// allow-list, every other protocol. ICMP is never sensitive (ping from
// anywhere is left alone); the block-list rules look at tcp and udp ports
// only.
func (p params) points(perms []Permission) []point {
	var pts []point
	for _, proto := range []string{"tcp", "udp"} {
		special := p.blocked
		switch {
		case !p.allowList:
		case proto == "tcp":
			special = p.tcp
		default:
			special = p.udp
		}
		bounds := []int{0, 65536}
		reached := false
		for _, q := range perms {
			switch normProtocol(q.Protocol) {
			case proto:
				r := q.ports()
				bounds = append(bounds, r.from, r.to+1)
				reached = true
			case "-1":
				reached = true
			}
		}
		if !reached {
			continue
		}
		for _, r := range special {
			bounds = append(bounds, r.from, r.to+1)
		}
		slices.Sort(bounds)
		bounds = slices.Compact(bounds)
		for i := 0; i+1 < len(bounds) && bounds[i] <= 65535; i++ {
			if bounds[i] < 0 {
				continue
			}
			pt := point{proto, bounds[i], min(bounds[i+1]-1, 65535)}
			at := portRange{pt.from, pt.from}
			if p.allowList && !special.covers(at) || !p.allowList && special.overlaps(at) {
				pts = append(pts, pt)
			}
		}
	}
	if !p.allowList {
		return pts
	}
	var others []string
	all := false
	for _, q := range perms {
		switch proto := normProtocol(q.Protocol); proto {
		case "tcp", "udp", "icmp", "icmpv6":
		case "-1":
			all = true
		default:
			others = append(others, proto)
		}
	}
	slices.SortFunc(others, func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		if x != y {
			return x - y
		}
		return strings.Compare(a, b)
	})
	for _, proto := range slices.Compact(others) {
		pts = append(pts, point{proto: proto})
	}
	if all {
		pts = append(pts, point{proto: otherProtocols})
	}
	return pts
}

// sensitive reports whether any permission reaches a sensitive point.
func (p params) sensitive(perms []Permission) bool {
	for _, pt := range p.points(perms) {
		for _, q := range perms {
			if q.reaches(pt) {
				return true
			}
		}
	}
	return false
}

// prefixes are the address ranges a permission admits: its CIDR, or the
// entries of its prefix list (none when they are unknown).
func (p Permission) prefixes(lists map[string][]netip.Prefix) []netip.Prefix {
	if p.PrefixListID != "" {
		return lists[p.PrefixListID]
	}
	pre, err := ipspace.Parse(p.CIDR)
	if err != nil {
		return nil
	}
	return []netip.Prefix{pre}
}

// openness is one way the group is world-open: the permissions whose ranges
// together cover a family on some sensitive points.
type openness struct {
	Perms    []int // indices into the judged permissions
	Families ipspace.Coverage
	Points   []point
}

// judge finds where the permissions, with the prefix lists' entries, admit
// the whole internet on a sensitive point. It returns the offending
// permissions (indices, ascending) and the ways they are open.
func (p params) judge(perms []Permission, lists map[string][]netip.Prefix) ([]int, []openness) {
	type verdict struct {
		off  []int
		fams ipspace.Coverage
	}
	memo := map[string]verdict{}
	var opens []openness
	offending := map[int]bool{}
	for _, pt := range p.points(perms) {
		var reach []int
		var key strings.Builder
		for i, q := range perms {
			if q.reaches(pt) {
				reach = append(reach, i)
				fmt.Fprintf(&key, "%d,", i)
			}
		}
		v, seen := memo[key.String()]
		if !seen {
			var all []netip.Prefix
			for _, i := range reach {
				all = append(all, perms[i].prefixes(lists)...)
			}
			if v.fams = ipspace.Covers(all); v.fams.Any() {
				off := ipspace.Offending(all)
				for _, i := range reach {
					if slices.ContainsFunc(perms[i].prefixes(lists), func(pre netip.Prefix) bool { return slices.Contains(off, pre.Masked()) }) {
						v.off = append(v.off, i)
					}
				}
			}
			memo[key.String()] = v
		}
		if len(v.off) == 0 {
			continue
		}
		for _, i := range v.off {
			offending[i] = true
		}
		// One openness per set of permissions and families; its points
		// merged where they are contiguous.
		j := slices.IndexFunc(opens, func(o openness) bool { return o.Families == v.fams && slices.Equal(o.Perms, v.off) })
		if j < 0 {
			opens = append(opens, openness{Perms: v.off, Families: v.fams})
			j = len(opens) - 1
		}
		o := &opens[j]
		if n := len(o.Points); n > 0 && o.Points[n-1].proto == pt.proto && (pt.proto == "tcp" || pt.proto == "udp") && o.Points[n-1].to+1 == pt.from {
			o.Points[n-1].to = pt.to
		} else {
			o.Points = append(o.Points, pt)
		}
	}
	out := make([]int, 0, len(offending))
	for i := range offending {
		out = append(out, i)
	}
	slices.Sort(out)
	return out, opens
}

// describe says, for a finding's reason, how the permissions are open.
func (o openness) describe(perms []Permission) string {
	var who []string
	for _, i := range o.Perms {
		who = append(who, perms[i].String())
	}
	verb := "admits"
	if len(who) > 1 {
		verb = "together admit"
	}
	pts := make([]string, 0, len(o.Points))
	for i, pt := range o.Points {
		if i == 4 {
			pts = append(pts, fmt.Sprintf("and %d more", len(o.Points)-4))
			break
		}
		pts = append(pts, pt.String())
	}
	return fmt.Sprintf("%s %s every %s address on %s", strings.Join(who, "; "), verb, o.Families, strings.Join(pts, ", "))
}
