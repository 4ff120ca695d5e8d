// Package lambdatest runs Rampart's real Lambda binaries the way AWS Lambda
// runs them: each functions/<name> is built as `make build` builds it (same
// flags, this machine's architecture) and started under the AWS Lambda
// Runtime Interface Emulator (the RIE pinned as a tool in go.mod) with the
// environment a deployed function gets. Invocations are HTTP requests to the
// emulator's invoke endpoint, exactly what `curl` against the RIE would send.
//
// It is test support, for the end-to-end tests and `make demo`: production
// code never imports it. Every process it starts runs in a process group of
// its own and is ended by Stop (registered with t.Cleanup by the testing
// helpers), so nothing is left running. It knows no rule.
package lambdatest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// Module is the module path of the repository whose functions are built.
const Module = "github.com/rampart-aws/rampart"

// RIETool is the emulator's command, pinned with a `tool` line in go.mod.
const RIETool = "aws-lambda-rie"

// Root finds the repository root: the nearest directory at or above the
// working directory whose go.mod declares Module.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && declares(b, Module) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of %s at or above the working directory", Module)
		}
		dir = parent
	}
}

func declares(gomod []byte, module string) bool {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "module" && f[1] == module {
			return true
		}
	}
	return false
}

// FunctionNames lists the functions: the directories under functions/ that
// hold a main.go, sorted.
func FunctionNames(root string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			if _, err := os.Stat(filepath.Join(root, "functions", e.Name(), "main.go")); err == nil {
				names = append(names, e.Name())
			}
		}
	}
	sort.Strings(names)
	return names, nil
}

// BuildFlags are the flags of the Makefile's build target.
var BuildFlags = []string{"-trimpath", "-ldflags", "-s -w", "-tags", "lambda.norpc", "-buildvcs=false"}

// Supported reports why Lambda binaries cannot run here, or "" when they can:
// the RIE runs on Linux only (x86-64 and arm64).
func Supported() string {
	if runtime.GOOS != "linux" {
		return "the Lambda Runtime Interface Emulator runs on Linux only (this is " + runtime.GOOS + ")"
	}
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		return "Lambda runs on x86-64 and arm64 only (this is " + runtime.GOARCH + ")"
	}
	return ""
}

// Build compiles the named functions for this machine into
// dir/<name>/bootstrap, in one `go build` so that they share its work, and
// returns each bootstrap's path by function name.
func Build(ctx context.Context, root, dir string, names ...string) (map[string]string, error) {
	pkgs := make(map[string]string, len(names))
	for _, n := range names {
		pkgs[n] = "./functions/" + n
	}
	return BuildPackages(ctx, root, dir, pkgs)
}

// BuildPackages is Build for any main packages: name → package path
// (relative to root, e.g. ./functions/securitygroup).
func BuildPackages(ctx context.Context, root, dir string, pkgs map[string]string) (map[string]string, error) {
	if len(pkgs) == 0 {
		return map[string]string{}, nil
	}
	names := make([]string, 0, len(pkgs))
	for n := range pkgs {
		names = append(names, n)
	}
	sort.Strings(names)
	bin, err := os.MkdirTemp(dir, ".build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(bin)
	args := append([]string{"build"}, BuildFlags...)
	args = append(args, "-o", bin+string(filepath.Separator))
	for _, n := range names {
		args = append(args, pkgs[n])
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build %s: %w\n%s", strings.Join(names, " "), err, out)
	}
	paths := make(map[string]string, len(names))
	for _, n := range names {
		fnDir := filepath.Join(dir, n)
		if err := os.MkdirAll(fnDir, 0o755); err != nil {
			return nil, err
		}
		p := filepath.Join(fnDir, "bootstrap")
		if err := os.Rename(filepath.Join(bin, filepath.Base(pkgs[n])), p); err != nil {
			return nil, fmt.Errorf("function %s: %w", n, err)
		}
		paths[n] = p
	}
	return paths, nil
}

// RIE returns the path of the emulator binary pinned in go.mod, building it
// into Go's build cache on first use (`go tool -n aws-lambda-rie`).
func RIE(ctx context.Context, root string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "tool", "-n", RIETool)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go tool -n %s: %w\n%s", RIETool, err, stderr.Bytes())
	}
	path := strings.TrimSpace(string(out))
	if path == "" {
		return "", errors.New("go tool -n " + RIETool + " printed no path")
	}
	return path, nil
}
