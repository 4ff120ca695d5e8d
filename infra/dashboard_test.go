package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"os"
	"strings"
	"testing"
)

var updateDashboard = flag.Bool("update-dashboard", false, "write docs/dashboard.svg from the home region's synthesized dashboard")

// dashboardBody is a dashboard's body with CloudFormation references
// (alarm ARNs, queue names) replaced by "<ref>".
func dashboardBody(t *testing.T, js map[string]any, name string) (map[string]any, string) {
	t.Helper()
	for _, d := range resources(js, "AWS::CloudWatch::Dashboard") {
		if props(d)["DashboardName"] != name {
			continue
		}
		var b strings.Builder
		switch body := props(d)["DashboardBody"].(type) {
		case string:
			b.WriteString(body)
		case map[string]any:
			for _, part := range body["Fn::Join"].([]any)[1].([]any) {
				if s, ok := part.(string); ok {
					b.WriteString(s)
				} else {
					b.WriteString("<ref>")
				}
			}
		}
		var out map[string]any
		if err := json.Unmarshal([]byte(b.String()), &out); err != nil {
			t.Fatalf("dashboard %s: %v", name, err)
		}
		return out, b.String()
	}
	t.Fatalf("no dashboard %s", name)
	return nil, ""
}

// TestDashboardPerRegion: each region's dashboard shows every rule wired
// there (from the metadata), each metric, every function's dead-letter
// queue and alarms; the home one every region's totals.
func TestDashboardPerRegion(t *testing.T) {
	for name, a := range allApps(t) {
		for _, region := range regions {
			js := a.json[region]
			if n := len(resources(js, "AWS::CloudWatch::Dashboard")); n != 1 {
				t.Errorf("%s %s: %d dashboards", name, region, n)
			}
			for _, d := range resources(js, "AWS::CloudWatch::Dashboard") {
				if tags := props(d)["Tags"]; tags != nil {
					t.Errorf("%s %s: dashboard tags %v: cfn-lint rejects them", name, region, tags)
				}
			}
			body, raw := dashboardBody(t, js, "rampart-"+region)
			widgets := body["widgets"].([]any)
			if len(widgets) > 500 || len(raw) > 1<<20 {
				t.Errorf("%s %s: %d widgets, %d bytes: over CloudWatch's limits", name, region, len(widgets), len(raw))
			}
			for _, r := range a.rules {
				m := r.Meta()
				if !hasTriggerIn(m, region) {
					continue
				}
				for _, metric := range []string{"Decisions", "Violations", "Remediated", "Failed", "Exempt"} {
					if !strings.Contains(raw, fmt.Sprintf(`["Rampart","%s","Rule","%s"`, metric, m.ID)) {
						t.Errorf("%s %s: dashboard lacks %s of %s", name, region, metric, m.ID)
					}
				}
			}
			for _, f := range resources(js, "AWS::Lambda::Function") {
				fn := strings.TrimPrefix(props(f)["FunctionName"].(string), "rampart-")
				for _, want := range []string{`"label":"rampart-` + fn + `-dlq"`, `:alarm:rampart-` + fn + `"`} {
					if !strings.Contains(raw, want) {
						t.Errorf("%s %s: dashboard lacks %s", name, region, want)
					}
				}
			}
			// Every alarm of the stack is in an alarm status widget.
			shown := 0
			for _, w := range widgets {
				w := w.(map[string]any)
				if w["type"] == "alarm" {
					shown += len(w["properties"].(map[string]any)["alarms"].([]any))
				}
			}
			if want := len(resources(js, "AWS::CloudWatch::Alarm")) + len(resources(js, "AWS::CloudWatch::CompositeAlarm")); shown != want {
				t.Errorf("%s %s: the alarm widgets show %d alarms, the stack has %d", name, region, shown, want)
			}
			overview := strings.Contains(raw, "SEARCH(")
			if overview != (region == home) {
				t.Errorf("%s %s: cross-region overview = %v", name, region, overview)
			}
			if region == home {
				for _, r := range regions[1:] { // the home region's needs no "region"
					if !strings.Contains(raw, `"region":"`+r+`"`) {
						t.Errorf("%s: the overview lacks %s", name, r)
					}
				}
			}
		}
	}
}

// TestDashboardPicture draws the home region's dashboard layout, as
// synthesized, into an SVG: widget positions, sizes, types and titles, no
// data. go test -run TestDashboardPicture -update-dashboard writes
// docs/dashboard.svg.
func TestDashboardPicture(t *testing.T) {
	a := catalogApp(t)
	body, _ := dashboardBody(t, a.json[home], "rampart-"+home)
	svg := dashboardSVG(body)
	if !strings.Contains(svg, "Decisions per rule") || !strings.Contains(svg, "Dead-letter queue depth") {
		t.Fatalf("the picture lacks widgets:\n%s", svg)
	}
	if *updateDashboard {
		if err := os.WriteFile("../docs/dashboard.svg", []byte(svg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// dashboardSVG renders a dashboard body's grid (24 columns) as SVG.
func dashboardSVG(body map[string]any) string {
	const colW, rowH, pad = 40.0, 28.0, 4.0
	type widget struct {
		x, y, w, h  float64
		kind, title string
		detail      string
	}
	var ws []widget
	bottom := 0.0
	for _, raw := range body["widgets"].([]any) {
		m := raw.(map[string]any)
		p, _ := m["properties"].(map[string]any)
		w := widget{x: m["x"].(float64), y: m["y"].(float64), w: m["width"].(float64), h: m["height"].(float64), kind: m["type"].(string)}
		switch w.kind {
		case "text":
			md, _ := p["markdown"].(string)
			w.title = strings.TrimLeft(strings.SplitN(md, "\n", 2)[0], "# ")
			if rest := strings.SplitN(md, "\n", 2); len(rest) == 2 {
				w.detail = rest[1]
			}
		case "alarm":
			w.title, _ = p["title"].(string)
			n := len(p["alarms"].([]any))
			w.detail = fmt.Sprintf("alarm status: %d alarms", n)
		case "metric":
			w.title, _ = p["title"].(string)
			n := len(p["metrics"].([]any))
			w.detail = fmt.Sprintf("graph: %d lines", n)
		}
		ws = append(ws, w)
		bottom = max(bottom, w.y+w.h)
	}
	width, height := 24*colW, bottom*rowH
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="Helvetica, Arial, sans-serif">`+"\n",
		width, height+24, width, height+24)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#f4f5f7"/>`+"\n")
	fill := map[string]string{"text": "#ffffff", "alarm": "#fdf3e7", "metric": "#eef4fb"}
	for _, w := range ws {
		x, y, wd, ht := w.x*colW+pad, w.y*rowH+pad, w.w*colW-2*pad, w.h*rowH-2*pad
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" rx="4" fill="%s" stroke="#aab4c0"/>`+"\n", x, y, wd, ht, fill[w.kind])
		maxChars := int(wd / 7)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="13" font-weight="bold" fill="#16191f">%s</text>`+"\n", x+8, y+18, html.EscapeString(clip(w.title, maxChars)))
		for i, line := range wrap(w.detail, maxChars, int((ht-30)/15)) {
			fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="11" fill="#545b64">%s</text>`+"\n", x+8, y+36+float64(i)*15, html.EscapeString(line))
		}
	}
	fmt.Fprintf(&b, `<text x="8" y="%.0f" font-size="11" fill="#545b64">Layout of the dashboard rampart-%s as synthesized from the catalog (widget grid and titles; no data).</text>`+"\n", height+16, home)
	b.WriteString("</svg>\n")
	return b.String()
}

func clip(s string, n int) string {
	if len(s) <= n || n < 4 {
		return s
	}
	return s[:n-3] + "..."
}

// wrap breaks s into at most lines lines of at most n characters.
func wrap(s string, n, lines int) []string {
	var out []string
	cur := ""
	for _, word := range strings.Fields(s) {
		if cur != "" && len(cur)+1+len(word) > n {
			out = append(out, cur)
			cur = ""
		}
		if cur != "" {
			cur += " "
		}
		cur += word
	}
	if cur != "" {
		out = append(out, cur)
	}
	if len(out) > lines && lines > 0 {
		out = append(out[:lines-1], clip(strings.Join(out[lines-1:], " "), n))
	}
	if lines <= 0 {
		return nil
	}
	return out
}
