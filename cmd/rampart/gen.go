package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/rampart-aws/rampart/internal/catalog"
	"github.com/rampart-aws/rampart/internal/catalog/gen"
)

// genCmd writes what the catalog implies (functions/*/main.go,
// docs/rules/*.md, the README's catalog), or with --check only lists what
// is stale. It is run from the repository (make generate).
func genCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rampart gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	checkOnly := fs.Bool("check", false, "write nothing; exit 1 when a generated file is stale")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return exitBadUsed
	}
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "rampart gen: %v\n", err)
		return exitBadUsed
	}
	root, err := gen.FindRoot(wd)
	if err != nil {
		fmt.Fprintf(stderr, "rampart gen: %v\n", err)
		return exitBadUsed
	}
	res, err := generate(root)
	if err != nil {
		fmt.Fprintf(stderr, "rampart gen: %v\n", err)
		return exitFailed
	}
	code := exitOK
	if *checkOnly {
		for _, p := range res.Outdated(root) {
			fmt.Fprintf(stderr, "rampart gen: %s is stale: run make generate\n", p)
			code = exitFailed
		}
	} else {
		wrote, err := res.Write(root)
		for _, p := range wrote {
			fmt.Fprintf(stdout, "wrote %s\n", p)
		}
		if err != nil {
			fmt.Fprintf(stderr, "rampart gen: %v\n", err)
			return exitFailed
		}
	}
	for _, p := range res.Stale {
		fmt.Fprintf(stderr, "rampart gen: %s belongs to no rule of the catalog: delete it (git rm -r %s) or register its rule\n", p, p)
		code = exitFailed
	}
	return code
}

// generate renders the generated files from the compiled catalog and the
// catalog's source under root.
func generate(root string) (*gen.Result, error) {
	src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(gen.CatalogFile)))
	if err != nil {
		return nil, err
	}
	entries, err := gen.Entries(src, catalog.All())
	if err != nil {
		return nil, err
	}
	return gen.Generate(root, entries)
}
