package rule

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/trigger"
)

func TestMatchDetail(t *testing.T) {
	t.Parallel()
	health := `{"service":"RISK","eventTypeCode":"AWS_RISK_CREDENTIALS_EXPOSED","eventTypeCategory":"issue",
		"affectedEntities":[{"entityValue":"AKIAIOSFODNN7EXAMPLE"}],"severity":5.5,"archived":false,"resource":{"resourceType":"Instance"},
		"tags":["a","b"],"empty":[],"nothing":null}`
	cases := []struct {
		name    string
		pattern map[string]any
		detail  string
		want    bool
	}{
		{"nil pattern matches anything", nil, `{}`, true},
		{"nil pattern matches a non-object", nil, `[]`, true},
		{"exact string", map[string]any{"eventTypeCode": []any{"AWS_RISK_CREDENTIALS_EXPOSED"}}, health, true},
		{"exact []string", map[string]any{"eventTypeCode": []string{"X", "AWS_RISK_CREDENTIALS_EXPOSED"}}, health, true},
		{"other string", map[string]any{"eventTypeCode": []any{"AWS_EC2_OPERATIONAL_ISSUE"}}, health, false},
		{"case matters", map[string]any{"eventTypeCode": []any{"aws_risk_credentials_exposed"}}, health, false},
		{"missing field", map[string]any{"statusCode": []any{"open"}}, health, false},
		{"all keys must match", map[string]any{"service": []any{"RISK"}, "eventTypeCode": []any{"OTHER"}}, health, false},
		{"nested object", map[string]any{"resource": map[string]any{"resourceType": []any{"Instance"}}}, health, true},
		{"nested object mismatch", map[string]any{"resource": map[string]any{"resourceType": []any{"AccessKey"}}}, health, false},
		{"nested pattern on a scalar", map[string]any{"service": map[string]any{"x": []any{"RISK"}}}, health, false},
		{"array value: any element", map[string]any{"tags": []any{"b"}}, health, true},
		{"array value: none", map[string]any{"tags": []any{"c"}}, health, false},
		{"array of objects: nested pattern", map[string]any{"affectedEntities": map[string]any{"entityValue": []any{"AKIAIOSFODNN7EXAMPLE"}}}, health, false},
		{"number equality", map[string]any{"severity": []any{5.5}}, health, true},
		{"number is not its string", map[string]any{"severity": []any{"5.5"}}, health, false},
		{"bool", map[string]any{"archived": []any{false}}, health, true},
		{"bool is not its string", map[string]any{"archived": []any{"false"}}, health, false},
		{"null", map[string]any{"nothing": []any{nil}}, health, true},
		{"null does not match a missing field", map[string]any{"absent": []any{nil}}, health, false},
		{"prefix", map[string]any{"eventTypeCode": []any{map[string]any{"prefix": "AWS_RISK_"}}}, health, true},
		{"prefix mismatch", map[string]any{"eventTypeCode": []any{map[string]any{"prefix": "AWS_EC2_"}}}, health, false},
		{"prefix ignoring case", map[string]any{"eventTypeCode": []any{map[string]any{"prefix": map[string]any{"equals-ignore-case": "aws_risk"}}}}, health, true},
		{"suffix", map[string]any{"eventTypeCode": []any{map[string]any{"suffix": "_EXPOSED"}}}, health, true},
		{"equals-ignore-case", map[string]any{"service": []any{map[string]any{"equals-ignore-case": "risk"}}}, health, true},
		{"anything-but value", map[string]any{"service": []any{map[string]any{"anything-but": "EC2"}}}, health, true},
		{"anything-but list", map[string]any{"service": []any{map[string]any{"anything-but": []any{"EC2", "RISK"}}}}, health, false},
		{"anything-but prefix", map[string]any{"service": []any{map[string]any{"anything-but": map[string]any{"prefix": "RI"}}}}, health, false},
		{"anything-but needs the field", map[string]any{"absent": []any{map[string]any{"anything-but": "x"}}}, health, false},
		{"exists true", map[string]any{"service": []any{map[string]any{"exists": true}}}, health, true},
		{"exists true on a missing field", map[string]any{"absent": []any{map[string]any{"exists": true}}}, health, false},
		{"exists false on a missing field", map[string]any{"absent": []any{map[string]any{"exists": false}}}, health, true},
		{"exists false on a present field", map[string]any{"service": []any{map[string]any{"exists": false}}}, health, false},
		{"exists false on an empty array", map[string]any{"empty": []any{map[string]any{"exists": false}}}, health, true},
		{"numeric range in", map[string]any{"severity": []any{map[string]any{"numeric": []any{">=", 4, "<", 7}}}}, health, true},
		{"numeric range out", map[string]any{"severity": []any{map[string]any{"numeric": []any{">=", 7}}}}, health, false},
		{"numeric on a string", map[string]any{"service": []any{map[string]any{"numeric": []any{">", 0}}}}, health, false},
		{"one of several filters", map[string]any{"service": []any{"EC2", map[string]any{"prefix": "RI"}}}, health, true},
		{"detail not an object", map[string]any{"x": []any{"y"}}, `["x"]`, false},
		{"detail not JSON", map[string]any{"x": []any{"y"}}, `{`, false},
		{"unsupported value type", map[string]any{"service": "RISK"}, health, false},
		{"unsupported operator", map[string]any{"service": []any{map[string]any{"wildcard": "R*"}}}, health, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := MatchDetail(c.pattern, json.RawMessage(c.detail)); got != c.want {
				t.Fatalf("MatchDetail(%v) = %v, want %v", c.pattern, got, c.want)
			}
		})
	}
}

func TestCheckPattern(t *testing.T) {
	t.Parallel()
	ok := []map[string]any{
		nil,
		{"eventTypeCode": []any{"AWS_RISK_CREDENTIALS_EXPOSED"}},
		{"check-name": []string{"Exposed Access Keys"}, "status": []string{"ERROR", "WARN"}},
		{"a": map[string]any{"b": []any{1.5, true, nil, map[string]any{"numeric": []any{">", 0, "<=", 5}}}}},
		{"a": []any{map[string]any{"prefix": "x"}, map[string]any{"suffix": "y"}, map[string]any{"exists": false},
			map[string]any{"anything-but": []any{"a", "b"}}, map[string]any{"anything-but": map[string]any{"prefix": "z"}},
			map[string]any{"prefix": map[string]any{"equals-ignore-case": "q"}}, map[string]any{"equals-ignore-case": "Q"}}},
	}
	for _, p := range ok {
		if err := CheckPattern(p); err != nil {
			t.Errorf("CheckPattern(%v) = %v", p, err)
		}
	}
	bad := map[string]map[string]any{
		"not supported":    {"a": []any{map[string]any{"wildcard": "x*"}}},
		"$or":              {"$or": []any{map[string]any{"a": []any{"x"}}}},
		"empty list":       {"a": []any{}},
		"empty []string":   {"a": []string{}},
		"scalar":           {"a": "x"},
		"two operators":    {"a": []any{map[string]any{"prefix": "x", "suffix": "y"}}},
		"numeric operand":  {"a": []any{map[string]any{"numeric": []any{">", "7"}}}},
		"numeric operator": {"a": []any{map[string]any{"numeric": []any{"!=", 7}}}},
		"exists operand":   {"a": []any{map[string]any{"exists": "true"}}},
		"nested bad":       {"a": map[string]any{"b": []any{map[string]any{"cidr": "10.0.0.0/8"}}}},
	}
	for name, p := range bad {
		if err := CheckPattern(p); err == nil {
			t.Errorf("%s: CheckPattern(%v) accepted it", name, p)
		} else if !strings.Contains(err.Error(), "detail.") {
			t.Errorf("%s: error %q does not name the field", name, err)
		}
	}
}

// The engine's event match honours the Detail pattern, not only source and
// detail-type: a misrouted event must not reach the rule.
func TestMatchesEventHonoursDetail(t *testing.T) {
	t.Parallel()
	m := Meta{Events: []EventTrigger{
		{Source: "aws.health", DetailType: "AWS Health Event", Detail: map[string]any{"eventTypeCode": []string{"AWS_RISK_CREDENTIALS_EXPOSED"}}},
		{Source: "aws.trustedadvisor", DetailType: "Trusted Advisor Check Item Refresh Notification",
			Detail: map[string]any{"check-name": []string{"Exposed Access Keys"}, "status": []string{"ERROR", "WARN"}}},
	}}
	ev := func(source, dt, detail string) *trigger.Event {
		return &trigger.Event{Source: source, DetailType: dt, Detail: json.RawMessage(detail)}
	}
	cases := []struct {
		ev   *trigger.Event
		want bool
	}{
		{ev("aws.health", "AWS Health Event", `{"eventTypeCode":"AWS_RISK_CREDENTIALS_EXPOSED"}`), true},
		{ev("aws.health", "AWS Health Event", `{"eventTypeCode":"AWS_EC2_OPERATIONAL_ISSUE"}`), false},
		{ev("aws.health", "AWS Health Abuse Event", `{"eventTypeCode":"AWS_RISK_CREDENTIALS_EXPOSED"}`), false},
		{ev("aws.ec2", "AWS Health Event", `{"eventTypeCode":"AWS_RISK_CREDENTIALS_EXPOSED"}`), false},
		{ev("aws.trustedadvisor", "Trusted Advisor Check Item Refresh Notification", `{"check-name":"Exposed Access Keys","status":"WARN"}`), true},
		{ev("aws.trustedadvisor", "Trusted Advisor Check Item Refresh Notification", `{"check-name":"Exposed Access Keys","status":"OK"}`), false},
		{ev("aws.trustedadvisor", "Trusted Advisor Check Item Refresh Notification", `{"check-name":"IAM Access Key Rotation","status":"ERROR"}`), false},
	}
	for _, c := range cases {
		if got := m.MatchesEvent(c.ev); got != c.want {
			t.Errorf("MatchesEvent(%s %s %s) = %v, want %v", c.ev.Source, c.ev.DetailType, c.ev.Detail, got, c.want)
		}
	}
	// No Detail: every event of the type.
	all := Meta{Events: []EventTrigger{{Source: "aws.guardduty", DetailType: "GuardDuty Finding"}}}
	if !all.MatchesEvent(ev("aws.guardduty", "GuardDuty Finding", `{"severity":2}`)) {
		t.Error("a trigger without Detail must match every event of its type")
	}
}
