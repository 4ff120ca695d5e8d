package lambdatest

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-aws/rampart/internal/exemption"

	"github.com/rampart-aws/rampart/internal/engine"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		header   string
		body     string
		fnErr    bool
		errType  string
		errMatch string
	}{
		{"result", 200, "", `{"decisions":[]}`, false, "", ""},
		{"rejected is a result", 200, "", `{"decisions":[],"rejected":"bad input"}`, false, "", ""},
		{"handler error (RIE: 200, no header)", 200, "", `{"errorMessage":"boom","errorType":"wrapError"}`, true, "wrapError", "boom"},
		{"handler error (Lambda: header)", 200, "Unhandled", `{"errorMessage":"boom","errorType":"errorString"}`, true, "errorString", "boom"},
		{"runtime failed to start (RIE: 502, empty)", 502, "", ``, true, "Runtime.ExitError", "Bad Gateway"},
		{"timeout", 200, "", `Task timed out after 1.00 seconds`, true, "Sandbox.Timedout", "timed out"},
		{"a string result", 200, "", `"errorType"`, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := Invocation{Status: tt.status, Body: []byte(tt.body)}
			h := http.Header{}
			if tt.header != "" {
				h.Set("X-Amz-Function-Error", tt.header)
			}
			inv.classify(h)
			if inv.FunctionError != tt.fnErr || inv.ErrorType != tt.errType || !strings.Contains(inv.ErrorMessage, tt.errMatch) {
				t.Fatalf("got %+v", inv)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	ms := time.Millisecond
	for _, tt := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{5 * ms}, 5 * ms},
		{[]time.Duration{9 * ms, 1 * ms, 5 * ms}, 5 * ms},
		{[]time.Duration{4 * ms, 1 * ms, 2 * ms, 8 * ms}, 3 * ms},
	} {
		if got := Median(tt.in); got != tt.want {
			t.Errorf("Median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestMutating(t *testing.T) {
	calls := []string{
		"DescribeSecurityGroups", "RevokeSecurityGroupIngress",
		"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.GetTrailStatus",
		"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.StartLogging",
		"GET /bucket?policy", "PUT /bucket?publicAccessBlock", "HEAD /bucket", "DELETE /bucket?policy",
		"ListTags", "LookupEvents", "PutEvaluations", "GenerateCredentialReport", "BatchGetResourceConfig",
	}
	want := []string{"RevokeSecurityGroupIngress", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.StartLogging",
		"PUT /bucket?publicAccessBlock", "DELETE /bucket?policy", "PutEvaluations"}
	if got := Mutating(calls); !slices.Equal(got, want) {
		t.Fatalf("Mutating = %v\nwant       %v", got, want)
	}
	want = slices.DeleteFunc(want, func(c string) bool { return c == "PutEvaluations" })
	if got := Changes(append(calls, "StarlingDoveService.PutEvaluations", "Publish")); !slices.Equal(got, want) {
		t.Fatalf("Changes = %v\nwant      %v", got, want)
	}
}

func TestDeploymentEnvIsWhatTheEngineReads(t *testing.T) {
	d := Deployment{
		Mode:       engine.Enforce,
		RuleModes:  map[string]engine.Mode{"b-rule": engine.Report, "a-rule": engine.Enforce},
		Params:     map[string]map[string]string{"a-rule": {"ports": "22"}},
		OwnRoles:   []string{"arn:aws:iam::123456789012:role/rampart-a", "arn:aws:iam::123456789012:role/rampart/rampart-b"},
		HomeRegion: "eu-west-1",
		Regions:    []string{"eu-west-1", "us-east-1"},
		OrgID:      "o-abcdefghij",
		MemberRole: "rampart/rampart-member",
		SweepQueue: "https://sqs.eu-west-1.amazonaws.com/123456789012/rampart-sweeps",
		TopicARN:   "arn:aws:sns:us-east-1:123456789012:rampart",
		ExemptTag:  "x:exempt",
		Exemptions: []engine.Exemption{{Rule: "*", Resource: "sg-1", Reason: "lab", Owner: "me", Expires: "2099-01-01"}},
	}
	env := d.Env()
	if env[engine.EnvRuleModes] != "a-rule=enforce,b-rule=report" {
		t.Errorf("rule modes = %q", env[engine.EnvRuleModes])
	}
	cfg, err := engine.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := engine.Config{Mode: d.Mode, RuleModes: d.RuleModes, Params: d.Params, OwnRoles: d.OwnRoles,
		TopicARN: d.TopicARN, ExemptTag: d.ExemptTag, Exemptions: d.Exemptions,
		HomeRegion: d.HomeRegion, Regions: d.Regions, OrgID: d.OrgID, MemberRole: d.MemberRole, SweepQueueURL: d.SweepQueue,
		ExemptMaxDays: exemption.DefaultMaxDays, // not set by the deployment: the defaults
		Notify:        engine.NotifyConfig{FailureLimit: engine.DefaultFailureLimit, DigestRegions: cfg.Notify.DigestRegions}}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("read back %+v\nwant      %+v", cfg, want)
	}
	if got := (Deployment{}).Env(); len(got) != 0 {
		t.Fatalf("empty deployment = %v", got)
	}
}

func TestFunctionNames(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	names, err := FunctionNames(root)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(names, "securitygroup") || !slices.IsSorted(names) {
		t.Fatalf("functions = %v", names)
	}
}

// The harness itself, on a tiny function that needs no AWS: cold and warm
// invokes, a handler error, a failed cold start, the environment reaching
// the function and nothing else, and no process left behind.
var echo = struct {
	once sync.Once
	rie  string
	bin  string
	dir  string
	err  error
}{}

func TestMain(m *testing.M) {
	code := m.Run()
	if echo.dir != "" {
		os.RemoveAll(echo.dir)
	}
	os.Exit(code)
}

func echoFunction(t *testing.T) (rie, bin string) {
	t.Helper()
	if why := Supported(); why != "" {
		t.Skip(why)
	}
	if testing.Short() {
		t.Skip("builds a Lambda binary and the emulator")
	}
	echo.once.Do(func() {
		root, err := Root()
		if err != nil {
			echo.err = err
			return
		}
		dir, err := os.MkdirTemp("", "lambdatest-echo-")
		if err != nil {
			echo.err = err
			return
		}
		echo.dir = dir
		paths, err := BuildPackages(context.Background(), root, dir, map[string]string{"echo": "./internal/testing/lambdatest/testdata/echo"})
		if err != nil {
			echo.err = err
			return
		}
		echo.bin = paths["echo"]
		echo.rie, echo.err = RIE(context.Background(), root)
	})
	if echo.err != nil {
		t.Fatal(echo.err)
	}
	return echo.rie, echo.bin
}

func startEcho(t *testing.T, env map[string]string) *Function {
	t.Helper()
	rie, bin := echoFunction(t)
	f, err := Start(context.Background(), Options{RIE: rie, Bootstrap: bin, Env: Merge(LambdaEnv("echo"), env)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Stop()
		if t.Failed() {
			t.Log(f.Logs())
		}
	})
	return f
}

func invoke(t *testing.T, f *Function, payload string) *Invocation {
	t.Helper()
	inv, err := f.Invoke(context.Background(), []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestHarnessRunsAFunctionUnderTheEmulator(t *testing.T) {
	t.Setenv("LAMBDATEST_LEAK", "the caller's environment")
	f := startEcho(t, map[string]string{"ECHO_SETTING": "from the deployment"})
	inv := invoke(t, f, `{"echo":{"n":1}}`)
	if inv.FunctionError || inv.Status != 200 || string(inv.Body) != `{"echo":{"n":1}}` {
		t.Fatalf("echo = %+v (%s)", inv, inv.Body)
	}
	for name, want := range map[string]string{
		"ECHO_SETTING":             `{"set":true,"value":"from the deployment"}`,
		"LAMBDATEST_LEAK":          `{"set":false,"value":""}`,
		"AWS_LAMBDA_FUNCTION_NAME": `{"set":true,"value":"rampart-echo"}`,
	} {
		inv := invoke(t, f, `{"env":"`+name+`"}`)
		if string(inv.Body) != want {
			t.Errorf("env %s = %s, want %s", name, inv.Body, want)
		}
	}
	// The emulator sets the Runtime API address for the function.
	inv = invoke(t, f, `{"env":"AWS_LAMBDA_RUNTIME_API"}`)
	var got struct{ Value string }
	if err := json.Unmarshal(inv.Body, &got); err != nil || !strings.HasPrefix(got.Value, "127.0.0.1:") {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %s", inv.Body)
	}

	inv = invoke(t, f, `{"fail":"remediation failed"}`)
	if !inv.FunctionError || inv.ErrorMessage != "remediation failed" || inv.ErrorType == "" {
		t.Fatalf("handler error = %+v (%s)", inv, inv.Body)
	}
	// The execution environment survives a handler error.
	if inv := invoke(t, f, `{"echo":2}`); inv.FunctionError {
		t.Fatalf("after an error: %+v", inv)
	}
	if n := len(f.Invocations()); n != 7 || f.Cold() <= 0 || f.WarmMedian() <= 0 {
		t.Fatalf("%d invocations, cold %v, warm median %v", n, f.Cold(), f.WarmMedian())
	}
	t.Logf("echo: cold start %v, warm median %v", f.Cold(), f.WarmMedian())

	pid := f.cmd.Process.Pid
	kids := children(pid)
	if len(kids) == 0 {
		t.Fatal("the emulator started no runtime")
	}
	f.Stop()
	if alive(pid) {
		t.Errorf("the emulator (%d) still runs after Stop", pid)
	}
	for _, k := range kids {
		if runs(k, f.bootstrap) {
			t.Errorf("the runtime (%d) still runs after Stop", k)
		}
	}
}

// alive reports whether pid is a live, not zombie, process.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z'
}

func TestHarnessReportsAFailedColdStart(t *testing.T) {
	f := startEcho(t, map[string]string{"ECHO_FAIL_INIT": "1"})
	inv := invoke(t, f, `{"echo":1}`)
	if !inv.FunctionError || inv.Status != 502 {
		t.Fatalf("failed init = %+v (%s)", inv, inv.Body)
	}
	if !f.WaitLogs("init failed on purpose", 5*time.Second) {
		t.Fatalf("logs lack the function's output:\n%s", f.Logs())
	}
}
