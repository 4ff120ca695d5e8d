package cisalarms

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rampart-aws/rampart/internal/cis"
	"github.com/rampart-aws/rampart/internal/rule"
)

// State is one control's filter and alarm as they are.
type State struct {
	// Filters are the metric filters of the control's name on the
	// deployment's log group: one, or none when it was deleted.
	Filters []cis.Filter
	// Alarm is the control's alarm; nil when it was deleted.
	Alarm *cis.Alarm
	// NoLogGroup is set when the filter is missing because the log group
	// itself is: no PutMetricFilter can fix that (cloudtrail-integrity
	// restores the trail's log group setting; the group is the owner's to
	// recreate).
	NoLogGroup bool
	// Foreign are the other filters, on any log group, that publish to the
	// control's metric: one with a negative (or default) value cancels the
	// matches out, and the alarm never fires.
	Foreign []cis.Filter
}

// filterTarget is what actions on a filter name as their target.
func filterTarget(f cis.Filter) string { return f.LogGroup + ":" + f.Name }

// judge decides one control: its filter and its alarm each against the
// whole deployed definition, and plans a PutMetricFilter and a
// PutMetricAlarm for whichever differs.
func judge(st State, t rule.Target, p params, _ rule.Facts) rule.Finding {
	c := cis.ByName(t.ID)
	switch {
	case c == nil:
		return rule.Finding{Verdict: rule.NotApplicable, Reason: t.ID + " is not one of the CIS monitoring controls"}
	case !p.enabled():
		return rule.Finding{Verdict: rule.NotApplicable, Reason: "the deployment names no trail log group (rampart:trailLogGroup)"}
	}
	wf, wa := c.WantFilter(p.LogGroup), c.WantAlarm(p.Topic)
	var problems []string
	var acts []rule.Action
	// The alarm first: it does not depend on the log group, so it is put
	// back even when the filter cannot be (a deleted log group).
	if why := AlarmProblem(st.Alarm, wa); why != "" {
		problems = append(problems, why)
		undo := rule.NewAction(APIDeleteAlarms, wa.Name, "delete the restored alarm again", cis.Alarm{Name: wa.Name}, nil)
		if st.Alarm != nil {
			undo = rule.NewAction(APIPutAlarm, wa.Name, "put the alarm back as it was", *st.Alarm, nil)
		}
		acts = append(acts, rule.NewAction(APIPutAlarm, wa.Name,
			fmt.Sprintf("restore the alarm %s (%s), notifying %s", wa.Name, c.Title, p.Topic), wa, &undo))
	}
	if st.NoLogGroup {
		why := fmt.Sprintf("the trail's log group %s does not exist, so neither does the metric filter %s", wf.LogGroup, wf.Name)
		problems = append(problems, why)
		acts = append(acts, rule.Alert(t.ID, why+": recreate the log group (and point the trail at it); the next sweep restores the filter"))
	} else if why, old := FilterProblem(st.Filters, wf); why != "" {
		problems = append(problems, why)
		undo := rule.NewAction(APIDeleteFilter, filterTarget(wf), "delete the restored metric filter again", cis.Filter{LogGroup: wf.LogGroup, Name: wf.Name}, nil)
		if old != nil {
			undo = rule.NewAction(APIPutFilter, filterTarget(wf), "put the metric filter back as it was", *old, nil)
		}
		acts = append(acts, rule.NewAction(APIPutFilter, filterTarget(wf),
			fmt.Sprintf("restore the metric filter %s on %s (%s)", wf.Name, wf.LogGroup, c.Title), wf, &undo))
	}
	if why := ForeignProblem(st.Foreign, wf); why != "" {
		// Not the deployment's filter: reported, never deleted.
		problems = append(problems, why)
		acts = append(acts, rule.Alert(t.ID, why+": remove it unless it is yours and harmless"))
	}
	ref := c.CIS
	if c.SecurityHub != "" {
		ref = c.SecurityHub + ", CIS " + c.CIS
	}
	if len(acts) == 0 {
		return rule.Finding{Verdict: rule.Compliant, Reason: fmt.Sprintf("the CIS alarm on %s (%s) is in place: filter on %s, alarm to %s", c.Title, ref, p.LogGroup, p.Topic)}
	}
	return rule.Finding{Verdict: rule.Violation, Actions: acts,
		Reason: fmt.Sprintf("the CIS alarm on %s (%s) is silenced: %s", c.Title, ref, strings.Join(problems, "; "))}
}

// FilterProblem says what is wrong with the filters of a control's name
// against want ("" when nothing is), and which of them a fix replaces.
// A filter whose pattern matches less, whose metric is elsewhere or
// carries dimensions, or whose default value can cancel a match out,
// silences the alarm as surely as a deleted one.
func FilterProblem(got []cis.Filter, want cis.Filter) (string, *cis.Filter) {
	if len(got) == 0 {
		return fmt.Sprintf("the metric filter %s on %s is missing", want.Name, want.LogGroup), nil
	}
	for i := range got {
		g := &got[i]
		var diffs []string
		if g.Pattern != want.Pattern {
			diffs = append(diffs, fmt.Sprintf("its pattern is %q, not the benchmark's", g.Pattern))
		}
		if g.Namespace != want.Namespace || g.MetricName != want.MetricName {
			diffs = append(diffs, fmt.Sprintf("it publishes %s/%s, not %s/%s", g.Namespace, g.MetricName, want.Namespace, want.MetricName))
		}
		if g.Value != want.Value {
			diffs = append(diffs, fmt.Sprintf("it counts %q per match, not %q", g.Value, want.Value))
		}
		if g.DefaultValue != nil {
			diffs = append(diffs, fmt.Sprintf("it publishes a default value (%g) when nothing matches", *g.DefaultValue))
		}
		if g.Unit != want.Unit && g.Unit != "None" {
			diffs = append(diffs, fmt.Sprintf("its unit is %s", g.Unit))
		}
		if len(g.Dimensions) > 0 {
			diffs = append(diffs, fmt.Sprintf("it publishes with dimensions %v, which the alarm does not watch", slices.Sorted(maps.Keys(g.Dimensions))))
		}
		if len(diffs) > 0 {
			return fmt.Sprintf("the metric filter %s on %s was changed: %s", want.Name, want.LogGroup, strings.Join(diffs, ", ")), g
		}
	}
	return "", nil
}

// ForeignProblem says which other filters publish to want's metric; ""
// when none does.
func ForeignProblem(foreign []cis.Filter, want cis.Filter) string {
	if len(foreign) == 0 {
		return ""
	}
	var names []string
	for _, f := range foreign {
		names = append(names, fmt.Sprintf("%s on %s (value %s)", f.Name, f.LogGroup, f.Value))
	}
	return fmt.Sprintf("other metric filters publish to %s/%s, which can cancel its count out: %s", want.Namespace, want.MetricName, strings.Join(names, ", "))
}

// AlarmProblem says what is wrong with an alarm against want; "" when
// nothing is. Every field that decides whether the alarm fires, and whom
// it tells, is compared; its description and its OK and
// insufficient-data actions are not.
func AlarmProblem(got *cis.Alarm, want cis.Alarm) string {
	if got == nil {
		return fmt.Sprintf("the alarm %s is missing", want.Name)
	}
	var diffs []string
	add := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }
	if !got.ActionsEnabled {
		add("its actions are disabled")
	}
	if !sameSet(got.AlarmActions, want.AlarmActions) {
		add("it notifies %s, not %s", orNothing(got.AlarmActions), strings.Join(want.AlarmActions, ", "))
	}
	if got.MetricMath || got.Namespace != want.Namespace || got.MetricName != want.MetricName || len(got.Dimensions) > 0 {
		what := got.Namespace + "/" + got.MetricName
		if got.MetricMath {
			what = "metric math"
		} else if len(got.Dimensions) > 0 {
			what += " " + strings.Join(got.Dimensions, ",")
		}
		add("it watches %s, not %s/%s", what, want.Namespace, want.MetricName)
	}
	if got.Unit != "" {
		add("it watches only data in %s", got.Unit)
	}
	if got.Statistic != want.Statistic || got.ExtendedStatistic != "" {
		add("its statistic is %s, not %s", got.Statistic+got.ExtendedStatistic, want.Statistic)
	}
	if got.Threshold != want.Threshold || got.Comparison != want.Comparison {
		add("it fires at %s %g, not %s %g", got.Comparison, got.Threshold, want.Comparison, want.Threshold)
	}
	if got.PeriodSeconds != want.PeriodSeconds || got.EvaluationPeriods != want.EvaluationPeriods ||
		got.DatapointsToAlarm != 0 && got.DatapointsToAlarm != want.EvaluationPeriods {
		need := got.DatapointsToAlarm
		if need == 0 {
			need = got.EvaluationPeriods
		}
		add("it needs %d breaching of %d periods of %d s, not %d of %d s", need, got.EvaluationPeriods, got.PeriodSeconds, want.EvaluationPeriods, want.PeriodSeconds)
	}
	if got.TreatMissingData != want.TreatMissingData {
		add("it treats missing data as %s, not %s", orNothing([]string{got.TreatMissingData}), want.TreatMissingData)
	}
	if len(diffs) == 0 {
		return ""
	}
	return fmt.Sprintf("the alarm %s was changed: %s", want.Name, strings.Join(diffs, ", "))
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func orNothing(v []string) string {
	v = slices.DeleteFunc(slices.Clone(v), func(s string) bool { return s == "" })
	if len(v) == 0 {
		return "nothing"
	}
	return strings.Join(v, ", ")
}
