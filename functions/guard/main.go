// Command guard is the Lambda that keeps Rampart itself in service: it alerts
// on changes to Rampart's own rules, functions, Config rules, topic and
// stacks, re-enables its disabled EventBridge rules and removes a zero
// reserved concurrency. It carries no other rule, so disabling the functions
// it protects does not disable it.
package main

import (
	"log/slog"
	"os"

	"github.com/rampart-aws/rampart/internal/lambdafn"
	"github.com/rampart-aws/rampart/internal/rules/selfprotection"
)

func main() {
	if err := selfprotection.CheckEnv(); err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("cold start", "error", err.Error())
		os.Exit(1)
	}
	lambdafn.Start(selfprotection.Rule)
}
