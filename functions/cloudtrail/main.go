// Command cloudtrail is the Lambda that keeps CloudTrail recording as the
// deployment's baseline says.
package main

import (
	"github.com/rampart-aws/rampart/pkg/lambdafn"
	"github.com/rampart-aws/rampart/pkg/rules/trailenabled"
	"github.com/rampart-aws/rampart/pkg/rules/trailintegrity"
)

func main() {
	lambdafn.Start(trailintegrity.Rule, trailenabled.Rule)
}
