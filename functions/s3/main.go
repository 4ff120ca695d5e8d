// Command s3 is the Lambda that keeps S3 closed to the public (Block Public
// Access on for the account and every bucket) and keeps CloudTrail's log
// buckets holding and accepting their logs.
package main

import (
	"github.com/rampart-aws/rampart/pkg/lambdafn"
	"github.com/rampart-aws/rampart/pkg/rules/s3public"
	"github.com/rampart-aws/rampart/pkg/rules/trailbucket"
)

func main() {
	lambdafn.Start(s3public.AccountBlock, s3public.BucketAccess, trailbucket.Rule)
}
