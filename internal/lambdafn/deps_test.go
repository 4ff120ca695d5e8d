package lambdafn

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// notInAFunction are the packages no function binary may link: the SDK's
// default configuration chain and every credential provider a Lambda never
// uses (shared config and SSO, SSO OIDC, web identity through stscreds,
// process and container credentials, IMDS, the sign-in service). Lambda
// hands a function its credentials in the environment (LoadLambda).
var notInAFunction = []string{
	"github.com/aws/aws-sdk-go-v2/config",
	"github.com/aws/aws-sdk-go-v2/internal/ini",
	"github.com/aws/aws-sdk-go-v2/internal/shareddefaults",
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds",
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds",
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds",
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds",
	"github.com/aws/aws-sdk-go-v2/credentials/logincreds",
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds",
	"github.com/aws/aws-sdk-go-v2/service/sso",
	"github.com/aws/aws-sdk-go-v2/service/ssooidc",
	"github.com/aws/aws-sdk-go-v2/service/signin",
	"github.com/rampart-aws/rampart/internal/awsclient/sdkconfig",
}

// TestFunctionsLinkNoCredentialChain lists what every functions/<name>
// links, for Lambda (linux/arm64, the build's tags), with `go list -deps`,
// and fails on any package of notInAFunction (or under it). The CLI is the
// control: it must still link the SDK's full default chain.
func TestFunctionsLinkNoCredentialChain(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	fns, err := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	if err != nil || len(fns) == 0 {
		t.Fatalf("no functions under %s: %v", root, err)
	}
	for _, main := range fns {
		fn := filepath.Base(filepath.Dir(main))
		deps := goListDeps(t, root, "./functions/"+fn)
		if !slices.Contains(deps, "github.com/rampart-aws/rampart/internal/lambdafn") {
			t.Fatalf("%s: go list found no lambdafn among %d packages", fn, len(deps))
		}
		for _, d := range deps {
			for _, bad := range notInAFunction {
				if d == bad || strings.HasPrefix(d, bad+"/") {
					t.Errorf("function %s links %s", fn, d)
				}
			}
		}
	}
	if deps := goListDeps(t, root, "./cmd/rampart"); !slices.Contains(deps, "github.com/aws/aws-sdk-go-v2/config") {
		t.Error("the CLI no longer links the SDK's default chain (aws-sdk-go-v2/config): the test would not see it either")
	}
}

func goListDeps(t *testing.T, root, pkg string) []string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", "list", "-deps", "-tags", "lambda.norpc", pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr)
	}
	return strings.Fields(string(out))
}
