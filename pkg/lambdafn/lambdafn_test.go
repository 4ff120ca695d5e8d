package lambdafn

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/pkg/awsclient"
	"github.com/rampart-aws/rampart/pkg/engine"
	"github.com/rampart-aws/rampart/pkg/report"
	"github.com/rampart-aws/rampart/pkg/rule"
)

// sweep is a 200-group sweep in which every revoke failed: the case whose
// error used to carry every decision's JSON.
func sweep() *engine.Result {
	res := &engine.Result{}
	for i := range 200 {
		id := fmt.Sprintf("sg-%017d", i)
		var acts []rule.Action
		for p := range 3 {
			a := rule.NewAction("ec2:RevokeSecurityGroupIngress", id, "revoke tcp 22 from 0.0.0.0/0 and ::/0 on "+id,
				map[string]any{"groupId": id, "ipPermissions": strings.Repeat(fmt.Sprint(p), 200)}, nil)
			a.Outcome, a.Error = rule.Failed, "api error RequestLimitExceeded: Request limit exceeded."
			acts = append(acts, a)
		}
		res.Decisions = append(res.Decisions, report.Decision{Rule: "sg-open-world", Resource: id, ResourceType: "AWS::EC2::SecurityGroup",
			Verdict: rule.Violation, Reason: "world-open SSH", Mode: "enforce", Actions: acts})
	}
	return res
}

func TestTheErrorOfAFailedInvocationIsBounded(t *testing.T) {
	res := sweep()
	full, _ := json.Marshal(res.Decisions)
	s := summary(res)
	if len(full) < 100_000 || len(s) > 4096 {
		t.Fatalf("summary of %d bytes (the decisions' JSON: %d)", len(s), len(full))
	}
	for _, want := range []string{"200 of 200 decisions failed", "violation 200", "failed 600", "sg-00000000000000000 (sg-open-world)",
		"sg-00000000000000019", "and 180 more", "first error: ec2:RevokeSecurityGroupIngress: api error RequestLimitExceeded"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q: %s", want, s)
		}
	}
	if strings.Contains(s, "sg-00000000000000020") {
		t.Errorf("summary names more than %d resources", maxFailedIDs)
	}
	// A failure with no failing action names the decision's own error.
	one := &engine.Result{Decisions: []report.Decision{{Rule: "r", Resource: "x", Verdict: engine.ErrorVerdict, Error: "describe failed"},
		{Rule: "r", Resource: "y", Verdict: rule.Compliant}}}
	if s := summary(one); !strings.Contains(s, "1 of 2 decisions failed") || !strings.Contains(s, "first error: describe failed") {
		t.Fatal(s)
	}
}

func TestRejectedPayloadsAreCounted(t *testing.T) {
	e, err := engine.New(engine.Config{}, &awsclient.Session{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	var metrics bytes.Buffer
	e.Log, e.Metrics = slog.New(slog.NewJSONHandler(io.Discard, nil)), &metrics
	h := &Handler{Engine: e}
	resp, err := h.Invoke(context.Background(), json.RawMessage(`{"hello":"world"}`))
	if err != nil || resp.Rejected == "" {
		t.Fatalf("%+v, %v", resp, err)
	}
	var rec map[string]any
	if err := json.Unmarshal(metrics.Bytes(), &rec); err != nil || rec[report.MetricRejected] != float64(1) {
		t.Fatalf("metrics %q: %v", metrics.String(), err)
	}
}

func TestSweepConcurrencySetting(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == engine.EnvSweepConcurrency {
				return v
			}
			return ""
		}
	}
	if _, err := New(context.Background(), env("lots")); err == nil || !strings.Contains(err.Error(), engine.EnvSweepConcurrency) {
		t.Fatalf("a bad concurrency was accepted: %v", err)
	}
	for v, want := range map[string]int{"": engine.DefaultSweepConcurrency, "1": 1, "32": 32} {
		if got, err := engine.SweepConcurrencyFromEnv(env(v)); err != nil || got != want {
			t.Errorf("%q: %d, %v", v, got, err)
		}
	}
	for _, v := range []string{"0", "65", "-3", "8.5"} {
		if _, err := engine.SweepConcurrencyFromEnv(env(v)); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
}
