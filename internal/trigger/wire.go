package trigger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Wire helpers: CloudTrail writes the same field in several shapes across
// services and years. These types read every shape seen in real records so
// rule packages can decode requestParameters without special cases.

// Bool reads true, "true", "True", "yes" and their negatives.
type Bool bool

// UnmarshalJSON implements json.Unmarshaler.
func (b *Bool) UnmarshalJSON(data []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(data)), `"`)
	switch strings.ToLower(s) {
	case "true", "yes":
		*b = true
	case "false", "no", "", "null":
		*b = false
	default:
		return fmt.Errorf("not a boolean: %s", data)
	}
	return nil
}

// Int reads a number or a numeric string (CloudTrail writes ports both ways).
// Set reports whether the field was present and not null.
type Int struct {
	Value int
	Set   bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *Int) UnmarshalJSON(data []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(data)), `"`)
	if s == "null" || s == "" {
		*n = Int{}
		return nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("not an integer: %s", data)
	}
	*n = Int{Value: v, Set: true}
	return nil
}

// MarshalJSON implements json.Marshaler.
func (n Int) MarshalJSON() ([]byte, error) {
	if !n.Set {
		return []byte("null"), nil
	}
	return []byte(strconv.Itoa(n.Value)), nil
}

// List reads the list shapes CloudTrail uses for one logical list:
// a JSON array, a single object (one element), EC2's {"items": [...]} wrapper,
// an empty object or string, and null.
type List[T any] []T

// UnmarshalJSON implements json.Unmarshaler.
func (l *List[T]) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	*l = nil
	if len(data) == 0 || string(data) == "null" || string(data) == `""` {
		return nil
	}
	switch data[0] {
	case '[':
		var items []T
		if err := json.Unmarshal(data, &items); err != nil {
			return err
		}
		*l = items
		return nil
	case '{':
		var wrap map[string]json.RawMessage
		if err := json.Unmarshal(data, &wrap); err != nil {
			return err
		}
		if len(wrap) == 0 {
			return nil
		}
		if items, ok := wrap["items"]; ok && len(wrap) == 1 {
			var inner List[T]
			if err := json.Unmarshal(items, &inner); err != nil {
				return err
			}
			*l = inner
			return nil
		}
	}
	var one T
	if err := json.Unmarshal(data, &one); err != nil {
		return err
	}
	*l = List[T]{one}
	return nil
}

// String reads a string, or the first element of the one-element arrays older
// S3 records use (e.g. "host": ["bucket.s3.amazonaws.com"]).
type String string

// UnmarshalJSON implements json.Unmarshaler.
func (s *String) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case len(data) == 0 || string(data) == "null":
		*s = ""
	case data[0] == '[':
		var items []string
		if err := json.Unmarshal(data, &items); err != nil {
			return err
		}
		*s = ""
		if len(items) > 0 {
			*s = String(items[0])
		}
	case data[0] == '"':
		var v string
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		*s = String(v)
	default: // a bare number or boolean
		*s = String(data)
	}
	return nil
}
