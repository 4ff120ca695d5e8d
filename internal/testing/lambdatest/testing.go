package lambdatest

import (
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce  sync.Once
	buildDir   string
	bootstraps map[string]string
	rieBin     string
	buildErr   error
	buildTime  time.Duration
)

// Binaries builds every function under functions/ and locates the emulator,
// once per test binary; later calls return the same paths. The test is
// skipped where Lambda binaries cannot run (see Supported). Remove the build
// with Cleanup from TestMain.
func Binaries(t testing.TB) (rie string, functions map[string]string) {
	t.Helper()
	if why := Supported(); why != "" {
		t.Skip(why)
	}
	buildOnce.Do(func() {
		began := time.Now()
		defer func() { buildTime = time.Since(began) }()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		var root string
		if root, buildErr = Root(); buildErr != nil {
			return
		}
		var names []string
		if names, buildErr = FunctionNames(root); buildErr != nil {
			return
		}
		if buildDir, buildErr = os.MkdirTemp("", "rampart-lambdatest-"); buildErr != nil {
			return
		}
		if bootstraps, buildErr = Build(ctx, root, buildDir, names...); buildErr != nil {
			return
		}
		rieBin, buildErr = RIE(ctx, root)
	})
	if buildErr != nil {
		t.Fatalf("build the Lambda binaries: %v", buildErr)
	}
	return rieBin, bootstraps
}

// BuildTime is how long Binaries took to build (0 before it ran).
func BuildTime() time.Duration { return buildTime }

// Cleanup removes the binaries Binaries built. Call it from TestMain after
// m.Run.
func Cleanup() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

// Run starts a function under the emulator for the test, with env as its
// whole environment, and stops it when the test ends. When the test fails,
// the function's logs are printed.
func Run(t testing.TB, function string, env map[string]string) *Function {
	t.Helper()
	rie, fns := Binaries(t)
	bin, ok := fns[function]
	if !ok {
		t.Fatalf("no function %q under functions/", function)
	}
	f, err := Start(context.Background(), Options{RIE: rie, Bootstrap: bin, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Stop()
		if t.Failed() {
			t.Logf("logs of %s under the RIE:\n%s", function, f.Logs())
		}
	})
	return f
}

// Mutating keeps the calls (as mototest.Server.Calls names them) that can
// change state: everything but Describe*, Get*, List*, Head*, Lookup*,
// BatchGet* and the few other actions IAM classes as reads
// (GenerateCredentialReport …), and GET or HEAD requests of REST protocols.
func Mutating(calls []string) []string {
	var out []string
	for _, c := range calls {
		if !readOnly(c) {
			out = append(out, c)
		}
	}
	return out
}

// Changes keeps the Mutating calls that can change a resource: all but
// Rampart's reporting (Config PutEvaluations, SNS Publish).
func Changes(calls []string) []string {
	var out []string
	for _, c := range Mutating(calls) {
		action := c
		if i := strings.LastIndexAny(c, "."); i >= 0 {
			action = c[i+1:]
		}
		if action != "PutEvaluations" && action != "Publish" {
			out = append(out, c)
		}
	}
	return out
}

func readOnly(call string) bool {
	if method, _, ok := strings.Cut(call, " "); ok && strings.ToUpper(method) == method {
		return method == "GET" || method == "HEAD" || slices.Contains(restReadPosts, call)
	}
	action := call
	if i := strings.LastIndexAny(call, "."); i >= 0 {
		action = call[i+1:] // X-Amz-Target: "Service_20131101.GetTrail"
	}
	for _, p := range []string{"Describe", "Get", "List", "Head", "Lookup", "BatchGet"} {
		if strings.HasPrefix(action, p) {
			return true
		}
	}
	return slices.Contains(readActions, action)
}

// restReadPosts are REST calls that read with POST, as moto's recorder
// names them: Inspector2's BatchGetAccountStatus.
var restReadPosts = []string{"POST /status/batch/get"}

// readActions are actions IAM's access level calls Read although their
// names do not say so.
var readActions = []string{"GenerateCredentialReport", "GenerateServiceLastAccessedDetails",
	"GenerateOrganizationsAccessReport", "SimulatePrincipalPolicy", "SimulateCustomPolicy"}
