package trailbuckettampering

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/rampart-aws/rampart/internal/iampolicy"
	"github.com/rampart-aws/rampart/internal/s3bucket"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// The shapes CloudTrail records for PutBucketLifecycle (the event name for
// both PutBucketLifecycle and PutBucketLifecycleConfiguration): the XML body
// turned into JSON, so LifecycleConfiguration.Rule is one object or a list,
// Filter may be an empty string, Transition and Tag are one object or a
// list, numbers may be strings.

type tagWire struct {
	Key   trigger.String `json:"Key"`
	Value trigger.String `json:"Value"`
}

type filterWire struct {
	Empty bool
	Body  struct {
		Prefix *trigger.String `json:"Prefix"`
		Tag    *tagWire        `json:"Tag"`
		Above  trigger.Int     `json:"ObjectSizeGreaterThan"`
		Below  trigger.Int     `json:"ObjectSizeLessThan"`
		And    *struct {
			Prefix *trigger.String       `json:"Prefix"`
			Tags   trigger.List[tagWire] `json:"Tag"`
			Above  trigger.Int           `json:"ObjectSizeGreaterThan"`
			Below  trigger.Int           `json:"ObjectSizeLessThan"`
		} `json:"And"`
	}
}

// UnmarshalJSON implements json.Unmarshaler: "" (and {}) is the empty
// filter, which matches every object.
func (f *filterWire) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		if strings.TrimSpace(s) != "" {
			return fmt.Errorf("filter: unexpected string %q", s)
		}
		*f = filterWire{Empty: true}
		return nil
	}
	*f = filterWire{}
	return json.Unmarshal(data, &f.Body)
}

type transitionWire struct {
	Days         trigger.Int    `json:"Days"`
	Date         trigger.String `json:"Date"`
	StorageClass trigger.String `json:"StorageClass"`
}

type noncurrentTransitionWire struct {
	Days         trigger.Int    `json:"NoncurrentDays"`
	Newer        trigger.Int    `json:"NewerNoncurrentVersions"`
	StorageClass trigger.String `json:"StorageClass"`
}

type ruleWire struct {
	ID         trigger.String  `json:"ID"`
	Status     trigger.String  `json:"Status"`
	Prefix     *trigger.String `json:"Prefix"`
	Filter     *filterWire     `json:"Filter"`
	Expiration *struct {
		Days         trigger.Int    `json:"Days"`
		Date         trigger.String `json:"Date"`
		DeleteMarker *trigger.Bool  `json:"ExpiredObjectDeleteMarker"`
	} `json:"Expiration"`
	Transitions           trigger.List[transitionWire]           `json:"Transition"`
	NoncurrentExpiration  *noncurrentTransitionWire              `json:"NoncurrentVersionExpiration"`
	NoncurrentTransitions trigger.List[noncurrentTransitionWire] `json:"NoncurrentVersionTransition"`
	Abort                 *struct {
		Days trigger.Int `json:"DaysAfterInitiation"`
	} `json:"AbortIncompleteMultipartUpload"`
}

type request struct {
	s3bucket.Request
	Policy    json.RawMessage `json:"bucketPolicy"`
	Lifecycle *struct {
		Rules trigger.List[ruleWire] `json:"Rule"`
	} `json:"LifecycleConfiguration"`
}

func int32p(n trigger.Int) *int32 {
	if !n.Set {
		return nil
	}
	v := int32(n.Value)
	return &v
}

func int64p(n trigger.Int) *int64 {
	if !n.Set {
		return nil
	}
	v := int64(n.Value)
	return &v
}

func strp(s *trigger.String) *string {
	if s == nil {
		return nil
	}
	return aws.String(string(*s))
}

func datep(s trigger.String) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, string(s))
	if err != nil {
		return nil, fmt.Errorf("date %q: %w", s, err)
	}
	return &t, nil
}

// sdkRule converts a recorded rule to the SDK's type, the form S3 returns
// and the plan carries.
func (w ruleWire) sdkRule() (s3types.LifecycleRule, error) {
	// Prefix is deprecated in favour of Filter, but rules written the old way
	// still carry it and it still scopes them: it must be read and kept.
	r := s3types.LifecycleRule{ID: aws.String(string(w.ID)), Status: s3types.ExpirationStatus(w.Status), Prefix: strp(w.Prefix)} //nolint:staticcheck // legacy Prefix, see above
	if w.ID == "" {
		r.ID = nil
	}
	if r.Status != s3types.ExpirationStatusEnabled && r.Status != s3types.ExpirationStatusDisabled {
		return r, fmt.Errorf("rule %q: Status %q", w.ID, w.Status)
	}
	if f := w.Filter; f != nil {
		r.Filter = &s3types.LifecycleRuleFilter{}
		if !f.Empty {
			b := f.Body
			r.Filter.Prefix, r.Filter.ObjectSizeGreaterThan, r.Filter.ObjectSizeLessThan = strp(b.Prefix), int64p(b.Above), int64p(b.Below)
			if b.Tag != nil {
				r.Filter.Tag = &s3types.Tag{Key: aws.String(string(b.Tag.Key)), Value: aws.String(string(b.Tag.Value))}
			}
			if a := b.And; a != nil {
				and := &s3types.LifecycleRuleAndOperator{Prefix: strp(a.Prefix), ObjectSizeGreaterThan: int64p(a.Above), ObjectSizeLessThan: int64p(a.Below)}
				for _, t := range a.Tags {
					and.Tags = append(and.Tags, s3types.Tag{Key: aws.String(string(t.Key)), Value: aws.String(string(t.Value))})
				}
				r.Filter.And = and
			}
		}
	}
	if e := w.Expiration; e != nil {
		date, err := datep(e.Date)
		if err != nil {
			return r, fmt.Errorf("rule %q: expiration %w", w.ID, err)
		}
		r.Expiration = &s3types.LifecycleExpiration{Days: int32p(e.Days), Date: date}
		if e.DeleteMarker != nil {
			r.Expiration.ExpiredObjectDeleteMarker = aws.Bool(bool(*e.DeleteMarker))
		}
	}
	for _, t := range w.Transitions {
		date, err := datep(t.Date)
		if err != nil {
			return r, fmt.Errorf("rule %q: transition %w", w.ID, err)
		}
		r.Transitions = append(r.Transitions, s3types.Transition{Days: int32p(t.Days), Date: date, StorageClass: s3types.TransitionStorageClass(t.StorageClass)})
	}
	if n := w.NoncurrentExpiration; n != nil {
		r.NoncurrentVersionExpiration = &s3types.NoncurrentVersionExpiration{NoncurrentDays: int32p(n.Days), NewerNoncurrentVersions: int32p(n.Newer)}
	}
	for _, t := range w.NoncurrentTransitions {
		r.NoncurrentVersionTransitions = append(r.NoncurrentVersionTransitions, s3types.NoncurrentVersionTransition{
			NoncurrentDays: int32p(t.Days), NewerNoncurrentVersions: int32p(t.Newer), StorageClass: s3types.TransitionStorageClass(t.StorageClass)})
	}
	if a := w.Abort; a != nil {
		r.AbortIncompleteMultipartUpload = &s3types.AbortIncompleteMultipartUpload{DaysAfterInitiation: int32p(a.Days)}
	}
	return r, nil
}

// parseCall reads a PutBucketLifecycle, PutBucketPolicy or DeleteBucketPolicy call.
func parseCall(call *trigger.APICall) (string, evidence, error) {
	var req request
	if err := json.Unmarshal(call.Request, &req); err != nil {
		return "", evidence{}, fmt.Errorf("requestParameters: %w", err)
	}
	bucket, err := req.Bucket()
	if err != nil {
		return "", evidence{}, err
	}
	ev := evidence{Event: call.EventName, Account: call.Account}
	switch call.EventName {
	case "PutBucketLifecycle":
		ev.Aspect = aspectLifecycle
		if req.Lifecycle == nil {
			return "", ev, errors.New("no LifecycleConfiguration")
		}
		for _, w := range req.Lifecycle.Rules {
			r, err := w.sdkRule()
			if err != nil {
				return "", ev, err
			}
			ev.Rules = append(ev.Rules, r)
		}
	case "PutBucketPolicy":
		ev.Aspect = aspectPolicy
		if len(req.Policy) == 0 || string(req.Policy) == "null" {
			return "", ev, errors.New("no bucketPolicy")
		}
		doc, err := iampolicy.Parse(req.Policy)
		if err != nil {
			return "", ev, err
		}
		raw := string(req.Policy)
		if s, err := strconv.Unquote(raw); err == nil {
			raw = s // recorded as a JSON string
		}
		ev.Policy = &bucketPolicy{Doc: doc, Raw: raw}
	case "DeleteBucketPolicy":
		ev.Aspect = aspectPolicy
	}
	return bucket, ev, nil
}
