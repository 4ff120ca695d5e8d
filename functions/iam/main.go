// Command iam is the Lambda that keeps IAM credentials in hand: it
// deactivates access keys nobody uses, reports unused console passwords,
// and alerts on root access keys. It runs in us-east-1, where IAM's events
// arrive.
package main

import (
	"github.com/rampart-aws/rampart/pkg/lambdafn"
	"github.com/rampart-aws/rampart/pkg/rules/rootkeys"
	"github.com/rampart-aws/rampart/pkg/rules/stalecreds"
)

func main() {
	lambdafn.Start(stalecreds.Rule, rootkeys.Rule)
}
