package awsname

import (
	"regexp"
	"strings"
	"testing"
)

// Each check against the regular expression it replaces, on hand-picked
// cases and on every string the fuzzer finds.
var checks = []struct {
	name  string
	fn    func(string) bool
	re    *regexp.Regexp
	cases []string
}{
	{"Account", Account, regexp.MustCompile(`^[0-9]{12}$`),
		[]string{"111122223333", "11112222333", "1111222233334", "11112222333a", "", "111122223333\n", "١١١١٢٢٢٢٣٣٣٣"}},
	{"Region", Region, regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`),
		[]string{"us-east-1", "us-gov-west-1", "cn-north-1", "eu-central-2", "us-east-", "us--east-1", "use-east-1", "u-east-1", "us-1", "us-east-1a", "US-east-1",
			"us-east-1-", "-us-east-1", "us-east-12", "ap-southeast-3", "", "us-east-1\n", "us-éast-1"}},
	{"OrganizationID", OrganizationID, regexp.MustCompile(`^o-[a-z0-9]{10,32}$`),
		[]string{"o-a1b2c3d4e5", "o-a1b2c3d4e", "o-" + strings.Repeat("a", 32), "o-" + strings.Repeat("a", 33), "o-A1B2C3D4E5", "r-a1b2c3d4e5", "o-", ""}},
	{"RolePath", RolePath, regexp.MustCompile(`^([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$`),
		[]string{"rampart-member", "rampart/rampart-member", "a/b/c", "/rampart", "rampart/", "a//b", "", strings.Repeat("r", 64), strings.Repeat("r", 65),
			strings.Repeat("p", 100) + "/" + strings.Repeat("r", 64), "Role_+=,.@-x", "role name", "rôle", "role*", "a/b\n"}},
	{"RuleID", RuleID, regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`),
		[]string{"sg-open-world", "sg", "sg-", "-sg", "sg--open", "SG-open", "sg_open", "s3-bucket-public-access", "", "sg-open\n"}},
}

func TestChecksMatchTheirExpressions(t *testing.T) {
	t.Parallel()
	for _, c := range checks {
		for _, s := range c.cases {
			if got, want := c.fn(s), c.re.MatchString(s); got != want {
				t.Errorf("%s(%q) = %v, the expression says %v", c.name, s, got, want)
			}
		}
	}
}

func FuzzChecksMatchTheirExpressions(f *testing.F) {
	for _, c := range checks {
		for _, s := range c.cases {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range checks {
			if got, want := c.fn(s), c.re.MatchString(s); got != want {
				t.Errorf("%s(%q) = %v, the expression says %v", c.name, s, got, want)
			}
		}
	})
}
