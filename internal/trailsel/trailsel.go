// Package trailsel judges CloudTrail event selectors: whether a trail's
// selectors record every management event — reads and writes, from every
// event source — in basic or advanced form, and the smallest change AWS
// accepts that makes them do so, keeping the data-event selectors.
//
// It is pure (no AWS calls) and knows no rule: cloudtrail-integrity restores
// selectors with it, cloudtrail-enabled refuses to call a trail compliant
// without it.
package trailsel

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// MaxBasic is the number of basic event selectors AWS accepts on a trail
// (PutEventSelectors refuses a sixth; moto 5.2.1 does not).
const MaxBasic = 5

// ManagementSelectorName names the advanced selector a restore adds.
const ManagementSelectorName = "Management events"

// Selectors are a trail's event selectors. AWS keeps one form at a time:
// basic or advanced, never both.
type Selectors struct {
	Basic    []cttypes.EventSelector         `json:"eventSelectors,omitempty"`
	Advanced []cttypes.AdvancedEventSelector `json:"advancedEventSelectors,omitempty"`
}

// IsAdvanced reports whether the selectors are in advanced form.
func (s Selectors) IsAdvanced() bool { return len(s.Advanced) > 0 }

// coverage is what a set of selectors records of management events: which
// of reads and writes, and the sources every covering selector leaves out.
type coverage struct {
	reads, writes bool
	// excluded sources per kind: the intersection over the selectors that
	// cover the kind (a source is lost only if every selector drops it).
	readExcl, writeExcl []string
	// filters names the other filters that narrow management selectors.
	filters []string
}

// Gaps says how the selectors fall short of recording every management
// event; nil when they record them all.
func Gaps(s Selectors) []string {
	var c coverage
	if s.IsAdvanced() {
		c = advancedCoverage(s.Advanced)
	} else {
		c = basicCoverage(s.Basic)
	}
	var out []string
	switch {
	case !c.reads && !c.writes:
		what := "management events are not recorded"
		if len(c.filters) > 0 {
			what += " (management selectors are narrowed by " + strings.Join(c.filters, ", ") + ")"
		}
		return []string{what}
	case !c.reads:
		out = append(out, "only write management events are recorded, not reads")
	case !c.writes:
		out = append(out, "only read management events are recorded, not writes")
	}
	excl := union(c.readExcl, c.writeExcl)
	if !c.reads {
		excl = c.writeExcl
	} else if !c.writes {
		excl = c.readExcl
	}
	if len(excl) > 0 {
		out = append(out, "management events of "+strings.Join(excl, ", ")+" are excluded")
	}
	return out
}

// RecordsAllManagement reports whether the selectors record every
// management event, reads and writes, with no event source left out.
func RecordsAllManagement(s Selectors) bool { return len(Gaps(s)) == 0 }

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out
}

// intersect keeps the elements of a that b holds too; first means a is the
// first set seen (taken whole).
func intersect(a, b []string, first bool) []string {
	if first {
		return slices.Clone(b)
	}
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// includesManagement is IncludeManagementEvents with AWS's default (true).
func includesManagement(s cttypes.EventSelector) bool {
	return s.IncludeManagementEvents == nil || *s.IncludeManagementEvents
}

func basicCoverage(sel []cttypes.EventSelector) coverage {
	var c coverage
	for _, s := range sel {
		if !includesManagement(s) {
			continue
		}
		excl := slices.Clone(s.ExcludeManagementEventSources)
		rw := s.ReadWriteType
		if rw == "" || rw == cttypes.ReadWriteTypeAll || rw == cttypes.ReadWriteTypeReadOnly {
			c.readExcl = intersect(c.readExcl, excl, !c.reads)
			c.reads = true
		}
		if rw == "" || rw == cttypes.ReadWriteTypeAll || rw == cttypes.ReadWriteTypeWriteOnly {
			c.writeExcl = intersect(c.writeExcl, excl, !c.writes)
			c.writes = true
		}
	}
	return c
}

// admits reports whether a field selector lets the value through; an
// unknown operator admits nothing (the judgement errs toward a gap).
func admits(f cttypes.AdvancedFieldSelector, v string) bool {
	ok := true
	if len(f.Equals) > 0 {
		ok = ok && slices.Contains(f.Equals, v)
	}
	if len(f.StartsWith) > 0 {
		ok = ok && slices.ContainsFunc(f.StartsWith, func(p string) bool { return strings.HasPrefix(v, p) })
	}
	if len(f.EndsWith) > 0 {
		ok = ok && slices.ContainsFunc(f.EndsWith, func(p string) bool { return strings.HasSuffix(v, p) })
	}
	ok = ok && !slices.Contains(f.NotEquals, v)
	ok = ok && !slices.ContainsFunc(f.NotStartsWith, func(p string) bool { return strings.HasPrefix(v, p) })
	ok = ok && !slices.ContainsFunc(f.NotEndsWith, func(p string) bool { return strings.HasSuffix(v, p) })
	return ok
}

// IsManagement reports whether an advanced selector selects management
// events (its eventCategory admits Management).
func IsManagement(s cttypes.AdvancedEventSelector) bool {
	for _, f := range s.FieldSelectors {
		if aws.ToString(f.Field) == "eventCategory" {
			return admits(f, "Management")
		}
	}
	return false
}

func advancedCoverage(sel []cttypes.AdvancedEventSelector) coverage {
	var c coverage
	for _, s := range sel {
		if !IsManagement(s) {
			continue
		}
		reads, writes := true, true
		var narrowed []string
		var excl []string
		for _, f := range s.FieldSelectors {
			switch field := aws.ToString(f.Field); field {
			case "eventCategory":
			case "readOnly":
				reads, writes = admits(f, "true"), admits(f, "false")
			case "eventSource":
				if len(f.Equals)+len(f.StartsWith)+len(f.EndsWith)+len(f.NotStartsWith)+len(f.NotEndsWith) == 0 {
					excl = append(excl, f.NotEquals...) // the documented exclusion form
				} else {
					narrowed = append(narrowed, "eventSource")
				}
			default:
				narrowed = append(narrowed, field)
			}
		}
		if len(narrowed) > 0 {
			// Any other filter (eventName, userIdentity.arn, eventType …)
			// records only part of the management events.
			for _, n := range narrowed {
				if !slices.Contains(c.filters, n) {
					c.filters = append(c.filters, n)
				}
			}
			continue
		}
		if reads {
			c.readExcl = intersect(c.readExcl, excl, !c.reads)
			c.reads = true
		}
		if writes {
			c.writeExcl = intersect(c.writeExcl, excl, !c.writes)
			c.writes = true
		}
	}
	slices.Sort(c.filters)
	return c
}

// ManagementSelector is the advanced selector that records every
// management event: eventCategory = Management and no other filter.
func ManagementSelector() cttypes.AdvancedEventSelector {
	return cttypes.AdvancedEventSelector{Name: aws.String(ManagementSelectorName),
		FieldSelectors: []cttypes.AdvancedFieldSelector{{Field: aws.String("eventCategory"), Equals: []string{"Management"}}}}
}

// Restore is the selectors that record every management event, in the form
// the trail uses, changing as little as AWS allows:
//
//   - advanced: every management selector (narrowed or not) is replaced by
//     one with no filter but eventCategory = Management, in the place of the
//     first; data and other selectors stay as they are;
//   - basic: a selector that takes management events in part is widened
//     in place (ReadWriteType All, no exclusions) when its data events stay
//     as they were (it is All already, or has no data resources); else the
//     selectors stay and a free slot gets one recording all management
//     events (no data resources); with no free slot, a selector with
//     ReadWriteType All takes the management events on, else two data
//     selectors with the same ReadWriteType are merged to free one — never
//     more than MaxBasic.
//
// Empty selectors (a trail that records nothing) become the one basic
// selector AWS gives a new trail.
func Restore(s Selectors) (Selectors, error) {
	if s.IsAdvanced() {
		var out []cttypes.AdvancedEventSelector
		placed := false
		for _, a := range s.Advanced {
			if !IsManagement(a) {
				out = append(out, a)
				continue
			}
			if !placed {
				m := ManagementSelector()
				if a.Name != nil && *a.Name != "" {
					m.Name = a.Name
				}
				out = append(out, m)
				placed = true
			}
		}
		if !placed {
			out = append(out, ManagementSelector())
		}
		return Selectors{Advanced: out}, nil
	}
	full := cttypes.EventSelector{ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(true),
		DataResources: []cttypes.DataResource{}, ExcludeManagementEventSources: []string{}}
	basic := cloneBasic(s.Basic)
	if len(basic) > MaxBasic {
		return Selectors{}, fmt.Errorf("the trail has %d basic event selectors, more than the %d AWS allows", len(basic), MaxBasic)
	}
	// A selector that already takes management events is widened in
	// place when that leaves its data events as they are: ReadWriteType
	// All already, or no data resources.
	for _, allOnly := range []bool{true, false} {
		for i := range basic {
			all := basic[i].ReadWriteType == cttypes.ReadWriteTypeAll || basic[i].ReadWriteType == ""
			if !includesManagement(basic[i]) || (allOnly && !all) || (!allOnly && len(basic[i].DataResources) > 0) {
				continue
			}
			basic[i].ReadWriteType, basic[i].ExcludeManagementEventSources = cttypes.ReadWriteTypeAll, []string{}
			basic[i].IncludeManagementEvents = aws.Bool(true)
			return Selectors{Basic: basic}, nil
		}
	}
	if len(basic) < MaxBasic {
		return Selectors{Basic: append(basic, full)}, nil
	}
	for i := range basic {
		if basic[i].ReadWriteType == cttypes.ReadWriteTypeAll || basic[i].ReadWriteType == "" {
			basic[i].IncludeManagementEvents, basic[i].ExcludeManagementEventSources = aws.Bool(true), []string{}
			return Selectors{Basic: basic}, nil
		}
	}
	for i := range basic {
		for j := i + 1; j < len(basic); j++ {
			if basic[i].ReadWriteType != basic[j].ReadWriteType {
				continue
			}
			basic[i] = merge(basic[i], basic[j])
			basic = slices.Delete(basic, j, j+1)
			return Selectors{Basic: append(basic, full)}, nil
		}
	}
	// Five selectors over two ReadWriteTypes always share one: unreachable.
	return Selectors{}, fmt.Errorf("no basic event selector can take the management events")
}

// merge folds b's data resources into a (same ReadWriteType), values of one
// resource type together; the management part is dropped, as the restored
// selector records all management events.
func merge(a, b cttypes.EventSelector) cttypes.EventSelector {
	out := cttypes.EventSelector{ReadWriteType: a.ReadWriteType, IncludeManagementEvents: aws.Bool(false), ExcludeManagementEventSources: []string{}}
	for _, dr := range append(slices.Clone(a.DataResources), b.DataResources...) {
		i := slices.IndexFunc(out.DataResources, func(x cttypes.DataResource) bool { return aws.ToString(x.Type) == aws.ToString(dr.Type) })
		if i < 0 {
			out.DataResources = append(out.DataResources, cttypes.DataResource{Type: dr.Type, Values: slices.Clone(dr.Values)})
			continue
		}
		for _, v := range dr.Values {
			if !slices.Contains(out.DataResources[i].Values, v) {
				out.DataResources[i].Values = append(out.DataResources[i].Values, v)
			}
		}
	}
	return out
}

func cloneBasic(in []cttypes.EventSelector) []cttypes.EventSelector {
	out := make([]cttypes.EventSelector, len(in))
	for i, s := range in {
		out[i] = s
		out[i].DataResources = slices.Clone(s.DataResources)
		out[i].ExcludeManagementEventSources = slices.Clone(s.ExcludeManagementEventSources)
	}
	return out
}

// Valid checks what AWS enforces of a PutEventSelectors call and moto 5.2.1
// does not: one form only, at most MaxBasic basic selectors.
func Valid(s Selectors) error {
	if len(s.Basic) > 0 && len(s.Advanced) > 0 {
		return fmt.Errorf("basic and advanced event selectors are exclusive")
	}
	if len(s.Basic) > MaxBasic {
		return fmt.Errorf("%d basic event selectors: AWS accepts at most %d", len(s.Basic), MaxBasic)
	}
	return nil
}
