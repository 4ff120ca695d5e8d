package exposedaccesskeys

import (
	"regexp"
	"strings"
	"testing"
)

// validKeyID against the expression it replaces.
func TestValidKeyIDMatchesTheExpression(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
	for _, id := range []string{"AKIAIOSFODNN7EXAMPLE", "ASIA0123456789ABCDEF", "AKIA1234567890AB", "AKIA1234567890A", strings.Repeat("A", 128),
		strings.Repeat("A", 129), "akiaiosfodnn7example", "AKIAIOSFODNN7EXAMPL_", "AKIAIOSFODNN7EXAMPLE\n", "", "AKIAİOSFODNN7EXAMPLE"} {
		if got, want := validKeyID(id), re.MatchString(id); got != want {
			t.Errorf("validKeyID(%q) = %v, the expression says %v", id, got, want)
		}
	}
}
