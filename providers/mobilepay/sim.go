package mobilepay

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"ankara/models"
	"ankara/providers/simkit"
)

// SimOptions configure a Simulator.
type SimOptions struct {
	PublicURL string       // absolute URL where the simulator is mounted, e.g. http://localhost:8080/sandbox/mobilepay
	HTTP      *http.Client // for delivering callbacks
	Log       *slog.Logger
	Now       func() time.Time

	// CallbackInterval is how often the callback job sends the queued
	// events as one batch per merchant (MobilePay: every 5 s). Default 500 ms.
	CallbackInterval time.Duration
	// RetrySchedule are the waits between delivery tries of a failed batch.
	// MobilePay retries 8 times after 5 s, 19 min, 39 min, 1 h 19 min,
	// 2 h 39 min, 5 h 19 min, 10 h 39 min and 21 h 19 min (providers file
	// B.7); the default compresses that to 100 ms · 2^n (about 25 s in all).
	RetrySchedule []time.Duration
	// StateFile is the path of a JSON file (mode 0600) where the simulator
	// keeps its state across restarts: OpenID clients, merchants, issuers,
	// registered callbacks, refresh tokens, invoices, consents, sandbox
	// users and its signing key. Empty keeps everything in memory (tests).
	// A missing file is a fresh sandbox; an unreadable or corrupt one is
	// logged at warn and the simulator starts fresh.
	StateFile string
}

// The simulator's business limits (providers file B.8); a batch holds at
// most MaxBatch invoices.
const (
	simMaxDKKCents       = 300000_00 // 10201
	simMaxEURCents       = 2000_00   // 10201
	simPerConsumerPerDay = 10        // Direct invoices per payer per merchant and day (10314)
	simExpiryAfterDue    = 30 * 24 * time.Hour
)

// Simulator is a MobilePay Invoice API with its OpenID Connect server,
// sandbox user simulation and payer pages, in memory or kept in
// SimOptions.StateFile.
type Simulator struct {
	pub      string
	now      func() time.Time
	log      *slog.Logger
	disp     *simkit.Dispatcher
	interval time.Duration
	key      *rsa.PrivateKey
	kid      string
	mux      *http.ServeMux

	mu        sync.Mutex
	clients   map[string]*simClient
	merchants map[string]*simMerchant
	authReqs  map[string]*authRequest
	codes     map[string]*authCode
	access    map[string]*grant
	refresh   map[string]*grant
	invoices  map[string]*simInvoice
	order     []string // invoice ids in creation order
	users     map[string]*simUser
	consents  map[string]*simConsent

	stateFile string              // "" = memory only
	state     *simkit.StateWriter // writes it after s.mu is released; nil without one
	dirty     bool                // state changed since the last snapshot

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

type simClient struct {
	ID, Secret, AppName, MerchantID string
	RedirectURIs                    []string
}

type simIssuer struct {
	ID, Name, Status, Address, City, ZipCode string
}

type simMerchant struct {
	ID, Name, VAT, Country string
	Issuers                []simIssuer
	cbKind, cbUser, cbKey  string
	cbURL                  string
	seq                    int64
	pending                []simEvent
	daily                  map[string]int // phone|date -> invoices
}

type simEvent struct {
	InvoiceID    string `json:"InvoiceId"`
	Status       string `json:"Status"`
	ErrorCode    *int   `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
	Links        []Link `json:"Links,omitempty"`
	Date         string `json:"Date"`
	PaymentDate  string `json:"PaymentDate,omitempty"`
	Sequence     int64  `json:"Sequence"`
}

type grant struct {
	ClientID, MerchantID, Scope string
	Expires                     time.Time
}

type simUser struct {
	ID, Card, Phone string
	CardExpired     bool
}

type simConsent struct {
	ID, InvoiceID, Phone, State string
	GrantedOn                   time.Time
}

type simInvoice struct {
	ID, MerchantID, IssuerID string
	Kind                     string // "direct" or "link"
	Batch                    bool
	In                       simInput
	canonical                string
	TotalCents, VATCents     int64
	Currency                 string
	Due                      time.Time // date, UTC midnight
	Status                   string    // lower case, as GET answers
	PaymentDate              time.Time
	TransactionID            string
	PaidBy                   string
	Created                  time.Time
	FailText                 string
}

// NewSimulator returns a running simulator; Close stops it.
func NewSimulator(opts SimOptions) *Simulator {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	sched := opts.RetrySchedule
	if sched == nil {
		for i := range 8 {
			sched = append(sched, 100*time.Millisecond<<i)
		}
	}
	interval := opts.CallbackInterval
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	s := &Simulator{
		pub:       strings.TrimRight(opts.PublicURL, "/"),
		now:       now,
		log:       log,
		disp:      simkit.NewDispatcher(opts.HTTP, sched, log),
		interval:  interval,
		clients:   map[string]*simClient{},
		merchants: map[string]*simMerchant{},
		authReqs:  map[string]*authRequest{},
		codes:     map[string]*authCode{},
		access:    map[string]*grant{},
		refresh:   map[string]*grant{},
		invoices:  map[string]*simInvoice{},
		users:     map[string]*simUser{},
		consents:  map[string]*simConsent{},
		stateFile: opts.StateFile,
		state:     simkit.NewStateWriter(opts.StateFile),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	for _, u := range sandboxUsers {
		cp := u
		s.users[u.Phone] = &cp
	}
	s.load()
	if s.key == nil {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(fmt.Sprintf("mobilepay simulator: rsa key: %v", err)) // crypto/rand never fails on supported platforms
		}
		s.key, s.kid = key, models.NewToken(64)
		s.dirty = true
	}
	s.mu.Lock()
	// Scheduled payments and expiry that fell due while the app was down.
	t := s.now()
	for _, id := range s.order {
		if s.advance(s.invoices[id], t) {
			s.dirty = true
		}
	}
	s.snapshotLocked() // flushed below
	s.mu.Unlock()
	s.flush()
	s.routes()
	go s.loop()
	return s
}

// sandboxUsers are MobilePay's documented sandbox test users (providers
// file B.9); +4599592431 has an expired card.
var sandboxUsers = []simUser{
	{ID: "f1a75bb4-c8a6-41f8-8603-4cf9278cd5ba", Card: "6956b1ae-be59-4d7c-ba1c-8aa188db83b7", Phone: "+4557373259"},
	{ID: "4f474aa2-6161-4094-97fd-62616ff3d21e", Card: "a6d8044d-176b-4639-a55f-d14d1ae11e28", Phone: "+4599592431", CardExpired: true},
	{ID: "d5e4e229-b482-4304-80f1-237d2a3abc48", Card: "d77db24c-f078-4eaf-8026-fbaa8411a8fe", Phone: "+4522509895"},
	{ID: "40b881f7-ac3d-43bb-81e6-2ac9ef279d89", Card: "6cdf304d-d4c5-4126-9775-a286ce16838b", Phone: "+4554048573"},
	{ID: "147a8bbd-6a87-40e7-9980-937d1b8d0de4", Card: "9c55892e-66dc-41c8-b256-13bf599ac377", Phone: "+4585155935"},
	{ID: "439d1721-0a36-499f-b236-8bfc61c6cbb7", Card: "b5f78182-e2ff-402e-a646-46c7da8459a0", Phone: "+358121161343"},
	{ID: "f5588bb0-d90d-419f-9ec5-7ef138c23f83", Card: "d7328e72-7d21-4f7d-b7f4-9a6861551b70", Phone: "+358121161892"},
}

// Dispatcher exposes the callback dispatcher (faults for tests).
func (s *Simulator) Dispatcher() *simkit.Dispatcher { return s.disp }

// Close stops the background job and pending deliveries and writes the
// state file if a change is still unwritten; a closed simulator writes
// nothing more.
func (s *Simulator) Close() {
	s.once.Do(func() {
		close(s.stop)
		<-s.done
		s.disp.Close()
		s.mu.Lock()
		s.snapshotLocked() // unwritten changes, if any: the writer's Close writes them
		s.mu.Unlock()
		if err := s.state.Close(); err != nil {
			s.log.Warn("mobilepay simulator: could not save the state file", "path", s.stateFile, "err", err)
		}
	})
}

// ServeHTTP serves paths relative to the mount. The API is served both at
// /api/v1/… and /invoice-restapi/api/v1/…, so either the mount URL or the
// mount URL plus /invoice-restapi works as the account's base URL.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/invoice-restapi/"); ok {
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + rest
		r2.URL.RawPath = ""
		r = r2
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Simulator) routes() {
	m := http.NewServeMux()
	// OpenID Connect (providers file B.1, B.2).
	m.HandleFunc("GET /account/.well-known/openid-configuration", s.handleDiscovery)
	m.HandleFunc("GET /merchant-authentication-openidconnect/.well-known/openid-configuration", s.handleDiscovery)
	m.HandleFunc("GET /merchant-authentication-openidconnect/.well-known/openid-configuration/jwks", s.handleJWKS)
	m.HandleFunc("GET /account/connect/authorize", s.handleAuthorize)
	m.HandleFunc("POST /account/connect/authorize/consent", s.handleConsent)
	m.HandleFunc("POST /merchant-authentication-openidconnect/connect/token", s.handleToken)
	// Invoice API (B.3).
	m.HandleFunc("GET /api/v1/merchants/me", s.api(s.handleMe))
	m.HandleFunc("POST /api/v1/merchants/{merchantId}/invoices", s.api(s.handleCreate("direct", false)))
	m.HandleFunc("POST /api/v1/merchants/{merchantId}/invoices/batch", s.api(s.handleCreate("direct", true)))
	m.HandleFunc("POST /api/v1/merchants/{merchantId}/invoices/link", s.api(s.handleCreate("link", false)))
	m.HandleFunc("POST /api/v1/merchants/{merchantId}/invoices/link/batch", s.api(s.handleCreate("link", true)))
	m.HandleFunc("PUT /api/v1/merchants/{merchantId}/invoices/{invoiceId}/cancel", s.api(s.handleCancel))
	m.HandleFunc("GET /api/v1/merchants/{merchantId}/invoices/{invoiceId}", s.api(s.handleDetails))
	m.HandleFunc("GET /api/v1/merchants/{merchantId}/invoices/{invoiceId}/status", s.api(s.handleStatus))
	m.HandleFunc("GET /api/v1/merchants/{merchantId}/invoiceissuers", s.api(s.handleIssuers))
	m.HandleFunc("PUT /api/v1/merchants/{merchantId}/auth/basic", s.api(s.handleAuthConfig("basic")))
	m.HandleFunc("PUT /api/v1/merchants/{merchantId}/auth/apikey", s.api(s.handleAuthConfig("apikey")))
	// Direct-invoice consents (B.10).
	m.HandleFunc("POST /api/v1/directinvoiceconsents", s.api(s.handleConsentCreate))
	m.HandleFunc("GET /api/v1/directinvoiceconsents", s.api(s.handleConsentList))
	m.HandleFunc("GET /api/v1/directinvoiceconsents/{consentId}", s.api(s.handleConsentGet))
	// Sandbox user simulation (B.3 S1–S5).
	m.HandleFunc("PUT /api/v1/consumers/me/invoices/{invoiceId}/{action}", s.api(func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("action") {
		case "accept":
			s.handleUserAccept(w, r)
		case "reject":
			s.handleUserReject(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	m.HandleFunc("GET /api/v1/consumers/me/invoices/{invoiceId}/pdf", s.api(s.handleUserPDF))
	m.HandleFunc("PUT /api/v1/consumers/me/invoices/directinvoiceconsent/{consentId}", s.api(s.handleUserConsent))
	m.HandleFunc("DELETE /api/v1/directinvoiceconsents/{consentId}", s.api(s.handleConsentDelete))
	// Payer pages.
	m.HandleFunc("GET /link/{invoiceId}", s.handleLinkPage)
	m.HandleFunc("POST /link/{invoiceId}", s.handleLinkAction)
	m.HandleFunc("GET /app/{phone}", s.handleAppPage)
	m.HandleFunc("POST /app/{phone}", s.handleAppAction)
	// Simulator-only helpers.
	m.HandleFunc("POST /_sandbox/onboarding", s.handleOnboarding)
	m.HandleFunc("GET /_sandbox/users", s.handleUsers)
	m.HandleFunc("POST /_sandbox/invoices/{invoiceId}/expire", s.handleForceExpire)
	m.HandleFunc("POST /_sandbox/tick", s.handleTick)
	m.HandleFunc("/_sandbox/redirect", s.handleRedirectSink)
	m.HandleFunc("/_faults", s.disp.FaultsHandler)
	s.mux = m
}

// loop runs the callback job, scheduled payments and expiry.
func (s *Simulator) loop() {
	defer close(s.done)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.tick()
		}
	}
}

// tick applies time (scheduled payments, expiry) and sends the queued
// callbacks, one array per merchant.
func (s *Simulator) tick() {
	s.mu.Lock()
	now := s.now()
	for _, id := range s.order {
		if s.advance(s.invoices[id], now) {
			s.dirty = true
		}
	}
	var sends []simkit.Callback
	ids := make([]string, 0, len(s.merchants))
	for id := range s.merchants {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		m := s.merchants[id]
		if len(m.pending) == 0 {
			continue
		}
		events := m.pending
		m.pending = nil
		s.dirty = true
		if m.cbURL == "" {
			continue
		}
		body, err := json.Marshal(events)
		if err != nil {
			continue
		}
		h := http.Header{"Content-Type": {"application/json"}}
		if m.cbKind == "basic" {
			h.Set("Authorization", "Basic "+basicAuth(m.cbUser, m.cbKey))
		} else {
			h.Set("Authorization", m.cbKey)
		}
		sends = append(sends, simkit.Callback{URL: m.cbURL, Method: http.MethodPost, Header: h, Body: body})
	}
	s.snapshotLocked() // flushed below
	s.mu.Unlock()
	s.flush() // before the callbacks go out; also retries a failed write
	for _, cb := range sends {
		s.disp.Send(cb)
	}
}

// advance applies time to one invoice: a scheduled payment whose day has
// ended is executed, an unpaid invoice 30 days (simExpiryAfterDue) past its
// due date expires. It reports whether the invoice changed; the caller
// holds s.mu.
func (s *Simulator) advance(inv *simInvoice, now time.Time) bool {
	m := s.merchants[inv.MerchantID]
	switch inv.Status {
	case "accepted":
		if !inv.PaymentDate.IsZero() && !now.Before(endOfDay(inv.PaymentDate, m.Country)) {
			if u := s.users[inv.PaidBy]; u != nil && !u.CardExpired {
				s.pay(m, inv, now)
				return true
			}
		}
		fallthrough
	case "created":
		if now.After(endOfDay(inv.Due, m.Country).Add(simExpiryAfterDue)) {
			inv.Status = "expired"
			s.enqueue(m, inv, "Expired", nil)
			return true
		}
	}
	return false
}

// endOfDay is the last second of a date in the merchant's country.
func endOfDay(d time.Time, cc string) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), 23, 59, 59, 0, location(cc))
}

// enqueue queues a callback event; the caller holds s.mu.
func (s *Simulator) enqueue(m *simMerchant, inv *simInvoice, status string, mod func(*simEvent)) {
	ev := simEvent{InvoiceID: inv.ID, Status: status, Date: s.now().Format("2006-01-02T15:04:05.0000000-07:00"), Sequence: m.seq}
	m.seq++
	if mod != nil {
		mod(&ev)
	}
	m.pending = append(m.pending, ev)
}

// pay settles an invoice now; the caller holds s.mu.
func (s *Simulator) pay(m *simMerchant, inv *simInvoice, now time.Time) {
	inv.Status = "paid"
	inv.PaymentDate = now
	inv.TransactionID = models.NewUUID()
	s.enqueue(m, inv, "Paid", nil)
}

var guidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// mpError is MobilePay's REST error body (providers file B.8).
type mpError struct {
	CorrelationID    string  `json:"correlation_id"`
	Error            string  `json:"error"`
	ErrorCode        *string `json:"error_code"`
	ErrorDescription string  `json:"error_description"`
	ErrorContext     string  `json:"error_context"`
}

func writeError(w http.ResponseWriter, status int, kind, code, desc string) {
	e := mpError{CorrelationID: models.NewUUID(), Error: kind, ErrorDescription: desc, ErrorContext: "Invoices"}
	if code != "" {
		e.ErrorCode = &code
	}
	simkit.WriteJSON(w, status, e)
}

func inputError(w http.ResponseWriter, field string) {
	writeError(w, http.StatusBadRequest, "InputError", "", "input."+field+" : Invalid input\r\n")
}

// domainErrors are the documented create error descriptions.
var domainErrors = map[string]string{
	"10008": "Total amount must be greater than 0",
	"10101": "MobilePay user not found",
	"10104": "Invoice already exists",
	"10106": "Invoice country does not match consumer country",
	"10201": "Total invoice amount is exceeded",
	"10202": "Invoice issuer not found",
	"10302": "Merchant not found",
	"10310": "DueDate must be no later than 400 days from today",
	"10311": "DueDate must be today or later",
	"10312": "IssueDate must be no later than today",
	"10314": "Your daily limit has been reached. No more than 10 invoices can be created per consumer per merchant per day.",
	"10504": "Invoice has already been paid",
}

func domainError(w http.ResponseWriter, code string) {
	status := http.StatusConflict
	if code == "10104" {
		status = http.StatusBadRequest // as in the OAS example for create link
	}
	writeError(w, status, "DomainError", code, domainErrors[code])
}

func basicAuth(user, pass string) string {
	return b64std([]byte(user + ":" + pass))
}
