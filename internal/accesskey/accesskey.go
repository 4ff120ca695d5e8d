// Package accesskey is the one remediation of the rules about leaked and
// stale IAM access keys, and its undo: set a key Inactive, or Active again.
// Keys are never deleted: a deactivated key can be restored at once, a
// deleted one cannot.
package accesskey

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
)

// APIUpdate is the action's API.
const APIUpdate = "iam:UpdateAccessKey"

// Params are the action's parameters.
type Params struct {
	UserName    string `json:"userName"`
	AccessKeyID string `json:"accessKeyId"`
	Status      string `json:"status"`
}

// Deactivate is the action that deactivates user's key, with the undo that
// re-activates it.
func Deactivate(target, user, key, reason string) rule.Action {
	undo := rule.NewAction(APIUpdate, target, "re-activate the access key",
		Params{UserName: user, AccessKeyID: key, Status: string(iamtypes.StatusTypeActive)}, nil)
	return rule.NewAction(APIUpdate, target, reason,
		Params{UserName: user, AccessKeyID: key, Status: string(iamtypes.StatusTypeInactive)}, &undo)
}

// Apply sets an access key's status: Inactive (the plan) or Active (its
// undo). Deactivating a key or user that is gone is ErrNoOp.
func Apply(ctx context.Context, env rule.Env, a rule.Action) error {
	if a.API != APIUpdate {
		return fmt.Errorf("accesskey cannot apply %s", a.API)
	}
	var p Params
	if err := a.Decode(&p); err != nil {
		return err
	}
	if p.UserName == "" || p.AccessKeyID == "" {
		return fmt.Errorf("%s: params need userName and accessKeyId", a.API)
	}
	status := iamtypes.StatusType(p.Status)
	if status != iamtypes.StatusTypeActive && status != iamtypes.StatusTypeInactive {
		return fmt.Errorf("%s: status %q: want Active or Inactive", a.API, p.Status)
	}
	_, err := awsclient.Client(env.Session, iam.NewFromConfig).UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{
		UserName: aws.String(p.UserName), AccessKeyId: aws.String(p.AccessKeyID), Status: status})
	switch {
	case awsclient.HasCode(err, "NoSuchEntity") && status == iamtypes.StatusTypeInactive:
		return fmt.Errorf("deactivate %s of %s: the key or user is gone: %w", p.AccessKeyID, p.UserName, rule.ErrNoOp)
	case err != nil:
		return fmt.Errorf("set %s of %s to %s: %w", p.AccessKeyID, p.UserName, status, err)
	}
	return nil
}
