// Command iam is the Lambda that keeps IAM credentials in hand: it
// deactivates access keys nobody uses, reports unused console passwords,
// alerts on root access keys and on enabled regions Rampart does not cover.
// It runs in the home region, where IAM's events are judged.
package main

import (
	"github.com/rampart-aws/rampart/pkg/lambdafn"
	"github.com/rampart-aws/rampart/pkg/rules/regioncoverage"
	"github.com/rampart-aws/rampart/pkg/rules/rootkeys"
	"github.com/rampart-aws/rampart/pkg/rules/stalecreds"
)

func main() {
	lambdafn.Start(stalecreds.Rule, rootkeys.Rule, regioncoverage.Rule)
}
