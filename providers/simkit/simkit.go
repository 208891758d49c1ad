// Package simkit holds what the provider simulators share: asynchronous
// callback delivery with the provider's retry schedule, switchable faults
// (dropped, duplicated, delayed, reordered callbacks; 429/500/timeouts on API
// calls), a plain HTML shell for the simulated payer pages and the handling
// of the JSON state files (atomic writes, made in order outside the
// simulator's lock; unusable files set aside). It depends on nothing of the
// application.
package simkit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Faults can be switched on to prove that Ankara survives a misbehaving
// provider. The zero value is a well-behaved provider.
type Faults struct {
	DropCallbacks      bool          `json:"drop_callbacks"`      // never deliver
	DuplicateCallbacks bool          `json:"duplicate_callbacks"` // deliver every callback twice
	DelayCallbacks     time.Duration `json:"delay_callbacks"`     // wait before the first try
	ReorderCallbacks   bool          `json:"reorder_callbacks"`   // hold each callback until the next one, then send both newest first
	APIStatus          int           `json:"api_status"`          // answer API calls with this status (429, 500, 503)
	APIFailures        int           `json:"api_failures"`        // how many API calls get APIStatus (0 = all while set)
	APITimeout         time.Duration `json:"api_timeout"`         // stall API calls this long before answering
}

// Callback is one delivery to the merchant's callback URL.
type Callback struct {
	URL    string
	Method string
	Header http.Header
	Body   []byte
}

// Dispatcher delivers callbacks in the background, retrying on failure
// according to Schedule (the waits between tries; empty means one try).
type Dispatcher struct {
	HTTP     *http.Client
	Schedule []time.Duration
	Log      *slog.Logger

	mu      sync.Mutex
	faults  Faults
	held    *Callback
	apiLeft int
	wg      sync.WaitGroup
	ctx     context.Context
	cancel  context.CancelFunc
	sent    int
}

// NewDispatcher returns a dispatcher; Close stops its deliveries.
func NewDispatcher(hc *http.Client, schedule []time.Duration, log *slog.Logger) *Dispatcher {
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Dispatcher{HTTP: hc, Schedule: schedule, Log: log, ctx: ctx, cancel: cancel}
}

// SetFaults replaces the active faults.
func (d *Dispatcher) SetFaults(f Faults) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults = f
	d.apiLeft = f.APIFailures
}

// Faults returns the active faults.
func (d *Dispatcher) Faults() Faults {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.faults
}

// Delivered counts successful deliveries (for tests).
func (d *Dispatcher) Delivered() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sent
}

// Send queues a callback. It returns at once.
func (d *Dispatcher) Send(cb Callback) {
	d.mu.Lock()
	f := d.faults
	if f.DropCallbacks {
		d.mu.Unlock()
		d.Log.Info("simulator dropped a callback (fault)", "url", cb.URL)
		return
	}
	var batch []Callback
	if f.ReorderCallbacks {
		if d.held == nil {
			d.held = &cb
			d.mu.Unlock()
			return
		}
		batch = []Callback{cb, *d.held}
		d.held = nil
	} else {
		batch = []Callback{cb}
	}
	d.mu.Unlock()
	n := 1
	if f.DuplicateCallbacks {
		n = 2
	}
	// Each callback of a reordered batch waits for the one before it to have
	// had its first try, so the merchant really sees the newest first.
	var after <-chan struct{}
	for _, c := range batch {
		tried := make(chan struct{})
		for i := range n {
			t := tried
			if i > 0 {
				t = nil // a duplicate races its twin, as a real provider's would
			}
			d.wg.Add(1)
			go d.deliver(c, f.DelayCallbacks, after, t)
		}
		after = tried
	}
}

// Flush sends a callback held back by the reorder fault.
func (d *Dispatcher) Flush() {
	d.mu.Lock()
	held := d.held
	d.held = nil
	d.mu.Unlock()
	if held != nil {
		d.wg.Add(1)
		go d.deliver(*held, 0, nil, nil)
	}
}

// deliver sends cb, retrying per Schedule. When after is set, the first try
// waits for it to close; tried, when set, is closed once the first try is over.
func (d *Dispatcher) deliver(cb Callback, delay time.Duration, after <-chan struct{}, tried chan struct{}) {
	defer d.wg.Done()
	firstTryOver := func() {
		if tried != nil {
			close(tried)
			tried = nil
		}
	}
	defer firstTryOver()
	waits := append([]time.Duration{delay}, d.Schedule...)
	for i, w := range waits {
		if w > 0 {
			select {
			case <-d.ctx.Done():
				return
			case <-time.After(w):
			}
		}
		if i == 0 && after != nil {
			select {
			case <-d.ctx.Done():
				return
			case <-after:
			}
		}
		method := cb.Method
		if method == "" {
			method = http.MethodPost
		}
		req, err := http.NewRequestWithContext(d.ctx, method, cb.URL, bytes.NewReader(cb.Body))
		if err != nil {
			d.Log.Warn("simulator callback: bad request", "err", err)
			return
		}
		for k, vs := range cb.Header {
			req.Header[k] = vs
		}
		if req.Header.Get("Content-Type") == "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := d.HTTP.Do(req)
		firstTryOver()
		if err == nil {
			res.Body.Close()
			if res.StatusCode >= 200 && res.StatusCode < 300 {
				d.mu.Lock()
				d.sent++
				d.mu.Unlock()
				return
			}
			err = fmt.Errorf("HTTP %d", res.StatusCode)
		}
		d.Log.Info("simulator callback not accepted", "url", cb.URL, "try", i+1, "err", err)
	}
}

// Close stops pending deliveries and waits for them.
func (d *Dispatcher) Close() {
	d.cancel()
	d.wg.Wait()
}

// Wait blocks until every queued delivery has finished (for tests).
func (d *Dispatcher) Wait() { d.wg.Wait() }

// APIFault applies the API faults to one incoming API call. It returns true
// when it has answered the call itself.
func (d *Dispatcher) APIFault(w http.ResponseWriter, r *http.Request) bool {
	d.mu.Lock()
	f := d.faults
	fail := false
	if f.APIStatus != 0 {
		if f.APIFailures == 0 {
			fail = true
		} else if d.apiLeft > 0 {
			d.apiLeft--
			fail = true
		}
	}
	d.mu.Unlock()
	if f.APITimeout > 0 {
		select {
		case <-r.Context().Done():
			return true
		case <-time.After(f.APITimeout):
		}
	}
	if fail {
		if f.APIStatus == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		http.Error(w, http.StatusText(f.APIStatus), f.APIStatus)
		return true
	}
	return false
}

// FaultsHandler serves GET (read) and POST (replace, JSON body) of the
// faults, mounted by each simulator at /_faults.
func (d *Dispatcher) FaultsHandler(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		var f Faults
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			http.Error(w, "faults: "+err.Error(), http.StatusBadRequest)
			return
		}
		d.SetFaults(f)
	}
	WriteJSON(w, http.StatusOK, d.Faults())
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
	}
}

var shell = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f4f0;color:#1d1d1b;margin:0;padding:1.5rem}
main{max-width:28rem;margin:0 auto;background:#fff;border-radius:12px;padding:1.5rem;box-shadow:0 1px 4px rgba(0,0,0,.12)}
.brand{font-size:.8rem;text-transform:uppercase;letter-spacing:.08em;color:#666}
h1{font-size:1.3rem;margin:.3rem 0 1rem}
label{display:block;margin:.8rem 0 .2rem;font-weight:600}
input,select{width:100%;box-sizing:border-box;padding:.6rem;font-size:1.1rem;border:1px solid #bbb;border-radius:6px}
button{margin-top:1rem;padding:.7rem 1.2rem;font-size:1rem;border:0;border-radius:6px;background:#1d4ed8;color:#fff;cursor:pointer}
button.secondary{background:#6b7280}
.screen{font-family:ui-monospace,monospace;background:#0b2e13;color:#b7f5c4;padding:1rem;border-radius:8px;white-space:pre-wrap}
.ok{color:#166534;font-weight:600}.err{color:#b91c1c;font-weight:600}
dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem}dt{color:#666}
.sandbox{background:#fef3c7;border:1px solid #f59e0b;padding:.4rem .6rem;border-radius:6px;font-size:.85rem;margin-bottom:1rem}
</style></head>
<body><main><div class="sandbox">Sandbox simulator — no real money moves.</div>
<div class="brand">{{.Brand}}</div><h1>{{.Title}}</h1>{{.Body}}</main></body></html>`))

// Page writes a simulator page: brand is the provider's name, body is HTML
// the simulator built with html/template.
func Page(w http.ResponseWriter, status int, brand, title string, body template.HTML) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = shell.Execute(w, map[string]any{"Brand": brand, "Title": title, "Body": body}) // client went away
}

// Render executes an html/template snippet into HTML for Page.
func Render(t *template.Template, data any) template.HTML {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return template.HTML(template.HTMLEscapeString("template error: " + err.Error()))
	}
	return template.HTML(b.String()) //nolint:gosec // produced by html/template
}
