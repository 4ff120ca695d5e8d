package trailbuckettampering

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/rampart-aws/rampart/internal/iampolicy"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// maxPolicyBytes is the size S3 accepts for a bucket policy.
const maxPolicyBytes = 20 * 1024

// bucketPolicy is a bucket's policy: parsed, and as S3 returned it (for an
// exact undo). nil is no policy at all.
type bucketPolicy struct {
	Doc *iampolicy.Document
	Raw string
}

// tri is a three-valued answer: a condition CloudTrail's delivery meets,
// fails, or that Rampart cannot decide offline from the policy alone.
type tri int

const (
	no tri = iota
	unknown
	yes
)

// absentForService are condition keys AWS leaves out of the request context
// of a service principal such as cloudtrail.amazonaws.com (IAM User Guide,
// "AWS global condition context keys"): a negated test of them matches.
var absentForService = []string{"aws:principalorgid", "aws:principalorgpaths", "aws:sourcevpc", "aws:sourcevpce", "aws:principaltag/"}

// deliveryContext is the request context of CloudTrail's delivery for one
// trail: PutObject (put) sends x-amz-acl bucket-owner-full-control.
func deliveryContext(p logPath, put bool) map[string]string {
	m := map[string]string{"aws:securetransport": "true", "aws:principalisawsservice": "true", "aws:principalservicename": cloudTrail}
	if p.Account != "" {
		m["aws:sourceaccount"] = p.Account
	}
	if p.ARN != "" {
		m["aws:sourcearn"] = p.ARN
	}
	if put {
		m["s3:x-amz-acl"] = "bucket-owner-full-control"
	}
	return m
}

// lookup says whether the key is in the context (and its value), and
// whether its presence is known at all.
func lookup(ctx map[string]string, key string, put bool) (value string, present, known bool) {
	if v, ok := ctx[key]; ok {
		return v, true, true
	}
	if key == "s3:x-amz-acl" && !put {
		return "", false, true
	}
	for _, k := range absentForService {
		if key == k || strings.HasSuffix(k, "/") && strings.HasPrefix(key, k) {
			return "", false, true
		}
	}
	return "", false, false
}

// condition decides whether CloudTrail's delivery meets a statement's
// Condition block (all operators and keys must hold).
func condition(s *iampolicy.Statement, ctx map[string]string, put bool) tri {
	res := yes
	for op, keys := range s.Condition {
		lop := strings.ToLower(op)
		forAll := strings.HasPrefix(lop, "forallvalues:")
		lop = strings.TrimPrefix(strings.TrimPrefix(lop, "forallvalues:"), "foranyvalue:")
		ifExists := strings.HasSuffix(lop, "ifexists")
		lop = strings.TrimSuffix(lop, "ifexists")
		negated := strings.Contains(lop, "not")
		for key, vals := range keys {
			v, present, known := lookup(ctx, strings.ToLower(key), put)
			var r tri
			switch {
			case !known:
				r = unknown
			case lop == "null":
				r = no
				if len(vals) == 1 && strings.EqualFold(string(vals[0]), "true") == !present {
					r = yes
				}
			case !present:
				r = no
				if ifExists || forAll || negated {
					r = yes
				}
			default:
				r = compare(lop, v, vals)
			}
			if r == no {
				return no
			}
			if r == unknown {
				res = unknown
			}
		}
	}
	return res
}

// compare applies one condition operator to a present value.
func compare(op, v string, vals []trigger.String) tri {
	positive := strings.Replace(op, "not", "", 1)
	var match func(pattern string) bool
	switch positive {
	case "stringequals":
		match = func(p string) bool { return p == v }
	case "stringequalsignorecase":
		match = func(p string) bool { return strings.EqualFold(p, v) }
	case "stringlike", "arnlike", "arnequals":
		match = func(p string) bool { return iampolicy.Match(p, v) }
	case "bool":
		match = func(p string) bool { return strings.EqualFold(p, v) }
	default:
		return unknown // numeric, date, IP: no such key in the context above
	}
	hit := slices.ContainsFunc(vals, func(x trigger.String) bool { return match(string(x)) })
	if hit != (positive != op) {
		return yes
	}
	return no
}

// statements of CloudTrail's delivery: which allow and which deny it.
type delivery struct {
	// missing are the trails whose delivery no Allow grants in full.
	missing []logPath
	// removable are Deny statements (indices) aimed at CloudTrail alone
	// that block its delivery: removing them widens nobody else's access.
	removable []int
	// problems describe every way delivery is blocked; alerts the ones
	// Rampart leaves to a person.
	problems, alerts []string
}

// sampleKeys are object keys one trail writes: log files and digest files,
// in its home region and, for a multi-region trail, in another one.
func (l logPath) sampleKeys() []string {
	home := l.Region
	if home == "" {
		home = "us-east-1"
	}
	regions := []string{home}
	if l.MultiRegion {
		other := "ap-southeast-2"
		if home == other {
			other = "eu-west-1"
		}
		regions = append(regions, other)
	}
	var keys []string
	for _, r := range regions {
		keys = append(keys,
			l.Prefix+l.Account+"/CloudTrail/"+r+"/2026/01/01/"+l.Account+"_CloudTrail_"+r+"_20260101T0000Z_a1B2c3D4e5F6g7H8.json.gz",
			l.Prefix+l.Account+"/CloudTrail-Digest/"+r+"/2026/01/01/"+l.Account+"_CloudTrail-Digest_"+r+"_"+l.Trail+"_"+home+"_20260101T000000Z.json.gz")
	}
	return keys
}

// s3Request is one call CloudTrail makes to deliver: the action and resource.
type s3Request struct{ action, resource string }

func (l logPath) requests(partition, bucket string) []s3Request {
	out := []s3Request{{"s3:GetBucketAcl", s3ARN(partition, bucket)}}
	for _, k := range l.sampleKeys() {
		out = append(out, s3Request{"s3:PutObject", s3ARN(partition, bucket+"/"+k)})
	}
	return out
}

// s3ARN is the ARN of a bucket, or of objects under it ("bucket/key").
func s3ARN(partition, resource string) string {
	return arn.ARN{Partition: partition, Service: "s3", Resource: resource}.String()
}

// onlyCloudTrail reports whether a statement's principal is CloudTrail's
// service principal and nothing else.
func onlyCloudTrail(s *iampolicy.Statement) bool {
	if s.Principal == nil || s.Principal.All || s.NotPrincipal != nil || len(s.Principal.Values) != 1 {
		return false
	}
	for k, v := range s.Principal.Values {
		return strings.EqualFold(k, "Service") && len(v) == 1 && strings.EqualFold(v[0], cloudTrail)
	}
	return false
}

// analyse decides whether the policy lets CloudTrail deliver each trail's
// logs: an Allow must grant every request (GetBucketAcl on the bucket,
// PutObject on log and digest keys) with conditions the delivery meets, and
// no Deny may block one. No policy at all grants nothing.
func analyse(partition string, pol *bucketPolicy, bucket string, paths []logPath) delivery {
	var d delivery
	var doc iampolicy.Document
	if pol != nil && pol.Doc != nil {
		doc = *pol.Doc
	}
	denied := map[int]tri{}
	for _, p := range paths {
		granted := true
		for _, rq := range p.requests(partition, bucket) {
			put := rq.action == "s3:PutObject"
			ctx := deliveryContext(p, put)
			allowed := false
			for i := range doc.Statement {
				s := &doc.Statement[i]
				if !s.AppliesToService(cloudTrail) || !s.CoversAction(rq.action) || !s.CoversResource(rq.resource) {
					continue
				}
				c := condition(s, ctx, put)
				switch {
				case s.Allows() && c == yes:
					allowed = true
				case s.Denies() && c != no && c > denied[i]:
					denied[i] = c
				}
			}
			granted = granted && allowed
		}
		if !granted {
			d.missing = append(d.missing, p)
			d.problems = append(d.problems, "no bucket policy statement allows CloudTrail to deliver the logs of trail "+p.Trail+
				" (s3:GetBucketAcl on the bucket and s3:PutObject under "+p.Prefix+p.Account+"/)")
		}
	}
	for i := range doc.Statement {
		c, ok := denied[i]
		if !ok {
			continue
		}
		s := &doc.Statement[i]
		msg := fmt.Sprintf("bucket policy statement %s denies %s %s", s.Name(i), cloudTrail, s.Actions())
		switch {
		case c == unknown:
			keys := s.ConditionKeys()
			slices.Sort(keys)
			msg += " (conditionally, on " + strings.Join(keys, ", ") + ": check that it spares CloudTrail)"
			d.alerts = append(d.alerts, msg)
		case onlyCloudTrail(s):
			d.removable = append(d.removable, i)
		default:
			msg += " — it applies to other principals too, so removing it would widen their access: a person decides"
			d.alerts = append(d.alerts, msg)
		}
		d.problems = append(d.problems, msg)
	}
	return d
}

// rawStatements splits a policy into its top-level members and its
// statements, each kept byte for byte.
func rawStatements(raw string) (map[string]json.RawMessage, []json.RawMessage, error) {
	top := map[string]json.RawMessage{}
	if strings.TrimSpace(raw) == "" {
		return map[string]json.RawMessage{"Version": json.RawMessage(`"2012-10-17"`)}, nil, nil
	}
	if err := json.Unmarshal([]byte(raw), &top); err != nil {
		return nil, nil, fmt.Errorf("policy: %w", err)
	}
	st := bytes.TrimSpace(top["Statement"])
	var list []json.RawMessage
	switch {
	case len(st) == 0:
	case st[0] == '[':
		if err := json.Unmarshal(st, &list); err != nil {
			return nil, nil, fmt.Errorf("policy statements: %w", err)
		}
	default:
		list = []json.RawMessage{st}
	}
	return top, list, nil
}

// canonical is a statement's JSON with sorted keys and no spacing, by which
// statements read at plan time are found again at apply time.
func canonicalJSON(raw json.RawMessage) string {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return string(raw)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// sidUnsafe is compiled on first use, not at every cold start.
var sidUnsafe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^A-Za-z0-9]`) })

// documented are the statements of CloudTrail's documented bucket policy
// (CloudTrail User Guide, "Amazon S3 bucket policy for CloudTrail") for one
// trail, with Sids not yet used in the policy.
func documented(partition, bucket string, p logPath, used map[string]bool) []json.RawMessage {
	cond := map[string]string{}
	if p.ARN != "" {
		cond["aws:SourceArn"] = p.ARN
	} else if p.Account != "" {
		cond["aws:SourceAccount"] = p.Account
	}
	sid := func(base string) string {
		base += sidUnsafe().ReplaceAllString(p.Trail, "")
		s := base
		for n := 2; used[s]; n++ {
			s = fmt.Sprintf("%s%d", base, n)
		}
		used[s] = true
		return s
	}
	write := map[string]string{"s3:x-amz-acl": "bucket-owner-full-control"}
	for k, v := range cond {
		write[k] = v
	}
	stmt := func(sid, action, resource string, c map[string]string) json.RawMessage {
		m := map[string]any{"Sid": sid, "Effect": "Allow", "Principal": map[string]string{"Service": cloudTrail}, "Action": action, "Resource": resource}
		if len(c) > 0 {
			m["Condition"] = map[string]any{"StringEquals": c}
		}
		b, _ := json.Marshal(m)
		return b
	}
	return []json.RawMessage{
		stmt(sid("RampartCloudTrailAclCheck"), "s3:GetBucketAcl", s3ARN(partition, bucket), cond),
		stmt(sid("RampartCloudTrailWrite"), "s3:PutObject", s3ARN(partition, bucket+"/"+p.Prefix+p.Account+"/*"), write),
	}
}

// policyFix is the change a plan makes to a bucket policy: statements to
// take out and to add, matched by content at apply time.
func policyFix(partition string, pol *bucketPolicy, bucket string, d delivery) (remove, add []json.RawMessage, err error) {
	raw := ""
	if pol != nil {
		raw = pol.Raw
	}
	_, list, err := rawStatements(raw)
	if err != nil {
		return nil, nil, err
	}
	used := map[string]bool{}
	if pol != nil && pol.Doc != nil {
		for _, s := range pol.Doc.Statement {
			used[s.Sid] = true
		}
	}
	for _, i := range d.removable {
		if i < len(list) {
			remove = append(remove, list[i])
		}
	}
	for _, p := range d.missing {
		add = append(add, documented(partition, bucket, p, used)...)
	}
	return remove, add, nil
}

// rewrite applies a fix to the policy as it is now; ok is false when there
// was nothing to change.
func rewrite(current string, remove, add []json.RawMessage) (string, bool, error) {
	top, list, err := rawStatements(current)
	if err != nil {
		return "", false, err
	}
	drop := map[string]bool{}
	for _, r := range remove {
		drop[canonicalJSON(r)] = true
	}
	var keep []json.RawMessage
	have := map[string]bool{}
	for _, s := range list {
		c := canonicalJSON(s)
		if drop[c] {
			continue
		}
		keep = append(keep, s)
		have[c] = true
	}
	changed := len(keep) != len(list)
	for _, s := range add {
		if c := canonicalJSON(s); !have[c] {
			keep = append(keep, s)
			have[c] = true
			changed = true
		}
	}
	if !changed {
		return current, false, nil
	}
	if len(keep) == 0 {
		return "", true, nil
	}
	st, err := json.Marshal(keep)
	if err != nil {
		return "", false, err
	}
	top["Statement"] = st
	out, err := json.Marshal(top)
	if err != nil {
		return "", false, err
	}
	if len(out) > maxPolicyBytes {
		return "", false, fmt.Errorf("the policy would be %d bytes, more than the %d S3 accepts", len(out), maxPolicyBytes)
	}
	return string(out), true, nil
}

// namesCloudTrail reports whether a policy mentions CloudTrail's service
// principal: a sign, offline, that a trail delivers to the bucket.
func namesCloudTrail(doc *iampolicy.Document) bool {
	if doc == nil {
		return false
	}
	for i := range doc.Statement {
		if doc.Statement[i].Principal.HasService(cloudTrail) || doc.Statement[i].NotPrincipal.HasService(cloudTrail) {
			return true
		}
	}
	return false
}
