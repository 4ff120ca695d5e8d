package rule

import "github.com/rampart-aws/rampart/internal/trigger"

// InstanceType is an EC2 instance's CloudFormation/Config type.
const InstanceType = "AWS::EC2::Instance"

// EC2InstanceRunning selects the events of an instance entering the running
// state: a launch (or a start) judged seconds after it, not at Config's pace.
var EC2InstanceRunning = EventTrigger{
	Source:     trigger.SourceEC2,
	DetailType: trigger.DetailEC2StateChange,
	Detail:     map[string]any{"state": []any{trigger.EC2InstanceRunning}},
}

// RunningInstance names the instance of an EC2 state-change event that
// entered the running state; an event about any other state names none
// (the bus filters them, and a misrouted one must not act either).
func RunningInstance(ev *trigger.Event) ([]Target, error) {
	d, err := trigger.ParseInstanceStateChange(ev)
	if err != nil || d.State != trigger.EC2InstanceRunning {
		return nil, err
	}
	return []Target{{Type: InstanceType, ID: d.InstanceID, Region: ev.Region}}, nil
}
