package s3bucket

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRequestBucket(t *testing.T) {
	for _, c := range []struct{ req, want, err string }{
		{`{"bucketName":"logs-1"}`, "logs-1", ""},
		{`{"bucketName":["logs-2"]}`, "logs-2", ""},
		{`{"bucketName":" logs-3 ","Host":"other.s3.amazonaws.com"}`, "logs-3", ""},
		{`{"Host":"logs-4.s3.us-east-1.amazonaws.com"}`, "logs-4", ""},
		{`{"Host":["Logs-5.S3-eu-west-1.amazonaws.com"]}`, "logs-5", ""},
		{`{"Host":"s3.amazonaws.com"}`, "", "no bucketName"},
		{`{}`, "", "no bucketName"},
		{`{"bucketName":"Bad_Name!"}`, "", "not a bucket name"},
		{`{"bucketName":"ab"}`, "", "not a bucket name"},
	} {
		var r Request
		if err := json.Unmarshal([]byte(c.req), &r); err != nil {
			t.Fatalf("%s: %v", c.req, err)
		}
		got, err := r.Bucket()
		if got != c.want || (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: Bucket() = %q, %v; want %q, %q", c.req, got, err, c.want, c.err)
		}
	}
}
