// Command s3 is the Lambda that keeps S3 closed to the public: Block Public
// Access on for the account and every bucket.
package main

import (
	"github.com/rampart-aws/rampart/pkg/lambdafn"
	"github.com/rampart-aws/rampart/pkg/rules/s3public"
)

func main() {
	lambdafn.Start(s3public.AccountBlock, s3public.BucketAccess)
}
