// Command ec2 is the Lambda that keeps EC2 resources in line: instances in a
// VPC, attached volumes encrypted, EBS encryption by default on, and no idle
// Elastic IPs.
package main

import (
	"github.com/rampart-aws/rampart/pkg/lambdafn"
	"github.com/rampart-aws/rampart/pkg/rules/ebsdefault"
	"github.com/rampart-aws/rampart/pkg/rules/ebsencrypted"
	"github.com/rampart-aws/rampart/pkg/rules/eipattached"
	"github.com/rampart-aws/rampart/pkg/rules/instancevpc"
)

func main() {
	lambdafn.Start(instancevpc.Rule, ebsencrypted.Rule, ebsdefault.Rule, eipattached.Rule)
}
