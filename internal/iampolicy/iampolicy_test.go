package iampolicy

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		pattern, value string
		want           bool
	}{
		{"s3:PutObject", "s3:PutObject", true},
		{"s3:putobject", "s3:PutObject", true},
		{"s3:*", "s3:PutObject", true},
		{"*", "s3:GetBucketAcl", true},
		{"s3:Put*", "s3:PutObject", true},
		{"s3:Get*", "s3:PutObject", false},
		{"s3:?utObject", "s3:PutObject", true},
		{"arn:aws:s3:::logs/*", "arn:aws:s3:::logs/AWSLogs/1/x", true},
		{"arn:aws:s3:::logs/*", "arn:aws:s3:::logs", false},
		{"arn:aws:s3:::logs*", "arn:aws:s3:::logs", true},
		{"arn:aws:s3:::*/AWSLogs/*", "arn:aws:s3:::logs/AWSLogs/1/x", true},
		{"arn:aws:s3:::other/*", "arn:aws:s3:::logs/AWSLogs/1/x", false},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"", "", true},
		{"", "x", false},
	} {
		if got := Match(c.pattern, c.value); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.value, got, c.want)
		}
	}
}

func TestParseShapes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, doc string
		stmts     int
		err       string
	}{
		{"statement list", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`, 1, ""},
		{"single statement object", `{"Statement":{"Effect":"Deny","Principal":{"AWS":["*"]},"Action":["s3:*"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}}`, 1, ""},
		{"as a JSON string (GetBucketPolicy)", `"{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"cloudtrail.amazonaws.com\"},\"Action\":\"s3:PutObject\"}]}"`, 1, ""},
		{"condition with booleans and numbers", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Condition":{"Bool":{"aws:SecureTransport":false},"NumericLessThan":{"s3:TlsVersion":1.2}}}]}`, 1, ""},
		{"no statement", `{"Version":"2012-10-17"}`, 0, ""},
		{"bad effect", `{"Statement":[{"Effect":"Maybe"}]}`, 0, "Effect"},
		{"not JSON", `{"Statement":`, 0, "policy"},
		{"empty", ``, 0, "empty"},
		{"empty string", `""`, 0, "empty"},
		{"principal of the wrong type", `{"Statement":[{"Effect":"Allow","Principal":42}]}`, 0, "principal"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := Parse([]byte(c.doc))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Statement) != c.stmts {
				t.Fatalf("%d statements, want %d", len(d.Statement), c.stmts)
			}
		})
	}
}

func statement(t *testing.T, js string) Statement {
	t.Helper()
	var s Statement
	if err := json.Unmarshal([]byte(js), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPublic(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, stmt string
		want       bool
	}{
		{"star principal", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject"}`, true},
		{"AWS star", `{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject"}`, true},
		{"AWS star in a list", `{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root","*"]},"Action":"s3:GetObject"}`, true},
		{"CanonicalUser star", `{"Effect":"Allow","Principal":{"CanonicalUser":"*"},"Action":"s3:GetObject"}`, true},
		{"an account", `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:GetObject"}`, false},
		{"a service", `{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject"}`, false},
		{"deny to everyone", `{"Effect":"Deny","Principal":"*","Action":"s3:*"}`, false},
		{"allow with NotPrincipal", `{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:GetObject"}`, true},
		{"pinned to a VPC endpoint", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1a2b3c4d"}}}`, false},
		{"pinned to the organisation", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"StringEquals":{"aws:PrincipalOrgID":["o-abc123"]}}}`, false},
		{"pinned to a CIDR", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24"]}}}`, false},
		{"CIDR of the world", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","0.0.0.0/0"]}}}`, true},
		{"two halves of the world", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"IpAddress":{"aws:SourceIp":["0.0.0.0/1","128.0.0.0/1"]}}}`, true},
		{"broader than /8", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"IpAddress":{"aws:SourceIp":"64.0.0.0/7"}}}`, true},
		{"a /8 is S3's bound", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`, false},
		{"256 /8s cover the world", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"IpAddress":{"aws:SourceIp":[` + eights(256) + `]}}}`, true},
		{"255 /8s", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"IpAddress":{"aws:SourceIp":[` + eights(255) + `]}}}`, false},
		{"IPv6 broader than /32", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"IpAddress":{"aws:SourceIp":["2001:db8::/32","8000::/1"]}}}`, true},
		{"IPv6 /32 and an IPv4 /24", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"IpAddress":{"aws:SourceIp":["2001:db8::/32","203.0.113.0/24"]}}}`, false},
		{"IPv6 world", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","::/0"]}}}`, true},
		{"not a CIDR", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"IpAddress":{"aws:SourceIp":"office"}}}`, true},
		{"NotIpAddress of a range", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}`, true},
		{"NotIpAddress of the world still passes requests without a source IP", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"NotIpAddress":{"aws:SourceIp":["0.0.0.0/0","::/0"]}}}`, true},
		{"negated condition", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1a2b3c4d"}}}`, true},
		{"IfExists condition", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"StringEqualsIfExists":{"aws:SourceVpce":"vpce-1a2b3c4d"}}}`, true},
		{"wildcard value", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:cloudfront::*"}}}`, true},
		{"unrelated condition", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"Bool":{"aws:SecureTransport":"true"}}}`, true},
		{"no principal (an identity policy)", `{"Effect":"Allow","Action":"s3:GetObject"}`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := statement(t, c.stmt)
			if got := s.Public(); got != c.want {
				t.Fatalf("Public() = %v, want %v", got, c.want)
			}
		})
	}
}

func TestAppliesToServiceAndCovers(t *testing.T) {
	t.Parallel()
	const ct = "cloudtrail.amazonaws.com"
	for _, c := range []struct {
		name, stmt string
		service    bool
		put, acl   bool
	}{
		{"named service", `{"Effect":"Deny","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject"}`, true, true, false},
		{"service case-insensitive, list", `{"Effect":"Deny","Principal":{"Service":["config.amazonaws.com","CloudTrail.amazonaws.com"]},"Action":["s3:GetBucketAcl"]}`, true, false, true},
		{"everyone", `{"Effect":"Deny","Principal":"*","Action":"s3:*"}`, true, true, true},
		{"other service", `{"Effect":"Deny","Principal":{"Service":"logging.s3.amazonaws.com"},"Action":"s3:*"}`, false, true, true},
		{"NotPrincipal excluding CloudTrail", `{"Effect":"Deny","NotPrincipal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:*"}`, false, true, true},
		{"NotPrincipal of someone else", `{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:role/admin"},"Action":"s3:*"}`, true, true, true},
		{"NotAction sparing PutObject", `{"Effect":"Deny","Principal":"*","NotAction":["s3:PutObject","s3:GetBucketAcl"]}`, true, false, false},
		{"Put wildcard", `{"Effect":"Deny","Principal":"*","Action":"s3:Put*"}`, true, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := statement(t, c.stmt)
			if got := s.AppliesToService(ct); got != c.service {
				t.Errorf("AppliesToService = %v, want %v", got, c.service)
			}
			if got := s.CoversAction("s3:PutObject"); got != c.put {
				t.Errorf("CoversAction(PutObject) = %v, want %v", got, c.put)
			}
			if got := s.CoversAction("s3:GetBucketAcl"); got != c.acl {
				t.Errorf("CoversAction(GetBucketAcl) = %v, want %v", got, c.acl)
			}
		})
	}
}

func TestCoversResource(t *testing.T) {
	t.Parallel()
	obj := "arn:aws:s3:::logs/AWSLogs/123456789012/CloudTrail/x.json.gz"
	for _, c := range []struct {
		stmt string
		want bool
	}{
		{`{"Effect":"Deny","Resource":"arn:aws:s3:::logs/*"}`, true},
		{`{"Effect":"Deny","Resource":["arn:aws:s3:::logs","arn:aws:s3:::logs/private/*"]}`, false},
		{`{"Effect":"Deny","NotResource":"arn:aws:s3:::logs/AWSLogs/*"}`, false},
		{`{"Effect":"Deny","NotResource":"arn:aws:s3:::logs/private/*"}`, true},
		{`{"Effect":"Deny"}`, true},
	} {
		s := statement(t, c.stmt)
		if got := s.CoversResource(obj); got != c.want {
			t.Errorf("%s: CoversResource = %v, want %v", c.stmt, got, c.want)
		}
	}
}

func TestPrincipalRoundTrip(t *testing.T) {
	t.Parallel()
	for _, js := range []string{`"*"`, `{"AWS":["arn:aws:iam::111122223333:root"]}`} {
		var p Principal
		if err := json.Unmarshal([]byte(js), &p); err != nil {
			t.Fatal(err)
		}
		out, err := json.Marshal(p)
		if err != nil || string(out) != js {
			t.Fatalf("round trip of %s = %s, %v", js, out, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`,
		`{"Statement":{"Effect":"Deny","NotPrincipal":{"Service":"cloudtrail.amazonaws.com"},"NotAction":"s3:PutObject"}}`,
		`"{\"Statement\":[]}"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := Parse(raw)
		if err != nil {
			return
		}
		for i := range d.Statement {
			s := &d.Statement[i]
			_ = s.Public()
			_ = s.AppliesToService("cloudtrail.amazonaws.com")
			_ = s.CoversAction("s3:PutObject")
			_ = s.CoversResource("arn:aws:s3:::b/k")
			_ = s.Name(i)
		}
	})
}

// eights lists n /8s as JSON strings: "0.0.0.0/8", "1.0.0.0/8", …
func eights(n int) string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(`"%d.0.0.0/8"`, i)
	}
	return strings.Join(out, ",")
}
