// Command infra is Rampart's CDK app: one stack per account-region, every
// piece derived from the rule catalog (internal/catalog) and the settings in
// cdk.json's context (docs/deploy.md). Run it through the CDK CLI from the
// repository root: npx cdk synth (cdk.json says "go run ./infra").
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/rampart-aws/rampart/internal/catalog"
)

func main() {
	quietNode()
	app := awscdk.NewApp(nil)
	err := run(app)
	if err == nil {
		app.Synth(nil)
	}
	jsii.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "rampart infra:", err)
		os.Exit(1)
	}
}

func run(app awscdk.App) error {
	if all, ok := app.Node().GetAllContext(nil).(map[string]interface{}); ok {
		if unknown := UnknownKeys(all); len(unknown) > 0 {
			return fmt.Errorf("unknown context keys %s (see docs/deploy.md)", strings.Join(unknown, ", "))
		}
	}
	s, err := ParseSettings(func(key string) any { return app.Node().TryGetContext(jsii.String(key)) }, os.Getenv)
	if err != nil {
		return err
	}
	// rampart:trailLogGroup sets cis-alarms' parameters: the plan table's
	// grants must see them too (NewRampartApp does the same).
	if s, err = s.withTrailLogGroup(catalog.All()); err != nil {
		return err
	}
	if _, err := NewRampartApp(app, catalog.All(), s); err != nil {
		return err
	}
	// What each region gets: printed by infra/scripts/synth.sh (make synth).
	plan := planTable(catalog.All(), &s)
	if err := os.MkdirAll(*app.Outdir(), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(*app.Outdir(), "rampart-plan.txt"), []byte(plan), 0o644)
}

// quietNode silences the jsii runtime's banners about the Node.js release
// (the machines run Node 20, past its end of life for jsii): they would bury
// the synth's own output. Set the variables yourself to see them again.
func quietNode() {
	for k, v := range map[string]string{
		"JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION":  "1",
		"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
	} {
		if _, ok := os.LookupEnv(k); !ok {
			os.Setenv(k, v)
		}
	}
}
