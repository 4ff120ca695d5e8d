package main

import (
	"strings"
	"testing"
)

// TestGenCheck: `rampart gen --check` (run from anywhere in the
// repository) finds every generated file current, and `rules --markdown`
// prints the README's catalog with a link to each rule's page.
func TestGenCheck(t *testing.T) {
	if code, out, errOut := cli(t, "", nil, "gen", "--check"); code != 0 || out != "" {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, _ := cli(t, "", nil, "gen", "extra"); code != exitBadUsed {
		t.Errorf("gen with an argument: exit %d", code)
	}
	code, out, _ := cli(t, "", nil, "rules", "--markdown")
	if code != 0 || !strings.Contains(out, "| [**sg-open-world**](docs/rules/sg-open-world.md)<br>") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}
