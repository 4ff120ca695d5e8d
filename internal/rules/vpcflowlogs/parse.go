package vpcflowlogs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rampart-aws/rampart/internal/trigger"
)

// flowLogRef is one flow log ID as DeleteFlowLogs records it: a bare string
// ("fl-…"), EC2's XML-derived {"content": "fl-…", "tag": 1}, or an item
// {"flowLogId": "fl-…"}.
type flowLogRef string

// UnmarshalJSON implements json.Unmarshaler.
func (r *flowLogRef) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '{' {
		var item struct {
			Content   trigger.String `json:"content"`
			FlowLogID trigger.String `json:"flowLogId"`
		}
		if err := json.Unmarshal(data, &item); err != nil {
			return err
		}
		*r = flowLogRef(item.Content)
		if *r == "" {
			*r = flowLogRef(item.FlowLogID)
		}
		return nil
	}
	var s trigger.String
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	*r = flowLogRef(s)
	return nil
}

// deleteRequest holds every shape of DeleteFlowLogs requestParameters:
// the wrapped DeleteFlowLogsRequest.FlowLogId (one object or a list) and
// the flat flowLogId / flowLogIds lists.
type deleteRequest struct {
	Wrapped *struct {
		FlowLogID trigger.List[flowLogRef] `json:"FlowLogId"`
	} `json:"DeleteFlowLogsRequest"`
	FlowLogID  trigger.List[flowLogRef] `json:"flowLogId"`
	FlowLogIDs trigger.List[flowLogRef] `json:"flowLogIds"`
}

// parseDeleteFlowLogs reads the IDs of the deleted flow logs.
func parseDeleteFlowLogs(call *trigger.APICall) ([]string, error) {
	var req deleteRequest
	if err := json.Unmarshal(call.Request, &req); err != nil {
		return nil, fmt.Errorf("requestParameters: %w", err)
	}
	refs := slices.Concat(req.FlowLogID, req.FlowLogIDs)
	if req.Wrapped != nil {
		refs = append(refs, req.Wrapped.FlowLogID...)
	}
	var ids []string
	seen := map[string]bool{}
	for _, r := range refs {
		id := strings.TrimSpace(string(r))
		if id == "" || seen[id] {
			continue
		}
		if !strings.HasPrefix(id, "fl-") {
			return nil, fmt.Errorf("%q is not a flow log ID", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, errors.New("no flow log ID")
	}
	return ids, nil
}

// createVpcResponse is CreateVpc's responseElements: {"vpc": {"vpcId": …}},
// also seen wrapped in CreateVpcResponse.
type createVpcResponse struct {
	Vpc     *vpcItem `json:"vpc"`
	Wrapped *struct {
		Vpc *vpcItem `json:"vpc"`
	} `json:"CreateVpcResponse"`
}

type vpcItem struct {
	VpcID trigger.String `json:"vpcId"`
}

// parseCreateVpc reads the new VPC's ID from the response.
func parseCreateVpc(call *trigger.APICall) (string, error) {
	var resp createVpcResponse
	if err := json.Unmarshal(call.Response, &resp); err != nil {
		return "", fmt.Errorf("responseElements: %w", err)
	}
	item := resp.Vpc
	if item == nil && resp.Wrapped != nil {
		item = resp.Wrapped.Vpc
	}
	if item == nil || !strings.HasPrefix(string(item.VpcID), "vpc-") {
		return "", errors.New("responseElements names no vpc-… ID")
	}
	return string(item.VpcID), nil
}
