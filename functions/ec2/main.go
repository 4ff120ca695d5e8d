// Command ec2 is the Lambda that keeps EC2 resources in line: instances in a
// VPC, attached volumes encrypted, EBS encryption by default on, no idle
// Elastic IPs, and a flow log on every VPC.
package main

import (
	"github.com/rampart-aws/rampart/internal/lambdafn"
	"github.com/rampart-aws/rampart/internal/rules/ebsattachedencrypted"
	"github.com/rampart-aws/rampart/internal/rules/ebsdefaultencryption"
	"github.com/rampart-aws/rampart/internal/rules/ec2instanceinvpc"
	"github.com/rampart-aws/rampart/internal/rules/eipattached"
	"github.com/rampart-aws/rampart/internal/rules/vpcflowlogs"
)

func main() {
	lambdafn.Start(ec2instanceinvpc.Rule, ebsattachedencrypted.Rule, ebsdefaultencryption.Rule, eipattached.Rule, vpcflowlogs.Rule)
}
