package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ankara/models"
)

// fastClient retries quickly so the tests stay well under a second each.
func fastClient(attempts int) *Client {
	return &Client{
		HTTP:        &http.Client{Timeout: 5 * time.Second},
		Provider:    models.MoMo,
		MaxAttempts: attempts,
		Backoff:     func(int) time.Duration { return time.Millisecond },
	}
}

// scripted answers each call with the next status of script (the last one
// repeats) and counts the calls.
type scripted struct {
	mu      sync.Mutex
	script  []int
	headers []map[string]string // optional response headers per call
	calls   []time.Time
	bodies  []string
	reqHdrs []http.Header
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	i := len(s.calls)
	s.calls = append(s.calls, time.Now())
	s.bodies = append(s.bodies, string(b))
	s.reqHdrs = append(s.reqHdrs, r.Header.Clone())
	st := s.script[min(i, len(s.script)-1)]
	var h map[string]string
	if i < len(s.headers) {
		h = s.headers[i]
	}
	s.mu.Unlock()
	for k, v := range h {
		w.Header().Set(k, v)
	}
	w.WriteHeader(st)
	fmt.Fprintf(w, `{"call":%d,"status":%d}`, i+1, st)
}

func (s *scripted) n() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

func TestDoOneShotRequestIsNeverSentTwice(t *testing.T) {
	// A create without an idempotency key must not be repeated: a second
	// POST could make the payer pay twice.
	for _, status := range []int{500, 502, 503, 504, 429} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			s := &scripted{script: []int{status, 201}}
			srv := httptest.NewServer(s)
			defer srv.Close()
			c := fastClient(4)
			resp, err := c.Do(context.Background(), Request{Op: "create invoice", Method: http.MethodPost, URL: srv.URL, Body: []byte(`{"amount":100}`)})
			if got := s.n(); got != 1 {
				t.Fatalf("server saw %d calls, want exactly 1 for a Retry=false request", got)
			}
			// The one-shot answer comes back for the caller to map.
			if err != nil {
				t.Fatalf("err = %v, want the response returned for mapping", err)
			}
			if resp == nil || resp.Status != status || resp.OK() {
				t.Fatalf("resp = %+v, want status %d", resp, status)
			}
			if !strings.Contains(resp.Exchange, "POST "+srv.URL) || !strings.Contains(resp.Exchange, fmt.Sprintf("HTTP %d", status)) {
				t.Errorf("exchange lacks the request line or status:\n%s", resp.Exchange)
			}
		})
	}
}

func TestDoRetriesTransientStatusesThenSucceeds(t *testing.T) {
	s := &scripted{
		script:  []int{503, 503, 200},
		headers: []map[string]string{{"Retry-After": "1"}},
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := fastClient(4)
	start := time.Now()
	resp, err := c.Do(context.Background(), Request{Op: "fetch invoice", Method: http.MethodGet, URL: srv.URL, Retry: true})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if !resp.OK() || resp.Status != 200 || !strings.Contains(string(resp.Body), `"call":3`) {
		t.Fatalf("resp = %d %s, want the third call's 200", resp.Status, resp.Body)
	}
	if got := s.n(); got != 3 {
		t.Fatalf("server saw %d calls, want 3", got)
	}
	s.mu.Lock()
	gap1 := s.calls[1].Sub(s.calls[0])
	gap2 := s.calls[2].Sub(s.calls[1])
	s.mu.Unlock()
	// Retry-After: 1 replaces the 1ms backoff for the first wait only.
	if gap1 < 950*time.Millisecond {
		t.Errorf("second try came %v after the first; Retry-After: 1 not honoured", gap1)
	}
	if gap2 > 500*time.Millisecond {
		t.Errorf("third try came %v after the second; want the short backoff", gap2)
	}
	if elapsed > 3*time.Second {
		t.Errorf("Do took %v", elapsed)
	}
}

func TestDoRetryAfterIsBounded(t *testing.T) {
	// A provider asking for an hour's pause must not hang a request: the
	// ordinary backoff applies instead.
	for _, ra := range []string{"3600", "garbage", time.Now().Add(-time.Minute).UTC().Format(http.TimeFormat)} {
		t.Run(ra, func(t *testing.T) {
			s := &scripted{script: []int{429, 200}, headers: []map[string]string{{"Retry-After": ra}}}
			srv := httptest.NewServer(s)
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second) // fail fast rather than hang
			defer cancel()
			start := time.Now()
			resp, err := fastClient(3).Do(ctx, Request{Op: "status", Method: http.MethodGet, URL: srv.URL, Retry: true})
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("Do took %v; Retry-After %q should not be waited for", d, ra)
			}
			if err != nil || resp.Status != 200 {
				t.Fatalf("Do = %v, %v", resp, err)
			}
			if s.n() != 2 {
				t.Fatalf("calls = %d, want 2", s.n())
			}
		})
	}
}

func TestDoSendsSameBodyAndHeadersOnEveryTry(t *testing.T) {
	// A retried create carries its idempotency key and the same body, or
	// the provider cannot recognise the repeat.
	s := &scripted{script: []int{502, 500, 201}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	body := `{"amount":"1500","currency":"RWF"}`
	h := http.Header{}
	h.Set("X-Reference-Id", "ref-123")
	resp, err := fastClient(4).Do(context.Background(), Request{Op: "create invoice", Method: http.MethodPost, URL: srv.URL, Header: h, Body: []byte(body), Retry: true})
	if err != nil || resp.Status != 201 {
		t.Fatalf("Do = %v, %v", resp, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.bodies) != 3 {
		t.Fatalf("calls = %d, want 3", len(s.bodies))
	}
	for i := range s.bodies {
		if s.bodies[i] != body {
			t.Errorf("try %d body = %q, want %q", i+1, s.bodies[i], body)
		}
		if got := s.reqHdrs[i].Get("X-Reference-Id"); got != "ref-123" {
			t.Errorf("try %d X-Reference-Id = %q", i+1, got)
		}
	}
}

func TestDoAfterLastRetryableStatusIsTransientProviderError(t *testing.T) {
	for _, status := range []int{500, 503, 429} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			s := &scripted{script: []int{status}}
			srv := httptest.NewServer(s)
			defer srv.Close()
			resp, err := fastClient(3).Do(context.Background(), Request{Op: "fetch invoice", Method: http.MethodGet, URL: srv.URL, Retry: true})
			if got := s.n(); got != 3 {
				t.Fatalf("server saw %d calls, want MaxAttempts=3", got)
			}
			var pe *models.ProviderError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v (%T), want *models.ProviderError", err, err)
			}
			if models.IsPermanent(err) || pe.Permanent {
				t.Errorf("error is permanent; a busy provider must be retried later")
			}
			if pe.HTTPStatus != status || pe.Provider != models.MoMo || pe.Op != "fetch invoice" {
				t.Errorf("error = %+v, want status %d, provider and op set", pe, status)
			}
			if !strings.Contains(pe.Message, `"call":3`) {
				t.Errorf("message %q does not carry the last answer", pe.Message)
			}
			// The last answer still comes back, for the timeline.
			if resp == nil || resp.Status != status || resp.Exchange == "" {
				t.Errorf("resp = %+v, want the last response", resp)
			}
		})
	}
}

func TestDoDefaultsToFourAttempts(t *testing.T) {
	s := &scripted{script: []int{500}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := fastClient(0)
	if _, err := c.Do(context.Background(), Request{Op: "x", Method: http.MethodGet, URL: srv.URL, Retry: true}); err == nil {
		t.Fatal("want an error")
	}
	if s.n() != 4 {
		t.Fatalf("calls = %d, want 4", s.n())
	}
}

func TestDoDoesNotRetryRefusals(t *testing.T) {
	// 4xx (other than 429) is the provider's answer; sending it again only
	// repeats the refusal.
	for _, status := range []int{400, 401, 404, 409, 422} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			s := &scripted{script: []int{status, 200}}
			srv := httptest.NewServer(s)
			defer srv.Close()
			resp, err := fastClient(4).Do(context.Background(), Request{Op: "fetch", Method: http.MethodGet, URL: srv.URL, Retry: true})
			if err != nil {
				t.Fatalf("err = %v; the caller maps a refusal", err)
			}
			if resp.Status != status || s.n() != 1 {
				t.Fatalf("status %d after %d calls, want %d after 1", resp.Status, s.n(), status)
			}
		})
	}
}

// hangUp accepts connections and closes them at once, counting them.
func hangUp(t *testing.T) (url string, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = new(atomic.Int32)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return "http://" + ln.Addr().String() + "/", accepted
}

func TestDoNetworkErrorIsTransient(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	hungURL, accepted := hangUp(t)

	cases := []struct {
		name      string
		url       string
		retry     bool
		wantConns int32 // -1: not counted
	}{
		{"closed server, retry", closedURL, true, -1},
		{"closed server, one shot", closedURL, false, -1},
		{"hang-up, retry", hungURL, true, 3},
		{"hang-up, one shot", hungURL, false, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			accepted.Store(0)
			resp, err := fastClient(3).Do(context.Background(), Request{Op: "create invoice", Method: http.MethodPost, URL: tc.url, Body: []byte("{}"), Retry: tc.retry})
			if resp != nil {
				t.Errorf("resp = %+v, want nil", resp)
			}
			var pe *models.ProviderError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v (%T), want *models.ProviderError", err, err)
			}
			if models.IsPermanent(err) || pe.HTTPStatus != 0 || pe.Err == nil || pe.Provider != models.MoMo {
				t.Errorf("error = %+v, want transient, no status, cause kept", pe)
			}
			if tc.wantConns >= 0 {
				if got := accepted.Load(); got != tc.wantConns {
					t.Errorf("connections = %d, want %d", got, tc.wantConns)
				}
			}
		})
	}
}

func TestDoContextCancelStopsRetries(t *testing.T) {
	t.Run("during backoff", func(t *testing.T) {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.WriteHeader(503)
		}))
		defer srv.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c := fastClient(5)
		c.Backoff = func(int) time.Duration {
			// The 503 is in; cancel while Do waits to try again.
			time.AfterFunc(20*time.Millisecond, cancel)
			return 30 * time.Second
		}
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, err = c.Do(ctx, Request{Op: "fetch", Method: http.MethodGet, URL: srv.URL, Retry: true})
		}()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatal("Do still waiting 2s after cancellation; it must stop the backoff")
		}
		if !errors.Is(err, context.Canceled) || models.IsPermanent(err) {
			t.Fatalf("err = %v, want a transient error wrapping context.Canceled", err)
		}
		var pe *models.ProviderError
		if !errors.As(err, &pe) {
			t.Fatalf("err %T is not a ProviderError", err)
		}
		if calls.Load() != 1 {
			t.Fatalf("calls = %d, want 1", calls.Load())
		}
	})
	t.Run("during the call", func(t *testing.T) {
		var calls atomic.Int32
		in := make(chan struct{}, 10)
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			in <- struct{}{}
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer srv.Close()
		defer close(release)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { <-in; cancel() }()
		start := time.Now()
		_, err := fastClient(5).Do(ctx, Request{Op: "fetch", Method: http.MethodGet, URL: srv.URL, Retry: true})
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Do returned after %v", d)
		}
		if !errors.Is(err, context.Canceled) || models.IsPermanent(err) {
			t.Fatalf("err = %v, want transient wrapping context.Canceled", err)
		}
		if calls.Load() != 1 {
			t.Fatalf("calls = %d, want 1: no try after cancellation", calls.Load())
		}
	})
}

func TestFormatExchangeHidesSecrets(t *testing.T) {
	secrets := map[string]string{
		"Authorization":             "Bearer eyJ-access-token-secret",
		"authorization":             "Basic dXNlcjpwYXNzd29yZA==",
		"Ocp-Apim-Subscription-Key": "sub-key-0123456789abcdef",
		"ocp-apim-subscription-key": "sub-key-lowercase-value",
		"irembopay-secretKey":       "sk_live_irembo_secret",
		"x-ibm-client-secret":       "ibm-client-secret-value",
		"Cookie":                    "session=cookie-secret",
		// A provider added later names its own credential header: it is
		// hidden without httpx knowing that provider.
		"X-Merchant-Api-Token": "future-provider-token",
	}
	for name, value := range secrets {
		t.Run(name, func(t *testing.T) {
			// As built with Set (canonical) and as a raw map key.
			for _, h := range []http.Header{{name: {value}}, func() http.Header { h := http.Header{}; h.Set(name, value); return h }()} {
				h.Set("X-Reference-Id", "ref-visible")
				out := FormatExchange(Request{Method: "POST", URL: "https://api.example/collection", Header: h, Body: []byte(`{"amount":5}`)}, 202, []byte(`{"ok":true}`))
				if strings.Contains(out, value) {
					t.Fatalf("secret %q leaked:\n%s", value, out)
				}
				if !strings.Contains(out, "[hidden]") {
					t.Errorf("no [hidden] marker:\n%s", out)
				}
				for _, want := range []string{"POST https://api.example/collection", "X-Reference-Id: ref-visible", `{"amount":5}`, "HTTP 202", `{"ok":true}`} {
					if !strings.Contains(out, want) {
						t.Errorf("exchange lacks %q:\n%s", want, out)
					}
				}
			}
		})
	}
}

func TestDoExchangeHidesSecrets(t *testing.T) {
	s := &scripted{script: []int{200}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	h := http.Header{}
	h.Set("Authorization", "Bearer tok-SECRET-1")
	h.Set("Ocp-Apim-Subscription-Key", "sub-SECRET-2")
	h.Set("irembopay-secretKey", "sk-SECRET-3")
	resp, err := fastClient(1).Do(context.Background(), Request{Op: "get", Method: http.MethodGet, URL: srv.URL, Header: h})
	if err != nil {
		t.Fatal(err)
	}
	// The provider received the real values...
	s.mu.Lock()
	got := s.reqHdrs[0]
	s.mu.Unlock()
	if got.Get("Authorization") != "Bearer tok-SECRET-1" || got.Get("Irembopay-Secretkey") != "sk-SECRET-3" {
		t.Fatalf("provider got headers %v", got)
	}
	// ...the timeline did not.
	if strings.Contains(resp.Exchange, "SECRET") {
		t.Fatalf("exchange leaks a secret:\n%s", resp.Exchange)
	}
}

func TestTokenCacheConcurrentCallersShareOneFetch(t *testing.T) {
	tc := &TokenCache{Margin: time.Minute}
	var fetches atomic.Int32
	fetch := func(ctx context.Context) (Token, error) {
		fetches.Add(1)
		time.Sleep(20 * time.Millisecond) // long enough for the others to queue
		return Token{Value: "tok", Expires: time.Now().Add(time.Hour)}, nil
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			tok, err := tc.Get(context.Background(), "acct-1|cred", fetch)
			if err == nil && tok.Value != "tok" {
				err = fmt.Errorf("token %q", tok.Value)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("fetches = %d, want 1", n)
	}
	// Another key has its own token.
	if _, err := tc.Get(context.Background(), "acct-2|cred", fetch); err != nil {
		t.Fatal(err)
	}
	if n := fetches.Load(); n != 2 {
		t.Fatalf("fetches = %d after a second key, want 2", n)
	}
}

func TestTokenCacheRenewsWithinMargin(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		at        time.Duration // time of the second Get, after t0
		wantFetch bool
	}{
		{"fresh", 5 * time.Minute, false},
		{"just outside margin", 8*time.Minute + 59*time.Second, false},
		{"inside margin", 9*time.Minute + 30*time.Second, true},
		{"at margin edge", 9 * time.Minute, true},
		{"expired", 11 * time.Minute, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			now := t0
			tc := &TokenCache{Margin: time.Minute, Now: func() time.Time { return now }}
			n := 0
			fetch := func(context.Context) (Token, error) {
				n++
				return Token{Value: fmt.Sprint("tok", n), Expires: now.Add(10 * time.Minute)}, nil
			}
			if tok, err := tc.Get(context.Background(), "k", fetch); err != nil || tok.Value != "tok1" {
				t.Fatalf("first Get = %v, %v", tok, err)
			}
			now = t0.Add(c.at)
			tok, err := tc.Get(context.Background(), "k", fetch)
			if err != nil {
				t.Fatal(err)
			}
			want := "tok1"
			if c.wantFetch {
				want = "tok2"
			}
			if tok.Value != want {
				t.Fatalf("token = %q, want %q", tok.Value, want)
			}
		})
	}
}

func TestTokenCacheForgetForcesFetch(t *testing.T) {
	tc := &TokenCache{Margin: time.Minute}
	n := 0
	fetch := func(context.Context) (Token, error) {
		n++
		return Token{Value: fmt.Sprint("tok", n), Expires: time.Now().Add(time.Hour), Extra: map[string]string{"refresh_token": "r"}}, nil
	}
	tc.Forget("k") // on an empty cache: no panic
	if tok, _ := tc.Get(context.Background(), "k", fetch); tok.Value != "tok1" || tok.Extra["refresh_token"] != "r" {
		t.Fatalf("token = %+v", tok)
	}
	if tok, _ := tc.Get(context.Background(), "other", fetch); tok.Value != "tok2" {
		t.Fatalf("token = %+v", tok)
	}
	tc.Forget("k") // e.g. after a 401
	if tok, _ := tc.Get(context.Background(), "k", fetch); tok.Value != "tok3" {
		t.Fatalf("after Forget token = %q, want a fresh one", tok.Value)
	}
	// Forget is per key.
	if tok, _ := tc.Get(context.Background(), "other", fetch); tok.Value != "tok2" {
		t.Fatalf("other key token = %q, want the cached tok2", tok.Value)
	}
}

func TestTokenCacheFetchErrorIsReturnedNotCached(t *testing.T) {
	tc := &TokenCache{Margin: time.Minute}
	boom := errors.New("token endpoint said 500")
	calls := 0
	fetch := func(context.Context) (Token, error) {
		calls++
		if calls == 1 {
			// A half-read answer: a token-looking value with an expiry.
			return Token{Value: "partial", Expires: time.Now().Add(time.Hour)}, boom
		}
		return Token{Value: "good", Expires: time.Now().Add(time.Hour)}, nil
	}
	tok, err := tc.Get(context.Background(), "k", fetch)
	if !errors.Is(err, boom) || tok.Value != "" {
		t.Fatalf("Get = %+v, %v; want the fetch error and no token", tok, err)
	}
	tok, err = tc.Get(context.Background(), "k", fetch)
	if err != nil || tok.Value != "good" || calls != 2 {
		t.Fatalf("Get = %+v, %v after %d fetches; the error must not be cached", tok, err, calls)
	}
}

func TestTokenCachePassesContextToFetch(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	tc := &TokenCache{}
	_, _ = tc.Get(ctx, "k", func(got context.Context) (Token, error) {
		if got.Value(key{}) != "v" {
			t.Error("fetch did not get the caller's context")
		}
		return Token{Value: "t", Expires: time.Now().Add(time.Hour)}, nil
	})
}
