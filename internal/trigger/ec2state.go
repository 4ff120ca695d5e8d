package trigger

import (
	"encoding/json"
	"strings"
)

// EC2 state-change events: "EC2 Instance State-change Notification" from
// aws.ec2, delivered in the instance's region seconds after the change.
const (
	SourceEC2             = "aws.ec2"
	DetailEC2StateChange  = "EC2 Instance State-change Notification"
	EC2InstanceRunning    = "running"
	instanceIDPrefix      = "i-"
	maxInstanceIDLength   = 19 // i- and 17 hexadecimal digits
	minInstanceIDLength   = 10 // i- and 8 (older IDs)
	instanceIDHexadecimal = "0123456789abcdef"
)

// InstanceStateChange is the detail of an EC2 state-change event.
type InstanceStateChange struct {
	InstanceID string `json:"instance-id"`
	State      string `json:"state"`
}

// ParseInstanceStateChange reads an EC2 state-change event's detail. A
// detail without a well-formed instance ID or state is bad input: no rule
// may act on it.
func ParseInstanceStateChange(ev *Event) (InstanceStateChange, error) {
	var d InstanceStateChange
	if ev.Source != SourceEC2 || ev.DetailType != DetailEC2StateChange {
		return d, inputErr("not an EC2 state-change event: %s %q", ev.Source, ev.DetailType)
	}
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return d, inputErr("EC2 state-change detail: %v", err)
	}
	if !validInstanceID(d.InstanceID) {
		return d, inputErr("EC2 state-change detail: instance-id %q is not an instance ID", d.InstanceID)
	}
	if d.State == "" {
		return d, inputErr("EC2 state-change detail for %s names no state", d.InstanceID)
	}
	return d, nil
}

func validInstanceID(id string) bool {
	hex := strings.TrimPrefix(id, instanceIDPrefix)
	return hex != id && len(id) >= minInstanceIDLength && len(id) <= maxInstanceIDLength &&
		strings.Trim(hex, instanceIDHexadecimal) == ""
}
