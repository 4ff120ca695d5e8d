package s3bucket

import (
	"regexp"
	"strings"
	"testing"
)

// validName against the expression it replaces.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.\-_]{1,253}[a-z0-9]$`)

var names = []string{"my-bucket", "a.b", "ab", "abc", "a_b", "-ab", "ab-", "Abc", "a b", "a..b", "ab\n", "ünï",
	strings.Repeat("a", 255), strings.Repeat("a", 256), "", "a", "my.bucket.example.com", "0bucket9"}

func TestValidNameMatchesTheExpression(t *testing.T) {
	t.Parallel()
	for _, n := range names {
		if got, want := validName(n), nameRE.MatchString(n); got != want {
			t.Errorf("validName(%q) = %v, the expression says %v", n, got, want)
		}
	}
}

func FuzzValidName(f *testing.F) {
	for _, n := range names {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, n string) {
		if got, want := validName(n), nameRE.MatchString(n); got != want {
			t.Errorf("validName(%q) = %v, the expression says %v", n, got, want)
		}
	})
}
