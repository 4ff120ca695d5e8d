package demo

import (
	"context"

	"github.com/rampart-aws/rampart/internal/awsclient"
)

// Console sign-ins change no resource: the rule alerts, and the scenario
// shows the notification instead of a state (State is nil).
var signinScenarios = []Scenario{
	{
		Rule:   "console-signin",
		Name:   "root console sign-in",
		Events: []string{"signin/console-login-root.json"},
		Seed: func(context.Context, *awsclient.Session) (Fixture, error) {
			return Fixture{Label: "root user (from 198.51.100.61)"}, nil
		},
	},
	{
		Rule:   "console-signin",
		Name:   "console sign-in without MFA",
		Events: []string{"signin/console-login-iam-no-mfa.json"},
		Seed: func(context.Context, *awsclient.Session) (Fixture, error) {
			return Fixture{Label: "IAM user alice (from 198.51.100.23)"}, nil
		},
	},
}
