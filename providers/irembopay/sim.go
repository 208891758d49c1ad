package irembopay

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	mrand "math/rand/v2"
	"net/http"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"ankara/providers/simkit"
)

// The simulator imports nothing of the application but simkit: it keeps its
// own strict wire types and parsers, so the client is checked against an
// independent reading of providers/monnify-and-irembopay.md §2 and §3.

// SimOptions configure a Simulator.
type SimOptions struct {
	PublicURL string       // absolute URL where the simulator is mounted, e.g. http://localhost:8080/sandbox/irembopay
	HTTP      *http.Client // for delivering notifications
	Log       *slog.Logger
	Now       func() time.Time
	// StateFile is the JSON file where the simulator keeps its merchants,
	// invoices and prompts across restarts; empty keeps them in memory only.
	StateFile string
}

// Simulator serves IremboPay's merchant API, its checkout page, a phone
// that receives mobile-money prompts, and signed payment notifications.
type Simulator struct {
	publicURL string
	log       *slog.Logger
	now       func() time.Time
	disp      *simkit.Dispatcher
	mux       *http.ServeMux
	stateFile string

	mu        sync.Mutex
	merchants map[string]*simMerchant // by secret key
	invoices  map[string]*simInvoice  // by invoice number
	byTx      map[string]string       // txKey(merchant key, transactionId) → invoice number
	prompts   []*simPrompt            // oldest first

	state *simkit.StateWriter // writes the state file after s.mu is released; nil without one
}

// NotificationSchedule is the simulator's wait between notification
// attempts: 6 tries in about half a minute. IremboPay documents no retry
// policy; the only public trace is "6 failed webhook attempts" in a sandbox
// (providers §2.8), so the simulator also makes 6 attempts, with short waits.
var NotificationSchedule = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}

// SimPaymentAccount and SimProduct are the simulator's seeded catalogue,
// the same for every sandbox merchant. 07808652516 is the account of the
// docs' sample request; ProvisionSandbox is given the TST-* accounts.
type SimPaymentAccount struct {
	Identifier string `json:"identifier"`
	Currency   string `json:"currency"`
	listed     bool
}

// SimProduct is a seeded product.
type SimProduct struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

var simAccounts = []SimPaymentAccount{
	{"TST-RWF", "RWF", true},
	{"TST-USD", "USD", true},
	{"TST-EUR", "EUR", true},
	{"07808652516", "RWF", false},
}

var simProducts = []SimProduct{
	{"PC-aaf751b73f", "Consulting hour"},
	{"PC-7c1e2d9b40", "Training seat"},
	{"PC-5d2e8f6a13", "Delivery"},
}

// simKeyMAC signs the simulator's secret keys. A key carries the merchant's
// notification URL and a MAC, so that a restarted simulator still recognises
// the keys it issued and where to notify, even without a state file. It is a
// sandbox convenience, not a secret: anyone may onboard a sandbox merchant.
const simKeyMAC = "ankara-irembopay-simulator-v1"

type simMerchant struct {
	key       string
	notifyURL string
}

type simItem struct {
	Code      string `json:"code"`
	Quantity  int64  `json:"quantity"`
	UnitMinor int64  `json:"unitMinor"`
}

type simCustomer struct {
	Email       string `json:"email,omitempty"`
	PhoneNumber string `json:"phoneNumber,omitempty"`
	Name        string `json:"name,omitempty"`
}

// simInvoice and simPrompt are also the records of the state file.
type simInvoice struct {
	Number           string       `json:"number"`
	TransactionID    string       `json:"transactionId"`
	MerchantKey      string       `json:"merchantKey"`
	Account          string       `json:"account"`
	Currency         string       `json:"currency"`
	Items            []simItem    `json:"items"`
	AmountMinor      int64        `json:"amountMinor"`
	Status           string       `json:"status"` // NEW or PAID
	Type             string       `json:"type"`   // SINGLE or BATCH
	CreatedAt        time.Time    `json:"createdAt"`
	UpdatedAt        time.Time    `json:"updatedAt"`
	ExpiryAt         *time.Time   `json:"expiryAt,omitempty"`
	PaidAt           *time.Time   `json:"paidAt,omitempty"`
	Customer         *simCustomer `json:"customer,omitempty"`
	Description      string       `json:"description,omitempty"`
	Language         string       `json:"language,omitempty"`
	PaymentReference string       `json:"paymentReference,omitempty"`
	PaymentMethod    string       `json:"paymentMethod,omitempty"`
	BatchNumber      string       `json:"batchNumber,omitempty"`
	Children         []string     `json:"children,omitempty"`
	InBatch          string       `json:"inBatch,omitempty"` // the batch invoice number of a child
}

type simPrompt struct {
	Ref           string    `json:"ref"`
	MSISDN        string    `json:"msisdn"`
	Provider      string    `json:"provider"`
	InvoiceNumber string    `json:"invoiceNumber"`
	AmountMinor   int64     `json:"amountMinor"`
	Currency      string    `json:"currency"`
	Status        string    `json:"status"` // PENDING, APPROVED, DECLINED, FAILED
	Note          string    `json:"note,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
}

// NewSimulator returns a simulator, with the state of opts.StateFile when
// that file exists; Close stops its deliveries and saves its state.
func NewSimulator(opts SimOptions) *Simulator {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Simulator{
		publicURL: strings.TrimRight(opts.PublicURL, "/"),
		log:       opts.Log,
		now:       opts.Now,
		disp:      simkit.NewDispatcher(opts.HTTP, NotificationSchedule, opts.Log),
		merchants: map[string]*simMerchant{},
		invoices:  map[string]*simInvoice{},
		byTx:      map[string]string{},
		stateFile: opts.StateFile,
		state:     simkit.NewStateWriter(opts.StateFile),
	}
	s.loadState()
	m := http.NewServeMux()
	m.HandleFunc("POST /payments/invoices", s.api(s.handleCreate))
	m.HandleFunc("POST /payments/invoices/batch", s.api(s.handleBatch))
	m.HandleFunc("GET /payments/invoices/{ref}", s.api(s.handleGet))
	m.HandleFunc("PUT /payments/invoices/{number}", s.api(s.handleUpdate))
	m.HandleFunc("POST /payments/transactions/initiate", s.handleInitiate)
	m.HandleFunc("POST /_sandbox/merchants", s.handleOnboard)
	m.HandleFunc("/_faults", s.disp.FaultsHandler)
	m.HandleFunc("GET /checkout/{number}", s.pageCheckout)
	m.HandleFunc("POST /checkout/{number}/card", s.postCard)
	m.HandleFunc("POST /checkout/{number}/push", s.postPush)
	m.HandleFunc("GET /phone", s.pagePhoneIndex)
	m.HandleFunc("GET /phone/{msisdn}", s.pagePhone)
	m.HandleFunc("POST /phone/{msisdn}/prompts/{ref}/{action}", s.postPrompt)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		simError(w, http.StatusNotFound, "NOT_FOUND", "No such resource: "+r.Method+" "+r.URL.Path)
	})
	s.mux = m
	return s
}

// ServeHTTP serves paths relative to the mount.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close stops background deliveries (notifications still queued are lost)
// and saves the state; a closed simulator saves nothing more.
func (s *Simulator) Close() {
	s.disp.Close()
	s.mu.Lock()
	s.snapshotLocked() // the newest snapshot, which the writer's Close writes
	s.mu.Unlock()
	if err := s.state.Close(); err != nil {
		s.log.Warn("irembopay simulator: could not save its state", "file", s.stateFile, "err", err)
	}
}

// Dispatcher returns the notification dispatcher (faults for tests).
func (s *Simulator) Dispatcher() *simkit.Dispatcher { return s.disp }

// ---- envelope and errors (§2.2)

type simEnvelope struct {
	Success bool         `json:"success"`
	Message string       `json:"message"`
	Data    any          `json:"data"`
	Errors  []simErrItem `json:"errors"`
}

type simErrItem struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

func simOK(w http.ResponseWriter, status int, message string, data any) {
	simkit.WriteJSON(w, status, simEnvelope{Success: true, Message: message, Data: data, Errors: []simErrItem{}})
}

func simError(w http.ResponseWriter, status int, code, detail string) {
	msg := "Invalid request"
	switch status {
	case http.StatusUnauthorized:
		msg = "Authentication failed"
	case http.StatusNotFound:
		msg = "Resource not found"
	}
	simkit.WriteJSON(w, status, simEnvelope{Success: false, Message: msg, Data: nil, Errors: []simErrItem{{Code: code, Detail: detail}}})
}

// apiErr is a documented error: HTTP status, code and the docs' description.
type apiErr struct {
	Status int
	Code   string
	Detail string
}

// The documented errors, with the descriptions of the docs' tables. The
// create page (seed 001) gives 400 for every code, including the two
// NOT_FOUND ones, and the simulator follows it; the client accepts 400 or 404.
var (
	errTxMissing       = apiErr{400, "TRANSACTION_ID_MISSING", "No transaction id provided"}
	errDuplicateTx     = apiErr{400, "DUPLICATE_TRANSACTION_ID", "The provided transaction Id already exists"}
	errProductMissing  = apiErr{400, "PRODUCT_MISSING", "No product provided."}
	errBadProduct      = apiErr{400, "BAD_PRODUCT", "An item of the products array is incorrectly formatted or has missing parameters."}
	errAccountMissing  = apiErr{400, "PAYMENT_ACCOUNT_MISSING", "paymentAccountIdentifier parameter is missing."}
	errBadExpiry       = apiErr{400, "BAD_EXPIRATION_DATE", "The expiration date is incorrectly formatted or is in the past"}
	errBadLanguage     = apiErr{400, "BAD_LANGUAGE", "The language is incorrectly formatted."}
	errBadContact      = apiErr{400, "BAD_CUSTOMER_CONTACT", "A CustomerContact is incorrectly formatted."}
	errAccountNotFound = apiErr{400, "PAYMENT_ACCOUNT_NOT_FOUND", "The payment account identifier provided does not exist under the merchant."}
	errProductNotFound = apiErr{400, "PRODUCT_NOT_FOUND", "A product provided does not exist under the merchant."}
	errInvoiceNotFound = apiErr{404, "INVOICE_NOT_FOUND", "The invoice provided does not exist"}
	errPhoneMissing    = apiErr{400, "PHONE_NUMBER_MISSING", "No phone number provided"}
	errInvoiceExpired  = apiErr{400, "INVOICE_EXPIRED", "The invoice has expired"}
	errAlreadyPaid     = apiErr{400, "INVOICE_ALREADY_PAID", "The invoice is already paid"}
	errInBatch         = apiErr{400, "INVOICE_ALREADY_IN_BATCH", "The invoice is part of a batch invoice and cannot be paid individually."}
	errBadData         = apiErr{400, "BAD_DATA", "Currency of the invoice is not RWF."}
	errBadProvider     = apiErr{400, "BAD_PAYMENT_PROVIDER", "The value of the payment provider is not valid."}
	errInvoiceMissing  = apiErr{400, "INVOICE_MISSING", "Invoice number is not provided in the request body"}
	errProviderMix     = apiErr{400, "PAYMENT_PROVIDER_ERROR", "MTN number provided for AIRTEL payment provider or vice versa"}
	errBadPhone        = apiErr{400, "BAD_PHONE_NUMBER", "The account identifier provided is more or less than 12 digits"}
)

func (e apiErr) write(w http.ResponseWriter) { simError(w, e.Status, e.Code, e.Detail) }

// ---- authentication (§2.1)

// api wraps an authenticated API handler: faults first, then the
// irembopay-secretKey and X-API-Version headers (matched
// case-insensitively, as HTTP header names are).
func (s *Simulator) api(h func(http.ResponseWriter, *http.Request, *simMerchant)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.disp.APIFault(w, r) {
			return
		}
		m, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		h(w, r, m)
	}
}

func (s *Simulator) authenticate(w http.ResponseWriter, r *http.Request) (*simMerchant, bool) {
	key := r.Header.Get("irembopay-secretKey")
	if key == "" {
		simError(w, http.StatusUnauthorized, "UNAUTHORIZED", "The irembopay-secretKey header is missing.")
		return nil, false
	}
	m := s.merchant(key)
	if m == nil {
		simError(w, http.StatusUnauthorized, "UNAUTHORIZED", "The secret key is not valid.")
		return nil, false
	}
	switch r.Header.Get("X-API-Version") {
	case "1", "2", "3":
	case "":
		simError(w, http.StatusBadRequest, "VALIDATION_ERROR", "The X-API-Version header is missing.")
		return nil, false
	default:
		simError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Unsupported X-API-Version.")
		return nil, false
	}
	return m, true
}

// merchant finds the merchant of a secret key, re-creating it from a key
// this simulator issued before a restart.
func (s *Simulator) merchant(key string) *simMerchant {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.merchantLocked(key)
}

func (s *Simulator) merchantLocked(key string) *simMerchant {
	if m, ok := s.merchants[key]; ok {
		return m
	}
	rest, ok := strings.CutPrefix(key, "sk_sandbox.")
	if !ok {
		return nil
	}
	payloadB64, mac, ok := strings.Cut(rest, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(keyMAC(payloadB64))) {
		return nil
	}
	payload, err := base64.RawURLEncoding.DecodeString(payloadB64)
	if err != nil {
		return nil
	}
	_, notify, _ := strings.Cut(string(payload), "|")
	m := &simMerchant{key: key, notifyURL: notify}
	s.merchants[key] = m
	return m
}

func keyMAC(payloadB64 string) string {
	h := hmac.New(sha256.New, []byte(simKeyMAC))
	h.Write([]byte(payloadB64))
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// RegisterMerchant onboards a merchant whose notifications go to notifyURL
// and returns its secret key (what POST /_sandbox/merchants does).
func (s *Simulator) RegisterMerchant(notifyURL string) string {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:]) // crypto/rand never fails on supported platforms
	payload := base64.RawURLEncoding.EncodeToString([]byte(hex.EncodeToString(nonce[:]) + "|" + notifyURL))
	key := "sk_sandbox." + payload + "." + keyMAC(payload)
	s.mu.Lock()
	s.merchants[key] = &simMerchant{key: key, notifyURL: notifyURL}
	snap := s.snapshotLocked()
	s.mu.Unlock()
	s.save(snap)
	return key
}

// handleOnboard is the simulator-only stand-in for signing up on the
// IremboPay portal: POST /_sandbox/merchants {"notificationUrl": "…"}.
func (s *Simulator) handleOnboard(w http.ResponseWriter, r *http.Request) {
	var req struct {
		NotificationURL string `json:"notificationUrl"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
		http.Error(w, "body must be JSON with notificationUrl", http.StatusBadRequest)
		return
	}
	if !strings.HasPrefix(req.NotificationURL, "http://") && !strings.HasPrefix(req.NotificationURL, "https://") {
		http.Error(w, "notificationUrl must be an http(s) URL", http.StatusBadRequest)
		return
	}
	var accounts []SimPaymentAccount
	for _, a := range simAccounts {
		if a.listed {
			accounts = append(accounts, a)
		}
	}
	simkit.WriteJSON(w, http.StatusCreated, map[string]any{
		"secretKey":       s.RegisterMerchant(req.NotificationURL),
		"paymentAccounts": accounts,
		"products":        simProducts,
	})
}

// ---- strict request parsing

func readBody(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, bool) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		simError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Unreadable body.")
		return nil, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		simError(w, http.StatusBadRequest, "VALIDATION_ERROR", "The body must be a JSON object.")
		return nil, false
	}
	return m, true
}

// str reads an optional JSON string field; ok is false for a non-string.
func str(m map[string]json.RawMessage, k string) (string, bool) {
	raw, present := m[k]
	if !present || string(raw) == "null" {
		return "", true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

var (
	jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]{1,2})?$`)
	jsonInt    = regexp.MustCompile(`^(0|[1-9][0-9]{0,8})$`)
)

// decMinor converts a JSON number to minor units of a currency exponent,
// exactly; it fails on more decimals than the currency has.
func decMinor(num string, exponent int) (int64, bool) {
	if !jsonNumber.MatchString(num) || len(num) > 30 {
		return 0, false
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, false
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exponent)), nil)))
	if !r.IsInt() || !r.Num().IsInt64() || r.Num().Int64() > 1<<50 {
		return 0, false
	}
	return r.Num().Int64(), true
}

func simExponent(cur string) int {
	if cur == "RWF" {
		return 0
	}
	return 2
}

// formatMinor writes minor units as a JSON number of the major unit.
func formatMinor(minor int64, exponent int) json.Number {
	if exponent == 0 {
		return json.Number(strconv.FormatInt(minor, 10))
	}
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	p := int64(1)
	for range exponent {
		p *= 10
	}
	return json.Number(fmt.Sprintf("%s%d.%0*d", sign, minor/p, exponent, minor%p))
}

type rawItem struct {
	Code     string
	Quantity int64
	Unit     string // JSON number text, converted once the currency is known
}

// parseItems reads paymentItems: PRODUCT_MISSING when absent or empty,
// BAD_PRODUCT for an item without a code, a whole quantity > 0 or a
// numeric unitAmount ≥ 0.
func parseItems(raw json.RawMessage) ([]rawItem, *apiErr) {
	var list []map[string]json.RawMessage
	if len(raw) == 0 || string(raw) == "null" {
		return nil, &errProductMissing
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, &errBadProduct
	}
	if len(list) == 0 {
		return nil, &errProductMissing
	}
	var out []rawItem
	for _, it := range list {
		if it == nil {
			return nil, &errBadProduct
		}
		code, ok := str(it, "code")
		q := strings.TrimSpace(string(it["quantity"]))
		u := strings.TrimSpace(string(it["unitAmount"]))
		if !ok || strings.TrimSpace(code) == "" || !jsonInt.MatchString(q) || !jsonNumber.MatchString(u) || strings.HasPrefix(u, "-") {
			return nil, &errBadProduct
		}
		n, _ := strconv.ParseInt(q, 10, 64)
		if n <= 0 {
			return nil, &errBadProduct
		}
		out = append(out, rawItem{Code: code, Quantity: n, Unit: u})
	}
	return out, nil
}

// resolveItems converts amounts in the account's currency and checks the
// products exist.
func resolveItems(items []rawItem, currency string) ([]simItem, int64, *apiErr) {
	var out []simItem
	var total int64
	for _, it := range items {
		unit, ok := decMinor(it.Unit, simExponent(currency))
		if !ok {
			return nil, 0, &errBadProduct
		}
		if _, ok := findProduct(it.Code); !ok {
			return nil, 0, &errProductNotFound
		}
		out = append(out, simItem{Code: it.Code, Quantity: it.Quantity, UnitMinor: unit})
		total += unit * it.Quantity
	}
	return out, total, nil
}

func findProduct(code string) (SimProduct, bool) {
	for _, p := range simProducts {
		if p.Code == code {
			return p, true
		}
	}
	return SimProduct{}, false
}

func findAccount(id string) (SimPaymentAccount, bool) {
	for _, a := range simAccounts {
		if a.Identifier == id {
			return a, true
		}
	}
	return SimPaymentAccount{}, false
}

// parseExpiry reads expiryAt strictly as RFC 3339 ("Internet date and time
// format") in the future.
func (s *Simulator) parseExpiry(raw string) (*time.Time, *apiErr) {
	if raw == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, raw)
	if err != nil || !t.After(s.now()) {
		return nil, &errBadExpiry
	}
	return &t, nil
}

var (
	simPhone = regexp.MustCompile(`^(07[0-9]{8}|2507[0-9]{8}|\+2507[0-9]{8}|7[0-9]{8})$`)
	simEmail = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

// parseCustomer reads the optional customer; BAD_CUSTOMER_CONTACT for a
// malformed email or a phone that is not a Rwandan mobile number (the docs
// type phoneNumber as Integer; every SDK sends the string "0780000001").
func parseCustomer(raw json.RawMessage) (*simCustomer, *apiErr) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, &errBadContact
	}
	c := &simCustomer{}
	var ok bool
	if c.Email, ok = str(m, "email"); !ok {
		return nil, &errBadContact
	}
	if c.Name, ok = str(m, "name"); !ok {
		return nil, &errBadContact
	}
	if p, present := m["phoneNumber"]; present && string(p) != "null" {
		var v flexValue
		if err := json.Unmarshal(p, &v); err != nil {
			return nil, &errBadContact
		}
		c.PhoneNumber = string(v)
	}
	if c.Email != "" {
		if a, err := mail.ParseAddress(c.Email); err != nil || a.Address != c.Email || !simEmail.MatchString(c.Email) {
			return nil, &errBadContact
		}
	}
	if c.PhoneNumber != "" && !simPhone.MatchString(c.PhoneNumber) {
		return nil, &errBadContact
	}
	return c, nil
}

// ---- invoices

// newNumber returns an unused 12-digit invoice number starting 880. Call
// with s.mu held.
func (s *Simulator) newNumber() string {
	for {
		n := fmt.Sprintf("880%09d", mrand.IntN(1_000_000_000))
		if _, taken := s.invoices[n]; !taken {
			return n
		}
	}
}

func (s *Simulator) handleCreate(w http.ResponseWriter, r *http.Request, m *simMerchant) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	txID, ok := str(body, "transactionId")
	if !ok || strings.TrimSpace(txID) == "" {
		errTxMissing.write(w)
		return
	}
	accountID, ok := str(body, "paymentAccountIdentifier")
	if !ok || strings.TrimSpace(accountID) == "" {
		errAccountMissing.write(w)
		return
	}
	items, e := parseItems(body["paymentItems"])
	if e != nil {
		e.write(w)
		return
	}
	expiryRaw, ok := str(body, "expiryAt")
	if !ok {
		errBadExpiry.write(w)
		return
	}
	expiry, e := s.parseExpiry(expiryRaw)
	if e != nil {
		e.write(w)
		return
	}
	lang, ok := str(body, "language")
	if !ok || (lang != "" && lang != "EN" && lang != "FR" && lang != "RW") {
		errBadLanguage.write(w)
		return
	}
	cust, e := parseCustomer(body["customer"])
	if e != nil {
		e.write(w)
		return
	}
	desc, ok := str(body, "description")
	if !ok {
		simError(w, http.StatusBadRequest, "VALIDATION_ERROR", "description must be a string.")
		return
	}
	account, found := findAccount(accountID)
	if !found {
		errAccountNotFound.write(w)
		return
	}
	resolved, total, e := resolveItems(items, account.Currency)
	if e != nil {
		e.write(w)
		return
	}

	s.mu.Lock()
	if _, dup := s.byTx[txKey(m.key, txID)]; dup {
		s.mu.Unlock()
		errDuplicateTx.write(w)
		return
	}
	now := s.now()
	inv := &simInvoice{
		Number: s.newNumber(), TransactionID: txID, MerchantKey: m.key,
		Account: account.Identifier, Currency: account.Currency,
		Items: resolved, AmountMinor: total, Status: "NEW", Type: "SINGLE",
		CreatedAt: now, UpdatedAt: now, ExpiryAt: expiry, Customer: cust,
		Description: desc, Language: lang,
	}
	s.invoices[inv.Number] = inv
	s.byTx[txKey(m.key, txID)] = inv.Number
	snap := s.snapshotLocked()
	view := s.viewLocked(inv, apiTimeLayout)
	s.mu.Unlock()
	s.save(snap)
	simOK(w, http.StatusOK, "Invoice created successfully", view)
}

// txKey is the byTx key of a merchant's transaction id: transaction ids are
// unique per merchant only.
func txKey(merchantKey, txID string) string { return merchantKey + "\x00" + txID }

// lookupLocked finds a merchant's invoice by number or transaction id.
func (s *Simulator) lookupLocked(m *simMerchant, ref string) *simInvoice {
	if inv, ok := s.invoices[ref]; ok && inv.MerchantKey == m.key {
		return inv
	}
	if n, ok := s.byTx[txKey(m.key, ref)]; ok {
		return s.invoices[n]
	}
	return nil
}

func (s *Simulator) handleGet(w http.ResponseWriter, r *http.Request, m *simMerchant) {
	s.mu.Lock()
	inv := s.lookupLocked(m, r.PathValue("ref"))
	if inv == nil {
		s.mu.Unlock()
		errInvoiceNotFound.write(w)
		return
	}
	view := s.viewLocked(inv, apiTimeLayout)
	s.mu.Unlock()
	simOK(w, http.StatusOK, "Invoice retrieved successfully", view)
}

// handleUpdate is PUT /payments/invoices/{invoiceNumber}: a new expiryAt
// and/or new paymentItems for an unpaid, unexpired invoice.
func (s *Simulator) handleUpdate(w http.ResponseWriter, r *http.Request, m *simMerchant) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	expiryRaw, ok := str(body, "expiryAt")
	if !ok {
		errBadExpiry.write(w)
		return
	}
	expiry, e := s.parseExpiry(expiryRaw)
	if e != nil {
		e.write(w)
		return
	}
	var items []rawItem
	if raw, present := body["paymentItems"]; present && string(raw) != "null" {
		if items, e = parseItems(raw); e != nil {
			e.write(w)
			return
		}
	}
	var snap *simkit.StateSnapshot // set once the invoice changed
	s.mu.Lock()
	defer func() { s.mu.Unlock(); s.save(snap) }()
	inv, ok := s.invoices[r.PathValue("number")]
	if !ok || inv.MerchantKey != m.key {
		errInvoiceNotFound.write(w)
		return
	}
	switch {
	case inv.Status == "PAID":
		errAlreadyPaid.write(w)
		return
	case inv.InBatch != "":
		errInBatch.write(w)
		return
	case s.expiredLocked(inv):
		errInvoiceExpired.write(w)
		return
	}
	if items != nil {
		if inv.Type == "BATCH" {
			simError(w, http.StatusBadRequest, "VALIDATION_ERROR", "The items of a batch invoice cannot be changed.")
			return
		}
		resolved, total, e := resolveItems(items, inv.Currency)
		if e != nil {
			e.write(w)
			return
		}
		inv.Items, inv.AmountMinor = resolved, total
	}
	if expiry != nil {
		inv.ExpiryAt = expiry
	}
	inv.UpdatedAt = s.now()
	snap = s.snapshotLocked()
	simOK(w, http.StatusOK, "Invoice updated successfully", s.viewLocked(inv, apiTimeLayout))
}

// handleBatch is POST /payments/invoices/batch with the rules of §2.6.
func (s *Simulator) handleBatch(w http.ResponseWriter, r *http.Request, m *simMerchant) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	txID, ok := str(body, "transactionId")
	if !ok || strings.TrimSpace(txID) == "" {
		errTxMissing.write(w)
		return
	}
	var numbers []string
	if raw, present := body["invoiceNumbers"]; present {
		if err := json.Unmarshal(raw, &numbers); err != nil {
			simError(w, http.StatusBadRequest, "VALIDATION_ERROR", "invoiceNumbers must be an array of strings.")
			return
		}
	}
	if len(numbers) == 0 {
		errInvoiceMissing.write(w)
		return
	}
	desc, ok := str(body, "description")
	if !ok {
		simError(w, http.StatusBadRequest, "VALIDATION_ERROR", "description must be a string.")
		return
	}
	var snap *simkit.StateSnapshot // set once the batch exists
	s.mu.Lock()
	defer func() { s.mu.Unlock(); s.save(snap) }()
	if _, dup := s.byTx[txKey(m.key, txID)]; dup {
		errDuplicateTx.write(w)
		return
	}
	var children []*simInvoice
	seen := map[string]bool{}
	for _, n := range numbers {
		inv, ok := s.invoices[n]
		if !ok || inv.MerchantKey != m.key || inv.Type != "SINGLE" {
			errInvoiceNotFound.write(w)
			return
		}
		if seen[n] {
			simError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Invoice "+n+" is listed twice.")
			return
		}
		seen[n] = true
		switch {
		case inv.Status == "PAID":
			errAlreadyPaid.write(w)
			return
		case s.expiredLocked(inv):
			errInvoiceExpired.write(w)
			return
		case inv.InBatch != "":
			errInBatch.write(w)
			return
		case len(children) > 0 && inv.Currency != children[0].Currency:
			simError(w, http.StatusBadRequest, "BAD_DATA", "All invoices of a batch must have the same currency.")
			return
		case len(children) > 0 && inv.Account != children[0].Account:
			simError(w, http.StatusBadRequest, "BAD_DATA", "All invoices of a batch must have the same payment account identifier.")
			return
		}
		children = append(children, inv)
	}
	now := s.now()
	batch := &simInvoice{
		Number: s.newNumber(), TransactionID: txID, MerchantKey: m.key,
		Account: children[0].Account, Currency: children[0].Currency,
		Status: "NEW", Type: "BATCH", CreatedAt: now, UpdatedAt: now, Description: desc,
	}
	batch.BatchNumber = "BATCH-" + batch.Number
	for _, c := range children {
		batch.Items = append(batch.Items, c.Items...)
		batch.AmountMinor += c.AmountMinor
		batch.Children = append(batch.Children, c.Number)
		if c.ExpiryAt != nil && (batch.ExpiryAt == nil || c.ExpiryAt.Before(*batch.ExpiryAt)) {
			e := *c.ExpiryAt
			batch.ExpiryAt = &e
		}
		c.InBatch = batch.Number
		c.BatchNumber = batch.BatchNumber
		c.UpdatedAt = now
	}
	s.invoices[batch.Number] = batch
	s.byTx[txKey(m.key, txID)] = batch.Number
	snap = s.snapshotLocked()
	simOK(w, http.StatusCreated, "Batch Invoice created successfully", s.viewLocked(batch, apiTimeLayout))
}

// expiredLocked: an unpaid invoice past its expiryAt. IremboPay documents
// no EXPIRED status, so the invoice keeps paymentStatus NEW.
func (s *Simulator) expiredLocked(inv *simInvoice) bool {
	return inv.Status == "NEW" && inv.ExpiryAt != nil && !s.now().Before(*inv.ExpiryAt)
}

// Timestamp forms the simulator writes: API answers use the docs' example
// form (2022-11-27T16:24:51.000+02:00); notifications use the form of the
// docs' notification sample, with an hour-only offset
// (2023-04-19T11:58:02.895+02), which clients must read leniently.
const (
	apiTimeLayout    = "2006-01-02T15:04:05.000-07:00"
	notifyTimeLayout = "2006-01-02T15:04:05.000-07"
)

var simKigali = time.FixedZone("CAT", 2*60*60)

type simItemView struct {
	Code       string      `json:"code"`
	Quantity   int64       `json:"quantity"`
	UnitAmount json.Number `json:"unitAmount"`
}

type simInvoiceView struct {
	InvoiceNumber            string        `json:"invoiceNumber"`
	TransactionID            string        `json:"transactionId"`
	PaymentAccountIdentifier string        `json:"paymentAccountIdentifier"`
	PaymentItems             []simItemView `json:"paymentItems"`
	PaymentStatus            string        `json:"paymentStatus"`
	Amount                   json.Number   `json:"amount"`
	Currency                 string        `json:"currency"`
	Type                     string        `json:"type"`
	CreatedAt                string        `json:"createdAt"`
	UpdatedAt                string        `json:"updatedAt,omitempty"`
	PaidAt                   string        `json:"paidAt,omitempty"`
	ExpiryAt                 string        `json:"expiryAt,omitempty"`
	ChildInvoices            []string      `json:"childInvoices,omitempty"`
	Customer                 *simCustomer  `json:"customer,omitempty"`
	Description              string        `json:"description,omitempty"`
	PaymentReference         string        `json:"paymentReference,omitempty"`
	PaymentMethod            string        `json:"paymentMethod,omitempty"`
	Language                 string        `json:"language,omitempty"`
	BatchNumber              string        `json:"batchNumber,omitempty"`
	PaymentLinkURL           string        `json:"paymentLinkUrl"`
}

func (s *Simulator) viewLocked(inv *simInvoice, layout string) simInvoiceView {
	exp := simExponent(inv.Currency)
	ts := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.In(simKigali).Format(layout)
	}
	v := simInvoiceView{
		InvoiceNumber:            inv.Number,
		TransactionID:            inv.TransactionID,
		PaymentAccountIdentifier: inv.Account,
		PaymentItems:             []simItemView{},
		PaymentStatus:            inv.Status,
		Amount:                   formatMinor(inv.AmountMinor, exp),
		Currency:                 inv.Currency,
		Type:                     inv.Type,
		CreatedAt:                ts(&inv.CreatedAt),
		UpdatedAt:                ts(&inv.UpdatedAt),
		PaidAt:                   ts(inv.PaidAt),
		ExpiryAt:                 ts(inv.ExpiryAt),
		ChildInvoices:            inv.Children,
		Customer:                 inv.Customer,
		Description:              inv.Description,
		PaymentReference:         inv.PaymentReference,
		PaymentMethod:            inv.PaymentMethod,
		Language:                 inv.Language,
		BatchNumber:              inv.BatchNumber,
		PaymentLinkURL:           s.publicURL + "/checkout/" + inv.Number,
	}
	for _, it := range inv.Items {
		v.PaymentItems = append(v.PaymentItems, simItemView{Code: it.Code, Quantity: it.Quantity, UnitAmount: formatMinor(it.UnitMinor, exp)})
	}
	return v
}

// ---- payments

// payLocked marks an invoice paid (a batch pays its children too) and
// returns the notification to send, or the documented refusal.
func (s *Simulator) payLocked(inv *simInvoice, method string) (*simkit.Callback, *apiErr) {
	switch {
	case inv.Status == "PAID":
		return nil, &errAlreadyPaid
	case inv.InBatch != "":
		return nil, &errInBatch
	case s.expiredLocked(inv):
		return nil, &errInvoiceExpired
	}
	now := s.now()
	ref := fmt.Sprintf("IP%s%06d", now.In(simKigali).Format("060102150405"), mrand.IntN(1_000_000))
	mark := func(x *simInvoice) {
		paid := now
		x.Status, x.PaidAt, x.UpdatedAt = "PAID", &paid, now
		x.PaymentMethod, x.PaymentReference = method, ref
	}
	mark(inv)
	for _, n := range inv.Children {
		if c, ok := s.invoices[n]; ok {
			mark(c)
		}
	}
	// §2.6 rule 9: only the batch is notified, never its children.
	return s.notificationLocked(inv), nil
}

// notificationLocked builds the signed payment notification (§2.8): the
// full invoice inside {"success":true,"data":…}, signed over the exact bytes
// sent with the merchant secret key.
func (s *Simulator) notificationLocked(inv *simInvoice) *simkit.Callback {
	m := s.merchantLocked(inv.MerchantKey)
	if m == nil || m.notifyURL == "" {
		return nil
	}
	body, err := json.Marshal(struct {
		Success bool           `json:"success"`
		Data    simInvoiceView `json:"data"`
	}{true, s.viewLocked(inv, notifyTimeLayout)})
	if err != nil {
		s.log.Error("irembopay simulator: encode notification", "err", err)
		return nil
	}
	ts := strconv.FormatInt(s.now().UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(m.key))
	mac.Write([]byte(ts + "#"))
	mac.Write(body)
	h := http.Header{}
	h["irembopay-signature"] = []string{"t=" + ts + ",s=" + hex.EncodeToString(mac.Sum(nil))}
	h.Set("Content-Type", "application/json")
	return &simkit.Callback{URL: m.notifyURL, Method: http.MethodPost, Header: h, Body: body}
}

func (s *Simulator) send(cb *simkit.Callback) {
	if cb != nil {
		s.disp.Send(*cb)
	}
}

// msisdn12 turns 07XXXXXXXX or 2507XXXXXXXX into 2507XXXXXXXX.
func msisdn12(p string) (string, bool) {
	p = strings.TrimPrefix(strings.TrimSpace(p), "+")
	switch {
	case len(p) == 10 && strings.HasPrefix(p, "07") && allDigits(p):
		return "25" + p, true
	case len(p) == 12 && strings.HasPrefix(p, "2507") && allDigits(p):
		return p, true
	}
	return "", false
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// network of a Rwandan mobile number: MTN 078/079, Airtel 072/073.
func network(msisdn string) string {
	switch msisdn[3:5] {
	case "78", "79":
		return "MTN"
	case "72", "73":
		return "AIRTEL"
	}
	return ""
}

// initiate creates a pending prompt with the checks of §2.7, in the order
// of the docs' table. The merchant is nil when the call is unauthenticated
// (the docs say this API needs no authentication) or comes from the
// checkout page.
func (s *Simulator) initiate(m *simMerchant, invoiceNumber, phone, provider string) (*simPrompt, *apiErr) {
	switch {
	case strings.TrimSpace(invoiceNumber) == "":
		return nil, &errInvoiceMissing
	case strings.TrimSpace(phone) == "":
		return nil, &errPhoneMissing
	case provider != "MTN" && provider != "AIRTEL":
		return nil, &errBadProvider
	}
	msisdn, ok := msisdn12(phone)
	if !ok {
		return nil, &errBadPhone
	}
	if network(msisdn) != provider {
		return nil, &errProviderMix
	}
	var snap *simkit.StateSnapshot // set once the prompt exists
	s.mu.Lock()
	defer func() { s.mu.Unlock(); s.save(snap) }()
	inv, ok := s.invoices[invoiceNumber]
	if !ok || (m != nil && inv.MerchantKey != m.key) {
		return nil, &errInvoiceNotFound
	}
	switch {
	case inv.Status == "PAID":
		return nil, &errAlreadyPaid
	case s.expiredLocked(inv):
		return nil, &errInvoiceExpired
	case inv.InBatch != "":
		return nil, &errInBatch
	case inv.Currency != "RWF":
		return nil, &errBadData
	}
	p := &simPrompt{
		Ref:    newUUID(),
		MSISDN: msisdn, Provider: provider, InvoiceNumber: inv.Number,
		AmountMinor: inv.AmountMinor, Currency: inv.Currency, Status: "PENDING", CreatedAt: s.now(),
	}
	s.prompts = append(s.prompts, p)
	snap = s.snapshotLocked()
	return p, nil
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// handleInitiate is POST /payments/transactions/initiate (§2.7). The docs
// say it needs no authentication while listing the headers: a secret key,
// when sent, must be valid and scopes the invoice to its merchant.
func (s *Simulator) handleInitiate(w http.ResponseWriter, r *http.Request) {
	if s.disp.APIFault(w, r) {
		return
	}
	var m *simMerchant
	if r.Header.Get("irembopay-secretKey") != "" {
		var ok bool
		if m, ok = s.authenticate(w, r); !ok {
			return
		}
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	number, ok1 := str(body, "invoiceNumber")
	phone, ok2 := str(body, "accountIdentifier")
	provider, ok3 := str(body, "paymentProvider")
	if !ok1 || !ok2 || !ok3 {
		simError(w, http.StatusBadRequest, "VALIDATION_ERROR", "invoiceNumber, accountIdentifier and paymentProvider must be strings.")
		return
	}
	p, e := s.initiate(m, number, phone, provider)
	if e != nil {
		e.write(w)
		return
	}
	simOK(w, http.StatusOK, "Payment initiated successfully", map[string]any{
		"accountIdentifier": phone,
		"paymentProvider":   p.Provider,
		"invoiceNumber":     p.InvoiceNumber,
		"amount":            formatMinor(p.AmountMinor, simExponent(p.Currency)),
		"referenceId":       p.Ref,
	})
}

// answerPrompt approves or declines a pending prompt. Approving pays the
// invoice with MTN_MOMO or AIRTEL_MONEY; if the invoice can no longer be
// paid, the prompt fails with the reason.
func (s *Simulator) answerPrompt(msisdn, ref string, approve bool) error {
	s.mu.Lock()
	var p *simPrompt
	for _, x := range s.prompts {
		if x.Ref == ref && x.MSISDN == msisdn {
			p = x
		}
	}
	if p == nil {
		s.mu.Unlock()
		return fmt.Errorf("no such prompt")
	}
	if p.Status != "PENDING" {
		s.mu.Unlock()
		return fmt.Errorf("this prompt was already answered")
	}
	if !approve {
		p.Status = "DECLINED"
		snap := s.snapshotLocked()
		s.mu.Unlock()
		s.save(snap)
		return nil
	}
	method := "MTN_MOMO"
	if p.Provider == "AIRTEL" {
		method = "AIRTEL_MONEY"
	}
	var cb *simkit.Callback
	var e *apiErr
	if inv, ok := s.invoices[p.InvoiceNumber]; ok {
		cb, e = s.payLocked(inv, method)
	} else {
		e = &errInvoiceNotFound
	}
	if e != nil {
		p.Status, p.Note = "FAILED", e.Detail
	} else {
		p.Status = "APPROVED"
	}
	snap := s.snapshotLocked()
	s.mu.Unlock()
	s.save(snap)
	s.send(cb)
	return nil
}

// payCard pays an invoice by card from the checkout page.
func (s *Simulator) payCard(number string) *apiErr {
	s.mu.Lock()
	inv, ok := s.invoices[number]
	if !ok {
		s.mu.Unlock()
		return &errInvoiceNotFound
	}
	cb, e := s.payLocked(inv, "ONLINE_CARD")
	var snap *simkit.StateSnapshot
	if e == nil {
		snap = s.snapshotLocked()
	}
	s.mu.Unlock()
	s.save(snap)
	s.send(cb)
	return e
}

// promptsFor lists a phone's prompts, newest first (copies).
func (s *Simulator) promptsFor(msisdn string) []simPrompt {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []simPrompt
	for i := len(s.prompts) - 1; i >= 0; i-- {
		if p := s.prompts[i]; p.MSISDN == msisdn {
			out = append(out, *p)
		}
	}
	return out
}

// invoiceCopy returns a copy of an invoice for a page.
func (s *Simulator) invoiceCopy(number string) (simInvoice, bool, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv, ok := s.invoices[number]
	if !ok {
		return simInvoice{}, false, false
	}
	return *inv, true, s.expiredLocked(inv)
}
