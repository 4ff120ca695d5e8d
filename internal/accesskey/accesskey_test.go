package accesskey

import (
	"context"
	"testing"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
)

func TestApplyRejectsBadParams(t *testing.T) {
	t.Parallel()
	s := awsclient.NewOffline("us-east-1") // must fail before any client is built
	for name, a := range map[string]rule.Action{
		"other API":  rule.NewAction("iam:DeleteAccessKey", "x", "", Params{UserName: "u", AccessKeyID: "AKIA1", Status: "Inactive"}, nil),
		"no key ID":  rule.NewAction(APIUpdate, "x", "", Params{UserName: "u", Status: "Inactive"}, nil),
		"no user":    rule.NewAction(APIUpdate, "x", "", Params{AccessKeyID: "AKIA1", Status: "Inactive"}, nil),
		"bad status": rule.NewAction(APIUpdate, "x", "", Params{UserName: "u", AccessKeyID: "AKIA1", Status: "Deleted"}, nil),
		"no params":  {API: APIUpdate, Target: "x"},
	} {
		if err := Apply(context.Background(), rule.Env{Session: s}, a); err == nil {
			t.Errorf("%s: applied", name)
		}
	}
}

func TestDeactivateCarriesItsUndo(t *testing.T) {
	t.Parallel()
	a := Deactivate("alice/AKIA1", "alice", "AKIA1", "deactivate")
	var do, undo Params
	if err := a.Decode(&do); err != nil || a.Undo == nil {
		t.Fatalf("%+v, %v", a, err)
	}
	if err := a.Undo.Decode(&undo); err != nil {
		t.Fatal(err)
	}
	if a.API != APIUpdate || a.Undo.API != APIUpdate || do != (Params{"alice", "AKIA1", "Inactive"}) || undo != (Params{"alice", "AKIA1", "Active"}) {
		t.Fatalf("do %+v, undo %+v", do, undo)
	}
}
