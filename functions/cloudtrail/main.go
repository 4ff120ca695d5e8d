// Command cloudtrail is the Lambda that keeps CloudTrail recording as the
// deployment's baseline says.
package main

import (
	"github.com/rampart-aws/rampart/internal/lambdafn"
	"github.com/rampart-aws/rampart/internal/rules/cloudtrailenabled"
	"github.com/rampart-aws/rampart/internal/rules/cloudtrailintegrity"
)

func main() {
	lambdafn.Start(cloudtrailintegrity.Rule, cloudtrailenabled.Rule)
}
