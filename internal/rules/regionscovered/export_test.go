package regionscovered

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/rampart-aws/rampart/internal/awsclient"
)

// MotoRegions lists the regions the server reports as enabled.
func MotoRegions(t *testing.T, s *awsclient.Session) []string {
	t.Helper()
	r, err := enabledRegions(context.Background(), awsclient.Client(s, ec2.NewFromConfig))
	if err != nil {
		t.Fatal(err)
	}
	return r
}
