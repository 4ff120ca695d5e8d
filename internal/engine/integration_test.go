package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/sgopen"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

var ctx = context.Background()

const ownRole = "arn:aws:iam::123456789012:role/rampart-securitygroup"

var groups int

// worldSSH makes a group in the session's account and region open to the
// world on SSH, and returns its ID.
func worldSSH(t *testing.T, s *awsclient.Session) string {
	groups++
	return mototest.WorldSSHGroup(t, s, fmt.Sprint("web-", groups))
}

// authorize is AuthorizeSecurityGroupIngress as EventBridge delivers it, by
// the identity (a CloudTrail userIdentity block) in account and region.
func authorize(identity, account, region, groupID string) []byte {
	return fmt.Appendf(nil, `{"version":"0","id":"ev-1","detail-type":"AWS API Call via CloudTrail","source":"aws.ec2",
	"account":%q,"time":"2026-11-26T10:00:00Z","region":%q,"resources":[],
	"detail":{"eventVersion":"1.09","userIdentity":%s,
	"eventTime":"2026-11-26T10:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupIngress","awsRegion":%q,
	"sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0","requestParameters":{"groupId":%q,"ipPermissions":{"items":[
	{"ipProtocol":"tcp","fromPort":22,"toPort":22,"groups":{},"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]},"ipv6Ranges":{},"prefixListIds":{}}]}},
	"responseElements":{"_return":true},"eventID":"0f7e5a1e-1111-2222-3333-444455556666","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":%q}}`,
		account, region, identity, region, groupID, account)
}

const userLikeRole = `{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/rampart-securitygroup","accountId":"123456789012","accessKeyId":"AKIAEXAMPLE","userName":"rampart-securitygroup"}`

// TestUserNamedLikeRampartIsRemediated: an IAM user named like Rampart's
// role who opens SSH to the world is judged and remediated like anyone.
func TestUserNamedLikeRampartIsRemediated(t *testing.T) {
	s := mototest.Session(t)
	id := worldSSH(t, s)
	e, _ := enginetest.New(t, s, engine.Config{Mode: engine.Enforce, OwnRoles: []string{ownRole}}, sgopen.OpenWorld)
	res := enginetest.Handle(t, e, authorize(userLikeRole, mototest.Account, mototest.Region, id))
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || d.Actions[0].Outcome != rule.Applied || !strings.Contains(d.Reason, "named like Rampart's role "+ownRole) {
		t.Fatalf("decision %+v", d)
	}
	if mototest.OpenToWorld(t, s, id) {
		t.Fatal("the group is still open to the world")
	}
}

// TestEventJudgedInItsOwnRegion: the function runs in us-east-1; the event
// is about a group in eu-west-1, which is judged and fixed there.
func TestEventJudgedInItsOwnRegion(t *testing.T) {
	s := mototest.Session(t)
	eu, err := s.For(ctx, "", "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	id := worldSSH(t, eu)
	e, _ := enginetest.New(t, s, engine.Config{Mode: engine.Enforce, OwnRoles: []string{ownRole}, Regions: []string{"us-east-1", "eu-west-1"}}, sgopen.OpenWorld)
	res := enginetest.Handle(t, e, authorize(userLikeRole, mototest.Account, "eu-west-1", id))
	if d := res.Decisions[0]; d.Verdict != rule.Violation || d.Actions[0].Outcome != rule.Applied {
		t.Fatalf("decision %+v", d)
	}
	if mototest.OpenToWorld(t, eu, id) {
		t.Fatal("the group in eu-west-1 is still open")
	}
	// Without eu-west-1 in the deployment's regions, the event is out of
	// scope: reported, not judged in us-east-1.
	id2 := worldSSH(t, eu)
	e2, _ := enginetest.New(t, s, engine.Config{Mode: engine.Enforce, OwnRoles: []string{ownRole}}, sgopen.OpenWorld)
	res, calls := enginetest.Recorded(t, e2, authorize(userLikeRole, mototest.Account, "eu-west-1", id2))
	if d := res.Decisions[0]; d.Verdict != rule.Ignored || !strings.Contains(d.Reason, "out of scope: event account 123456789012, region eu-west-1") || len(calls) != 0 {
		t.Fatalf("decision %+v, calls %v", d, calls)
	}
}

// TestForeignAccountNotJudgedLocally: the event names a group ID that
// exists locally (and is open to the world), but in another account: it is
// not judged against the local group, and no call is made at all.
func TestForeignAccountNotJudgedLocally(t *testing.T) {
	s := mototest.Session(t)
	id := worldSSH(t, s)
	e, _ := enginetest.New(t, s, engine.Config{Mode: engine.Enforce, OwnRoles: []string{ownRole}}, sgopen.OpenWorld)
	foreign := bytes.ReplaceAll([]byte(userLikeRole), []byte("123456789012"), []byte("210987654321"))
	res, calls := enginetest.Recorded(t, e, authorize(string(foreign), "210987654321", mototest.Region, id))
	d := res.Decisions[0]
	if d.Verdict != rule.Ignored || !strings.Contains(d.Reason, "out of scope: event account 210987654321") || len(calls) != 0 {
		t.Fatalf("decision %+v, calls %v", d, calls)
	}
	if !mototest.OpenToWorld(t, s, id) {
		t.Fatal("the local group of the same ID was changed")
	}
}
