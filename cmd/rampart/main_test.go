package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/catalog"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

func cli(t *testing.T, stdin string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb, getenv)
	return code, out.String(), errb.String()
}

func sample(name string) string { return filepath.Join("..", "..", "events", name) }

func TestRulesJSONContract(t *testing.T) {
	code, out, _ := cli(t, "", nil, "rules", "--json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var rules []map[string]any
	if err := json.Unmarshal([]byte(out), &rules); err != nil {
		t.Fatal(err)
	}
	if len(rules) != len(catalog.All()) {
		t.Fatalf("%d rules, catalog has %d", len(rules), len(catalog.All()))
	}
	for _, r := range rules {
		for _, k := range []string{"id", "title", "severity", "resourceType", "function", "cloudtrail", "configRuleName", "parameters"} {
			if _, ok := r[k]; !ok {
				t.Errorf("%v lacks %q", r["id"], k)
			}
		}
		if r["id"] == "sg-open-world" {
			ct := r["cloudtrail"].(map[string]any)
			if ct["source"] != "ec2.amazonaws.com" || r["configRuleName"] != "rampart-sg-open-world" || r["function"] != "securitygroup" ||
				r["parameters"].(map[string]any)["authorizedTcpPorts"] != "80,443" {
				t.Errorf("sg-open-world = %v", r)
			}
		}
	}
}

func TestPlan(t *testing.T) {
	cases := []struct {
		file    string
		code    int
		verdict string
		api     string
	}{
		{"cloudtrail/ec2-authorize-sg-ingress-ssh-world.json", 0, "violation", "ec2:RevokeSecurityGroupIngress"},
		{"cloudtrail/cloudtrail-stop-logging.json", 0, "violation", "cloudtrail:StartLogging"},
		{"cloudtrail/ec2-authorize-sg-ingress-dryrun.json", 0, "ignored", ""},
		{"invalid/not-json.txt", 2, "", ""},
		{"invalid/authorize-bad-port.json", 2, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			// No credentials, no endpoint: plan must not need them.
			code, out, errOut := cli(t, "", map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}, "plan", "--json", sample(tc.file))
			if code != tc.code {
				t.Fatalf("exit %d, want %d (%s)", code, tc.code, errOut)
			}
			if tc.code != 0 {
				if !strings.Contains(errOut, "bad input") {
					t.Fatalf("stderr %q", errOut)
				}
				return
			}
			var res struct {
				Decisions []struct {
					Verdict string `json:"verdict"`
					Actions []struct {
						API, Outcome string
						Undo         *struct{ API string }
					} `json:"actions"`
				} `json:"decisions"`
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatal(err)
			}
			d := res.Decisions[0]
			if d.Verdict != tc.verdict {
				t.Fatalf("verdict %s", d.Verdict)
			}
			if tc.api != "" && (d.Actions[0].API != tc.api || d.Actions[0].Outcome != "planned" || d.Actions[0].Undo == nil) {
				t.Fatalf("actions %+v", d.Actions)
			}
		})
	}
	if code, _, _ := cli(t, "{}", nil, "plan", "-"); code != 2 {
		t.Fatalf("stdin garbage exit %d", code)
	}
	if code, _, _ := cli(t, "", nil, "plan"); code != 2 {
		t.Fatalf("no file exit %d", code)
	}
	if code, _, _ := cli(t, "", nil, "frobnicate"); code != 2 {
		t.Fatalf("unknown command exit %d", code)
	}
}

// TestRunAndUndoAgainstMoto runs the real engine end to end through the CLI.
func TestRunAndUndoAgainstMoto(t *testing.T) {
	s := mototest.Session(t)
	ctx := context.Background()
	c := awsclient.Client(s, ec2.NewFromConfig)
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	sg, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("app"), Description: aws.String("app"), VpcId: vpc.Vpc.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(sg.GroupId)
	_, err = c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}, {CidrIp: aws.String("10.0.0.0/8")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(sample("cloudtrail/ec2-authorize-sg-ingress-ssh-world.json"))
	if err != nil {
		t.Fatal(err)
	}
	event := strings.ReplaceAll(string(raw), "sg-0123456789abcdef0", id)
	ranges := func() []string {
		out, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
		if err != nil {
			t.Fatal(err)
		}
		var cidrs []string
		for _, p := range out.SecurityGroups[0].IpPermissions {
			for _, r := range p.IpRanges {
				cidrs = append(cidrs, aws.ToString(r.CidrIp))
			}
		}
		return cidrs
	}

	code, out, errOut := cli(t, event, nil, "run", "--mode", "report", "--json", "-")
	if code != 0 || !strings.Contains(out, `"outcome": "planned"`) || len(ranges()) != 2 {
		t.Fatalf("report run: exit %d %s %s ranges %v", code, out, errOut, ranges())
	}
	code, out, errOut = cli(t, event, nil, "run", "--mode", "enforce", "--json", "-")
	if code != 0 || !strings.Contains(out, `"outcome": "applied"`) {
		t.Fatalf("enforce run: exit %d %s %s", code, out, errOut)
	}
	if got := ranges(); len(got) != 1 || got[0] != "10.0.0.0/8" {
		t.Fatalf("after run: %v", got)
	}
	code, undoOut, errOut := cli(t, out, nil, "undo", "-")
	if code != 0 || !strings.Contains(undoOut, "applied  ec2:AuthorizeSecurityGroupIngress") {
		t.Fatalf("undo: exit %d %s %s", code, undoOut, errOut)
	}
	if got := ranges(); len(got) != 2 {
		t.Fatalf("after undo: %v", got)
	}
	if code, _, _ := cli(t, "nope", nil, "run", "-"); code != 2 {
		t.Fatalf("bad input exit %d", code)
	}
	if code, _, _ := cli(t, "{}", nil, "undo", "-"); code != 2 {
		t.Fatalf("bad undo input exit %d", code)
	}
}

func TestRunFailureExitsOne(t *testing.T) {
	raw, err := os.ReadFile(sample("cloudtrail/ec2-authorize-sg-ingress-ssh-world.json"))
	if err != nil {
		t.Fatal(err)
	}
	// STS (the account, resolved once) answers; nothing listens for EC2,
	// so the describe fails.
	t.Setenv("AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:1")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	code, out, errOut := cli(t, string(raw), nil, "run", "--mode", "enforce", "--json", "-")
	if code != 1 || !strings.Contains(out, `"verdict": "error"`) {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestRunAcceptsAConfigInvocation: `rampart run` takes a Config rule
// invocation exactly as the Lambda receives it (resultToken TESTMODE, the
// only token moto 5.2.1 accepts for PutEvaluations).
func TestRunAcceptsAConfigInvocation(t *testing.T) {
	s := mototest.Session(t)
	ctx := context.Background()
	c := awsclient.Client(s, ec2.NewFromConfig)
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.2.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	sg, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("db"), Description: aws.String("db"), VpcId: vpc.Vpc.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(3306), ToPort: aws.Int32(3306), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(sample("config/sg-change-notification.json"))
	if err != nil {
		t.Fatal(err)
	}
	event := strings.ReplaceAll(string(raw), "sg-0123456789abcdef0", aws.ToString(sg.GroupId))
	code, out, errOut := cli(t, event, nil, "run", "--mode", "enforce", "--json", "-")
	if code != 0 || !strings.Contains(out, `"verdict": "violation"`) || !strings.Contains(out, `"outcome": "applied"`) {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	got, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{aws.ToString(sg.GroupId)}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.SecurityGroups[0].IpPermissions); n != 0 {
		t.Fatalf("world-open MySQL still there: %+v", got.SecurityGroups[0].IpPermissions)
	}
}

// TestScheduleThatFindsNothing: a schedule tick whose sweep finds nothing
// says so and exits 0, offline (plan: what a live run would read) and live.
func TestScheduleThatFindsNothing(t *testing.T) {
	code, out, errOut := cli(t, "", map[string]string{"AWS_REGION": "us-east-1"}, "plan", sample("schedule/scheduled-event.json"))
	if code != 0 || !strings.Contains(out, "stale-credentials") || !strings.Contains(out, "a live run lists every AWS::IAM::User") {
		t.Fatalf("plan: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = cli(t, "", nil, "plan", sample("config/scheduled-notification.json"))
	if code != 0 || !strings.Contains(out, "cloudtrail-enabled") || !strings.Contains(out, "offline plan") {
		t.Fatalf("plan of a Config periodic invocation: exit %d\n%s\n%s", code, out, errOut)
	}
	mototest.Session(t) // an empty account: no IAM user to judge
	code, out, errOut = cli(t, "", nil, "run", sample("schedule/scheduled-event.json"))
	if code != 0 || !strings.Contains(out, "the sweep found no AWS::IAM::User to judge") || strings.Contains(out, "no rule here sweeps") {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestPlanWithoutARegionPlansWhereTheEventHappened: with no AWS_REGION and
// no RAMPART_REGIONS there is no deployment to be out of the scope of: the
// plan judges the event in its own region.
func TestPlanWithoutARegionPlansWhereTheEventHappened(t *testing.T) {
	env := map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": "", "RAMPART_REGIONS": "", "AWS_ENDPOINT_URL": "http://127.0.0.1:1"}
	code, out, errOut := cli(t, "", env, "plan", sample("cloudtrail/ec2-modify-instance-metadata-options-optional.json"))
	if code != 0 || strings.Contains(out, "out of scope") || !strings.Contains(out, "VIOLATION") || !strings.Contains(out, "planned  ec2:ModifyInstanceMetadataOptions") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = cli(t, "", env, "plan", sample("service/ec2-instance-running.json"))
	if code != 0 || strings.Contains(out, "out of scope") || strings.Count(out, "i-0608144705c8a6401") != 4 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	// An organization sweep message names its account and region: offline,
	// the plan says what a live sweep there would read (it used to panic).
	code, out, errOut = cli(t, "", env, "plan", sample("sqs/sweep-message.json"))
	if code != 0 || !strings.Contains(out, "offline plan: a live run lists every AWS::EC2::SecurityGroup in eu-west-1") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}
