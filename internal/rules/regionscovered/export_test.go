package regionscovered

import (
	"context"
	"testing"

	"github.com/rampart-aws/rampart/internal/awsclient"
)

// MotoRegions lists the regions the server reports as enabled.
func MotoRegions(t *testing.T, s *awsclient.Session) []string {
	t.Helper()
	r, err := enabledRegions(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
