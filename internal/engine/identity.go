package engine

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/awsname"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// The own-identity guard: calls made by Rampart's own roles never trigger
// Rampart. A name proves nothing (anyone with IAM rights can create a user,
// or a role in another account, called "rampart-sgopen"), so a call is
// Rampart's own only when it was made by a session of an assumed *role*
// whose issuer ARN is exactly one of Rampart's role ARNs: the function roles
// in the deployment's account (RAMPART_OWN_ROLES), or, in organization mode,
// the member role in the very member account the event is about. The
// session's own ARN must agree with its issuer (same partition, account and
// role name). A near miss — the same name on another type of identity, in
// another account, under another path or in another case — is judged like
// anyone else's call, and the decision says so.

// parseRoleARN reads one full IAM role ARN,
// arn:<partition>:iam::<account>:role/<path/>name.
func parseRoleARN(s string) (arn.ARN, error) {
	a, err := arn.Parse(s)
	if err != nil {
		return a, fmt.Errorf("%q is not a role ARN (want arn:<partition>:iam::<account>:role/<path/>name): %w", s, err)
	}
	name, ok := strings.CutPrefix(a.Resource, "role/")
	if a.Service != "iam" || a.Region != "" || !awsclient.ValidAccount(a.AccountID) || !ok || !awsname.RolePath(name) {
		return a, fmt.Errorf("%q is not a role ARN (want arn:<partition>:iam::<account>:role/<path/>name)", s)
	}
	return a, nil
}

// parseOwnRoles reads RAMPART_OWN_ROLES: a comma list of full role ARNs. A
// bare role name is refused: it would match any identity of that name.
func parseOwnRoles(v string) ([]string, error) {
	var out []string
	for _, r := range strings.Split(v, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		if _, err := parseRoleARN(r); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvOwnRoles, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// checkOwnRoles requires every own role to be in the session's account and
// partition (when the session knows them): Rampart's functions run there.
func checkOwnRoles(roles []string, s *awsclient.Session) error {
	for _, r := range roles {
		a, err := parseRoleARN(r)
		if err != nil {
			return fmt.Errorf("own roles: %w", err)
		}
		if s.Account != "" && a.AccountID != s.Account {
			return fmt.Errorf("own roles: %s is not in the deployment's account %s", r, s.Account)
		}
		if s.Partition != "" && a.Partition != s.Partition {
			return fmt.Errorf("own roles: %s is not in the session's partition %s", r, s.Partition)
		}
	}
	return nil
}

// ownCall reports whether one of Rampart's own roles made the call, in the
// account sess acts in. Otherwise note, when not empty, says why a caller
// that looks like Rampart is not taken for it.
func (e *Engine) ownCall(call *trigger.APICall, sess *awsclient.Session) (who string, own bool, note string) {
	a := call.Actor
	if issuer, ok := e.sessionIssuer(a); ok {
		if e.isOwnRole(issuer, call.Account, sess) {
			return a.IssuerARN, true, ""
		}
	}
	if name := e.lookalike(a, call.Account, sess); name != "" {
		return "", false, fmt.Sprintf("the caller %s (%s) is named like Rampart's role %s but is not a session of it, so it was judged like anyone else",
			a.Display(), a.Type, name)
	}
	return "", false, ""
}

// sessionIssuer is the issuing role of an assumed-role session whose ARN
// agrees with its issuer; false for every other identity.
func (e *Engine) sessionIssuer(a trigger.Actor) (arn.ARN, bool) {
	if a.Type != "AssumedRole" || a.IssuerType != "Role" {
		return arn.ARN{}, false
	}
	issuer, err := parseRoleARN(a.IssuerARN)
	if err != nil {
		return arn.ARN{}, false
	}
	sess, err := arn.Parse(a.ARN)
	if err != nil || sess.Service != "sts" || sess.Partition != issuer.Partition || sess.AccountID != issuer.AccountID {
		return arn.ARN{}, false
	}
	parts := strings.Split(sess.Resource, "/") // assumed-role/<name>/<session>
	if len(parts) != 3 || parts[0] != "assumed-role" || parts[1] != roleName(issuer) {
		return arn.ARN{}, false
	}
	if a.AccountID != "" && a.AccountID != issuer.AccountID {
		return arn.ARN{}, false
	}
	return issuer, true
}

// isOwnRole: the issuer is one of the deployment's function roles, or the
// member role of the (in-scope, other) account the event is about.
func (e *Engine) isOwnRole(issuer arn.ARN, eventAccount string, sess *awsclient.Session) bool {
	if p := e.session.Partition; p != "" && issuer.Partition != p {
		return false
	}
	s := issuer.String()
	for _, own := range e.cfg.OwnRoles {
		if s == own {
			return true
		}
	}
	if e.cfg.MemberRole == "" || sess == nil || sess.Account == "" || sess.Account == e.session.Account {
		return false
	}
	return issuer.AccountID == sess.Account && sess.Account == eventAccount && s == e.session.MemberRoleARN(sess.Account)
}

// lookalike is the Rampart role whose name the caller bears without being a
// session of it, or "".
func (e *Engine) lookalike(a trigger.Actor, eventAccount string, sess *awsclient.Session) string {
	names := map[string]string{}
	for _, own := range e.cfg.OwnRoles {
		if r, err := parseRoleARN(own); err == nil {
			names[strings.ToLower(roleName(r))] = own
		}
	}
	if e.cfg.MemberRole != "" {
		member := e.cfg.MemberRole
		if sess != nil && sess.Account != "" {
			member = e.session.MemberRoleARN(sess.Account)
		}
		names[strings.ToLower(e.cfg.MemberRole[strings.LastIndex(e.cfg.MemberRole, "/")+1:])] = member
	}
	var candidates []string
	candidates = append(candidates, a.UserName, a.IssuerName)
	for _, s := range []string{a.ARN, a.IssuerARN} {
		if p, err := arn.Parse(s); err == nil {
			parts := strings.Split(p.Resource, "/")
			switch parts[0] {
			case "assumed-role", "federated-user":
				if len(parts) > 1 {
					candidates = append(candidates, parts[1])
				}
			default:
				candidates = append(candidates, parts[len(parts)-1])
			}
		}
	}
	for _, c := range candidates {
		if own, ok := names[strings.ToLower(c)]; ok && c != "" {
			return own
		}
	}
	return ""
}

// roleName is the last segment of a role ARN's path.
func roleName(a arn.ARN) string {
	return a.Resource[strings.LastIndex(a.Resource, "/")+1:]
}
