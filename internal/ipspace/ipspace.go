// Package ipspace answers the question every "open to the internet" check
// asks: do these address ranges, together, admit the whole internet? It owns
// the meaning of world-open for Rampart: a set of CIDRs is world-open in a
// family (IPv4 or IPv6) when their union is every address of that family —
// 0.0.0.0/0, but just as much 0.0.0.0/1 + 128.0.0.0/1, or 256 /8s. It also
// says which ranges take part, so that a remediation removes exactly those.
//
// Near-world sets are not world-open: 0.0.0.0/1 alone (half the IPv4
// internet) or everything but one /32 admit a great deal, but this package
// keeps to the definition "the whole address space". Rules that want a
// stricter bound (S3 calls an aws:SourceIp broader than /8 public) apply it
// themselves, next to the coverage question.
//
// It is pure set arithmetic on go4.org/netipx: no AWS calls, no knowledge of
// security groups, policies or any rule.
package ipspace

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"go4.org/netipx"
)

// The two address families, each as its one world-open prefix.
var (
	World4 = netip.MustParsePrefix("0.0.0.0/0")
	World6 = netip.MustParsePrefix("::/0")
)

// Parse reads a CIDR as AWS stores it: surrounding space trimmed and host
// bits cleared, so 208.236.235.254/0 is 0.0.0.0/0. A bare address is not a
// CIDR and is an error.
func Parse(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("CIDR %q: %w", s, err)
	}
	return p.Masked(), nil
}

// world is the whole space of p's family.
func world(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4() {
		return World4
	}
	return World6
}

// Coverage says which families a set of ranges covers entirely.
type Coverage struct{ IPv4, IPv6 bool }

// Any reports whether either family is covered.
func (c Coverage) Any() bool { return c.IPv4 || c.IPv6 }

// String names the covered families: "IPv4", "IPv6", "IPv4 and IPv6" or "".
func (c Coverage) String() string {
	switch {
	case c.IPv4 && c.IPv6:
		return "IPv4 and IPv6"
	case c.IPv4:
		return "IPv4"
	case c.IPv6:
		return "IPv6"
	}
	return ""
}

// Covers reports which families the union of the prefixes covers entirely.
// Invalid (zero) prefixes are ignored. IPv4-mapped IPv6 prefixes
// (::ffff:0:0/96) belong to IPv6, as AWS treats them.
func Covers(prefixes []netip.Prefix) Coverage {
	var b netipx.IPSetBuilder
	for _, p := range prefixes {
		if p.IsValid() {
			b.AddPrefix(p.Masked())
		}
	}
	set, _ := b.IPSet() // the builder only errs on invalid input, skipped above
	return Coverage{IPv4: set.ContainsPrefix(World4), IPv6: set.ContainsPrefix(World6)}
}

// Offending returns the prefixes that take part in covering a whole family:
// for each family the union covers, every prefix that belongs to some
// irredundant cover of that family (a set of ranges that covers it and
// stops covering it if any one of them is dropped). Nothing is returned for
// a family that is not covered.
//
// This is the set a remediation removes, and it is chosen so that:
//
//   - what remains never covers the family (any cover among the remaining
//     prefixes would contain an irredundant one, whose members would have
//     been removed);
//   - a range that is redundant to every cover stays: with 0.0.0.0/1,
//     128.0.0.0/1 and 10.0.0.0/8, both halves go and the /8, inside the
//     first half, stays;
//   - the choice is deterministic and symmetric: it never picks one of
//     several equivalent ranges arbitrarily (removing only 0.0.0.0/1 would
//     also break coverage, but would leave 128.0.0.0/1 — half the internet —
//     for no better reason than its position). A range that duplicates a
//     removed one goes with it.
//
// Because prefixes are either nested or disjoint, a prefix p belongs to an
// irredundant cover exactly when the prefixes left after dropping every
// strict superset of p still cover the family (the maximal ones among them
// then partition the space, p included). The result is masked, free of
// duplicates and sorted (IPv4 first, then by address and length).
func Offending(prefixes []netip.Prefix) []netip.Prefix {
	var v4, v6 []netip.Prefix
	for _, p := range prefixes {
		if !p.IsValid() {
			continue
		}
		p = p.Masked()
		if p.Addr().Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	}
	return append(essential(v4), essential(v6)...)
}

// essential is Offending for prefixes of one family.
func essential(ps []netip.Prefix) []netip.Prefix {
	if len(ps) == 0 {
		return nil
	}
	ps = dedupe(ps)
	if !coversWorld(ps, world(ps[0])) {
		return nil
	}
	// Sorted by length then address, the strict supersets of ps[i] come
	// before it; memoise the coverage test on the set dropped.
	memo := map[string]bool{}
	var out []netip.Prefix
	for i, p := range ps {
		var drop []int
		var key strings.Builder
		for j := range i {
			if q := ps[j]; q.Bits() < p.Bits() && q.Contains(p.Addr()) {
				drop = append(drop, j)
				fmt.Fprintf(&key, "%d,", j)
			}
		}
		ok, seen := memo[key.String()]
		if !seen {
			rest := make([]netip.Prefix, 0, len(ps)-len(drop))
			for j, q := range ps {
				if !slices.Contains(drop, j) {
					rest = append(rest, q)
				}
			}
			ok = coversWorld(rest, world(p))
			memo[key.String()] = ok
		}
		if ok {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	return out
}

// dedupe sorts prefixes by length, then address, and drops repeats.
func dedupe(ps []netip.Prefix) []netip.Prefix {
	ps = slices.Clone(ps)
	slices.SortFunc(ps, func(a, b netip.Prefix) int {
		if a.Bits() != b.Bits() {
			return a.Bits() - b.Bits()
		}
		return a.Addr().Compare(b.Addr())
	})
	return slices.Compact(ps)
}

func coversWorld(ps []netip.Prefix, w netip.Prefix) bool {
	var b netipx.IPSetBuilder
	for _, p := range ps {
		b.AddPrefix(p)
	}
	set, _ := b.IPSet()
	return set.ContainsPrefix(w)
}
