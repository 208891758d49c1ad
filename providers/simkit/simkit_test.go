package simkit

import (
	"bytes"
	"context"
	"encoding/json"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// hit is one request seen by the merchant.
type hit struct {
	at     time.Time
	method string
	ctype  string
	sig    string
	body   string
}

// merchant is a callback receiver answering with a script of statuses (the
// last one repeats).
type merchant struct {
	mu     sync.Mutex
	script []int
	hits   []hit
	got    chan struct{} // one send per request, never blocks
}

func newMerchant(t *testing.T, script ...int) (*merchant, *httptest.Server) {
	t.Helper()
	if len(script) == 0 {
		script = []int{http.StatusOK}
	}
	m := &merchant{script: script, got: make(chan struct{}, 100)}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return m, srv
}

func (m *merchant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	m.mu.Lock()
	st := m.script[min(len(m.hits), len(m.script)-1)]
	m.hits = append(m.hits, hit{at: time.Now(), method: r.Method, ctype: r.Header.Get("Content-Type"), sig: r.Header.Get("X-Signature"), body: string(b)})
	m.mu.Unlock()
	w.WriteHeader(st)
	m.got <- struct{}{}
}

func (m *merchant) all() []hit {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]hit(nil), m.hits...)
}

// waitHits waits until the merchant has seen n requests.
func (m *merchant) waitHits(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(3 * time.Second)
	for len(m.all()) < n {
		select {
		case <-m.got:
		case <-deadline:
			t.Fatalf("merchant saw %d requests, want %d", len(m.all()), n)
		}
	}
}

// waitDone waits for the dispatcher's deliveries, with a deadline.
func waitDone(t *testing.T, d *Dispatcher) {
	t.Helper()
	done := make(chan struct{})
	go func() { d.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("deliveries did not finish")
	}
}

// within fails the test if f does not return within limit (f keeps running).
func within(t *testing.T, limit time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(limit):
		t.Fatalf("%s still running after %v", what, limit)
	}
}

func newDispatcher(t *testing.T, schedule ...time.Duration) *Dispatcher {
	t.Helper()
	d := NewDispatcher(&http.Client{Timeout: 2 * time.Second}, schedule, quietLog())
	t.Cleanup(d.Close)
	return d
}

func cb(url, body string) Callback {
	return Callback{URL: url, Body: []byte(body), Header: http.Header{"X-Signature": {"sig-" + body}}}
}

func TestDeliverRetriesPerScheduleAndCountsOnce(t *testing.T) {
	m, srv := newMerchant(t, 500, 200)
	d := newDispatcher(t, 30*time.Millisecond, 30*time.Millisecond, 30*time.Millisecond)
	d.Send(cb(srv.URL, `{"status":"paid"}`))
	waitDone(t, d)

	hits := m.all()
	if len(hits) != 2 {
		t.Fatalf("merchant saw %d tries, want 2 (500 then 200, then stop)", len(hits))
	}
	if gap := hits[1].at.Sub(hits[0].at); gap < 30*time.Millisecond {
		t.Errorf("retry came after %v, schedule says 30ms", gap)
	}
	if got := d.Delivered(); got != 1 {
		t.Errorf("Delivered = %d, want 1", got)
	}
	for i, h := range hits {
		if h.method != http.MethodPost || h.ctype != "application/json" || h.body != `{"status":"paid"}` || h.sig != `sig-{"status":"paid"}` {
			t.Errorf("try %d = %+v; want the same POST, JSON, body and signature", i+1, h)
		}
	}
}

func TestDeliverGivesUpAfterSchedule(t *testing.T) {
	cases := []struct {
		name     string
		schedule []time.Duration
		want     int
	}{
		{"no schedule: one try", nil, 1},
		{"two waits: three tries", []time.Duration{5 * time.Millisecond, 5 * time.Millisecond}, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, srv := newMerchant(t, 503)
			d := newDispatcher(t, c.schedule...)
			d.Send(Callback{URL: srv.URL, Method: http.MethodPut, Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, Body: []byte("a=1")})
			waitDone(t, d)
			hits := m.all()
			if len(hits) != c.want {
				t.Fatalf("tries = %d, want %d", len(hits), c.want)
			}
			if hits[0].method != http.MethodPut || hits[0].ctype != "application/x-www-form-urlencoded" {
				t.Errorf("hit = %+v; method and content type must be kept", hits[0])
			}
			if d.Delivered() != 0 {
				t.Errorf("Delivered = %d, want 0", d.Delivered())
			}
		})
	}
}

func TestCallbackFaults(t *testing.T) {
	cases := []struct {
		name       string
		faults     Faults
		wantBodies []string
	}{
		{"none", Faults{}, []string{"a"}},
		{"drop", Faults{DropCallbacks: true}, nil},
		{"drop wins over duplicate", Faults{DropCallbacks: true, DuplicateCallbacks: true}, nil},
		{"duplicate", Faults{DuplicateCallbacks: true}, []string{"a", "a"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, srv := newMerchant(t)
			d := newDispatcher(t)
			d.SetFaults(c.faults)
			d.Send(cb(srv.URL, "a"))
			waitDone(t, d)
			var bodies []string
			for _, h := range m.all() {
				bodies = append(bodies, h.body)
			}
			if strings.Join(bodies, ",") != strings.Join(c.wantBodies, ",") {
				t.Fatalf("merchant got %q, want %q", bodies, c.wantBodies)
			}
			if d.Delivered() != len(c.wantBodies) {
				t.Errorf("Delivered = %d, want %d", d.Delivered(), len(c.wantBodies))
			}
		})
	}
}

func TestReorderSendsNewestFirst(t *testing.T) {
	m, srv := newMerchant(t)
	d := newDispatcher(t)
	d.SetFaults(Faults{ReorderCallbacks: true})

	d.Send(cb(srv.URL, "first"))
	waitDone(t, d)
	if n := len(m.all()); n != 0 {
		t.Fatalf("the first callback went out (%d requests) before the second arrived", n)
	}
	d.Send(cb(srv.URL, "second"))
	waitDone(t, d)
	hits := m.all()
	if len(hits) != 2 || hits[0].body != "second" || hits[1].body != "first" {
		t.Fatalf("merchant got %v, want second then first", hits)
	}
	if hits[0].sig != "sig-second" || hits[1].sig != "sig-first" {
		t.Errorf("signatures do not travel with their bodies: %+v", hits)
	}

	// A lone held callback goes out on Flush.
	d.Send(cb(srv.URL, "third"))
	waitDone(t, d)
	if n := len(m.all()); n != 2 {
		t.Fatalf("third was sent before Flush")
	}
	d.Flush()
	waitDone(t, d)
	hits = m.all()
	if len(hits) != 3 || hits[2].body != "third" {
		t.Fatalf("after Flush merchant got %v", hits)
	}
	d.Flush() // nothing held: nothing sent
	waitDone(t, d)
	if len(m.all()) != 3 || d.Delivered() != 3 {
		t.Fatalf("empty Flush sent something: %d requests, %d delivered", len(m.all()), d.Delivered())
	}
}

func TestReorderDoesNotHoldOlderBehindRetries(t *testing.T) {
	// The newest callback's first try fails; the older one goes out right
	// after that try rather than waiting out the whole retry schedule.
	m, srv := newMerchant(t, 500, 200)
	d := newDispatcher(t, 300*time.Millisecond)
	d.SetFaults(Faults{ReorderCallbacks: true})
	d.Send(cb(srv.URL, "first"))
	d.Send(cb(srv.URL, "second"))
	waitDone(t, d)
	var got []string
	for _, h := range m.all() {
		got = append(got, h.body)
	}
	if strings.Join(got, ",") != "second,first,second" {
		t.Fatalf("merchant got %v, want second (500), first, second (retry)", got)
	}
	if d.Delivered() != 2 {
		t.Errorf("Delivered = %d, want 2", d.Delivered())
	}
}

func TestDelayCallbacks(t *testing.T) {
	m, srv := newMerchant(t)
	d := newDispatcher(t)
	const delay = 150 * time.Millisecond
	d.SetFaults(Faults{DelayCallbacks: delay})
	start := time.Now()
	d.Send(cb(srv.URL, "late"))
	if time.Since(start) > 50*time.Millisecond {
		t.Fatal("Send blocked; it must return at once")
	}
	waitDone(t, d)
	hits := m.all()
	if len(hits) != 1 {
		t.Fatalf("tries = %d, want 1", len(hits))
	}
	if got := hits[0].at.Sub(start); got < delay {
		t.Fatalf("delivered after %v, want at least %v", got, delay)
	}
}

func TestCloseStopsPendingRetries(t *testing.T) {
	t.Run("between tries", func(t *testing.T) {
		m, srv := newMerchant(t, 500, 200)
		d := NewDispatcher(nil, []time.Duration{20 * time.Second}, quietLog())
		d.Send(cb(srv.URL, "x"))
		m.waitHits(t, 1)
		within(t, time.Second, "Close", d.Close) // it must cancel what is pending
		if n := len(m.all()); n != 1 || d.Delivered() != 0 {
			t.Fatalf("after Close: %d tries, %d delivered; want 1, 0", n, d.Delivered())
		}
	})
	t.Run("during delay", func(t *testing.T) {
		m, srv := newMerchant(t)
		d := NewDispatcher(nil, nil, quietLog())
		d.SetFaults(Faults{DelayCallbacks: 20 * time.Second})
		d.Send(cb(srv.URL, "x"))
		within(t, time.Second, "Close", d.Close) // it must cancel what is pending
		if n := len(m.all()); n != 0 {
			t.Fatalf("merchant got %d requests after Close", n)
		}
	})
}

func TestAPIFault(t *testing.T) {
	cases := []struct {
		name   string
		faults Faults
		want   []int // status per call; 0 = passed to the handler
	}{
		{"no fault", Faults{}, []int{0, 0, 0}},
		{"two failures then pass", Faults{APIStatus: 503, APIFailures: 2}, []int{503, 503, 0, 0}},
		{"one 429", Faults{APIStatus: 429, APIFailures: 1}, []int{429, 0}},
		{"all while set", Faults{APIStatus: 500}, []int{500, 500, 500, 500}},
		{"failures without status", Faults{APIFailures: 2}, []int{0, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := newDispatcher(t)
			d.SetFaults(c.faults)
			for i, want := range c.want {
				rec := httptest.NewRecorder()
				answered := d.APIFault(rec, httptest.NewRequest(http.MethodGet, "/api", nil))
				if want == 0 {
					if answered {
						t.Fatalf("call %d answered %d, want passed through", i+1, rec.Code)
					}
					continue
				}
				if !answered || rec.Code != want {
					t.Fatalf("call %d: answered=%v status=%d, want %d", i+1, answered, rec.Code, want)
				}
				ra := rec.Header().Get("Retry-After")
				if want == http.StatusTooManyRequests && ra != "1" {
					t.Errorf("429 Retry-After = %q, want 1", ra)
				}
				if want != http.StatusTooManyRequests && ra != "" {
					t.Errorf("%d has Retry-After %q", want, ra)
				}
			}
		})
	}
}

func TestSetFaultsRearmsAPIFailures(t *testing.T) {
	d := newDispatcher(t)
	call := func() int {
		rec := httptest.NewRecorder()
		if !d.APIFault(rec, httptest.NewRequest(http.MethodPost, "/", nil)) {
			return 0
		}
		return rec.Code
	}
	f := Faults{APIStatus: 500, APIFailures: 1}
	d.SetFaults(f)
	if got := []int{call(), call()}; got[0] != 500 || got[1] != 0 {
		t.Fatalf("got %v", got)
	}
	d.SetFaults(f)
	if got := call(); got != 500 {
		t.Fatalf("after SetFaults again got %d, want the failure re-armed", got)
	}
	d.SetFaults(Faults{})
	if got := call(); got != 0 {
		t.Fatalf("after clearing got %d", got)
	}
}

func TestAPITimeout(t *testing.T) {
	d := newDispatcher(t)
	d.SetFaults(Faults{APITimeout: 100 * time.Millisecond})
	start := time.Now()
	if d.APIFault(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil)) {
		t.Fatal("a stall without a status must let the call through afterwards")
	}
	if el := time.Since(start); el < 100*time.Millisecond {
		t.Fatalf("stalled %v, want at least 100ms", el)
	}

	// The caller giving up ends the stall.
	d.SetFaults(Faults{APITimeout: 20 * time.Second, APIStatus: 500})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var answered bool
	within(t, time.Second, "a stall whose caller left", func() {
		answered = d.APIFault(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
	})
	if !answered {
		t.Fatal("a call whose client left must count as answered")
	}
}

func TestFaultsHandler(t *testing.T) {
	d := newDispatcher(t)
	srv := httptest.NewServer(http.HandlerFunc(d.FaultsHandler))
	defer srv.Close()

	get := func() (Faults, int) {
		t.Helper()
		res, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var f Faults
		if err := json.NewDecoder(res.Body).Decode(&f); err != nil {
			t.Fatal(err)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		return f, res.StatusCode
	}
	post := func(method, body string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL, strings.NewReader(body))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}

	if f, st := get(); st != 200 || f != (Faults{}) {
		t.Fatalf("initial faults = %+v (%d), want zero", f, st)
	}

	want := Faults{DuplicateCallbacks: true, DelayCallbacks: 2 * time.Second, APIStatus: 503, APIFailures: 2, APITimeout: time.Second}
	b, _ := json.Marshal(want)
	// The documented wire names, durations in nanoseconds.
	for _, k := range []string{`"duplicate_callbacks":true`, `"delay_callbacks":2000000000`, `"api_status":503`, `"api_failures":2`, `"api_timeout":1000000000`} {
		if !bytes.Contains(b, []byte(k)) {
			t.Errorf("JSON %s lacks %s", b, k)
		}
	}
	res, body := post(http.MethodPost, string(b))
	var echoed Faults
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &echoed) != nil || echoed != want {
		t.Fatalf("POST = %d %s, want the new faults echoed", res.StatusCode, body)
	}
	if d.Faults() != want {
		t.Fatalf("Faults() = %+v, want %+v", d.Faults(), want)
	}
	if f, _ := get(); f != want {
		t.Fatalf("GET after POST = %+v", f)
	}

	// The POSTed APIFailures is armed.
	d.SetFaults(Faults{}) // stop the stall before calling APIFault
	post(http.MethodPut, `{"api_status":500,"api_failures":1}`)
	rec := httptest.NewRecorder()
	if !d.APIFault(rec, httptest.NewRequest(http.MethodGet, "/", nil)) || rec.Code != 500 {
		t.Fatalf("PUT faults not applied: %d", rec.Code)
	}

	for _, bad := range []string{`{"api_status":`, `not json`, `{"drop_callbacks":"yes"}`, ``} {
		before := d.Faults()
		res, body := post(http.MethodPost, bad)
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("POST %q = %d %s, want 400", bad, res.StatusCode, body)
		}
		if d.Faults() != before {
			t.Errorf("POST %q changed the faults to %+v", bad, d.Faults())
		}
	}
}

func TestWriteJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteJSON(rec, http.StatusCreated, map[string]string{"id": "inv-1"})
	if rec.Code != 201 || rec.Header().Get("Content-Type") != "application/json" || strings.TrimSpace(rec.Body.String()) != `{"id":"inv-1"}` {
		t.Fatalf("got %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
	rec = httptest.NewRecorder()
	WriteJSON(rec, http.StatusNoContent, nil)
	if rec.Code != 204 || rec.Body.Len() != 0 {
		t.Fatalf("nil body: %d %q", rec.Code, rec.Body.String())
	}
}

func TestPageEscapesPayerData(t *testing.T) {
	const evil = `<script>alert("x")</script>`
	snippet := template.Must(template.New("s").Parse(`<p class="payer">{{.Name}}</p><a href="{{.Link}}">pay</a>`))
	body := Render(snippet, map[string]string{"Name": evil, "Link": `javascript:alert(1)`})

	rec := httptest.NewRecorder()
	Page(rec, http.StatusOK, `Brand <b>`, `Invoice `+evil, body)
	out := rec.Body.String()

	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("got %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if strings.Contains(out, "<script>") || strings.Contains(out, "<b>") || strings.Contains(out, "javascript:alert") {
		t.Fatalf("page carries unescaped input:\n%s", out)
	}
	for _, want := range []string{`<p class="payer">&lt;script&gt;`, `Brand &lt;b&gt;`, `<title>Invoice &lt;script&gt;`, "Sandbox simulator"} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q:\n%s", want, out)
		}
	}

	// A failing template shows an escaped error, not half a page.
	broken := template.Must(template.New("b").Parse(`<p>before</p>{{.Missing}}`))
	got := string(Render(broken, struct{ Name string }{evil}))
	if strings.Contains(got, "<p>before</p>") || !strings.Contains(got, "template error") || strings.Contains(got, "<") {
		t.Fatalf("Render on error = %q", got)
	}
}
