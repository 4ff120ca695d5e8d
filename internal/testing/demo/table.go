package demo

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rampart-aws/rampart/internal/rule"
)

// columns of the demo table, with their widths in characters.
var columns = []struct {
	title string
	width int
}{
	{"RESOURCE", 22}, {"RULE", 20}, {"WHAT WAS WRONG", 30}, {"WHAT RAMPART DID", 34}, {"BEFORE → AFTER", 36},
}

// Print writes the demo's table and summary.
func Print(w io.Writer, s *Summary) {
	header := make([][]string, len(columns))
	for i, c := range columns {
		header[i] = []string{c.title}
	}
	fmt.Fprintln(w)
	writeRow(w, header)
	rule := make([][]string, len(columns))
	for i, c := range columns {
		rule[i] = []string{strings.Repeat("─", c.width)}
	}
	writeRow(w, rule)
	for i, o := range s.Outcomes {
		if i > 0 {
			fmt.Fprintln(w)
		}
		writeRow(w, Row(o))
	}
	fmt.Fprintln(w)
	count := map[string]int{}
	kept := 0
	for _, o := range s.Outcomes {
		count[Class(o)]++
		for _, l := range o.After {
			if slices.Contains(o.Before, l) {
				kept++
			}
		}
	}
	fmt.Fprintf(w, "%d of %d scenarios: %d fixed in enforce mode, %d reported, %d compliant and left alone",
		len(s.Outcomes)-count[Failed], len(s.Outcomes), count[Fixed], count[Reported], count[Compliant])
	if count[Failed] > 0 {
		fmt.Fprintf(w, ", %d FAILED", count[Failed])
	}
	fmt.Fprintln(w, ".")
	fmt.Fprintln(w, "Reported: Rampart alerted and left the resource as it is (it cannot or may not change it; it may prevent the next one).")
	fmt.Fprintf(w, "%d legitimate settings and rules left as they were.\n", kept)
	fmt.Fprintf(w, "%d notifications published to the deployment's SNS topic (who, when, what, from where, which resource, what Rampart did).\n", s.Notifications)
	fmt.Fprintf(w, "Every event delivered a second time (%d invocations): %d changes, %d errors — duplicates are no-ops.\n", s.Replays, s.ReplayChanges, s.ReplayErrors)
	for _, t := range s.Timings {
		fmt.Fprintf(w, "%-14s under the RIE: cold start %s, warm median %s (%d invocations)\n", t.Function, ms(t.Cold), ms(t.Warm), t.Invocations)
	}
	fmt.Fprintf(w, "Wall time %s (build %s).\n", s.Wall.Round(100*time.Millisecond), s.Build.Round(100*time.Millisecond))
	for _, o := range s.Outcomes {
		if o.Err != nil {
			fmt.Fprintf(w, "FAILED %q: %v\n", o.Scenario.Name, o.Err)
		}
	}
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// Classes of outcome in the summary.
const (
	Fixed     = "fixed"     // Rampart changed the violating resource itself
	Reported  = "reported"  // a violation Rampart alerted on and left (maybe preventing the next one)
	Compliant = "compliant" // nothing wrong: nothing done
	Failed    = "failed"    // not as it must be (Outcome.Err)
)

// Class says what became of a scenario. Fixed needs an applied change whose
// target is the violating resource: enabling EBS encryption by default fixes
// the region's default, not the unencrypted volume, which stays reported.
func Class(o Outcome) string {
	if o.Err != nil {
		return Failed
	}
	violation := false
	for _, d := range o.Decisions {
		if d.Verdict != rule.Violation {
			continue
		}
		violation = true
		for _, a := range d.Actions {
			if a.Outcome == rule.Applied && a.API != rule.AlertAPI && !tagging(a.API) && sameResource(a.Target, d.Resource) {
				return Fixed
			}
		}
	}
	if violation {
		return Reported
	}
	return Compliant
}

// tagging reports whether an API only tags (a mark for later, e.g. an
// Elastic IP's grace period, is no fix).
func tagging(api string) bool {
	_, op, _ := strings.Cut(api, ":")
	return strings.HasSuffix(op, "Tags") || strings.HasPrefix(op, "Tag")
}

// sameResource reports whether an action's target is the decision's
// resource, one naming it by ID or name and the other by ARN.
func sameResource(target, resource string) bool {
	if target == resource {
		return true
	}
	if target == "" || resource == "" {
		return false
	}
	return strings.HasSuffix(target, "/"+resource) || strings.HasSuffix(target, ":"+resource) ||
		strings.HasSuffix(resource, "/"+target) || strings.HasSuffix(resource, ":"+target)
}

// Row is one outcome as table cells (lines per column).
func Row(o Outcome) [][]string {
	ds := acted(o)
	var rules, wrong, did []string
	for _, d := range ds {
		if !slices.Contains(rules, d.Rule) {
			rules = append(rules, d.Rule)
		}
		if d.Reason != "" && !slices.Contains(wrong, d.Reason) {
			wrong = append(wrong, d.Reason)
		}
		for _, a := range d.Actions {
			did = append(did, describeAction(a)...)
		}
		if d.Error != "" {
			did = append(did, "error: "+d.Error)
		}
	}
	if len(did) == 0 {
		did = []string{"nothing"}
	}
	did = append([]string{strings.ToUpper(Class(o))}, did...)
	if o.Err != nil {
		did = append(did, "UNEXPECTED: "+o.Err.Error())
	}
	change := Diff(o.Before, o.After)
	if o.Scenario.AlertOnly() {
		for _, n := range o.Notifications {
			change = append(change, "SNS: "+n)
		}
	}
	return [][]string{{o.Fixture.Label}, rules, wrong, did, change}
}

// describeAction is an action as lines: what and how it went, then the API.
func describeAction(a rule.Action) []string {
	what := a.Reason
	if what == "" || a.API == rule.AlertAPI {
		what = "alert to the deployment's SNS topic"
	}
	lines := []string{fmt.Sprintf("%s: %s", a.Outcome, what), "  " + a.API}
	if a.Error != "" {
		lines = append(lines, "  "+a.Error)
	}
	return lines
}

// Diff shows state lines before → after: "key: old → new" for "key: value"
// lines whose value changed, "line → removed" and "+ line" for set members,
// and unchanged lines as they are.
func Diff(before, after []string) []string {
	var out []string
	key := func(l string) string {
		k, _, ok := strings.Cut(l, ": ")
		if !ok {
			return ""
		}
		return k
	}
	for _, b := range before {
		switch {
		case slices.Contains(after, b):
			out = append(out, b)
		case key(b) != "":
			i := slices.IndexFunc(after, func(a string) bool { return key(a) == key(b) })
			if i >= 0 {
				_, nv, _ := strings.Cut(after[i], ": ")
				out = append(out, b+" → "+nv)
			} else {
				out = append(out, b+" → removed")
			}
		default:
			out = append(out, b+" → removed")
		}
	}
	for _, a := range after {
		if slices.Contains(before, a) {
			continue
		}
		if k := key(a); k != "" && slices.ContainsFunc(before, func(b string) bool { return key(b) == k }) {
			continue
		}
		out = append(out, "+ "+a)
	}
	return out
}

// writeRow writes cells side by side, wrapping each to its column's width.
func writeRow(w io.Writer, cells [][]string) {
	wrapped := make([][]string, len(cells))
	height := 0
	for i, c := range cells {
		for _, line := range c {
			wrapped[i] = append(wrapped[i], wrap(line, columns[i].width)...)
		}
		height = max(height, len(wrapped[i]))
	}
	for l := 0; l < height; l++ {
		var b strings.Builder
		for i := range cells {
			cell := ""
			if l < len(wrapped[i]) {
				cell = wrapped[i][l]
			}
			if i == len(cells)-1 {
				b.WriteString(cell)
				break
			}
			b.WriteString(cell)
			b.WriteString(strings.Repeat(" ", columns[i].width-utf8.RuneCountInString(cell)+2))
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// wrap breaks a line into pieces of at most width runes: at the last space
// that fits, else after the last '-', ':', '/' or ',' that fits, else
// anywhere. Continuation lines are indented by two spaces.
func wrap(line string, width int) []string {
	var out []string
	indent := ""
	for utf8.RuneCountInString(indent+line) > width {
		r := []rune(indent + line)
		start := len(indent) // break only after the line's leading spaces
		for start < len(r) && r[start] == ' ' {
			start++
		}
		cut := -1
		for i := width; i > start; i-- {
			if r[i] == ' ' {
				cut = i
				break
			}
		}
		if cut < 0 {
			for i := width - 1; i > start; i-- {
				if strings.ContainsRune("-:/,", r[i]) {
					cut = i + 1
					break
				}
			}
		}
		if cut < 0 {
			cut = width
		}
		out = append(out, strings.TrimRight(string(r[:cut]), " "))
		line = strings.TrimLeft(string(r[cut:]), " ")
		indent = "  "
	}
	return append(out, indent+line)
}
