// Package mototest runs moto_server, the emulated AWS that integration and
// end-to-end tests talk to through the real SDK clients (AWS_ENDPOINT_URL).
//
// It is test support only: production code never imports it. It starts one
// server per test binary on a free loopback port, resets its state per test,
// and counts the API calls a test makes through moto's request recorder.
package mototest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/awsclient/sdkconfig"
)

// Region is the region every test runs in.
const Region = "us-east-1"

// Account is moto's default account ID.
const Account = "123456789012"

// Server is a running moto_server.
type Server struct {
	URL       string
	cmd       *exec.Cmd
	recording string
	exited    chan struct{} // closed when the process has exited
}

// Start launches moto_server on a free loopback port and waits until it
// answers. Stop it with Stop.
func Start() (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, fmt.Errorf("moto_server not found on PATH (pip install 'moto[server]==5.2.1'): %w", err)
	}
	// The port is free when asked for but may be taken before moto binds it
	// (test binaries start servers in parallel): a server that exits, or a
	// port that answers as something else, is retried on another port.
	for range 5 {
		s, err := start(bin)
		if err == nil || !errors.Is(err, errPortTaken) {
			return s, err
		}
	}
	return nil, fmt.Errorf("moto_server: %w five times", errPortTaken)
}

var errPortTaken = errors.New("the port was taken before moto_server bound it")

func start(bin string) (*Server, error) {
	ctx := context.Background()
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.CommandContext(ctx, bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// The request recorder writes to a file in the working directory unless
	// told otherwise: keep it out of the package being tested.
	recording := filepath.Join(os.TempDir(), fmt.Sprintf("moto-recording-%d", port))
	cmd.Env = append(os.Environ(), "MOTO_RECORDER_FILEPATH="+recording)
	if os.Getenv("MOTO_LOG") == "" {
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	} else {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, recording: recording, exited: exited}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return nil, fmt.Errorf("port %d: %w", port, errPortTaken)
		default:
		}
		code, err := s.get(ctx, "/moto-api/data.json")
		switch {
		case err == nil && code == http.StatusOK:
			return s, nil
		case err == nil:
			s.Stop() // something else answers on the port
			return nil, fmt.Errorf("port %d answers %d: %w", port, code, errPortTaken)
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.Stop()
	return nil, fmt.Errorf("moto_server on port %d did not answer within 60s", port)
}

// get is a GET of path on the server: its status code.
func (s *Server) get(ctx context.Context, path string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Stop ends the server and its children.
func (s *Server) Stop() {
	if s == nil || s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	if s.exited != nil {
		<-s.exited
	} else {
		_ = s.cmd.Wait()
	}
	if s.recording != "" {
		_ = os.Remove(s.recording)
	}
}

// Env is the environment that points SDK clients (and child processes) at
// the server with moto's dummy credentials. It says explicitly what an
// emulator on a bare host:port needs (awsclient.EnvS3PathStyle), and names
// moto's account (AWS_ACCOUNT_ID, the SDK's standard variable): a Lambda
// under the emulator would otherwise take the account from the emulator's
// made-up function ARN (012345678912).
func (s *Server) Env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL":          s.URL,
		awsclient.EnvS3PathStyle:    "true",
		"AWS_ACCOUNT_ID":            Account,
		"AWS_ACCESS_KEY_ID":         "testing",
		"AWS_SECRET_ACCESS_KEY":     "testing",
		"AWS_SESSION_TOKEN":         "",
		"AWS_REGION":                Region,
		"AWS_DEFAULT_REGION":        Region,
		"AWS_EC2_METADATA_DISABLED": "true",
	}
}

// Reset clears all of moto's state.
func (s *Server) Reset() error { return s.post("/moto-api/reset") }

func (s *Server) post(path string) error {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, s.URL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("POST %s: %s", path, resp.Status)
	}
	return nil
}

// StartRecording clears moto's request recorder and starts recording.
func (s *Server) StartRecording() error {
	if err := s.post("/moto-api/recorder/reset-recording"); err != nil {
		return err
	}
	return s.post("/moto-api/recorder/start-recording")
}

// Record starts recording the requests made to the shared server (see
// Shared): read them with Server.Recorded. A failure to start fails the test.
func Record(t testing.TB) *Server {
	t.Helper()
	s := Shared(t)
	if err := s.StartRecording(); err != nil {
		t.Fatal(err)
	}
	return s
}

// Recorded is Calls for a test: a failure to read the recording fails it.
func (s *Server) Recorded(t testing.TB) []string {
	t.Helper()
	calls, err := s.Calls()
	if err != nil {
		t.Fatal(err)
	}
	return calls
}

// Calls stops recording and returns the API calls recorded, as
// "Service.Action" for query/JSON protocols or "METHOD path" for REST ones.
func (s *Server) Calls() ([]string, error) {
	if err := s.post("/moto-api/recorder/stop-recording"); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, s.URL+"/moto-api/recorder/download-recording", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var calls []string
	for _, line := range strings.Split(string(body), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var rec struct {
			Module  string            `json:"module"`
			Method  string            `json:"method"`
			Path    string            `json:"path"`
			URL     string            `json:"url"`
			Headers map[string]string `json:"headers"`
			Body    any               `json:"body"`
			// BodyEncoded says Body is base64: moto records form-encoded
			// (query protocol: EC2, IAM, SNS) bodies that way.
			BodyEncoded bool           `json:"body_encoded"`
			QS          map[string]any `json:"qs"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			return nil, fmt.Errorf("recorder line: %w", err)
		}
		if b, ok := rec.Body.(string); ok && rec.BodyEncoded {
			if raw, err := base64.StdEncoding.DecodeString(b); err == nil {
				rec.Body = string(raw)
			}
		}
		if rec.Path == "" && rec.URL != "" {
			if u, err := url.Parse(rec.URL); err == nil {
				rec.Path = u.Path
			}
		}
		calls = append(calls, describeCall(rec.Method, rec.Path, rec.Headers, rec.Body))
	}
	return calls, nil
}

func describeCall(method, path string, headers map[string]string, body any) string {
	for k, v := range headers {
		if strings.EqualFold(k, "X-Amz-Target") {
			return v
		}
	}
	if b, ok := body.(string); ok {
		for _, kv := range strings.Split(b, "&") {
			if strings.HasPrefix(kv, "Action=") {
				return strings.TrimPrefix(kv, "Action=")
			}
		}
	}
	return method + " " + path
}

var shared *Server

// Main runs a package's tests with one shared server: call it from TestMain.
// When moto_server is missing the tests fail (CI installs it), unless
// RAMPART_SKIP_MOTO=1 is set for a quick offline run.
func Main(m *testing.M) int {
	flag.Parse()
	// Fuzzing exercises pure decoders: its workers need no server.
	if os.Getenv("RAMPART_SKIP_MOTO") == "1" || flag.Lookup("test.fuzz").Value.String() != "" {
		return m.Run()
	}
	s, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mototest:", err)
		return 1
	}
	defer s.Stop()
	for k, v := range s.Env() {
		os.Setenv(k, v)
	}
	shared = s
	return m.Run()
}

// Shared is the server Main started. The test is skipped when there is none
// (RAMPART_SKIP_MOTO=1).
func Shared(t testing.TB) *Server {
	t.Helper()
	if shared == nil {
		t.Skip("moto_server not started (RAMPART_SKIP_MOTO=1)")
	}
	return shared
}

// Session resets moto and returns a live session against it.
func Session(t testing.TB) *awsclient.Session {
	t.Helper()
	s := Shared(t)
	if err := s.Reset(); err != nil {
		t.Fatalf("reset moto: %v", err)
	}
	sess, err := sdkconfig.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return sess
}
