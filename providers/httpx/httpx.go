// Package httpx is the HTTP plumbing the provider clients share: retries with
// backoff on 429, 5xx and network errors, a record of each exchange for the
// invoice timeline, and a cache for access tokens.
package httpx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"ankara/models"
)

// Client sends requests to one provider.
type Client struct {
	HTTP        *http.Client
	Provider    models.ProviderName
	MaxAttempts int                             // total tries for a retryable request; default 4
	Backoff     func(attempt int) time.Duration // wait before try attempt+1; default 200ms·2^attempt
	Log         *slog.Logger
}

// Request is one call to a provider API.
type Request struct {
	Op     string // what the call does, for errors and logs: "create invoice"
	Method string
	URL    string
	Header http.Header
	Body   []byte
	// Retry allows the request to be sent again after a 429, a 5xx or a
	// network error. Only set it for requests that are idempotent at the
	// provider (GETs, or creates that carry an idempotency key).
	Retry bool
}

// Response is a provider's answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Exchange is the request and response as text, secrets removed, for
	// the invoice timeline.
	Exchange string
}

// OK reports a 2xx status.
func (r *Response) OK() bool { return r.Status >= 200 && r.Status < 300 }

const maxBody = 4 << 20

// Do sends the request, retrying where allowed. A network failure or a
// retryable status left after the last try comes back as a transient
// *models.ProviderError; any other status is returned for the caller to map.
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	attempts := c.MaxAttempts
	if attempts <= 0 {
		attempts = 4
	}
	if !req.Retry {
		attempts = 1
	}
	var lastErr error
	for attempt := 0; attempt < attempts; attempt++ {
		if attempt > 0 {
			wait := c.backoff(attempt - 1)
			if ra, ok := lastErr.(*retryAfter); ok && ra.d > 0 && ra.d < 30*time.Second {
				wait = ra.d
			}
			select {
			case <-ctx.Done():
				return nil, c.transient(req, 0, ctx.Err())
			case <-time.After(wait):
			}
		}
		resp, err := c.once(ctx, req)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if resp.Status == http.StatusTooManyRequests || resp.Status >= 500 {
			lastErr = &retryAfter{resp: resp, d: parseRetryAfter(resp.Header.Get("Retry-After"))}
			continue
		}
		return resp, nil
	}
	var ra *retryAfter
	if errors.As(lastErr, &ra) {
		if !req.Retry {
			return ra.resp, nil // let the caller map a one-shot call's error body
		}
		return ra.resp, &models.ProviderError{Provider: c.Provider, Op: req.Op, HTTPStatus: ra.resp.Status, Message: snippet(ra.resp.Body), Err: errTryLater}
	}
	return nil, c.transient(req, 0, lastErr)
}

var errTryLater = errors.New("the provider is busy or failing; try again later")

type retryAfter struct {
	resp *Response
	d    time.Duration
}

func (r *retryAfter) Error() string { return fmt.Sprintf("HTTP %d", r.resp.Status) }

func (c *Client) transient(req Request, status int, err error) error {
	return &models.ProviderError{Provider: c.Provider, Op: req.Op, HTTPStatus: status, Message: "could not reach the provider", Err: err}
}

func (c *Client) backoff(attempt int) time.Duration {
	if c.Backoff != nil {
		return c.Backoff(attempt)
	}
	return 200 * time.Millisecond << attempt
}

func (c *Client) once(ctx context.Context, req Request) (*Response, error) {
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	for k, vs := range req.Header {
		for _, v := range vs {
			hr.Header.Add(k, v)
		}
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 20 * time.Second}
	}
	start := time.Now()
	res, err := hc.Do(hr)
	if err != nil {
		if c.Log != nil {
			c.Log.Warn("provider call failed", "provider", c.Provider, "op", req.Op, "err", err)
		}
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if c.Log != nil {
		c.Log.Debug("provider call", "provider", c.Provider, "op", req.Op, "status", res.StatusCode, "ms", time.Since(start).Milliseconds())
	}
	return &Response{Status: res.StatusCode, Header: res.Header, Body: b, Exchange: FormatExchange(req, res.StatusCode, b)}, nil
}

// secretHeader reports a header never written to the timeline: the
// standard credential headers, and any header whose name says it carries a
// key, secret, token or password — so a provider's own credential header
// (Ocp-Apim-Subscription-Key, irembopay-secretKey, x-ibm-client-secret, …)
// is hidden without this package having to know each provider.
func secretHeader(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Authorization", "Proxy-Authorization", "Cookie":
		return true
	}
	n := strings.ToLower(name)
	for _, w := range []string{"key", "secret", "token", "password"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// FormatExchange writes a request and its response as text with credentials
// masked, for the invoice timeline.
func FormatExchange(req Request, status int, resp []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", req.Method, req.URL)
	keys := make([]string, 0, len(req.Header))
	for k := range req.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.Join(req.Header[k], ", ")
		if secretHeader(k) {
			v = "[hidden]"
		}
		fmt.Fprintf(&b, "%s: %s\n", k, v)
	}
	if len(req.Body) > 0 {
		b.WriteString("\n")
		b.Write(req.Body)
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\n→ HTTP %d\n", status)
	if len(resp) > 0 {
		b.Write(resp)
		b.WriteString("\n")
	}
	return b.String()
}

func parseRetryAfter(s string) time.Duration {
	if s == "" {
		return 0
	}
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(s); err == nil {
		return time.Until(t)
	}
	return 0
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// Token is a cached access token.
type Token struct {
	Value   string
	Expires time.Time
	// Extra carries provider-specific values that came with the token
	// (e.g. a rotated refresh token).
	Extra map[string]string
}

// TokenCache keeps one access token per key (usually account id plus
// credentials) and renews it a margin before it expires. Concurrent callers
// for the same key share one fetch.
type TokenCache struct {
	// Margin is how long before expiry a token is renewed.
	Margin time.Duration
	Now    func() time.Time

	mu     sync.Mutex
	tokens map[string]Token
	locks  map[string]*sync.Mutex
}

// Get returns a valid token for key, calling fetch when there is none or it
// is about to expire.
func (tc *TokenCache) Get(ctx context.Context, key string, fetch func(ctx context.Context) (Token, error)) (Token, error) {
	tc.mu.Lock()
	if tc.tokens == nil {
		tc.tokens = map[string]Token{}
		tc.locks = map[string]*sync.Mutex{}
	}
	l, ok := tc.locks[key]
	if !ok {
		l = &sync.Mutex{}
		tc.locks[key] = l
	}
	tc.mu.Unlock()

	l.Lock()
	defer l.Unlock()
	now := time.Now()
	if tc.Now != nil {
		now = tc.Now()
	}
	tc.mu.Lock()
	t, ok := tc.tokens[key]
	tc.mu.Unlock()
	if ok && now.Add(tc.Margin).Before(t.Expires) {
		return t, nil
	}
	t, err := fetch(ctx)
	if err != nil {
		return Token{}, err
	}
	tc.mu.Lock()
	tc.tokens[key] = t
	tc.mu.Unlock()
	return t, nil
}

// Forget drops the token for key, e.g. after the provider answered 401.
func (tc *TokenCache) Forget(key string) {
	tc.mu.Lock()
	delete(tc.tokens, key)
	tc.mu.Unlock()
}
