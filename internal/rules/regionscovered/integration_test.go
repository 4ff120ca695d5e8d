package regionscovered_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/regionscovered"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

// moto lists its regions (every commercial one, whatever the opt-in
// filter): covering only two leaves the rest named in one alert.
func TestSweepAlertsOnUncoveredRegions(t *testing.T) {
	s := mototest.Session(t)
	topic := mototest.NewTopic(t, s, "rampart-alerts")
	t.Setenv(regionscovered.EnvRegions, "us-east-1,eu-west-1")
	e, _ := enginetest.New(t, s, engine.Config{Mode: engine.Enforce, TopicARN: topic.ARN}, regionscovered.Rule)
	res, calls := enginetest.RecordedOne(t, e, enginetest.ScheduledEvent(t, "regions-covered"))
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || !strings.Contains(d.Reason, "us-west-2") || strings.Contains(d.Reason, "eu-west-1,") {
		t.Fatalf("decision = %+v", d)
	}
	if !slices.Equal(calls, []string{"DescribeRegions", "Publish"}) {
		t.Fatalf("calls = %v", calls)
	}
	if n := topic.Received(t); len(n) != 1 {
		t.Fatalf("notifications = %d, want one alert", len(n))
	}
}

func TestSweepCompliantWhenAllCovered(t *testing.T) {
	s := mototest.Session(t)
	all := regionscovered.MotoRegions(t, s)
	t.Setenv(regionscovered.EnvRegions, strings.Join(all, ","))
	e, _ := enginetest.New(t, s, engine.Config{Mode: engine.Enforce}, regionscovered.Rule)
	res, _ := enginetest.RecordedOne(t, e, enginetest.ScheduledEvent(t, "regions-covered"))
	if d := res.Decisions[0]; d.Verdict != rule.Compliant {
		t.Fatalf("decision = %+v", d)
	}
}
