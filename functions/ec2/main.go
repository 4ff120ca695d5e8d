// Command ec2 is the Lambda that keeps EC2 resources in line: instances in a
// VPC, attached volumes encrypted, EBS encryption by default on, no idle
// Elastic IPs, and a flow log on every VPC.
package main

import (
	"github.com/rampart-aws/rampart/pkg/lambdafn"
	"github.com/rampart-aws/rampart/pkg/rules/ebsdefault"
	"github.com/rampart-aws/rampart/pkg/rules/ebsencrypted"
	"github.com/rampart-aws/rampart/pkg/rules/eipattached"
	"github.com/rampart-aws/rampart/pkg/rules/instancevpc"
	"github.com/rampart-aws/rampart/pkg/rules/vpcflowlogs"
)

func main() {
	lambdafn.Start(instancevpc.Rule, ebsencrypted.Rule, ebsdefault.Rule, eipattached.Rule, vpcflowlogs.Rule)
}
