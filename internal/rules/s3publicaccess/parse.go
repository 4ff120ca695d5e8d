package s3publicaccess

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/iampolicy"
	"github.com/rampart-aws/rampart/internal/s3bucket"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// The shapes CloudTrail records for S3 calls. Older records carry
// one-element arrays (host: [..], acl: [""], x-amz-acl: ["public-read"]) and
// a single ACL grant as an object rather than a list; trigger.String and
// trigger.List read both. Keys match case-insensitively (Host and host).

type blockWire struct {
	BlockPublicAcls       trigger.Bool `json:"BlockPublicAcls"`
	IgnorePublicAcls      trigger.Bool `json:"IgnorePublicAcls"`
	BlockPublicPolicy     trigger.Bool `json:"BlockPublicPolicy"`
	RestrictPublicBuckets trigger.Bool `json:"RestrictPublicBuckets"`
}

func (w blockWire) block() Block {
	return Block{bool(w.BlockPublicAcls), bool(w.IgnorePublicAcls), bool(w.BlockPublicPolicy), bool(w.RestrictPublicBuckets)}
}

type grantWire struct {
	Grantee struct {
		URI  trigger.String `json:"URI"`
		Type trigger.String `json:"xsi:type"`
	} `json:"Grantee"`
	Permission trigger.String `json:"Permission"`
}

type request struct {
	s3bucket.Request
	Block  *blockWire      `json:"PublicAccessBlockConfiguration"`
	Policy json.RawMessage `json:"bucketPolicy"`
	ACP    *struct {
		ACL *struct {
			Grant trigger.List[grantWire] `json:"Grant"`
		} `json:"AccessControlList"`
	} `json:"AccessControlPolicy"`
	CannedACL trigger.String `json:"x-amz-acl"`
	// Grant headers: x-amz-grant-read: ["uri=http://acs.amazonaws.com/groups/global/AllUsers"].
	GrantRead        trigger.List[string] `json:"x-amz-grant-read"`
	GrantWrite       trigger.List[string] `json:"x-amz-grant-write"`
	GrantReadACP     trigger.List[string] `json:"x-amz-grant-read-acp"`
	GrantWriteACP    trigger.List[string] `json:"x-amz-grant-write-acp"`
	GrantFullControl trigger.List[string] `json:"x-amz-grant-full-control"`
}

// publicGroups are the ACL grantee groups that make a grant public.
var publicGroups = []string{"/global/AllUsers", "/global/AuthenticatedUsers"}

// publicGroup names the public group a grantee URI designates, or "".
func publicGroup(uri string) string {
	for _, g := range publicGroups {
		if strings.HasSuffix(uri, g) {
			return strings.TrimPrefix(g, "/global/")
		}
	}
	return ""
}

// publicCannedACLs are the canned ACLs that grant to a public group.
var publicCannedACLs = map[string]string{
	"public-read":        "READ to AllUsers",
	"public-read-write":  "READ and WRITE to AllUsers",
	"authenticated-read": "READ to AuthenticatedUsers",
}

// bucketEvent is what a bucket-level call says: the block it set, or the
// public grants it made.
type bucketEvent struct {
	Event string
	// Block is the configuration a PutBucketPublicAccessBlock set.
	Block *Block
	// Exposed are the public grants a PutBucketPolicy or PutBucketAcl made.
	Exposed []string
}

// parseBucketCall reads a bucket-level call.
func parseBucketCall(event string, raw json.RawMessage) (string, bucketEvent, error) {
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		return "", bucketEvent{}, fmt.Errorf("requestParameters: %w", err)
	}
	bucket, err := req.Bucket()
	if err != nil {
		return "", bucketEvent{}, err
	}
	ev := bucketEvent{Event: event}
	switch event {
	case "PutBucketPublicAccessBlock":
		if req.Block == nil {
			return "", ev, errors.New("no PublicAccessBlockConfiguration")
		}
		b := req.Block.block()
		ev.Block = &b
	case "PutBucketPolicy":
		if len(req.Policy) == 0 || string(req.Policy) == "null" {
			return "", ev, errors.New("no bucketPolicy")
		}
		doc, err := iampolicy.Parse(req.Policy)
		if err != nil {
			return "", ev, err
		}
		ev.Exposed = publicStatements(doc)
	case "PutBucketAcl":
		ev.Exposed = exposedByACL(&req)
	}
	return bucket, ev, nil
}

// publicStatements describes the statements of a policy that grant access
// to anybody.
func publicStatements(doc *iampolicy.Document) []string {
	var out []string
	for i := range doc.Statement {
		s := &doc.Statement[i]
		if s.Public() {
			out = append(out, fmt.Sprintf("bucket policy statement %s allows %s to everyone", s.Name(i), s.Actions()))
		}
	}
	return out
}

// exposedByACL describes the public grants of a PutBucketAcl: a canned ACL,
// grant headers, or the AccessControlPolicy body.
func exposedByACL(req *request) []string {
	var out []string
	if what, ok := publicCannedACLs[strings.ToLower(strings.TrimSpace(string(req.CannedACL)))]; ok {
		out = append(out, "canned ACL "+string(req.CannedACL)+" grants "+what)
	}
	for _, h := range []struct {
		perm   string
		values []string
	}{{"READ", req.GrantRead}, {"WRITE", req.GrantWrite}, {"READ_ACP", req.GrantReadACP},
		{"WRITE_ACP", req.GrantWriteACP}, {"FULL_CONTROL", req.GrantFullControl}} {
		for _, v := range h.values {
			for _, g := range publicGroups {
				if strings.Contains(v, g) {
					out = append(out, "ACL grants "+h.perm+" to "+strings.TrimPrefix(g, "/global/"))
				}
			}
		}
	}
	if req.ACP != nil && req.ACP.ACL != nil {
		for _, g := range req.ACP.ACL.Grant {
			if group := publicGroup(string(g.Grantee.URI)); group != "" {
				out = append(out, "ACL grants "+string(g.Permission)+" to "+group)
			}
		}
	}
	return out
}

// accountEvent is what an account-level call says.
type accountEvent struct {
	Event string
	Block *Block // PutAccountPublicAccessBlock
}

// parseAccountCall reads an account-level call; the account is the
// recipient account, or the first label of the S3 Control host.
func parseAccountCall(event, account string, raw json.RawMessage) (string, accountEvent, error) {
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		return "", accountEvent{}, fmt.Errorf("requestParameters: %w", err)
	}
	if account == "" {
		account, _, _ = strings.Cut(string(req.Host), ".")
	}
	if !awsclient.ValidAccount(account) {
		return "", accountEvent{}, fmt.Errorf("no account ID (recipientAccountId or Host), got %q", account)
	}
	ev := accountEvent{Event: event}
	if event == "PutAccountPublicAccessBlock" {
		if req.Block == nil {
			return "", ev, errors.New("no PublicAccessBlockConfiguration")
		}
		b := req.Block.block()
		ev.Block = &b
	}
	return account, ev, nil
}
