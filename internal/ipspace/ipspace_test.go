package ipspace

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"go4.org/netipx"
)

func pfx(t testing.TB, ss ...string) []netip.Prefix {
	t.Helper()
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		p, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func strs(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// split returns a random partition of p into about n prefixes.
func split(r *rand.Rand, p netip.Prefix, n int) []netip.Prefix {
	parts := []netip.Prefix{p}
	for len(parts) < n {
		i := r.IntN(len(parts))
		q := parts[i]
		if q.Bits() == q.Addr().BitLen() {
			continue
		}
		lo := netip.PrefixFrom(q.Addr(), q.Bits()+1)
		hi := netip.PrefixFrom(netipx.PrefixLastIP(lo).Next(), q.Bits()+1)
		parts = append(append(parts[:i:i], parts[i+1:]...), lo, hi)
	}
	return parts
}

// without is the world of w minus one address, as prefixes (bits of them).
func without(w netip.Prefix, hole netip.Addr) []netip.Prefix {
	var b netipx.IPSetBuilder
	b.AddPrefix(w)
	b.Remove(hole)
	set, _ := b.IPSet()
	return set.Prefixes()
}

func TestCovers(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	eights := make([]string, 256)
	for i := range eights {
		eights[i] = netip.AddrFrom4([4]byte{byte(i)}).String() + "/8"
	}
	hundreds := split(r, World4, 300)
	hundreds6 := split(r, World6, 500)
	holed := without(World4, netip.MustParseAddr("198.51.100.7"))
	holed6 := without(World6, netip.MustParseAddr("2001:db8::1"))
	cases := []struct {
		name string
		ps   []netip.Prefix
		want Coverage
	}{
		{"empty", nil, Coverage{}},
		{"0.0.0.0/0", pfx(t, "0.0.0.0/0"), Coverage{IPv4: true}},
		{"host bits /0", pfx(t, "208.236.235.254/0"), Coverage{IPv4: true}},
		{"::/0", pfx(t, "::/0"), Coverage{IPv6: true}},
		{"both worlds", pfx(t, "::/0", "0.0.0.0/0"), Coverage{true, true}},
		{"halves", pfx(t, "0.0.0.0/1", "128.0.0.0/1"), Coverage{IPv4: true}},
		{"one half", pfx(t, "0.0.0.0/1"), Coverage{}},
		{"halves with host bits", pfx(t, "1.2.3.4/1", "200.0.0.1/1"), Coverage{IPv4: true}},
		{"quarters", pfx(t, "0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"), Coverage{IPv4: true}},
		{"three quarters", pfx(t, "0.0.0.0/2", "64.0.0.0/2", "192.0.0.0/2"), Coverage{}},
		{"overlapping", pfx(t, "0.0.0.0/1", "64.0.0.0/2", "128.0.0.0/1", "10.0.0.0/8"), Coverage{IPv4: true}},
		{"256 /8s", pfx(t, eights...), Coverage{IPv4: true}},
		{"255 /8s", pfx(t, eights[:255]...), Coverage{}},
		{"300 random prefixes", hundreds, Coverage{IPv4: true}},
		{"300 random prefixes less one", hundreds[1:], Coverage{}},
		{"500 random IPv6 prefixes", hundreds6, Coverage{IPv6: true}},
		{"world less one /32", holed, Coverage{}},
		{"world less one /32, and the /32", append(slices.Clone(holed), pfx(t, "198.51.100.7/32")...), Coverage{IPv4: true}},
		{"IPv6 world less one /128", holed6, Coverage{}},
		{"IPv6 halves", pfx(t, "::/1", "8000::/1"), Coverage{IPv6: true}},
		{"IPv6 one half", pfx(t, "8000::/1"), Coverage{}},
		{"mixed families, v6 halves", pfx(t, "::/1", "8000::/1", "0.0.0.0/1"), Coverage{IPv6: true}},
		{"IPv4-mapped IPv6 is IPv6", pfx(t, "::ffff:0:0/96"), Coverage{}},
		{"IPv4 halves do not make IPv6", pfx(t, "0.0.0.0/1", "128.0.0.0/1", "::/1"), Coverage{IPv4: true}},
	}
	for _, tc := range cases {
		if got := Covers(tc.ps); got != tc.want {
			t.Errorf("%s: Covers = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestOffending(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   []string
		want []string
	}{
		{"nothing covered", []string{"0.0.0.0/1", "10.0.0.0/8"}, nil},
		{"world alone", []string{"0.0.0.0/0"}, []string{"0.0.0.0/0"}},
		{"world keeps restricted", []string{"10.0.0.0/8", "0.0.0.0/0", "203.0.113.7/32"}, []string{"0.0.0.0/0"}},
		{"halves go, nested /8 stays", []string{"10.0.0.0/8", "128.0.0.0/1", "0.0.0.0/1"}, []string{"0.0.0.0/1", "128.0.0.0/1"}},
		{"world and halves: all three", []string{"0.0.0.0/0", "0.0.0.0/1", "128.0.0.0/1"}, []string{"0.0.0.0/0", "0.0.0.0/1", "128.0.0.0/1"}},
		{"two ways to cover a half", []string{"0.0.0.0/1", "0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/1"},
			[]string{"0.0.0.0/1", "0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/1"}},
		{"a quarter inside a half that covers alone", []string{"0.0.0.0/1", "0.0.0.0/2", "128.0.0.0/1"}, []string{"0.0.0.0/1", "128.0.0.0/1"}},
		{"duplicates collapse", []string{"0.0.0.0/1", "0.0.0.0/1", "128.0.0.0/1"}, []string{"0.0.0.0/1", "128.0.0.0/1"}},
		{"host bits are masked", []string{"1.2.3.4/1", "128.0.0.0/1"}, []string{"0.0.0.0/1", "128.0.0.0/1"}},
		{"IPv6 halves, IPv4 half stays", []string{"8000::/1", "::/1", "0.0.0.0/1", "2001:db8::/32"}, []string{"::/1", "8000::/1"}},
		{"both families", []string{"::/0", "0.0.0.0/0", "10.0.0.0/8"}, []string{"0.0.0.0/0", "::/0"}},
		{"a restricted range that completes the cover takes part", []string{"0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/2"},
			[]string{"0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/2"}},
	}
	for _, tc := range cases {
		got := strs(Offending(pfx(t, tc.in...)))
		if !slices.Equal(got, tc.want) && (len(got) != 0 || len(tc.want) != 0) {
			t.Errorf("%s: Offending = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestOffendingInvariants: on random covers with random extra ranges, what
// Offending leaves never covers the family, and every range it takes is
// needed by some cover: put back alone among the rest, that range and the
// other offending ones (less the ones nested in it) cover again.
func TestOffendingInvariants(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		w := World4
		if round%2 == 1 {
			w = World6
		}
		ps := split(r, w, 2+r.IntN(60))
		// Extra ranges: nested inside others, and a second partition of a part.
		for range r.IntN(10) {
			q := ps[r.IntN(len(ps))]
			ps = append(ps, split(r, q, 1+r.IntN(4))...)
		}
		off := Offending(ps)
		if len(off) == 0 {
			t.Fatalf("round %d: a cover with nothing offending", round)
		}
		var rest []netip.Prefix
		for _, p := range ps {
			if !slices.Contains(off, p.Masked()) {
				rest = append(rest, p)
			}
		}
		if Covers(rest).Any() {
			t.Fatalf("round %d: after removing %v the rest %v still covers", round, off, rest)
		}
		// Each offending range is in a cover with no strict superset of it.
		for _, p := range off {
			var c []netip.Prefix
			for _, q := range ps {
				if q.Bits() >= p.Bits() || !q.Contains(p.Addr()) {
					c = append(c, q)
				}
			}
			if !Covers(c).Any() {
				t.Fatalf("round %d: %v is in no irredundant cover", round, p)
			}
		}
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{" 208.236.235.254/0 ": "0.0.0.0/0", "10.1.2.3/8": "10.0.0.0/8", "2001:db8::1/32": "2001:db8::/32"} {
		p, err := Parse(in)
		if err != nil || p.String() != want {
			t.Errorf("Parse(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	for _, bad := range []string{"", "10.0.0.1", "0.0.0.0/33", "x/0", "fe80::1%eth0/64"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	if got := (Coverage{true, true}).String(); !strings.Contains(got, "and") {
		t.Errorf("String = %q", got)
	}
}

func BenchmarkOffending(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	ps := split(r, World4, 500)
	for range 50 {
		ps = append(ps, split(r, ps[r.IntN(len(ps))], 3)...)
	}
	for b.Loop() {
		Offending(ps)
	}
}
