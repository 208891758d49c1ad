package momo

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"ankara/models"
	"ankara/providers/simkit"
)

// SimOptions configure a Simulator.
type SimOptions struct {
	PublicURL string       // absolute URL where the simulator is mounted, e.g. http://localhost:8080/sandbox/momo
	HTTP      *http.Client // for delivering callbacks
	Log       *slog.Logger
	Now       func() time.Time
	// StateFile is the JSON file where the simulator keeps its state across
	// restarts (see sim_state.go); empty keeps everything in memory only.
	StateFile string
}

// Simulator is an MTN MoMo sandbox: the provisioning API, the Collection
// token endpoint, the v2_0 Invoice API, PUT callbacks and a USSD phone
// emulator for the payer (see doc.go). It serves from memory and, with
// SimOptions.StateFile, keeps its state in that file across restarts.
type Simulator struct {
	public string
	log    *slog.Logger
	now    func() time.Time
	disp   *simkit.Dispatcher
	mux    *http.ServeMux

	mu           sync.Mutex
	users        map[string]*simUser
	tokens       map[string]simToken
	invoices     map[string]*simInvoice // by referenceId (the create X-Reference-Id)
	byPayRef     map[string]string      // paymentReference → referenceId
	usedRefs     map[string]bool        // every X-Reference-Id taken by a create or cancel
	timers       []*time.Timer
	tokensIssued int
	closed       bool

	stateFile string              // SimOptions.StateFile
	state     *simkit.StateWriter // writes it after s.mu is released; nil without one
	dirty     bool                // the state changed since the last snapshot

	saveMu      sync.Mutex // orders the writes' outcomes (sim_state.go)
	saveFailing bool       // the last save failed (logged once); saveMu held
}

type simUser struct {
	ID, Key, Host, SubscriptionKey string
}

type simToken struct {
	User    string
	Expires time.Time
}

type simInvoice struct {
	Ref, User                           string
	ExternalID, Amount, Currency, Descr string
	Payer                               party
	Payee                               *party
	Status                              string
	Err                                 *errorReason
	PaymentRef, InvoiceID               string
	Created, Expires                    time.Time
	CallbackURL                         string
	PayeeFirstName, PayeeLastName       string
	// SettleAt is when a delayed payment (test MSISDN 46733123454) becomes
	// SUCCESSFUL; zero when none is under way.
	SettleAt time.Time `json:",omitzero"`
}

// Sandbox behaviour.
const (
	simTokenLife = 3600 * time.Second // "valid for 1 hour" (A.4)
	// The newer MTN callback page: a 2 s timeout, then "20 retries at a
	// frequency of 1 second", then every 2 minutes 30 times, then hourly
	// (A.10; the older page says no retry at all). The simulator sends the
	// first try and retries 5 times, 1 s apart.
	simCallbackTimeout = 2 * time.Second
	simDelayedPayment  = 2 * time.Second // test MSISDN 46733123454
)

var simCallbackSchedule = []time.Duration{time.Second, time.Second, time.Second, time.Second, time.Second}

// Sandbox test MSISDNs (A.11), applied to the invoice's intendedPayer.
// Refused at create with an HTTP error:
var simCreateRefusals = map[string]struct {
	HTTP          int
	Code, Message string
}{
	"46733123458": {http.StatusInternalServerError, codeNotAllowedTarget, "Access to target environment is forbidden."},
	"46733123459": {http.StatusInternalServerError, codeInvalidCallback, "Callback URL with different host name to configured for API User."},
	"46733123460": {http.StatusInternalServerError, codeInvalidCurrency, "Currency not supported."},
	"46733123462": {http.StatusServiceUnavailable, codeServiceUnavailable, "Service temporary unavailable."},
}

// Accepted with 202 but FAILED at once ("a failed CreateInvoice will be
// returned with this status too", A.7):
var simCreateFailures = map[string]errorReason{
	"46733123455": {codePayerNotFound, "Payer not found."},
	"46733123456": {codePayeeNotAllowed, "Payee is not allowed to receive."},
	"46733123457": {codeNotAllowed, "Payer is not allowed."},
	"46733123461": {codeInternalError, "Internal processing error."},
}

// Outcome of the payer's PIN confirmation in the USSD emulator:
var simPayFailures = map[string]errorReason{
	"46733123450": {codeInternalError, "Payment failed."},
	"46733123451": {codeApprovalRejected, "Payer rejected the payment."},
	"46733123452": {codeExpired, "The payment approval timed out."},
}

const (
	simOngoingMSISDN = "46733123453" // stays PENDING after the PIN
	simDelayedMSISDN = "46733123454" // PENDING, then SUCCESSFUL after simDelayedPayment
)

// NewSimulator returns a Simulator; Close stops its deliveries and timers.
func NewSimulator(opts SimOptions) *Simulator {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Timeout: simCallbackTimeout}
	}
	s := &Simulator{
		public:    strings.TrimRight(opts.PublicURL, "/"),
		log:       opts.Log,
		now:       opts.Now,
		disp:      simkit.NewDispatcher(opts.HTTP, simCallbackSchedule, opts.Log),
		users:     map[string]*simUser{},
		tokens:    map[string]simToken{},
		invoices:  map[string]*simInvoice{},
		byPayRef:  map[string]string{},
		usedRefs:  map[string]bool{},
		stateFile: opts.StateFile,
		state:     simkit.NewStateWriter(opts.StateFile),
	}
	if s.stateFile != "" {
		s.mu.Lock()
		s.loadLocked()
		s.mu.Unlock()
	}
	m := http.NewServeMux()
	m.HandleFunc("POST /v1_0/apiuser", s.api(s.createUser))
	m.HandleFunc("POST /v1_0/apiuser/{id}/apikey", s.api(s.createKey))
	m.HandleFunc("GET /v1_0/apiuser/{id}", s.api(s.getUser))
	m.HandleFunc("POST /collection/token/{$}", s.api(s.token))
	m.HandleFunc("POST /collection/v2_0/invoice", s.api(s.product(s.createInvoiceLocked)))
	m.HandleFunc("GET /collection/v2_0/invoice/{ref}", s.api(s.product(s.getInvoiceLocked)))
	m.HandleFunc("DELETE /collection/v2_0/invoice/{ref}", s.api(s.product(s.cancelInvoiceLocked)))
	m.HandleFunc("/_faults", s.disp.FaultsHandler)
	m.HandleFunc("GET /{$}", s.index)
	m.HandleFunc("GET /ussd", s.ussdHome)
	m.HandleFunc("POST /ussd", s.ussdDial)
	m.HandleFunc("GET /ussd/confirm", s.ussdConfirmPage)
	m.HandleFunc("POST /ussd/confirm", s.ussdConfirm)
	m.HandleFunc("GET /ussd/result", s.ussdResult)
	s.mux = m
	return s
}

// ServeHTTP serves paths relative to the mount point.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Dispatcher gives tests the callback dispatcher and its faults.
func (s *Simulator) Dispatcher() *simkit.Dispatcher { return s.disp }

// Close stops background deliveries and timers and writes any unsaved
// state to the state file; a closed simulator saves nothing more.
func (s *Simulator) Close() {
	s.mu.Lock()
	s.snapshotLocked() // unsaved changes, if any: the writer's Close writes them
	s.closed = true
	for _, t := range s.timers {
		t.Stop()
	}
	s.timers = nil
	s.mu.Unlock()
	s.saveMu.Lock()
	s.savedLocked(s.state.Close())
	s.saveMu.Unlock()
	s.disp.Close()
}

func (s *Simulator) api(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.disp.APIFault(w, r) {
			return
		}
		h(w, r)
	}
}

// --- errors --------------------------------------------------------------

func writeReason(w http.ResponseWriter, status int, code, msg string) {
	simkit.WriteJSON(w, status, errorReason{Code: code, Message: msg})
}

func badRequest(w http.ResponseWriter, msg string) {
	writeReason(w, http.StatusBadRequest, "BAD_REQUEST", "Request does not follow the specification: "+msg)
}

// apimDenied is Azure API Management's own 401 body (the gateway in front of
// MTN's API), used for subscription-key and bearer failures.
func apimDenied(w http.ResponseWriter, msg string) {
	simkit.WriteJSON(w, http.StatusUnauthorized, map[string]any{"statusCode": 401, "message": msg})
}

func notFound(w http.ResponseWriter) {
	writeReason(w, http.StatusNotFound, codeNotFound, "Requested resource was not found.")
}

func duplicateRef(w http.ResponseWriter) {
	writeReason(w, http.StatusConflict, codeAlreadyExists, "Duplicated reference id. Creation of resource failed.")
}

// subscriptionKey reads Ocp-Apim-Subscription-Key (header, or the
// subscription-key query parameter: both security schemes of A.2).
func (s *Simulator) subscriptionKey(w http.ResponseWriter, r *http.Request) (string, bool) {
	k := r.Header.Get("Ocp-Apim-Subscription-Key")
	if k == "" {
		k = r.URL.Query().Get("subscription-key")
	}
	if k == "" {
		apimDenied(w, "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.")
		return "", false
	}
	return k, true
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		badRequest(w, "the body is too large or unreadable.")
		return nil, false
	}
	return b, true
}

// --- provisioning (A.3) ---------------------------------------------------

func (s *Simulator) createUser(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.subscriptionKey(w, r)
	if !ok {
		return
	}
	id := r.Header.Get("X-Reference-Id")
	if !isUUIDv4(id) {
		badRequest(w, "X-Reference-Id must be a UUID version 4.")
		return
	}
	b, ok := readBody(w, r)
	if !ok {
		return
	}
	var req struct {
		ProviderCallbackHost string `json:"providerCallbackHost"`
	}
	if err := json.Unmarshal(b, &req); err != nil || strings.TrimSpace(req.ProviderCallbackHost) == "" {
		badRequest(w, "providerCallbackHost is required.")
		return
	}
	s.mu.Lock()
	defer s.unlock()
	if _, dup := s.users[id]; dup {
		duplicateRef(w)
		return
	}
	s.users[id] = &simUser{ID: id, Host: strings.ToLower(strings.TrimSpace(req.ProviderCallbackHost)), SubscriptionKey: sub}
	s.changedLocked()
	w.WriteHeader(http.StatusCreated)
}

// userFor returns the API user id if the subscription key created it.
func (s *Simulator) userFor(id, sub string) *simUser {
	u := s.users[id]
	if u == nil || u.SubscriptionKey != sub {
		return nil
	}
	return u
}

func (s *Simulator) createKey(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.subscriptionKey(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.unlock()
	u := s.userFor(r.PathValue("id"), sub)
	if u == nil {
		notFound(w)
		return
	}
	u.Key = models.NewToken(128) // a new key replaces the old one
	s.changedLocked()
	simkit.WriteJSON(w, http.StatusCreated, map[string]string{"apiKey": u.Key})
}

func (s *Simulator) getUser(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.subscriptionKey(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.unlock()
	u := s.userFor(r.PathValue("id"), sub)
	if u == nil {
		notFound(w)
		return
	}
	simkit.WriteJSON(w, http.StatusOK, map[string]string{"providerCallbackHost": u.Host, "targetEnvironment": "sandbox"})
}

// --- token (A.4) ----------------------------------------------------------

func (s *Simulator) token(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.subscriptionKey(w, r)
	if !ok {
		return
	}
	if b, _ := io.ReadAll(io.LimitReader(r.Body, 1024)); len(b) > 0 {
		badRequest(w, "the token API takes no body.")
		return
	}
	id, key, ok := r.BasicAuth()
	s.mu.Lock()
	defer s.unlock()
	u := s.users[id]
	if !ok || u == nil || u.Key == "" || u.Key != key {
		simkit.WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "login_failed"})
		return
	}
	if u.SubscriptionKey != sub {
		apimDenied(w, "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.")
		return
	}
	exp := s.now().Add(simTokenLife)
	claims, _ := json.Marshal(map[string]any{"clientId": id, "expires": exp.UTC().Format(time.RFC3339), "sessionId": models.NewUUID()})
	tok := "eyJ0eXAiOiJKV1QiLCJhbGciOiJSMjU2In0." + base64.RawURLEncoding.EncodeToString(claims) + "." + models.NewToken(192)
	s.tokens[tok] = simToken{User: id, Expires: exp}
	s.tokensIssued++
	simkit.WriteJSON(w, http.StatusOK, tokenResponse{AccessToken: tok, TokenType: "access_token", ExpiresIn: int64(simTokenLife / time.Second)})
}

// TokensIssued counts access tokens handed out (for tests).
func (s *Simulator) TokensIssued() int {
	s.mu.Lock()
	defer s.unlock()
	return s.tokensIssued
}

// productHandler serves an authenticated product call; it runs with s.mu
// held, u is the API user the bearer token belongs to and body the request
// body.
type productHandler func(w http.ResponseWriter, r *http.Request, u *simUser, body []byte)

// product wraps every product call: it checks the subscription key and reads
// the body before taking s.mu, then authenticates the call (productLocked)
// and runs h under the lock, saving any change before the answer leaves.
func (s *Simulator) product(h productHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sub, ok := s.subscriptionKey(w, r)
		if !ok {
			return
		}
		b, ok := readBody(w, r)
		if !ok {
			return
		}
		s.mu.Lock()
		defer s.unlock()
		if u := s.productLocked(w, r, sub); u != nil {
			h(w, r, u, b)
		}
	}
}

// productLocked authenticates a product call: subscription key, bearer token
// and X-Target-Environment (A.5). It answers the call itself on failure. The
// caller must hold s.mu.
func (s *Simulator) productLocked(w http.ResponseWriter, r *http.Request, sub string) *simUser {
	auth := r.Header.Get("Authorization")
	tok, found := strings.CutPrefix(auth, "Bearer ")
	t, known := s.tokens[tok]
	if !found || !known || !s.now().Before(t.Expires) {
		apimDenied(w, "Access denied due to invalid or expired access token.")
		return nil
	}
	u := s.users[t.User]
	if u == nil || u.SubscriptionKey != sub {
		apimDenied(w, "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.")
		return nil
	}
	switch env := r.Header.Get("X-Target-Environment"); env {
	case "sandbox":
	case "":
		badRequest(w, "the X-Target-Environment header is required.")
		return nil
	default:
		writeReason(w, http.StatusInternalServerError, codeNotAllowedTarget, "Access to target environment is forbidden.")
		return nil
	}
	return u
}

// checkCallback enforces providerCallbackHost on X-Callback-Url (A.10).
func checkCallback(w http.ResponseWriter, raw string, u *simUser) bool {
	if raw == "" {
		return true
	}
	cu, err := url.Parse(raw)
	if err != nil || (cu.Scheme != "http" && cu.Scheme != "https") || cu.Hostname() == "" {
		badRequest(w, "X-Callback-Url must be an absolute http or https URL.")
		return false
	}
	if !strings.EqualFold(cu.Hostname(), u.Host) {
		writeReason(w, http.StatusInternalServerError, codeInvalidCallback, "Callback URL with different host name to configured for API User.")
		return false
	}
	return true
}

// --- invoices (A.6–A.8) ---------------------------------------------------

var (
	simAmountRe   = regexp.MustCompile(`^[0-9]{1,15}(\.[0-9]{1,2})?$`)
	simDurationRe = regexp.MustCompile(`^[0-9]{1,9}$`)
	simCurrencyRe = regexp.MustCompile(`^[A-Z]{3}$`)
	simMSISDNRe   = regexp.MustCompile(`^[0-9]{5,15}$`)
)

func checkParty(p *party, field string, required bool) string {
	if p == nil {
		if required {
			return field + " is required."
		}
		return ""
	}
	switch p.PartyIDType {
	case "MSISDN":
		if !simMSISDNRe.MatchString(p.PartyID) {
			return field + ".partyId must be an MSISDN: digits with the country code."
		}
	case "EMAIL", "PARTY_CODE":
		if strings.TrimSpace(p.PartyID) == "" {
			return field + ".partyId is required."
		}
	default:
		return field + ".partyIdType must be MSISDN, EMAIL or PARTY_CODE."
	}
	return ""
}

// freshRefLocked reads the X-Reference-Id of a create or cancel: a UUID v4
// that no create or cancel has taken yet. It answers the call itself when
// the id is not usable. The caller must hold s.mu.
func (s *Simulator) freshRefLocked(w http.ResponseWriter, r *http.Request) (string, bool) {
	ref := r.Header.Get("X-Reference-Id")
	if !isUUIDv4(ref) {
		badRequest(w, "X-Reference-Id must be a UUID version 4.")
		return "", false
	}
	if s.usedRefs[ref] {
		duplicateRef(w)
		return "", false
	}
	return ref, true
}

func (s *Simulator) createInvoiceLocked(w http.ResponseWriter, r *http.Request, u *simUser, b []byte) {
	ref, ok := s.freshRefLocked(w, r)
	if !ok {
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		badRequest(w, "Content-Type must be application/json.")
		return
	}
	if bytes.ContainsRune(b, '\'') {
		badRequest(w, "the body contains an apostrophe.")
		return
	}
	var req createInvoice
	if err := json.Unmarshal(b, &req); err != nil {
		badRequest(w, "the body is not a CreateInvoice: "+err.Error())
		return
	}
	if msg := validateCreate(&req); msg != "" {
		badRequest(w, msg)
		return
	}
	if req.Currency != "EUR" { // the only environment served here is sandbox
		writeReason(w, http.StatusInternalServerError, codeInvalidCurrency, "Currency not supported.")
		return
	}
	cb := r.Header.Get("X-Callback-Url")
	if !checkCallback(w, cb, u) {
		return
	}
	if f, ok := simCreateRefusals[req.IntendedPayer.PartyID]; ok {
		writeReason(w, f.HTTP, f.Code, f.Message)
		return
	}
	now := s.now()
	secs, _ := time.ParseDuration(req.ValidityDuration + "s")
	inv := &simInvoice{
		Ref: ref, User: u.ID, ExternalID: req.ExternalID, Amount: req.Amount, Currency: req.Currency, Descr: req.Description,
		Payer: *req.IntendedPayer, Payee: req.Payee, Status: statusCreated,
		PaymentRef: s.newPaymentRefLocked(), InvoiceID: randomDigits(10),
		Created: now, Expires: now.Add(secs), CallbackURL: cb,
		PayeeFirstName: "Sandbox", PayeeLastName: "Merchant",
	}
	s.usedRefs[ref] = true
	s.invoices[ref] = inv
	s.byPayRef[inv.PaymentRef] = ref
	s.changedLocked()
	if f, ok := simCreateFailures[inv.Payer.PartyID]; ok {
		er := f
		s.finishLocked(inv, &er)
	} else {
		s.afterLocked(inv.Expires.Sub(now), func() { s.expire(ref) })
	}
	w.WriteHeader(http.StatusAccepted)
}

// validateCreate checks a CreateInvoice body the way MTN documents (A.6,
// A.9); it returns "" when the body is acceptable.
func validateCreate(req *createInvoice) string {
	switch {
	case strings.TrimSpace(req.ExternalID) == "":
		return "externalId is required."
	case req.Amount == "":
		return "amount is required."
	case !simAmountRe.MatchString(req.Amount) || strings.Trim(req.Amount, "0.") == "":
		return "amount must be a positive number written as a string, e.g. \"5000\"."
	case req.Currency == "":
		return "currency is required."
	case !simCurrencyRe.MatchString(req.Currency):
		return "currency must be an ISO 4217 code."
	case req.ValidityDuration == "":
		return "validityDuration is required."
	case !simDurationRe.MatchString(req.ValidityDuration) || strings.Trim(req.ValidityDuration, "0") == "":
		return "validityDuration must be a positive number of seconds written as a string."
	case utf8.RuneCountInString(req.Description) > maxDescription:
		return fmt.Sprintf("description is longer than %d characters.", maxDescription)
	}
	if msg := checkParty(req.IntendedPayer, "intendedPayer", true); msg != "" {
		return msg
	}
	return checkParty(req.Payee, "payee", false)
}

func (s *Simulator) getInvoiceLocked(w http.ResponseWriter, r *http.Request, u *simUser, _ []byte) {
	inv := s.invoices[r.PathValue("ref")]
	if inv == nil || inv.User != u.ID {
		notFound(w)
		return
	}
	s.dueLocked(inv)
	simkit.WriteJSON(w, http.StatusOK, inv.result())
}

func (s *Simulator) cancelInvoiceLocked(w http.ResponseWriter, r *http.Request, u *simUser, b []byte) {
	cref, ok := s.freshRefLocked(w, r)
	if !ok {
		return
	}
	var req cancelInvoice
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &req); err != nil {
			badRequest(w, "the body is not a CancelInvoiceRequest: "+err.Error())
			return
		}
	}
	inv := s.invoices[r.PathValue("ref")]
	if inv == nil || inv.User != u.ID {
		notFound(w)
		return
	}
	cb := r.Header.Get("X-Callback-Url")
	if !checkCallback(w, cb, u) {
		return
	}
	s.dueLocked(inv)
	if !inv.open() {
		writeReason(w, http.StatusBadRequest, codeNotAllowed, "The invoice is "+inv.Status+" and can no longer be cancelled.")
		return
	}
	s.usedRefs[cref] = true
	s.changedLocked()
	if cb != "" {
		inv.CallbackURL = cb
	}
	s.finishLocked(inv, &errorReason{Code: codeCanceled, Message: "The invoice was cancelled by the payee."})
	ext := req.ExternalID
	if ext == "" {
		ext = inv.ExternalID
	}
	simkit.WriteJSON(w, http.StatusOK, cancelInvoice{ExternalID: ext})
}

func (inv *simInvoice) result() invoiceResult {
	p := inv.Payer
	return invoiceResult{
		ReferenceID: inv.Ref, ExternalID: inv.ExternalID, Amount: inv.Amount, Currency: inv.Currency,
		Status: inv.Status, PaymentReference: inv.PaymentRef, InvoiceID: inv.InvoiceID,
		ExpiryDateTime: inv.Expires.UTC().Format("2006-01-02T15:04:05"),
		PayeeFirstName: inv.PayeeFirstName, PayeeLastName: inv.PayeeLastName,
		ErrorReason: inv.Err, IntendedPayer: &p, Description: inv.Descr,
	}
}

// --- state changes ----------------------------------------------------------

func (inv *simInvoice) open() bool { return inv.Status == statusCreated || inv.Status == statusPending }

// finishLocked moves an open invoice to SUCCESSFUL (er == nil) or FAILED and
// sends the PUT callback to its X-Callback-Url (A.10).
func (s *Simulator) finishLocked(inv *simInvoice, er *errorReason) {
	if !inv.open() {
		return
	}
	if er == nil {
		inv.Status, inv.Err = statusSuccessful, nil
	} else {
		inv.Status, inv.Err = statusFailed, er
	}
	inv.SettleAt = time.Time{}
	s.changedLocked()
	if inv.CallbackURL == "" || s.closed {
		return
	}
	body, err := json.Marshal(inv.result())
	if err != nil {
		s.log.Error("momo simulator: encode callback", "err", err)
		return
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	s.disp.Send(simkit.Callback{URL: inv.CallbackURL, Method: http.MethodPut, Header: h, Body: body})
}

// dueLocked applies what has fallen due on an open invoice, in the order it
// fell due: a delayed payment whose time has come (SettleAt), or the expiry
// once the validity has passed. Every lookup calls it, so what fell due
// while the app was down is applied when the invoice is next looked at.
func (s *Simulator) dueLocked(inv *simInvoice) {
	if !inv.open() {
		return
	}
	now := s.now()
	if !inv.SettleAt.IsZero() && !now.Before(inv.SettleAt) && inv.SettleAt.Before(inv.Expires) {
		s.finishLocked(inv, nil)
		return
	}
	if !now.Before(inv.Expires) {
		s.finishLocked(inv, &errorReason{Code: codeExpired, Message: "The invoice expired."})
	}
}

func (s *Simulator) expire(ref string) {
	s.mu.Lock()
	defer s.unlock()
	if inv := s.invoices[ref]; inv != nil {
		s.dueLocked(inv)
	}
}

// settle completes a delayed payment (test MSISDN 46733123454) unless the
// invoice was finished or expired first.
func (s *Simulator) settle(ref string) {
	s.mu.Lock()
	defer s.unlock()
	if inv := s.invoices[ref]; inv != nil {
		s.dueLocked(inv)
		if !inv.SettleAt.IsZero() {
			s.finishLocked(inv, nil)
		}
	}
}

// afterLocked runs f after d unless the simulator is closed first.
func (s *Simulator) afterLocked(d time.Duration, f func()) {
	if s.closed {
		return
	}
	if d < 0 {
		d = 0
	}
	s.timers = append(s.timers, time.AfterFunc(d+10*time.Millisecond, f))
}

func (s *Simulator) newPaymentRefLocked() string {
	for {
		ref := randomDigits(8)
		if _, taken := s.byPayRef[ref]; !taken && ref[0] != '0' {
			return ref
		}
	}
}

func randomDigits(n int) string {
	var b strings.Builder
	for range n {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			panic(fmt.Sprintf("momo: crypto/rand failed: %v", err))
		}
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}
