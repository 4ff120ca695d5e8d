package lambdatest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/awsclient/sdkconfig"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

// TestColdStartSideBySide measures the cold first invoke (the function's
// init and its first event) and the warm median of Rampart's securitygroup
// function against a Python/boto3 handler doing the same remediation (revoke
// a world-open SSH rule; testdata/python-sg) and against the least a Go
// handler can do for it (testdata/go-minimal-sg: the floor), each under the
// RIE against one moto, in interleaved rounds so that the machine's load hits
// all alike. It reports numbers and asserts no timing.
//
// Opt-in (it takes minutes): RAMPART_COLDSTART_ROUNDS=<n>. Further Go
// bootstraps to compare (an older build, for a before/after) in
// RAMPART_COLDSTART_BOOTSTRAPS="name=/path/to/bootstrap,...". The Python side
// needs a python3 with boto3 on PATH; it is left out, with a note, without.
func TestColdStartSideBySide(t *testing.T) {
	rounds, err := strconv.Atoi(os.Getenv("RAMPART_COLDSTART_ROUNDS"))
	if err != nil || rounds <= 0 {
		t.Skip("set RAMPART_COLDSTART_ROUNDS to run the comparison")
	}
	srv, err := mototest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	for k, v := range srv.Env() {
		t.Setenv(k, v)
	}
	sess, err := sdkconfig.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rie, fns := Binaries(t)
	contestants := map[string]string{"rampart": fns["securitygroup"]}
	for _, kv := range strings.Split(os.Getenv("RAMPART_COLDSTART_BOOTSTRAPS"), ",") {
		if name, path, ok := strings.Cut(kv, "="); ok {
			contestants[name] = path
		}
	}
	minimal, err := BuildPackages(context.Background(), mustRoot(t), t.TempDir(), map[string]string{"go-minimal": "./internal/testing/lambdatest/testdata/go-minimal-sg"})
	if err != nil {
		t.Fatal(err)
	}
	contestants["go-minimal"] = minimal["go-minimal"]
	if py := pythonBootstrap(t); py != "" {
		contestants["python-boto3"] = py
	}
	root := mustRoot(t)
	sample, err := os.ReadFile(filepath.Join(root, "events/cloudtrail/ec2-authorize-sg-ingress-ssh-world.json"))
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(contestants))
	for n := range contestants {
		names = append(names, n)
	}
	cold, warm := map[string][]time.Duration{}, map[string][]time.Duration{}
	const warmInvokes = 10
	for r := range rounds {
		for i := range names {
			name := names[(i+r)%len(names)] // rotate who goes first
			group := seedOpenSSH(t, sess, fmt.Sprintf("%s-%d", name, r))
			payload := []byte(strings.ReplaceAll(string(sample), "sg-0123456789abcdef0", group))
			env := Merge(LambdaEnv("securitygroup"), srv.Env(), Deployment{Mode: "enforce"}.Env())
			f, err := Start(context.Background(), Options{RIE: rie, Bootstrap: contestants[name], Env: env})
			if err != nil {
				t.Fatal(err)
			}
			for range 1 + warmInvokes {
				inv, err := f.Invoke(context.Background(), payload)
				if err != nil || inv.FunctionError {
					f.Stop()
					t.Fatalf("%s: %v %s %s\n%s", name, err, inv.ErrorType, inv.ErrorMessage, f.Logs())
				}
			}
			f.Stop()
			if stillOpen(t, sess, group) {
				t.Fatalf("%s left %s open: %s", name, group, f.Invocations()[0].Body)
			}
			cold[name] = append(cold[name], f.Cold())
			warm[name] = append(warm[name], f.WarmMedian())
		}
	}
	base := Median(cold["python-boto3"])
	for _, n := range names {
		ratio := ""
		if base > 0 {
			ratio = fmt.Sprintf(", %.3f× python-boto3's cold", float64(Median(cold[n]))/float64(base))
		}
		if floor := Median(cold["go-minimal"]); floor > 0 {
			ratio += fmt.Sprintf(", %.2f× go-minimal's", float64(Median(cold[n]))/float64(floor))
		}
		t.Logf("%-14s cold median %7.1f ms (min %6.1f, max %6.1f), warm median %5.1f ms, %d rounds%s", n,
			ms(Median(cold[n])), ms(minOf(cold[n])), ms(maxOf(cold[n])), ms(Median(warm[n])), rounds, ratio)
	}
}

func mustRoot(t *testing.T) string {
	t.Helper()
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func minOf(ds []time.Duration) time.Duration {
	m := ds[0]
	for _, d := range ds {
		m = min(m, d)
	}
	return m
}

func maxOf(ds []time.Duration) time.Duration {
	m := ds[0]
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}

// pythonBootstrap writes a bootstrap that runs testdata/python-sg with a
// python3 that has boto3, or returns "" (and says so) when there is none.
func pythonBootstrap(t *testing.T) string {
	out, err := exec.Command("python3", "-c", "import boto3, sys; print(sys.executable)").Output()
	if err != nil {
		t.Logf("no python3 with boto3: the Python side is left out (%v)", err)
		return ""
	}
	handler, err := filepath.Abs("testdata/python-sg/handler.py")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\nexec %q %q\n", strings.TrimSpace(string(out)), handler)
	p := filepath.Join(dir, "bootstrap")
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func seedOpenSSH(t *testing.T, s *awsclient.Session, name string) string {
	c := awsclient.Client(s, ec2.NewFromConfig)
	out, err := c.CreateSecurityGroup(context.Background(), &ec2.CreateSecurityGroupInput{GroupName: aws.String("cold-" + name), Description: aws.String("cold start")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AuthorizeSecurityGroupIngress(context.Background(), &ec2.AuthorizeSecurityGroupIngressInput{GroupId: out.GroupId,
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.GroupId)
}

func stillOpen(t *testing.T, s *awsclient.Session, group string) bool {
	out, err := awsclient.Client(s, ec2.NewFromConfig).DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{group}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out.SecurityGroups[0].IpPermissions) // ingress only: egress is open by default
	return strings.Contains(string(b), "0.0.0.0/0")
}
