package lambdatest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// InvokePath is the emulator's invoke endpoint (the Lambda Invoke API path).
const InvokePath = "/2015-03-31/functions/function/invocations"

// Options says what to run.
type Options struct {
	// RIE is the emulator binary (see RIE) and Bootstrap the function's.
	RIE, Bootstrap string
	// Env is the function's whole environment (see LambdaEnv): the emulator
	// hands its own environment to the function, and nothing of the caller's
	// environment leaks in.
	Env map[string]string
	// Output receives the emulator's and the function's output (the
	// function's logs). Nil keeps it for Logs.
	Output io.Writer
}

// Function is one function running under its own emulator.
type Function struct {
	// URL is the invoke endpoint.
	URL       string
	bootstrap string
	cmd       *exec.Cmd
	exited    chan struct{}
	out       *lockedBuffer

	mu          sync.Mutex // one invocation at a time, as a Lambda execution environment
	invocations []Invocation
	stopOnce    sync.Once
}

// Invocation is the outcome of one invoke.
type Invocation struct {
	Status int
	Body   []byte
	// FunctionError is what Lambda reports as X-Amz-Function-Error: the
	// handler returned an error, panicked, timed out, or the runtime failed
	// to start. ErrorType and ErrorMessage come from the error payload.
	FunctionError bool
	ErrorType     string
	ErrorMessage  string
	Duration      time.Duration
}

// Start runs the function under the emulator on free loopback ports and
// waits until the emulator answers. The function itself starts (its cold
// start) on the first invoke, as in Lambda.
func Start(ctx context.Context, o Options) (*Function, error) {
	var last error
	for attempt := 0; attempt < 3; attempt++ { // a free port can be taken between probe and bind
		f, err := start(ctx, o)
		if err == nil {
			return f, nil
		}
		last = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, last
}

func start(ctx context.Context, o Options) (*Function, error) {
	if o.RIE == "" || o.Bootstrap == "" {
		return nil, errors.New("lambdatest: RIE and Bootstrap are required")
	}
	for _, p := range []string{o.RIE, o.Bootstrap} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("lambdatest: %w", err)
		}
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	api := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
	cmd := exec.Command(o.RIE, "--log-level", "error",
		"--runtime-interface-emulator-address", addr, "--runtime-api-address", api, o.Bootstrap)
	cmd.Dir = filepath.Dir(o.Bootstrap) // the task root, as /var/task in Lambda
	cmd.Env = envList(o.Env)
	// Its own process group, so Stop ends the emulator with whatever it
	// started; and killed with the caller should the caller die first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	f := &Function{URL: "http://" + addr + InvokePath, bootstrap: o.Bootstrap, cmd: cmd,
		exited: make(chan struct{}), out: &lockedBuffer{}}
	var w io.Writer = f.out
	if o.Output != nil {
		w = io.MultiWriter(f.out, o.Output)
	}
	cmd.Stdout, cmd.Stderr = w, w
	// The runtime may hold the output pipe a moment after the emulator ends.
	cmd.WaitDelay = 3 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", o.RIE, err)
	}
	go func() {
		_ = cmd.Wait()
		close(f.exited)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return f, nil
		}
		select {
		case <-f.exited:
			return nil, fmt.Errorf("the emulator exited before answering on %s:\n%s", addr, f.out.String())
		case <-ctx.Done():
			f.Stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			f.Stop()
			return nil, fmt.Errorf("the emulator did not answer on %s within 15s:\n%s", addr, f.out.String())
		}
	}
}

// Invoke sends one payload, as the Lambda Invoke API (RequestResponse) does,
// and returns what came back. An error means the emulator could not be
// reached; a function error is reported in the Invocation.
func (f *Function) Invoke(ctx context.Context, payload []byte) (*Invocation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.URL, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	began := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("invoke: read the response: %w", err)
	}
	inv := Invocation{Status: resp.StatusCode, Body: body, Duration: time.Since(began)}
	inv.classify(resp.Header)
	f.invocations = append(f.invocations, inv)
	return &inv, nil
}

// classify tells a function error from a result. Lambda marks one with the
// X-Amz-Function-Error header; the RIE sets no such header but answers
// 200 with the {"errorMessage","errorType"} payload for a handler error and
// 502 with an empty body when the runtime fails to start.
func (inv *Invocation) classify(h http.Header) {
	var e struct {
		ErrorType    *string `json:"errorType"`
		ErrorMessage *string `json:"errorMessage"`
	}
	isErrPayload := json.Unmarshal(inv.Body, &e) == nil && e.ErrorType != nil && e.ErrorMessage != nil
	switch {
	case h.Get("X-Amz-Function-Error") != "" || isErrPayload:
		inv.FunctionError = true
		if isErrPayload {
			inv.ErrorType, inv.ErrorMessage = *e.ErrorType, *e.ErrorMessage
		}
	case inv.Status >= 500:
		inv.FunctionError, inv.ErrorType = true, "Runtime.ExitError"
		inv.ErrorMessage = strings.TrimSpace(fmt.Sprintf("%s %s", http.StatusText(inv.Status), inv.Body))
	case bytes.HasPrefix(inv.Body, []byte("Task timed out")):
		inv.FunctionError, inv.ErrorType, inv.ErrorMessage = true, "Sandbox.Timedout", string(inv.Body)
	}
}

// Logs is everything the emulator and the function wrote so far.
func (f *Function) Logs() string { return f.out.String() }

// WaitLogs waits up to timeout for the logs to contain s: the output reaches
// them through a pipe, possibly after the invoke's response.
func (f *Function) WaitLogs(s string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if strings.Contains(f.Logs(), s) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Invocations are the invocations so far, the first being the cold start.
func (f *Function) Invocations() []Invocation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.invocations)
}

// Cold is the duration of the first invoke, which includes the function's
// init (process start, configuration, AWS clients), measured by the caller
// end to end over HTTP.
func (f *Function) Cold() time.Duration {
	inv := f.Invocations()
	if len(inv) == 0 {
		return 0
	}
	return inv[0].Duration
}

// WarmMedian is the median duration of every invoke after the first.
func (f *Function) WarmMedian() time.Duration {
	inv := f.Invocations()
	if len(inv) < 2 {
		return 0
	}
	ds := make([]time.Duration, 0, len(inv)-1)
	for _, i := range inv[1:] {
		ds = append(ds, i.Duration)
	}
	return Median(ds)
}

// Median of durations; 0 for none.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Stop ends the emulator and the function's runtime and waits for them. The
// emulator starts the runtime in a process group of its own, so the runtime
// is found among the emulator's children and ended too.
func (f *Function) Stop() {
	f.stopOnce.Do(func() {
		pid := f.cmd.Process.Pid
		kids := children(pid)
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		select {
		case <-f.exited:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-f.exited
		}
		for _, k := range kids {
			f.endRuntime(k)
		}
	})
}

// endRuntime makes sure a child the emulator started (the bootstrap) is gone.
// It normally exits with the emulator, its Runtime API connection closed.
func (f *Function) endRuntime(pid int) {
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if !runs(pid, f.bootstrap) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// children lists a process's child PIDs (Linux /proc).
func children(pid int) []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// runs reports whether pid is a live (not zombie) process running exe.
func runs(pid int, exe string) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name: "pid (comm) S ...".
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return false
	}
	target, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return err == nil && strings.TrimSuffix(target, " (deleted)") == exe
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
