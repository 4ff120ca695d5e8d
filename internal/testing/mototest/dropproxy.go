package mototest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// DropProxy stands between the SDK and moto and loses one response: the
// first request that matches is carried out by moto, but the proxy then
// cuts the connection without answering, as a network failure after the
// service acted would. The SDK sees no answer and retries; the retry reaches
// moto, which answers about a state the first attempt already changed.
// Every other request is forwarded untouched.
type DropProxy struct {
	// URL is the proxy's endpoint: give it to the SDK (config.WithBaseEndpoint).
	URL string

	mu      sync.Mutex
	match   func(*http.Request, []byte) bool
	dropped int
	seen    int
}

// DropFirst starts a proxy in front of the shared server that drops the
// response to the first request match accepts. It stops with the test.
func DropFirst(t testing.TB, match func(r *http.Request, body []byte) bool) *DropProxy {
	t.Helper()
	target := Shared(t).URL
	p := &DropProxy{match: match}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out, err := http.NewRequestWithContext(r.Context(), r.Method, target+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out.Header = r.Header.Clone()
		out.Host = r.Host
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		answer, err := io.ReadAll(resp.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		p.mu.Lock()
		drop := p.dropped == 0 && p.match(r, body)
		if drop {
			p.dropped++
		} else if p.match(r, body) {
			p.seen++
		}
		p.mu.Unlock()
		if drop {
			// moto has acted; the caller never hears of it.
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		for k, vs := range resp.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(answer)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// Dropped is how many responses the proxy lost (0 or 1).
func (p *DropProxy) Dropped() int { p.mu.Lock(); defer p.mu.Unlock(); return p.dropped }

// Retried counts the matching requests answered after the dropped one.
func (p *DropProxy) Retried() int { p.mu.Lock(); defer p.mu.Unlock(); return p.seen }

// Action matches query-protocol requests (EC2, IAM, SNS…) for one action,
// and JSON-protocol ones by their X-Amz-Target.
func Action(name string) func(*http.Request, []byte) bool {
	return func(r *http.Request, body []byte) bool {
		if t := r.Header.Get("X-Amz-Target"); t != "" {
			return strings.HasSuffix(t, "."+name)
		}
		for _, kv := range strings.Split(string(body), "&") {
			if kv == "Action="+name {
				return true
			}
		}
		return false
	}
}
