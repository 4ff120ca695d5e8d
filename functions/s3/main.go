// Command s3 is the Lambda that keeps S3 closed to the public (Block Public
// Access on for the account and every bucket) and keeps CloudTrail's log
// buckets holding and accepting their logs.
package main

import (
	"github.com/rampart-aws/rampart/internal/lambdafn"
	"github.com/rampart-aws/rampart/internal/rules/s3publicaccess"
	"github.com/rampart-aws/rampart/internal/rules/trailbuckettampering"
)

func main() {
	lambdafn.Start(s3publicaccess.AccountBlock, s3publicaccess.BucketAccess, trailbuckettampering.Rule)
}
