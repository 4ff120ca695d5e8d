package enginetest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

func TestRootHoldsGoModAndEvents(t *testing.T) {
	root := Root(t)
	for _, p := range []string{"go.mod", "events"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Fatalf("root %s: %v", root, err)
		}
	}
}

func TestSampleReplaces(t *testing.T) {
	raw := Sample(t, "events/cloudtrail/ec2-create-vpc.json")
	if len(raw) == 0 {
		t.Fatal("empty sample")
	}
	got := Sample(t, "events/cloudtrail/ec2-create-vpc.json", `"eventSource"`, `"eventSourceX"`)
	if strings.Contains(string(got), `"eventSource"`) || !strings.Contains(string(got), `"eventSourceX"`) {
		t.Fatalf("replacement not applied: %s", got)
	}
}

func TestCallDecodesTheSample(t *testing.T) {
	c := Call(t, "events/cloudtrail/ec2-create-vpc.json")
	if c == nil || c.EventName != "CreateVpc" {
		t.Fatalf("call = %+v", c)
	}
}

func TestScheduledEventNamesTheRule(t *testing.T) {
	tr, err := trigger.Decode(ScheduledEvent(t, "root-access-keys"))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Kind != trigger.KindSchedule || !slices.Equal(tr.Schedule.Resources, []string{"arn:aws:events:us-east-1:123456789012:rule/rampart-root-access-keys-sweep"}) {
		t.Fatalf("schedule = %+v", tr.Schedule)
	}
}

func TestConfigInvocation(t *testing.T) {
	decode := func(raw []byte) *trigger.ConfigInvocation {
		t.Helper()
		tr, err := trigger.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		return tr.Config
	}
	inv := decode(ConfigInvocation(t, "eip-change-notification.json", "rampart-x", `{"k":"v"}`, nil))
	if inv.RuleName != "rampart-x" || inv.ResultToken != trigger.TestModeToken || inv.Params["k"] != "v" {
		t.Fatalf("invocation = %+v", inv)
	}
	inv = decode(ConfigInvocation(t, "eip-change-notification.json", "rampart-x", "{}", func(ev, item map[string]any) {
		item["resourceId"] = "eipalloc-1"
		ev["ruleParameters"] = `{"k":"w"}`
	}))
	if inv.Item == nil || inv.Item.ResourceID != "eipalloc-1" || inv.Params["k"] != "w" {
		t.Fatalf("edited invocation = %+v", inv)
	}
	// An oversized notification carries the item's summary: edit gets that.
	inv = decode(ConfigInvocation(t, "sg-oversized-notification.json", "rampart-x", "{}", func(_, item map[string]any) {
		item["resourceId"] = "sg-1"
	}))
	if inv.Summary == nil || inv.Summary.ResourceID != "sg-1" {
		t.Fatalf("edited summary = %+v", inv)
	}
}

func TestOutcomes(t *testing.T) {
	got := Outcomes([]rule.Action{{API: "ec2:A", Outcome: rule.Applied}, {API: "ec2:B", Outcome: rule.Planned}})
	if want := []string{string(rule.Applied) + " ec2:A", string(rule.Planned) + " ec2:B"}; !slices.Equal(got, want) {
		t.Fatalf("outcomes = %v", got)
	}
}
