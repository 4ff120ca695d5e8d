package tagmap

import (
	"maps"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestMaps(t *testing.T) {
	t.Parallel()
	want := map[string]string{"owner": "team-a", "empty": ""}
	for name, got := range map[string]map[string]string{
		"ec2": EC2([]ec2types.Tag{{Key: aws.String("owner"), Value: aws.String("team-a")}, {Key: aws.String("empty")}}),
		"iam": Of([]iamtypes.Tag{{Key: aws.String("owner"), Value: aws.String("team-a")}, {Key: aws.String("empty")}},
			func(t iamtypes.Tag) (*string, *string) { return t.Key, t.Value }),
		"s3": Of([]s3types.Tag{{Key: aws.String("owner"), Value: aws.String("team-a")}, {Key: aws.String("empty")}},
			func(t s3types.Tag) (*string, *string) { return t.Key, t.Value }),
	} {
		if !maps.Equal(got, want) {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	if got := EC2(nil); got == nil || len(got) != 0 {
		t.Errorf("nil tags: %v, want an empty map", got)
	}
}
