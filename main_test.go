package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestServeHealthSecretAndShutdown starts `ankara serve` as make run does
// and checks health, readiness, the demo merchant, the generated secret
// (0600, never logged) and a graceful stop.
func TestServeHealthSecretAndShutdown(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	env := map[string]string{
		"ANKARA_ADDR": addr, "ANKARA_BASE_URL": "http://" + addr, "ANKARA_DATA_DIR": dir,
		"ANKARA_SANDBOX": "true", "ANKARA_DEMO_EMAIL": "demo@ankara.test", "ANKARA_DEMO_PASSWORD": "ankara-demo-2026",
	}
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, out) }()

	get := func(path string) (int, string) {
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "Demo merchant created") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server did not come up with the demo merchant:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz %d", code)
	}
	if code, body := get("/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz %d %s", code, body)
	}
	if !strings.Contains(out.String(), "demo@ankara.test / ankara-demo-2026") {
		t.Fatal("the demo credentials are not printed")
	}
	fi, err := os.Stat(filepath.Join(dir, "secret"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file mode %v, want 0600", fi.Mode().Perm())
	}
	secret, _ := os.ReadFile(filepath.Join(dir, "secret"))
	if s := strings.TrimSpace(string(secret)); len(s) < 32 || strings.Contains(out.String(), s) {
		t.Fatal("the secret is too short or appears in the log")
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server did not stop")
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Fatal("server still answers after shutdown")
	}

	// A restart keeps the secret (sessions and stored credentials survive).
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { done <- run(ctx2, []string{"serve"}, func(k string) string { return env[k] }, io.Discard) }()
	deadline = time.Now().Add(20 * time.Second)
	for {
		if code, _ := get("/readyz"); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("restart did not become ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The sandbox remembers the demo merchant's accounts across restarts:
	// every provider's connection test still passes.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	form := func(path string) url.Values {
		res, err := c.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		m := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindStringSubmatch(string(b))
		if m == nil {
			t.Fatalf("no form on %s", path)
		}
		return url.Values{"_csrf": {m[1]}}
	}
	f := form("/login")
	f.Set("email", "demo@ankara.test")
	f.Set("password", "ankara-demo-2026")
	if res, err := c.PostForm("http://"+addr+"/login", f); err != nil || res.Request.URL.Path != "/" {
		t.Fatalf("demo login after restart: %v", err)
	}
	for _, p := range []string{"momo", "irembopay", "monnify", "mobilepay"} {
		res, err := c.PostForm("http://"+addr+"/settings/providers/"+p+"/test", form("/settings/providers/"+p))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(b), "Connection works") {
			t.Errorf("%s sandbox account after a restart: connection test did not pass", p)
		}
	}
	cancel2()
	<-done
	again, _ := os.ReadFile(filepath.Join(dir, "secret"))
	if !bytes.Equal(secret, again) {
		t.Fatal("the secret changed across restarts")
	}
}

func TestConfigErrors(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"bad sandbox flag": {"ANKARA_SANDBOX": "maybe"},
		"bad base URL":     {"ANKARA_BASE_URL": "localhost:8080"},
		"short secret":     {"ANKARA_SECRET": "short"},
		"bad log level":    {"ANKARA_LOG_LEVEL": "loud"},
	} {
		if _, err := loadConfig(func(k string) string { return env[k] }); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	err := run(context.Background(), []string{"frobnicate"}, func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("unknown command: %v", err)
	}
}

// TestSandboxCommand serves only the simulators, so an app can be pointed
// at them through a provider account's base URL like at a real provider.
func TestSandboxCommand(t *testing.T) {
	addr := freeAddr(t)
	env := map[string]string{"ANKARA_ADDR": addr, "ANKARA_BASE_URL": "http://" + addr, "ANKARA_DATA_DIR": t.TempDir()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"sandbox"}, func(k string) string { return env[k] }, io.Discard) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Post("http://"+addr+"/sandbox/momo/collection/token/", "application/json", nil)
		if err == nil {
			res.Body.Close()
			// No subscription key: the simulator answers as MTN's gateway does.
			if res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("token without subscription key: %d, want 401", res.StatusCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sandbox did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if res, err := http.Get("http://" + addr + "/healthz"); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %v", err)
	}
	res, err := http.Get("http://" + addr + "/invoices")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("the sandbox command serves the dashboard too (%d)", res.StatusCode)
	}
}
