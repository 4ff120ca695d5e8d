// Command iam is the Lambda that keeps IAM credentials in hand: it
// deactivates access keys nobody uses, reports unused console passwords,
// alerts on root access keys and on enabled regions Rampart does not cover.
// It runs in the home region, where IAM's events are judged.
package main

import (
	"github.com/rampart-aws/rampart/internal/lambdafn"
	"github.com/rampart-aws/rampart/internal/rules/regionscovered"
	"github.com/rampart-aws/rampart/internal/rules/rootaccesskeys"
	"github.com/rampart-aws/rampart/internal/rules/stalecredentials"
)

func main() {
	lambdafn.Start(stalecredentials.Rule, rootaccesskeys.Rule, regionscovered.Rule)
}
