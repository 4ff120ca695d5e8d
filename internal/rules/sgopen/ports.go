package sgopen

import (
	"fmt"
	"strconv"
	"strings"
)

// portRange is an inclusive range of ports.
type portRange struct{ from, to int }

// portSet is a union of port ranges, parsed from "80,443,1020-1025".
type portSet []portRange

func parsePorts(s string) (portSet, error) {
	var set portSet
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		from, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil {
			return nil, fmt.Errorf("%q is not a port or range", part)
		}
		to := from
		if isRange {
			if to, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil {
				return nil, fmt.Errorf("%q is not a port or range", part)
			}
		}
		if from < 0 || to > 65535 || from > to {
			return nil, fmt.Errorf("%q is outside 0-65535 or reversed", part)
		}
		set = append(set, portRange{from, to})
	}
	return set, nil
}

func checkPorts(s string) error {
	_, err := parsePorts(s)
	return err
}

// covers reports whether every port in r lies within the set.
func (s portSet) covers(r portRange) bool {
	// Walk r from its start, each time jumping past a set range that holds the
	// current port; r is covered when we pass its end.
	next := r.from
	for progress := true; progress && next <= r.to; {
		progress = false
		for _, a := range s {
			if a.from <= next && next <= a.to {
				next = a.to + 1
				progress = true
			}
		}
	}
	return next > r.to
}

// overlaps reports whether any port in r is in the set.
func (s portSet) overlaps(r portRange) bool {
	for _, a := range s {
		if a.from <= r.to && r.from <= a.to {
			return true
		}
	}
	return false
}

func (s portSet) String() string {
	parts := make([]string, 0, len(s))
	for _, r := range s {
		if r.from == r.to {
			parts = append(parts, strconv.Itoa(r.from))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", r.from, r.to))
		}
	}
	return strings.Join(parts, ",")
}

// normProtocol maps protocol names and numbers to one spelling:
// "tcp", "udp", "icmp", "icmpv6", "-1" (all), or the IANA number.
func normProtocol(p string) string {
	switch strings.ToLower(strings.TrimSpace(p)) {
	case "tcp", "6":
		return "tcp"
	case "udp", "17":
		return "udp"
	case "icmp", "1":
		return "icmp"
	case "icmpv6", "58":
		return "icmpv6"
	case "-1", "all", "":
		return "-1"
	}
	return strings.ToLower(strings.TrimSpace(p))
}
