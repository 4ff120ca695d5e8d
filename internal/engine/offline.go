package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
)

// sweep runs a rule's sweep in the context's session (account and region),
// the one place a sweep runs: offline it is not called, and the decision
// says what a live run would list and read; a sweep that lists nothing is
// said so. A non-nil decision is then the whole answer.
func (e *Engine) sweep(ctx context.Context, b *rule.Bound, base report.Decision) ([]rule.Target, *report.Decision, error) {
	m, s := b.Meta(), e.sessionFrom(ctx)
	if s.Offline {
		d := offlineSweep(m, s.Region, base)
		return nil, &d, nil
	}
	targets, err := b.Sweep(ctx, e.env(ctx))
	if err != nil {
		return nil, nil, fmt.Errorf("sweep %s in %s/%s: %w", m.ID, orUnknown(s.Account), s.Region, err)
	}
	if len(targets) == 0 {
		d := base
		d.Resource, d.Verdict = "*", rule.Ignored
		d.Reason = fmt.Sprintf("the sweep found no %s to judge in %s", m.ResourceType, regionName(m, s.Region))
		return nil, &d, nil
	}
	return targets, nil, nil
}

// offlineSweep is what a sweep in region would do, for an offline plan: an
// offline session has no clients, so a rule's Sweep (and Expand) is never
// called; the decision says which rule would list what, and with which reads.
func offlineSweep(m *rule.Meta, region string, d report.Decision) report.Decision {
	d.Resource, d.Verdict = "*", rule.Ignored
	reads := "no read"
	if len(m.ReadActions) > 0 {
		reads = strings.Join(m.ReadActions, ", ")
	}
	d.Reason = fmt.Sprintf("offline plan: a live run lists every %s in %s and judges each with %s (reads %s)",
		m.ResourceType, regionName(m, region), m.ID, reads)
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
