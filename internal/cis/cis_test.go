package cis

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	name := regexp.MustCompile(`^[a-z0-9-]{1,64}$`) // a filter name has no ':' or '*'; an alarm name fits in 255
	for i := range Controls {
		c := &Controls[i]
		if !name.MatchString(c.Slug) || seen[c.Name()] {
			t.Errorf("slug %q is malformed or used twice", c.Slug)
		}
		seen[c.Name()] = true
		if c.Title == "" || c.CIS == "" || c.Threshold < 1 || len(c.Pattern) > 1024 {
			t.Errorf("%s: incomplete or too long a pattern: %+v", c.Name(), c)
		}
		if !strings.HasPrefix(strings.TrimSpace(c.Pattern), "{") || strings.Count(c.Pattern, "(") != strings.Count(c.Pattern, ")") {
			t.Errorf("%s: %q is not a balanced JSON filter pattern", c.Name(), c.Pattern)
		}
		if ByName(c.Name()) != c {
			t.Errorf("ByName(%s) is not the control", c.Name())
		}
		a := c.WantAlarm("arn:aws:sns:us-east-1:123456789012:t")
		f := c.WantFilter("lg")
		if a.MetricName != f.MetricName || a.Namespace != f.Namespace || len(a.Description) > 1024 {
			t.Errorf("%s: the alarm does not watch the filter's metric, or its description is too long", c.Name())
		}
	}
	if len(Controls) != 15 || Controls[0].SecurityHub != "CloudWatch.1" || Controls[13].SecurityHub != "CloudWatch.14" {
		t.Errorf("want Security Hub's CloudWatch.1–14 and CIS 4.15, in order")
	}
	if ByName("orders-api-5xx") != nil {
		t.Error("ByName found a foreign alarm")
	}
}

// TestDocListsEveryControl: docs/cis-alarms.md shows each control's names
// and its exact pattern (regenerate its table with -update).
func TestDocListsEveryControl(t *testing.T) {
	t.Parallel()
	path := filepath.Join("..", "..", "docs", "cis-alarms.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	const start, end = "<!-- controls:start -->\n", "<!-- controls:end -->"
	i, j := strings.Index(doc, start), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the controls markers", path)
	}
	want := DocTable()
	if doc[i+len(start):j] != want {
		if os.Getenv("UPDATE_DOCS") != "" {
			if err := os.WriteFile(path, []byte(doc[:i+len(start)]+want+doc[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("%s's controls table is stale: run UPDATE_DOCS=1 go test ./internal/cis/", path)
	}
}
