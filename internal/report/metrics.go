package report

import (
	"encoding/json"
	"io"
	"slices"
	"time"

	"github.com/rampart-aws/rampart/internal/rule"
)

// Namespace is the CloudWatch namespace of Rampart's metrics.
const Namespace = "Rampart"

// metricNames are emitted for every rule touched by an invocation.
var metricNames = []string{"Decisions", "Violations", "Remediated", "Failed", "Exempt"}

// WriteMetrics writes one CloudWatch Embedded Metric Format record per rule
// (dimension Rule) to w, which in Lambda is the function's log stream, and
// one Exempt record per rule and exemption source (see writeExempt).
// There is no EMF library for Go served here; the format is small enough
// to write directly (see testdata/emf.golden).
func WriteMetrics(w io.Writer, now time.Time, ds []Decision) error {
	byRule := map[string][]Decision{}
	for _, d := range ds {
		if d.Rule != "" {
			byRule[d.Rule] = append(byRule[d.Rule], d)
		}
	}
	rules := make([]string, 0, len(byRule))
	for r := range byRule {
		rules = append(rules, r)
	}
	slices.Sort(rules)
	defs := make([]map[string]string, 0, len(metricNames))
	for _, n := range metricNames {
		defs = append(defs, map[string]string{"Name": n, "Unit": "Count"})
	}
	for _, r := range rules {
		c := Tally(byRule[r])
		rec := map[string]any{
			"_aws": map[string]any{
				"Timestamp": now.UnixMilli(),
				"CloudWatchMetrics": []any{map[string]any{
					"Namespace":  Namespace,
					"Dimensions": [][]string{{"Rule"}},
					"Metrics":    defs,
				}},
			},
			"Rule":       r,
			"Decisions":  c.Decisions,
			"Violations": c.Violations,
			"Remediated": c.Remediated,
			"Failed":     c.Failed,
			"Exempt":     c.Exempt,
		}
		if err := writeRecord(w, rec); err != nil {
			return err
		}
		if err := writeExempt(w, now, r, byRule[r]); err != nil {
			return err
		}
	}
	return nil
}

// writeExempt adds, for a rule with exempt decisions, one record per
// exemption source ("tag" or "list") carrying the Exempt metric with the
// dimension sets [Rule, Source] and [Source]: an alarm on Exempt{Source=tag}
// fires whenever any resource is exempted by tag, whatever the rule.
func writeExempt(w io.Writer, now time.Time, ruleID string, ds []Decision) error {
	bySource := map[string]int{}
	for i := range ds {
		if ds[i].Verdict == rule.NotApplicable && ds[i].Exempt != "" {
			bySource[ds[i].Exempt]++
		}
	}
	sources := make([]string, 0, len(bySource))
	for s := range bySource {
		sources = append(sources, s)
	}
	slices.Sort(sources)
	for _, src := range sources {
		rec := map[string]any{
			"_aws": map[string]any{
				"Timestamp": now.UnixMilli(),
				"CloudWatchMetrics": []any{map[string]any{
					"Namespace":  Namespace,
					"Dimensions": [][]string{{"Rule", "Source"}, {"Source"}},
					"Metrics":    []map[string]string{{"Name": "Exempt", "Unit": "Count"}},
				}},
			},
			"Rule":   ruleID,
			"Source": src,
			"Exempt": bySource[src],
		}
		if err := writeRecord(w, rec); err != nil {
			return err
		}
	}
	return nil
}

func writeRecord(w io.Writer, rec map[string]any) error {
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	_, err = w.Write(append(line, '\n'))
	return err
}

// Operational metrics, each written as its own EMF record by WriteEvent.
const (
	// MetricNotifyFailed counts notifications that could not be delivered
	// after retries (dimension Rule, and none for the stack-wide alarm).
	MetricNotifyFailed = "NotifyFailed"
	// MetricSecurityHubFailed counts findings Security Hub did not take
	// (BatchImportFindings failed, or rejected the finding) after retries
	// (dimension Rule, and none for the stack-wide alarm).
	MetricSecurityHubFailed = "SecurityHubFailed"
	// MetricRejected counts Lambda payloads rejected as bad input (no
	// dimension).
	MetricRejected = "Rejected"
)

// WriteEvent writes one EMF record counting n of metric name, with the
// dimension Rule when rule is set and always without dimension, so that
// one alarm per stack can watch every rule.
func WriteEvent(w io.Writer, now time.Time, name, ruleID string, n int) error {
	dims := [][]string{{}}
	rec := map[string]any{name: n}
	if ruleID != "" {
		dims = [][]string{{"Rule"}, {}}
		rec["Rule"] = ruleID
	}
	rec["_aws"] = map[string]any{
		"Timestamp": now.UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  Namespace,
			"Dimensions": dims,
			"Metrics":    []map[string]string{{"Name": name, "Unit": "Count"}},
		}},
	}
	return writeRecord(w, rec)
}
