// Command config is the Lambda that keeps AWS Config recording and
// delivering: it restarts a stopped recorder and alerts on (and, given the
// baseline, recreates) a deleted recorder or delivery channel.
package main

import (
	"github.com/rampart-aws/rampart/internal/lambdafn"
	"github.com/rampart-aws/rampart/internal/rules/configtampering"
)

func main() {
	lambdafn.Start(configtampering.Rule)
}
