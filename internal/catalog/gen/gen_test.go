package gen_test

import (
	"bytes"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/catalog"
	"github.com/rampart-aws/rampart/internal/catalog/gen"
	"github.com/rampart-aws/rampart/internal/rule"
)

var root = filepath.Join("..", "..", "..")

const module = "github.com/rampart-aws/rampart/"

func catalogSource(t *testing.T) []byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(gen.CatalogFile)))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func entries(t *testing.T, src []byte, rules []rule.Rule) []gen.Entry {
	t.Helper()
	es, err := gen.Entries(src, rules)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// imports parses a Go file's import paths.
func imports(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// TestGeneratedFilesAreCurrent runs the generator into a temporary
// directory and compares: functions/*/main.go, docs/rules/*.md and the
// README's catalog must be what the catalog implies, and no function
// directory or rule page may be left over.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	res, err := gen.Generate(root, entries(t, catalogSource(t), catalog.All()))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	if _, err := res.Write(tmp); err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Files {
		want, err := os.ReadFile(filepath.Join(tmp, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f.Path)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is stale (or missing): run `make generate`", f.Path)
		}
	}
	for _, s := range res.Stale {
		t.Errorf("%s belongs to no rule of the catalog: delete it or register its rule", s)
	}
}

// TestEachFunctionLinksOnlyItsRules: every Go file of functions/<fn>
// (generated or not) imports no rule package but its own rules', never
// the catalog, and main.go imports exactly lambdafn and those packages.
func TestEachFunctionLinksOnlyItsRules(t *testing.T) {
	own := map[string][]string{} // function -> its rule packages
	for _, e := range entries(t, catalogSource(t), catalog.All()) {
		fn := e.Rule.Meta().Function
		if !slices.Contains(own[fn], e.Import) {
			own[fn] = append(own[fn], e.Import)
		}
	}
	for fn, pkgs := range own {
		want := append([]string{gen.LambdaFnImport}, pkgs...)
		slices.Sort(want)
		if got := imports(t, filepath.Join(root, "functions", fn, "main.go")); !slices.Equal(got, want) {
			t.Errorf("functions/%s/main.go imports %v, want exactly %v", fn, got, want)
		}
		files, _ := filepath.Glob(filepath.Join(root, "functions", fn, "*.go"))
		for _, f := range files {
			for _, p := range imports(t, f) {
				if p == module+"internal/catalog" || strings.HasPrefix(p, module+"internal/rules/") && !slices.Contains(pkgs, p) {
					t.Errorf("%s imports %s: a function links only its own rules", f, p)
				}
			}
		}
	}
}

// fakeRule is a rule registered only by the tests, carried by a function
// that does not exist.
type fakeRule struct{ meta rule.Meta }

func (r *fakeRule) Meta() *rule.Meta { return &r.meta }

// Bind is never called: the generator reads metadata only.
func (r *fakeRule) Bind(rule.Params) (*rule.Bound, error) {
	return nil, errors.New("fakeRule only lives in the catalog")
}

// addToCatalog makes the one-line edit the README asks of a rule author
// (plus the import goimports would add) on the catalog's source.
func addToCatalog(t *testing.T, src []byte, importPath, expr string) []byte {
	t.Helper()
	s := string(src)
	const imp = "import (\n"
	i := strings.Index(s, imp)
	all := strings.Index(s, "func All() []rule.Rule {")
	end := strings.Index(s[all:], "\n\t}\n}")
	if i < 0 || all < 0 || end < 0 {
		t.Fatal("catalog.go: no import block or All() literal")
	}
	end += all
	s = s[:end] + "\n\t\t" + expr + "," + s[end:]
	return []byte(s[:i+len(imp)] + "\t" + strconv.Quote(importPath) + "\n" + s[i+len(imp):])
}

// copyRepo copies what the generator reads into a temporary root.
func copyRepo(t *testing.T) string {
	t.Helper()
	tmp := t.TempDir()
	var paths []string
	for _, pattern := range []string{"go.mod", "README.md", "docs/rules/*.md", "functions/*/*.go"} {
		m, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(pattern)))
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, m...)
	}
	for _, p := range paths {
		rel, _ := filepath.Rel(root, p)
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(tmp, filepath.Dir(rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, rel), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return tmp
}

// TestAddingARule follows the README's "Adding a rule" on a copy of the
// repository: a rule with a new function, one catalog line, one
// generation. The new function's main.go imports exactly its package, its
// page is written, nothing else changes but the README's catalog, and a
// second generation keeps what was written by hand.
func TestAddingARule(t *testing.T) {
	tmp := copyRepo(t)
	before, err := gen.Generate(tmp, entries(t, catalogSource(t), catalog.All()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := before.Write(tmp); err != nil { // the copy as it should be (TestGeneratedFilesAreCurrent checks the repository)
		t.Fatal(err)
	}
	const pkg = module + "internal/rules/fakenewrule"
	fake := &fakeRule{rule.Meta{
		ID: "fake-new-rule", Title: "Widgets are fastened", Severity: rule.Low,
		Rationale: "A loose widget rattles.", Remediation: "Fastens the widget.",
		ResourceType: "AWS::Fake::Widget", Function: "widgets",
		CloudTrail:  []rule.CloudTrailTrigger{{Source: "fake.amazonaws.com", Events: []string{"LoosenWidget"}}},
		Params:      []rule.Param{{Name: "torque", Default: "5", Description: "newton metres"}},
		ReadActions: []string{"fake:DescribeWidgets"}, WriteActions: []string{"fake:FastenWidget"},
	}}
	src := addToCatalog(t, catalogSource(t), pkg, "fakenewrule.Rule")
	es := entries(t, src, append(catalog.All(), fake))
	if last := es[len(es)-1]; last.Import != pkg || last.Expr != "fakenewrule.Rule" || last.Rule != fake {
		t.Fatalf("the new catalog line reads as %+v", last)
	}
	res, err := gen.Generate(tmp, es)
	if err != nil {
		t.Fatal(err)
	}
	wrote, err := res.Write(tmp)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(wrote)
	want := []string{"README.md", "docs/rules/fake-new-rule.md", "functions/widgets/main.go"}
	if !slices.Equal(wrote, want) {
		t.Errorf("generation wrote %v, want only %v", wrote, want)
	}

	main := filepath.Join(tmp, "functions", "widgets", "main.go")
	if got, want := imports(t, main), []string{gen.LambdaFnImport, pkg}; !slices.Equal(got, want) {
		t.Errorf("functions/widgets/main.go imports %v, want exactly %v", got, want)
	}
	f, err := parser.ParseFile(token.NewFileSet(), main, nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	if !ast.IsGenerated(f) || !strings.Contains(f.Doc.Text(), "fake-new-rule: Widgets are fastened") {
		t.Errorf("main.go: generated %v, doc %q", ast.IsGenerated(f), f.Doc.Text())
	}
	var started []string
	ast.Inspect(f, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Start" {
				for _, a := range call.Args {
					s := a.(*ast.SelectorExpr)
					started = append(started, s.X.(*ast.Ident).Name+"."+s.Sel.Name)
				}
			}
		}
		return true
	})
	if !slices.Equal(started, []string{"fakenewrule.Rule"}) {
		t.Errorf("main.go starts %v", started)
	}

	page := filepath.Join(tmp, "docs", "rules", "fake-new-rule.md")
	raw, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"# fake-new-rule — Widgets are fastened", "| Severity | low |", "`AWS::Fake::Widget`",
		"[`widgets`](../../functions/widgets/main.go)", "`fake.amazonaws.com`: `LoosenWidget`", "| IAM read | `fake:DescribeWidgets` |",
		"| IAM write | `fake:FastenWidget` |", "| `torque` | `5` | newton metres |", "**Remediation.** Fastens the widget.",
		gen.RationaleStart + "\n## Rationale\n\nA loose widget rattles.\n" + gen.RationaleEnd} {
		if !strings.Contains(string(raw), s) {
			t.Errorf("the new page lacks %q:\n%s", s, raw)
		}
	}
	readme, _ := os.ReadFile(filepath.Join(tmp, "README.md"))
	if !strings.Contains(string(readme), "| [**fake-new-rule**](docs/rules/fake-new-rule.md)<br>Widgets are fastened | low |") {
		t.Error("the README's catalog lacks the new rule")
	}

	// The author writes the page's own section; a left-over function
	// directory appears. Regenerating keeps the one and reports the other.
	hand := strings.Replace(string(raw), "A loose widget rattles.", "A loose widget rattles.\n\n## What it checks\n\nTorque, by hand.", 1)
	if err := os.WriteFile(page, []byte(hand), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(tmp, "functions", "gadgets"), 0o755); err != nil {
		t.Fatal(err)
	}
	res, err = gen.Generate(tmp, es)
	if err != nil {
		t.Fatal(err)
	}
	if out := res.Outdated(tmp); len(out) != 0 {
		t.Errorf("after a hand edit of the rationale, regeneration would rewrite %v", out)
	}
	if !slices.Equal(res.Stale, []string{"functions/gadgets"}) {
		t.Errorf("stale = %v, want functions/gadgets", res.Stale)
	}
	if _, err := res.Write(tmp); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(tmp, "functions", "gadgets")); err != nil {
		t.Error("a stale function directory was deleted; it must only be reported")
	}
}

// TestPageWithoutMarkersIsRefused: a page whose hand-written text has no
// markers is not overwritten.
func TestPageWithoutMarkersIsRefused(t *testing.T) {
	tmp := copyRepo(t)
	es := entries(t, catalogSource(t), catalog.All())
	id := es[0].Rule.Meta().ID
	if err := os.WriteFile(filepath.Join(tmp, "docs", "rules", id+".md"), []byte("# notes by hand\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := gen.Generate(tmp, es); err == nil || !strings.Contains(err.Error(), id+".md") {
		t.Fatalf("err = %v, want a refusal naming %s.md", err, id)
	}
}

func TestEntriesRejectsWhatItCannotGenerate(t *testing.T) {
	fake := &fakeRule{rule.Meta{ID: "x", Function: "f"}}
	for name, src := range map[string]string{
		"not a selector": "package catalog\nfunc All() []rule.Rule { return []rule.Rule{x} }\n",
		"unknown import": "package catalog\nfunc All() []rule.Rule { return []rule.Rule{x.Rule} }\n",
		"no All":         "package catalog\n",
		"count":          "package catalog\nimport \"a/x\"\nfunc All() []rule.Rule { return []rule.Rule{x.Rule, x.Other} }\n",
	} {
		if _, err := gen.Entries([]byte(src), []rule.Rule{fake}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	es, err := gen.Entries([]byte("package catalog\nimport y \"a/x-go\"\nfunc All() []rule.Rule { return []rule.Rule{y.Rule} }\n"), []rule.Rule{fake})
	if err != nil || es[0].Import != "a/x-go" || es[0].Name != "y" {
		t.Fatalf("aliased import: %+v, %v", es, err)
	}
	src, err := gen.FunctionMain("f", es)
	if err != nil || !strings.Contains(string(src), `y "a/x-go"`) || !strings.Contains(string(src), "lambdafn.Start(y.Rule)") {
		t.Fatalf("aliased import:\n%s\n%v", src, err)
	}
}
