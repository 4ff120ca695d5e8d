// Command go-minimal-sg is the floor for the cold-start comparison in
// coldstart_test.go (never deployed): the least a Go Lambda can do for the
// remediation the Python handler (testdata/python-sg) and Rampart's
// securitygroup function do — one EC2 client from the environment's
// credentials, describe the group the event names, revoke its world-open
// permissions that cover port 22 — with no engine, no reporting, no retry
// or timeout settings and no other service linked.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

type event struct {
	Detail struct {
		EventID           string `json:"eventID"`
		RequestParameters struct {
			GroupID string `json:"groupId"`
		} `json:"requestParameters"`
	} `json:"detail"`
}

func main() {
	cfg := aws.Config{Region: os.Getenv("AWS_REGION"), Credentials: credentials.NewStaticCredentialsProvider(
		os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN"))}
	if e := os.Getenv("AWS_ENDPOINT_URL"); e != "" {
		cfg.BaseEndpoint = aws.String(e)
	}
	client := ec2.NewFromConfig(cfg) // once per cold start
	lambda.Start(func(ctx context.Context, ev event) (map[string]any, error) {
		group := ev.Detail.RequestParameters.GroupID
		if group == "" {
			return nil, errors.New("no groupId")
		}
		out, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{group}})
		if err != nil || len(out.SecurityGroups) != 1 {
			return nil, fmt.Errorf("describe %s: %w", group, err)
		}
		var revoke []ec2types.IpPermission
		for _, p := range out.SecurityGroups[0].IpPermissions {
			proto := aws.ToString(p.IpProtocol)
			if proto != "-1" && (proto != "tcp" || aws.ToInt32(p.FromPort) > 22 || aws.ToInt32(p.ToPort) < 22) {
				continue
			}
			var v4 []ec2types.IpRange
			var v6 []ec2types.Ipv6Range
			for _, r := range p.IpRanges {
				if aws.ToString(r.CidrIp) == "0.0.0.0/0" {
					v4 = append(v4, r)
				}
			}
			for _, r := range p.Ipv6Ranges {
				if aws.ToString(r.CidrIpv6) == "::/0" {
					v6 = append(v6, r)
				}
			}
			if len(v4)+len(v6) > 0 {
				revoke = append(revoke, ec2types.IpPermission{IpProtocol: p.IpProtocol, FromPort: p.FromPort, ToPort: p.ToPort, IpRanges: v4, Ipv6Ranges: v6})
			}
		}
		if len(revoke) > 0 {
			if _, err := client.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(group), IpPermissions: revoke}); err != nil {
				return nil, fmt.Errorf("revoke on %s: %w", group, err)
			}
		}
		verdict := "compliant"
		if len(revoke) > 0 {
			verdict = "violation"
		}
		decision := map[string]any{"rule": "sg-open-world", "resource": group, "verdict": verdict, "actions": len(revoke), "eventID": ev.Detail.EventID}
		line, _ := json.Marshal(decision)
		fmt.Println(string(line))
		return map[string]any{"decisions": []any{decision}}, nil
	})
}
