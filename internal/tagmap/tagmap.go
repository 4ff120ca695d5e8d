// Package tagmap turns the tag slices of the AWS SDK's services into maps,
// once for every rule: a missing key or value is the empty string, and a
// later duplicate key wins (AWS allows none).
//
// It imports no service's types but EC2's (which carry no init work): a
// package of types such as IAM's initialises its service's whole schema at
// cold start, so every function that linked this package would pay for it.
// Rules of other services call Of with their own tag type.
package tagmap

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Of maps tags through kv, which names a tag's key and value.
func Of[T any](tags []T, kv func(T) (key, value *string)) map[string]string {
	out := make(map[string]string, len(tags))
	for _, t := range tags {
		k, v := kv(t)
		out[aws.ToString(k)] = aws.ToString(v)
	}
	return out
}

// EC2 maps EC2 tags.
func EC2(tags []ec2types.Tag) map[string]string {
	return Of(tags, func(t ec2types.Tag) (*string, *string) { return t.Key, t.Value })
}
