// Package gen writes what the rule catalog implies, so that adding a rule
// touches only its package and one line of internal/catalog:
//
//   - functions/<function>/main.go for every Meta.Function: a Lambda that
//     imports exactly its own rules' packages (a function never imports the
//     catalog, so each binary links only its own rules);
//   - docs/rules/<id>.md for every rule: the metadata, and a hand-written
//     section between the rationale markers that regeneration keeps;
//   - the README's rule catalog, between the catalog markers.
//
// `make generate` runs it (go generate ./internal/catalog, which runs
// `rampart gen`); a test fails when any of these files is stale.
package gen

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/rampart-aws/rampart/internal/rule"
)

// CatalogFile is the catalog's source, relative to the repository root: its
// All() names each rule by a Go expression, which the generated functions
// reuse.
const CatalogFile = "internal/catalog/catalog.go"

// Entry is one line of the catalog: the rule and how Go code names it.
type Entry struct {
	Rule rule.Rule
	// Expr is the rule as catalog.go spells it, e.g. sgopen.OpenWorld.
	Expr string
	// Import is the import path of the package Expr's qualifier names.
	Import string
	// Name is the package name Expr uses (the import's name).
	Name string
}

// Entries pairs the rules of catalog.All() with the expressions of All() in
// the catalog's source src, in order. All() must return a composite literal
// of package-qualified identifiers (sgopen.OpenWorld), one per rule.
func Entries(src []byte, rules []rule.Rule) ([]Entry, error) {
	f, err := parser.ParseFile(token.NewFileSet(), CatalogFile, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parse the catalog: %w", err)
	}
	imports := map[string]string{} // package name -> import path
	for _, imp := range f.Imports {
		path, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			return nil, fmt.Errorf("catalog import %s: %w", imp.Path.Value, err)
		}
		name := filepath.Base(path)
		if imp.Name != nil {
			name = imp.Name.Name
		}
		imports[name] = path
	}
	var lit *ast.CompositeLit
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Name.Name != "All" || fd.Recv != nil || fd.Body == nil || len(fd.Body.List) != 1 {
			continue
		}
		if ret, ok := fd.Body.List[0].(*ast.ReturnStmt); ok && len(ret.Results) == 1 {
			lit, _ = ret.Results[0].(*ast.CompositeLit)
		}
	}
	if lit == nil {
		return nil, errors.New("catalog: All() must be `return []rule.Rule{pkg.Rule, …}`")
	}
	if len(lit.Elts) != len(rules) {
		return nil, fmt.Errorf("catalog: the source of All() lists %d rules, the compiled catalog %d (regenerate with the catalog as built)", len(lit.Elts), len(rules))
	}
	out := make([]Entry, 0, len(rules))
	for i, e := range lit.Elts {
		sel, ok := e.(*ast.SelectorExpr)
		var pkg *ast.Ident
		if ok {
			pkg, ok = sel.X.(*ast.Ident)
		}
		if !ok {
			return nil, fmt.Errorf("catalog: entry %d of All() is not a package-qualified name (pkg.Rule)", i+1)
		}
		path, ok := imports[pkg.Name]
		if !ok {
			return nil, fmt.Errorf("catalog: entry %s.%s: no import names package %s", pkg.Name, sel.Sel.Name, pkg.Name)
		}
		out = append(out, Entry{Rule: rules[i], Expr: pkg.Name + "." + sel.Sel.Name, Import: path, Name: pkg.Name})
	}
	return out, nil
}

// File is one generated file.
type File struct {
	Path    string // slash-separated, relative to the repository root
	Content []byte
}

// Result is everything the catalog implies.
type Result struct {
	Files []File
	// Stale lists the function directories and rule pages no rule names any
	// more. They are reported, never deleted: removing them is a decision.
	Stale []string
}

// Generate renders every generated file from the entries. root is the
// repository root: existing rule pages give their hand-written sections,
// the README its text around the catalog, go.mod the module path, and the
// function and rule-page directories are compared for stale ones.
func Generate(root string, entries []Entry) (*Result, error) {
	module, err := modulePath(root)
	if err != nil {
		return nil, err
	}
	if err := check(entries); err != nil {
		return nil, err
	}
	res := &Result{}
	var fns []string
	byFn := map[string][]Entry{}
	for _, e := range entries {
		fn := e.Rule.Meta().Function
		if _, ok := byFn[fn]; !ok {
			fns = append(fns, fn)
		}
		byFn[fn] = append(byFn[fn], e)
	}
	slices.Sort(fns)
	for _, fn := range fns {
		src, err := FunctionMain(fn, byFn[fn])
		if err != nil {
			return nil, err
		}
		res.Files = append(res.Files, File{Path: "functions/" + fn + "/main.go", Content: src})
	}

	pages := map[string]bool{}
	for _, e := range entries {
		m := e.Rule.Meta()
		path := "docs/rules/" + m.ID + ".md"
		pages[path] = true
		old, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(path)))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		hand, err := handWritten(old, m)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		res.Files = append(res.Files, File{Path: path, Content: []byte(RulePage(module, e, entries, hand))})
	}

	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		return nil, fmt.Errorf("read README.md: %w", err)
	}
	readme, err = replaceCatalog(readme, CatalogMarkdown(entryRules(entries)))
	if err != nil {
		return nil, err
	}
	res.Files = append(res.Files, File{Path: "README.md", Content: readme})

	dirs, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("list functions/: %w", err)
	}
	for _, d := range dirs {
		if _, ok := byFn[d.Name()]; d.IsDir() && !ok {
			res.Stale = append(res.Stale, "functions/"+d.Name())
		}
	}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "rules", "*.md"))
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		if p := "docs/rules/" + filepath.Base(d); !pages[p] {
			res.Stale = append(res.Stale, p)
		}
	}
	return res, nil
}

// check rejects what would generate something broken: a function name that
// is not a plain directory name, a rule ID that is not a plain file name,
// an ID registered twice.
func check(entries []Entry) error {
	seen := map[string]bool{}
	var errs []error
	for _, e := range entries {
		m := e.Rule.Meta()
		if m.ID == "" || strings.ContainsAny(m.ID, `/\. `) || seen[m.ID] {
			errs = append(errs, fmt.Errorf("rule ID %q is empty, not a file name or registered twice", m.ID))
		}
		seen[m.ID] = true
		if m.Function == "" || strings.ContainsAny(m.Function, `/\. `) {
			errs = append(errs, fmt.Errorf("rule %s: function %q is not a directory name under functions/", m.ID, m.Function))
		}
	}
	return errors.Join(errs...)
}

func entryRules(entries []Entry) []rule.Rule {
	out := make([]rule.Rule, len(entries))
	for i, e := range entries {
		out[i] = e.Rule
	}
	return out
}

// modulePath reads the module path from root's go.mod.
func modulePath(root string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("read go.mod: %w", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", errors.New("go.mod names no module")
}

// Write writes every file under root, creating directories (a new
// function's) as needed, and leaves files whose content is already current
// untouched. It returns the paths it wrote.
func (r *Result) Write(root string) ([]string, error) {
	var wrote []string
	for _, f := range r.Files {
		path := filepath.Join(root, filepath.FromSlash(f.Path))
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, f.Content) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return wrote, fmt.Errorf("create %s: %w", filepath.Dir(f.Path), err)
		}
		if err := os.WriteFile(path, f.Content, 0o644); err != nil {
			return wrote, fmt.Errorf("write %s: %w", f.Path, err)
		}
		wrote = append(wrote, f.Path)
	}
	return wrote, nil
}

// Outdated lists the files under root whose content differs from the
// generated one (or that are missing).
func (r *Result) Outdated(root string) []string {
	var out []string
	for _, f := range r.Files {
		old, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f.Path)))
		if err != nil || !bytes.Equal(old, f.Content) {
			out = append(out, f.Path)
		}
	}
	return out
}

// FindRoot walks up from dir to the repository root: the directory that
// holds the catalog's source.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(CatalogFile))); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no %s in this directory or above: run from the repository", CatalogFile)
		}
		dir = parent
	}
}
