package deployer

import (
	"testing"

	"github.com/rampart-aws/rampart/internal/trigger"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for v, ok := range map[string]bool{"": true, "arn:aws:iam::123456789012:role/deploy": true,
		"arn:aws:iam::123456789012:role/a, arn:aws:iam::123456789012:role/path/b": true,
		"deploy-role": false, "arn:aws:iam::123456789012:user/u": false, ",": false} {
		if _, err := Parse(v); (err == nil) != ok {
			t.Errorf("%q: %v", v, err)
		}
	}
}

// TestMade: only a session issued by a deploying role, exactly, is the
// deployer's — not a user or a role of the same name elsewhere.
func TestMade(t *testing.T) {
	t.Parallel()
	const execRole = "arn:aws:iam::123456789012:role/cdk-hnb659fds-cfn-exec-role-123456789012-eu-west-1"
	call := func(typ, issuer, account string) *trigger.APICall {
		return &trigger.APICall{Account: account, Region: "eu-west-1", Actor: trigger.Actor{Type: typ, IssuerARN: issuer}}
	}
	for _, tc := range []struct {
		roles Roles
		call  *trigger.APICall
		want  bool
	}{
		{nil, call("AssumedRole", execRole, "123456789012"), true},
		{nil, call("AssumedRole", execRole, "210987654321"), false}, // another account's bootstrap role
		{nil, call("IAMUser", execRole, "123456789012"), false},
		{nil, call("AssumedRole", "arn:aws:iam::123456789012:role/team-stack-role", "123456789012"), false},
		{Roles{"arn:aws:iam::123456789012:role/deploy"}, call("AssumedRole", "arn:aws:iam::123456789012:role/deploy", "123456789012"), true},
		{Roles{"arn:aws:iam::123456789012:role/deploy"}, call("AssumedRole", execRole, "123456789012"), false},
	} {
		if _, got := tc.roles.Made(tc.call); got != tc.want {
			t.Errorf("%v %+v: %v, want %v", tc.roles, tc.call.Actor, got, tc.want)
		}
	}
}
