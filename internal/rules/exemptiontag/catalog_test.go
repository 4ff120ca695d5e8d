package exemptiontag_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/catalog"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/exemptiontag"
)

// untaggable are the judged resource types that carry no tags (IAM access
// keys carry none).
var untaggable = []string{"AWS::::Account", "AWS::S3::AccountPublicAccessBlock", "AWS::IAM::AccessKey"}

// TestJudgesMatchTheCatalog: the rule's table of who judges what (it cannot
// import the catalog) is exactly the catalog's, so its reports about which
// rules honour a tag stay true; and it watches the tag APIs of every
// taggable type a rule judges.
func TestJudgesMatchTheCatalog(t *testing.T) {
	t.Parallel()
	want := map[string][]exemptiontag.Judge{}
	for _, r := range catalog.All() {
		m := r.Meta()
		if m.ID == exemptiontag.ID {
			continue
		}
		for _, typ := range strings.Split(m.ResourceType, ",") {
			if typ = strings.TrimSpace(typ); !slices.Contains(untaggable, typ) {
				want[typ] = append(want[typ], exemptiontag.Judge{Rule: m.ID, Tags: !m.ListExemptionsOnly})
			}
		}
	}
	sortJudges := func(js []exemptiontag.Judge) []exemptiontag.Judge {
		js = slices.Clone(js)
		slices.SortFunc(js, func(a, b exemptiontag.Judge) int { return strings.Compare(a.Rule, b.Rule) })
		return js
	}
	for typ, js := range want {
		if got := exemptiontag.Judges[typ]; !slices.Equal(sortJudges(got), sortJudges(js)) {
			t.Errorf("%s: exemptiontag.Judges has %v, the catalog says %v: update the table in exempttag.go (and its triggers if the type is new)", typ, got, js)
		}
	}
	for typ := range exemptiontag.Judges {
		if _, ok := want[typ]; !ok {
			t.Errorf("exemptiontag.Judges lists %s, which no rule judges", typ)
		}
	}
	covered := strings.Split(exemptiontag.Rule.Meta().ResourceType, ",")
	for typ := range want {
		if !slices.Contains(covered, typ) {
			t.Errorf("%s is judged but exemption-tag does not declare it in ResourceType (nor, probably, its tag APIs)", typ)
		}
	}
}

// TestThroughTheEngine: a tagging call runs through the engine like any
// event — the rule itself is not exempted by the tag it watches, and the
// alert is the whole plan.
func TestThroughTheEngine(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "events", "cloudtrail", "ec2-create-tags-exempt.json"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(engine.Config{Mode: engine.Enforce}, awsclient.NewOffline("us-east-1"), exemptiontag.Rule)
	if err != nil {
		t.Fatal(err)
	}
	e.Log, e.Metrics = slog.New(slog.NewJSONHandler(io.Discard, nil)), io.Discard
	res, err := e.Handle(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Decisions) != 2 {
		t.Fatalf("decisions %+v", res.Decisions)
	}
	for _, d := range res.Decisions {
		if d.Rule != exemptiontag.ID || d.Verdict != rule.Violation || d.Exempt != "" || len(d.Actions) != 1 ||
			d.Actions[0].API != rule.AlertAPI || d.Actions[0].Outcome != rule.Planned || !strings.Contains(d.Reason, "HONOURED") {
			t.Fatalf("decision %+v", d)
		}
	}
}
