package engine

import (
	"fmt"
	"strings"

	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
)

// offlineSweep is what a sweep would do, for an offline plan: an offline
// session has no clients, so a rule's Sweep (and Expand) is never called;
// the decision says which rule would list what, and with which reads.
func (e *Engine) offlineSweep(m *rule.Meta, d report.Decision) report.Decision {
	return e.offlineSweepIn(m, e.session.Region, d)
}

// offlineSweepIn is offlineSweep of a sweep in region.
func (e *Engine) offlineSweepIn(m *rule.Meta, region string, d report.Decision) report.Decision {
	d.Resource, d.Verdict = "*", rule.Ignored
	reads := "no read"
	if len(m.ReadActions) > 0 {
		reads = strings.Join(m.ReadActions, ", ")
	}
	d.Reason = fmt.Sprintf("offline plan: a live run lists every %s in %s and judges each with %s (reads %s)",
		m.ResourceType, regionName(m, region), m.ID, reads)
	return d
}

// sweptNothing is the decision of a live sweep that found no resource: the
// run says so rather than that no rule sweeps.
func (e *Engine) sweptNothing(m *rule.Meta, d report.Decision) report.Decision {
	d.Resource, d.Verdict = "*", rule.Ignored
	d.Reason = fmt.Sprintf("the sweep found no %s to judge in %s", m.ResourceType, regionName(m, e.session.Region))
	return d
}

func regionName(m *rule.Meta, region string) string {
	if region == "" {
		region = "the function's region"
	}
	if m.Global {
		return "the account (a global service, swept from " + region + ")"
	}
	return region
}
