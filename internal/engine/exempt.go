package engine

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rampart-aws/rampart/internal/exemption"
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
)

// Exemption sources, as report.Decision.Exempt and the Source dimension of
// the Exempt metric.
const (
	ExemptByTag  = "tag"
	ExemptByList = "list"
)

// maxExemptDays caps RAMPART_EXEMPT_MAX_DAYS: a ten-year "temporary"
// exemption is a permanent one.
const maxExemptDays = 3650

// exempt applies the exemptions to a decision that already holds the
// finding. It reports whether the resource is exempt; the decision then says
// by what (verdict not_applicable, Exempt set). Otherwise the resource is
// judged normally and, when it carries an exemption that does not count,
// the decision's reason says why — a typo in a tag must never silently
// exempt, nor silently remediate.
//
// Whoever can tag a resource may be the attacker, so a tag counts only when
// it names an owner and an expiry within the deployment's horizon
// (RAMPART_EXEMPT_MAX_DAYS), and never for a rule that guards the audit trail
// or Rampart itself (rule.Meta.ListExemptionsOnly). Setting the tag is itself
// reported by the exemption-tag rule: that report is the exemption's start
// notification, so an exempt decision is not notified on every evaluation.
//
// The checked-in list (RAMPART_EXEMPTIONS) needs an owner and an expiry too
// (checked at cold start) but is not bound by the horizon: it changes only
// through a reviewed deployment, by people who could change the horizon
// just as well, and a horizon measured from "now" would turn a valid list
// into a failing cold start months later. Its start notification is the
// deployment itself.
func (e *Engine) exempt(m *rule.Meta, t rule.Target, f rule.Finding, d *report.Decision) bool {
	now := e.Now()
	key := e.cfg.ExemptTag
	if key == "" {
		key = DefaultExemptTag
	}
	var notes []string
	if v, ok := f.Tags[key]; ok {
		tag := exemption.Parse(v)
		status, why := exemption.Judge(tag, now, e.cfg.ExemptMaxDays)
		switch {
		case m.ListExemptionsOnly:
			notes = append(notes, "exemption tag "+key+" ignored: this rule accepts only checked-in exemptions")
		case status == exemption.Honoured:
			ex := Exemption{Rule: "*", Reason: tag.Reason, Owner: tag.Owner, Expires: tag.Expires}
			d.Verdict, d.Exempt = rule.NotApplicable, ExemptByTag
			d.ExemptOwner, d.ExemptExpires = tag.Owner, tag.Expires
			d.Reason = ex.describe("tag "+key) + "; finding: " + f.Reason
			return true
		case status == exemption.Expired:
			notes = append(notes, fmt.Sprintf("exemption by tag %s (owner %s: %s) %s", key, tag.Owner, tag.Reason, why))
		default:
			notes = append(notes, "exemption tag "+key+" ignored: "+why)
		}
	}
	for _, ex := range e.cfg.Exemptions {
		if (ex.Rule != "*" && ex.Rule != m.ID) || (ex.Resource != d.Resource && ex.Resource != t.ID) {
			continue
		}
		if exp, err := exemption.ParseExpiry(ex.Expires); err != nil || now.After(exp) {
			// Validated at cold start; an unreadable expiry exempts nothing.
			notes = append(notes, fmt.Sprintf("exemption by the exemption list (owner %s: %s) expired on %s", ex.Owner, ex.Reason, ex.Expires))
			continue
		}
		d.Verdict, d.Exempt = rule.NotApplicable, ExemptByList
		d.ExemptOwner, d.ExemptExpires = ex.Owner, ex.Expires
		d.Reason = ex.describe("the exemption list") + "; finding: " + f.Reason
		return true
	}
	if len(notes) > 0 {
		d.Reason = strings.Join(notes, "; ") + "; finding: " + f.Reason
	}
	return false
}

// describe is the exemption as a decision reason.
func (e Exemption) describe(source string) string {
	s := fmt.Sprintf("exempt by %s: %s", source, e.Reason)
	if e.Owner != "" {
		s += " (owner " + e.Owner
		if e.Expires != "" {
			s += ", until " + e.Expires
		}
		s += ")"
	} else if e.Expires != "" {
		s += " (until " + e.Expires + ")"
	}
	return s
}

// parseMaxDays reads RAMPART_EXEMPT_MAX_DAYS: empty means the default.
func parseMaxDays(v string) (int, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return exemption.DefaultMaxDays, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxExemptDays {
		return 0, fmt.Errorf("%s: %q: want a whole number of days from 1 to %d", EnvExemptMaxDays, v, maxExemptDays)
	}
	return n, nil
}
