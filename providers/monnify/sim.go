package monnify

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"

	"ankara/models"
	"ankara/providers/simkit"
)

// The simulator's seeded sandbox merchant. Its secret key is the one of the
// documentation's signature test vector (§1.7) and its contract code the one
// of the documentation's sample create request (§1.4.1), so that the docs'
// samples work against it unchanged. It has no webhook URL; merchants made
// through POST /_sim/merchants have one.
const (
	SimAPIKey       = "MK_TEST_VR7J3UAACH"
	SimSecretKey    = "91MUDL9N6U3BQRXBQ2PJ9M0PW4J22M1Y"
	SimContractCode = "38238193818"
)

// SimDeclineCard is the card number the simulator's checkout declines
// ("Card declined by issuer"); every other well-formed card pays.
const SimDeclineCard = "4000000000000002"

// Virtual accounts of simulated invoices are at this bank.
const (
	simBankName = "Wema bank"
	simBankCode = "035"
)

// simTokenLifetime is the expiresIn of an access token (§3: 3600).
const simTokenLifetime = 3600 * time.Second

// SimOptions configure a Simulator.
type SimOptions struct {
	PublicURL string       // absolute URL where the simulator is mounted, e.g. http://localhost:8080/sandbox/monnify
	HTTP      *http.Client // for delivering callbacks
	Log       *slog.Logger
	Now       func() time.Time
	// RetryEvery is the wait between webhook delivery tries (default 2 s).
	// Monnify tries 12 times, 5 minutes apart (§1.8); the simulator also
	// tries 12 times, RetryEvery apart.
	RetryEvery time.Duration
	// StateFile is the JSON file where the simulator keeps its merchants
	// and invoices across restarts (written atomically, mode 0600); empty
	// keeps everything in memory only.
	StateFile string
}

// Simulator serves Monnify's invoice API, its checkout page and a bank
// that transfers into the invoices' virtual accounts.
type Simulator struct {
	public string
	log    *slog.Logger
	now    func() time.Time
	disp   *simkit.Dispatcher
	mux    *http.ServeMux

	mu        sync.Mutex
	merchants map[string]*simMerchant // by API key
	tokens    map[string]simToken
	invoices  map[string]*simInvoice // by API key + "\x00" + invoiceReference
	accounts  map[string]*simInvoice // by virtual account number
	txs       map[string]*simInvoice // by transactionReference
	order     []*simInvoice
	seq       int
	logins    int
	stateFile string
	state     *simkit.StateWriter // writes it after s.mu is released; nil without one
	dirty     bool                // state changed since the last snapshot
}

type simMerchant struct {
	APIKey, SecretKey, ContractCode, WebhookURL string
}

// simMerchantJSON is the onboarding answer of POST /_sim/merchants.
type simMerchantJSON struct {
	APIKey       string `json:"apiKey"`
	SecretKey    string `json:"secretKey"`
	ContractCode string `json:"contractCode"`
	WebhookURL   string `json:"webhookUrl"`
}

type simToken struct {
	merchant *simMerchant
	expires  time.Time
}

type simPayment struct {
	Kobo          int64
	FeeKobo       int64
	Method        string
	At            time.Time
	SenderName    string
	SenderAccount string
	SenderBank    string
	SessionID     string
	Card          *cardDetails
}

type simInvoice struct {
	merchant       *simMerchant
	Ref            string
	Kobo           int64
	Description    string
	CustomerEmail  string
	CustomerName   string
	Expiry         time.Time
	Created        time.Time
	Status         string
	Methods        []string
	RedirectURL    string
	AccountNumber  string
	AccountName    string
	TxRef          string
	Payments       []simPayment
	AccountRef     string
	IncomeSplitRaw json.RawMessage
}

func (inv *simInvoice) paidKobo() int64 {
	var n int64
	for _, p := range inv.Payments {
		n += p.Kobo
	}
	return n
}

func (inv *simInvoice) feeKobo() int64 {
	var n int64
	for _, p := range inv.Payments {
		n += p.FeeKobo
	}
	return n
}

func (inv *simInvoice) allows(method string) bool {
	for _, m := range inv.Methods {
		if m == method {
			return true
		}
	}
	return false
}

// paymentStatus is the transaction's paymentStatus (§1.5).
func (inv *simInvoice) paymentStatus() string {
	paid := inv.paidKobo()
	switch {
	case paid > inv.Kobo:
		return payOverpaid
	case paid == inv.Kobo:
		return payPaid
	case paid > 0:
		return payPartiallyPaid
	case inv.Status == invoiceExpired:
		return payExpired
	case inv.Status == invoiceCancelled:
		return payCancelled
	}
	return payPending
}

// NewSimulator returns a simulator with the seeded sandbox merchant.
func NewSimulator(opts SimOptions) *Simulator {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RetryEvery <= 0 {
		opts.RetryEvery = 2 * time.Second
	}
	schedule := make([]time.Duration, 11) // 12 tries in all, like Monnify
	for i := range schedule {
		schedule[i] = opts.RetryEvery
	}
	s := &Simulator{
		public:    strings.TrimRight(opts.PublicURL, "/"),
		log:       opts.Log,
		now:       opts.Now,
		disp:      simkit.NewDispatcher(opts.HTTP, schedule, opts.Log),
		merchants: map[string]*simMerchant{},
		tokens:    map[string]simToken{},
		invoices:  map[string]*simInvoice{},
		accounts:  map[string]*simInvoice{},
		txs:       map[string]*simInvoice{},
		stateFile: opts.StateFile,
		state:     simkit.NewStateWriter(opts.StateFile),
	}
	s.merchants[SimAPIKey] = &simMerchant{APIKey: SimAPIKey, SecretKey: SimSecretKey, ContractCode: SimContractCode}
	s.load()

	m := http.NewServeMux()
	m.HandleFunc("POST /api/v1/auth/login", s.handleLogin)
	m.HandleFunc("POST /api/v1/invoice/create", s.api(s.handleCreate))
	m.HandleFunc("GET /api/v1/invoice/all", s.api(s.handleList))
	m.HandleFunc("GET /api/v1/invoice/{ref}/details", s.api(s.handleDetails))
	m.HandleFunc("DELETE /api/v1/invoice/{ref}/cancel", s.api(s.handleCancel))
	m.HandleFunc("GET /api/v2/transactions/{ref}", s.api(s.handleVerify))
	m.HandleFunc("GET /checkout/{id}", s.handleCheckout)
	m.HandleFunc("POST /checkout/{id}/card", s.handleCard)
	m.HandleFunc("GET /bank-transfer", s.handleBankPage)
	m.HandleFunc("POST /bank-transfer", s.handleBankSend)
	m.HandleFunc("POST /_sim/merchants", s.handleOnboard)
	m.HandleFunc("POST /_sim/invoices/{id}/pay", s.handleHookPay)
	m.HandleFunc("POST /_sim/invoices/{id}/expire", s.handleHookExpire)
	m.HandleFunc("/_faults", s.disp.FaultsHandler)
	s.mux = m
	return s
}

// ServeHTTP serves paths relative to the mount point.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close stops background deliveries (callbacks still queued are lost) and
// saves the state if a save is pending (or failed); a closed simulator
// saves nothing more.
func (s *Simulator) Close() {
	s.disp.Close()
	s.mu.Lock()
	s.snapshotLocked() // unsaved changes, if any: the writer's Close writes them
	s.mu.Unlock()
	if err := s.state.Close(); err != nil {
		s.log.Error("monnify sim: cannot save state", "file", s.stateFile, "err", err)
	}
}

// Dispatcher gives tests the callback dispatcher and its faults.
func (s *Simulator) Dispatcher() *simkit.Dispatcher { return s.disp }

// Logins counts successful logins (for tests of token caching).
func (s *Simulator) Logins() int {
	s.mu.Lock()
	defer s.unlock()
	return s.logins
}

// --- JSON helpers -----------------------------------------------------------

const codeError = "99" // "Error occurred while processing your request" (§1.3)

func (s *Simulator) ok(w http.ResponseWriter, body any) {
	raw, err := json.Marshal(body)
	if err != nil {
		s.fail(w, http.StatusInternalServerError, "Error occurred while processing your request")
		return
	}
	simkit.WriteJSON(w, http.StatusOK, envelope{RequestSuccessful: true, ResponseMessage: "success", ResponseCode: "0", ResponseBody: raw})
}

func (s *Simulator) fail(w http.ResponseWriter, status int, msg string) {
	simkit.WriteJSON(w, status, envelope{RequestSuccessful: false, ResponseMessage: msg, ResponseCode: codeError})
}

// --- money and ids ------------------------------------------------------------

// simNumber writes kobo as the shortest JSON number: 30000, 999.5.
func simNumber(kobo int64) json.Number {
	s := strings.TrimRight(models.FormatAmount(kobo, ngn), "0")
	return json.Number(strings.TrimSuffix(s, "."))
}

func randDigits(n int) string {
	var b strings.Builder
	for range n {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}

func randUpper(n int) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	var b strings.Builder
	for range n {
		d, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err)
		}
		b.WriteByte(alphabet[d.Int64()])
	}
	return b.String()
}

// newTxRef returns MNFY|NN|yyyyMMddHHmmss|NNNNNN; s.mu must be held.
func (s *Simulator) newTxRef() string {
	s.seq++
	return fmt.Sprintf("MNFY|%s|%s|%06d", randDigits(2), s.now().In(lagos).Format(layoutTxRefStamp), s.seq%1000000)
}

// newAccountNumber returns an unused 10-digit account number; s.mu held.
func (s *Simulator) newAccountNumber() string {
	for {
		n := "3" + randDigits(9)
		if _, used := s.accounts[n]; !used {
			return n
		}
	}
}

// --- auth -----------------------------------------------------------------------

func (s *Simulator) handleLogin(w http.ResponseWriter, r *http.Request) {
	if s.disp.APIFault(w, r) {
		return
	}
	key, secret, ok := r.BasicAuth()
	s.mu.Lock()
	m := s.merchants[key]
	if !ok || m == nil || m.SecretKey != secret {
		s.unlock()
		s.fail(w, http.StatusUnauthorized, "Invalid client credentials")
		return
	}
	tok := models.NewToken(192)
	s.tokens[tok] = simToken{merchant: m, expires: s.now().Add(simTokenLifetime)}
	s.logins++
	s.unlock()
	s.ok(w, map[string]any{"accessToken": tok, "expiresIn": int(simTokenLifetime / time.Second)})
}

// merchant authenticates an API call: a Bearer token from login, or Basic
// with the API and secret keys as older Monnify pages document (§1.2).
func (s *Simulator) merchant(w http.ResponseWriter, r *http.Request) *simMerchant {
	tok, bearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	tok = strings.TrimSpace(tok)
	key, secret, basic := r.BasicAuth()
	var m *simMerchant
	s.mu.Lock()
	switch {
	case bearer:
		if t, found := s.tokens[tok]; found && s.now().Before(t.expires) {
			m = t.merchant
		} else if found {
			delete(s.tokens, tok)
		}
	case basic:
		if mm := s.merchants[key]; mm != nil && mm.SecretKey == secret {
			m = mm
		}
	}
	s.unlock()
	switch {
	case m != nil:
		return m
	case bearer:
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		simkit.WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "Access token expired or invalid"})
	default:
		w.Header().Set("WWW-Authenticate", `Bearer`)
		simkit.WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized", "error_description": "Full authentication is required to access this resource"})
	}
	return nil
}

// api serves a merchant API call: the switched-on faults first, then the
// merchant's credentials (merchant answers a refusal itself).
func (s *Simulator) api(h func(http.ResponseWriter, *http.Request, *simMerchant)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.disp.APIFault(w, r) {
			return
		}
		if m := s.merchant(w, r); m != nil {
			h(w, r, m)
		}
	}
}

// --- invoices ----------------------------------------------------------------

type simCreateRequest struct {
	Amount            *decimal        `json:"amount"`
	InvoiceReference  string          `json:"invoiceReference"`
	Description       string          `json:"description"`
	CurrencyCode      string          `json:"currencyCode"`
	ContractCode      string          `json:"contractCode"`
	CustomerEmail     string          `json:"customerEmail"`
	CustomerName      string          `json:"customerName"`
	ExpiryDate        string          `json:"expiryDate"`
	PaymentMethods    []string        `json:"paymentMethods"`
	IncomeSplitConfig json.RawMessage `json:"incomeSplitConfig"`
	RedirectURL       string          `json:"redirectUrl"`
	AccountReference  string          `json:"accountReference"`
	MetaData          json.RawMessage `json:"metaData"`
}

var simMethods = map[string]bool{"CARD": true, "ACCOUNT_TRANSFER": true, "CASH": true, "USSD": true, "PHONE_NUMBER": true}

// validate applies the documented rules; it returns the error message.
func (s *Simulator) validate(m *simMerchant, req *simCreateRequest) (int64, time.Time, string) {
	for _, f := range []struct{ name, v string }{
		{"invoiceReference", req.InvoiceReference}, {"description", req.Description}, {"currencyCode", req.CurrencyCode},
		{"contractCode", req.ContractCode}, {"customerEmail", req.CustomerEmail}, {"customerName", req.CustomerName},
		{"expiryDate", req.ExpiryDate},
	} {
		if strings.TrimSpace(f.v) == "" {
			return 0, time.Time{}, f.name + " is required"
		}
	}
	if req.Amount == nil || *req.Amount == "" {
		return 0, time.Time{}, "amount is required"
	}
	kobo, err := models.ParseAmount(string(*req.Amount), ngn)
	if err != nil {
		return 0, time.Time{}, "amount must be a number with at most 2 decimal places"
	}
	if req.ContractCode != m.ContractCode {
		return 0, time.Time{}, "Unknown Contract Code provided."
	}
	if req.CurrencyCode != "NGN" {
		return 0, time.Time{}, "Unknown currency code " + req.CurrencyCode + " provided."
	}
	if kobo <= 2000 {
		return 0, time.Time{}, "Amount must be greater than 20."
	}
	if a, err := mail.ParseAddress(req.CustomerEmail); err != nil || a.Address != req.CustomerEmail {
		return 0, time.Time{}, "customerEmail must be a valid email address"
	}
	if len([]rune(strings.TrimSpace(req.CustomerName))) < 3 {
		return 0, time.Time{}, "customerName must be at least 3 characters long"
	}
	if len([]rune(strings.TrimSpace(req.Description))) < 3 {
		return 0, time.Time{}, "description must be at least 3 characters long"
	}
	exp, err := time.ParseInLocation(layoutExpiry, req.ExpiryDate, lagos)
	if err != nil {
		return 0, time.Time{}, "expiryDate must be in the format yyyy-MM-dd HH:mm:ss"
	}
	now := s.now()
	if !exp.After(now) {
		return 0, time.Time{}, "Expiry date must be a future date."
	}
	if exp.After(now.AddDate(0, 6, 0)) {
		return 0, time.Time{}, "The maximum duration of an invoice is 6 months."
	}
	for _, pm := range req.PaymentMethods {
		if !simMethods[pm] {
			return 0, time.Time{}, "Invalid payment method " + pm + " provided."
		}
	}
	if len(req.IncomeSplitConfig) > 0 && string(req.IncomeSplitConfig) != "null" {
		var splits []struct {
			SubAccountCode string `json:"subAccountCode"`
		}
		if err := json.Unmarshal(req.IncomeSplitConfig, &splits); err != nil {
			return 0, time.Time{}, "incomeSplitConfig must be a list"
		}
		for _, sp := range splits {
			if sp.SubAccountCode == "" {
				return 0, time.Time{}, "subAccountCode is required in incomeSplitConfig"
			}
		}
	}
	return kobo, exp, ""
}

func (s *Simulator) handleCreate(w http.ResponseWriter, r *http.Request, m *simMerchant) {
	var req simCreateRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		s.fail(w, http.StatusBadRequest, "Invalid request body: "+err.Error())
		return
	}
	kobo, exp, msg := s.validate(m, &req)
	if msg != "" {
		s.fail(w, http.StatusBadRequest, msg)
		return
	}
	methods := req.PaymentMethods
	if len(methods) == 0 {
		methods = []string{methodCard, methodTransfer} // "defaults to the enabled methods in the contract"
	}
	s.mu.Lock()
	key := m.APIKey + "\x00" + req.InvoiceReference
	if _, dup := s.invoices[key]; dup {
		s.unlock()
		s.fail(w, http.StatusBadRequest, "Invoice with this reference already exists.")
		return
	}
	inv := &simInvoice{
		merchant: m, Ref: req.InvoiceReference, Kobo: kobo, Description: strings.TrimSpace(req.Description),
		CustomerEmail: req.CustomerEmail, CustomerName: strings.TrimSpace(req.CustomerName),
		Expiry: exp, Created: s.now(), Status: invoicePending, Methods: methods, RedirectURL: req.RedirectURL,
		AccountRef: req.AccountReference, IncomeSplitRaw: req.IncomeSplitConfig,
	}
	inv.TxRef = s.newTxRef()
	if inv.allows(methodTransfer) {
		inv.AccountNumber = s.newAccountNumber()
		// "Description … will be used as the account name for bank
		// transfer payments" (§1.4.1 field reference).
		inv.AccountName = inv.Description
		s.accounts[inv.AccountNumber] = inv
	}
	s.invoices[key] = inv
	s.txs[inv.TxRef] = inv
	s.order = append(s.order, inv)
	s.changed()
	body := s.invoiceJSON(inv, false)
	s.unlock()
	s.log.Info("monnify sim: invoice created", "ref", inv.Ref, "amount", models.FormatAmount(kobo, ngn))
	s.okInvoice(w, body)
}

// expire applies the expiry lazily; s.mu must be held.
func (s *Simulator) expire(inv *simInvoice) {
	if inv.Status == invoicePending && !s.now().Before(inv.Expiry) {
		inv.Status = invoiceExpired
		s.changed()
	}
}

// invoiceJSON is the invoice object; list items omit checkoutUrl and
// accountName as in the documentation's sample. s.mu must be held.
func (s *Simulator) invoiceJSON(inv *simInvoice, listed bool) invoiceBody {
	s.expire(inv)
	b := invoiceBody{
		Amount: decimal(models.FormatAmount(inv.Kobo, ngn)), InvoiceReference: inv.Ref, InvoiceStatus: inv.Status,
		Description: inv.Description, AccountReference: inv.AccountRef, ContractCode: inv.merchant.ContractCode,
		CustomerEmail: inv.CustomerEmail, CustomerName: inv.CustomerName,
		ExpiryDate: inv.Expiry.In(lagos).Format(layoutExpiry), CreatedBy: inv.merchant.APIKey,
		CreatedOn: inv.Created.In(lagos).Format(layoutExpiry), CheckoutURL: s.public + "/checkout/" + inv.TxRef,
		AccountNumber: inv.AccountNumber, AccountName: inv.AccountName,
	}
	if inv.AccountNumber != "" {
		b.BankName, b.BankCode = simBankName, simBankCode
	}
	if len(inv.Payments) > 0 {
		// Static invoices carry transactionReference (§1.4.2); the
		// simulator adds it to every invoice once money has arrived.
		b.TransactionReference = inv.TxRef
	}
	if listed {
		b.CheckoutURL, b.AccountName = "", ""
	}
	return b
}

// MarshalJSON writes an amount as a JSON string, the form of verify
// transaction (§1.5); invoice objects are re-encoded with numbers by
// numericInvoice.
func (d decimal) MarshalJSON() ([]byte, error) {
	if d == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(d))
}

func (s *Simulator) lookup(w http.ResponseWriter, m *simMerchant, ref string) *simInvoice {
	inv := s.invoices[m.APIKey+"\x00"+ref]
	if inv == nil {
		s.fail(w, http.StatusNotFound, "Could not find invoice with reference "+ref)
	}
	return inv
}

func (s *Simulator) handleDetails(w http.ResponseWriter, r *http.Request, m *simMerchant) {
	s.mu.Lock()
	inv := s.lookup(w, m, r.PathValue("ref"))
	if inv == nil {
		s.unlock()
		return
	}
	body := s.invoiceJSON(inv, false)
	s.unlock()
	s.okInvoice(w, body)
}

func (s *Simulator) handleCancel(w http.ResponseWriter, r *http.Request, m *simMerchant) {
	s.mu.Lock()
	inv := s.lookup(w, m, r.PathValue("ref"))
	if inv == nil {
		s.unlock()
		return
	}
	s.expire(inv)
	switch inv.Status {
	case invoiceCancelled:
		s.unlock()
		s.fail(w, http.StatusNotFound, "Invoice has already been cancelled.")
		return
	case invoicePaid:
		s.unlock()
		s.fail(w, http.StatusBadRequest, "Invoice has already been paid and cannot be cancelled.")
		return
	case invoiceExpired:
		s.unlock()
		s.fail(w, http.StatusBadRequest, "Invoice has expired and cannot be cancelled.")
		return
	}
	// "the customer's account number becomes inactive" (§1.4.5).
	inv.Status = invoiceCancelled
	s.changed()
	body := s.invoiceJSON(inv, false)
	s.unlock()
	s.okInvoice(w, body)
}

func (s *Simulator) handleList(w http.ResponseWriter, r *http.Request, m *simMerchant) {
	page, size := 0, 10
	if v := r.URL.Query().Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.fail(w, http.StatusBadRequest, "page must be a number not less than 0")
			return
		}
		page = n
	}
	if v := r.URL.Query().Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			s.fail(w, http.StatusBadRequest, "size must be a number from 1 to 100")
			return
		}
		size = n
	}
	s.mu.Lock()
	var mine []*simInvoice
	for i := len(s.order) - 1; i >= 0; i-- { // newest first
		if s.order[i].merchant == m {
			mine = append(mine, s.order[i])
		}
	}
	p := simPage{Content: []any{}, TotalElements: len(mine), Size: size, Number: page}
	p.TotalPages = (len(mine) + size - 1) / size
	for i := page * size; i < len(mine) && i < (page+1)*size; i++ {
		p.Content = append(p.Content, numericInvoice(s.invoiceJSON(mine[i], true)))
	}
	s.unlock()
	p.NumberOfElements = len(p.Content)
	p.First = page == 0
	p.Last = page >= p.TotalPages-1
	p.Empty = len(p.Content) == 0
	s.ok(w, p)
}

// simPage is the Spring-style page Monnify's paginated endpoints return.
type simPage struct {
	Content          []any `json:"content"` // numericInvoice values
	TotalElements    int   `json:"totalElements"`
	TotalPages       int   `json:"totalPages"`
	Last             bool  `json:"last"`
	First            bool  `json:"first"`
	Size             int   `json:"size"`
	Number           int   `json:"number"`
	NumberOfElements int   `json:"numberOfElements"`
	Empty            bool  `json:"empty"`
}

// okInvoice writes an invoice with amount as a JSON number (999.00).
func (s *Simulator) okInvoice(w http.ResponseWriter, b invoiceBody) {
	s.ok(w, numericInvoice(b))
}

// numericInvoice re-encodes an invoice so that amount is a number.
func numericInvoice(b invoiceBody) any {
	type alias invoiceBody
	return struct {
		Amount json.Number `json:"amount"`
		alias
	}{Amount: json.Number(b.Amount), alias: alias(b)}
}

// --- transactions ---------------------------------------------------------------

func (s *Simulator) handleVerify(w http.ResponseWriter, r *http.Request, m *simMerchant) {
	ref := r.PathValue("ref")
	s.mu.Lock()
	inv := s.txs[ref]
	if inv == nil || inv.merchant != m {
		s.unlock()
		s.fail(w, http.StatusNotFound, "Could not find transaction with the specified transaction reference")
		return
	}
	s.expire(inv)
	tx := s.transactionJSON(inv)
	s.unlock()
	s.ok(w, tx)
}

// transactionJSON is the verify-transaction body (§1.5); s.mu held.
func (s *Simulator) transactionJSON(inv *simInvoice) transactionBody {
	paid := inv.paidKobo()
	tx := transactionBody{
		TransactionReference: inv.TxRef, PaymentReference: inv.Ref,
		AmountPaid: decimal(models.FormatAmount(paid, ngn)), TotalPayable: decimal(models.FormatAmount(inv.Kobo, ngn)),
		SettlementAmount: decimal(models.FormatAmount(paid-inv.feeKobo(), ngn)), PaymentStatus: inv.paymentStatus(),
		PaymentDescription: inv.Description, Currency: "NGN", Product: product{Type: "INVOICE", Reference: inv.Ref},
		AccountPayments: []accountPayment{}, Customer: customer{Email: inv.CustomerEmail, Name: inv.CustomerName},
		MetaData: json.RawMessage("{}"),
	}
	if n := len(inv.Payments); n > 0 {
		last := inv.Payments[n-1]
		on := last.At.In(lagos).Format(layoutVerifyOn)
		tx.PaidOn = &on
		tx.PaymentMethod = last.Method
		tx.CardDetails = last.Card
	}
	var transferred int64
	for _, p := range inv.Payments {
		if p.Method != methodTransfer {
			continue
		}
		transferred += p.Kobo
		ap := accountPayment{AccountName: p.SenderName, AccountNumber: maskAccount(p.SenderAccount), BankCode: p.SenderBank, AmountPaid: decimal(models.FormatAmount(p.Kobo, ngn))}
		tx.AccountPayments = append(tx.AccountPayments, ap)
		tx.AccountDetails = &accountPayment{AccountName: p.SenderName, AccountNumber: ap.AccountNumber, BankCode: p.SenderBank}
	}
	if tx.AccountDetails != nil {
		tx.AccountDetails.AmountPaid = decimal(models.FormatAmount(transferred, ngn))
	}
	return tx
}

func maskAccount(n string) string {
	if len(n) <= 4 {
		return n
	}
	return strings.Repeat("*", len(n)-4) + n[len(n)-4:]
}

// fee is what Monnify keeps: 1 % of a transfer, 1.5 % of a card payment,
// at most 2,000 NGN (the simulator's tariff).
func fee(kobo int64, method string) int64 {
	f := (kobo + 50) / 100
	if method == methodCard {
		f = (kobo*15 + 500) / 1000
	}
	return min(f, 200000)
}

// errNotPayable explains why money cannot go to an invoice.
var errNotPayable = errors.New("not payable")

// pay records money on an invoice and queues the SUCCESSFUL_TRANSACTION
// notification. It returns the invoice's new paymentStatus.
func (s *Simulator) pay(inv *simInvoice, p simPayment) (string, error) {
	s.mu.Lock()
	s.expire(inv)
	if inv.Status != invoicePending {
		st := inv.Status
		s.unlock()
		return "", fmt.Errorf("%w: the invoice is %s", errNotPayable, strings.ToLower(st))
	}
	if p.Kobo <= 0 {
		s.unlock()
		return "", fmt.Errorf("%w: the amount must be more than zero", errNotPayable)
	}
	p.At = s.now()
	p.FeeKobo = fee(p.Kobo, p.Method)
	if p.SessionID == "" {
		p.SessionID = models.NewToken(128)
	}
	inv.Payments = append(inv.Payments, p)
	s.changed()
	status := inv.paymentStatus()
	if status == payPaid || status == payOverpaid {
		inv.Status = invoicePaid // "expires immediately after payment has been made"
	}
	cb, err := s.notification(inv, p)
	s.unlock()
	if err != nil {
		s.log.Error("monnify sim: cannot build notification", "err", err)
	} else if cb != nil {
		s.disp.Send(*cb)
	}
	s.log.Info("monnify sim: payment", "ref", inv.Ref, "amount", models.FormatAmount(p.Kobo, ngn), "method", p.Method, "status", status)
	return status, nil
}

type simSource struct {
	BankCode      string      `json:"bankCode"`
	AmountPaid    json.Number `json:"amountPaid"`
	AccountName   string      `json:"accountName"`
	SessionID     string      `json:"sessionId"`
	AccountNumber string      `json:"accountNumber"`
}

type simDestination struct {
	BankCode      string `json:"bankCode,omitempty"`
	BankName      string `json:"bankName,omitempty"`
	AccountNumber string `json:"accountNumber,omitempty"`
}

// simEventData is eventData in the field order of Monnify's samples.
type simEventData struct {
	Product                       product           `json:"product"`
	TransactionReference          string            `json:"transactionReference"`
	PaymentReference              string            `json:"paymentReference"`
	PaidOn                        string            `json:"paidOn"`
	PaymentDescription            string            `json:"paymentDescription"`
	MetaData                      map[string]string `json:"metaData"`
	PaymentSourceInformation      []simSource       `json:"paymentSourceInformation"`
	DestinationAccountInformation simDestination    `json:"destinationAccountInformation"`
	AmountPaid                    json.Number       `json:"amountPaid"`
	TotalPayable                  json.Number       `json:"totalPayable"`
	CardDetails                   any               `json:"cardDetails"`
	PaymentMethod                 string            `json:"paymentMethod"`
	Currency                      string            `json:"currency"`
	SettlementAmount              string            `json:"settlementAmount"`
	PaymentStatus                 string            `json:"paymentStatus"`
	Customer                      customer          `json:"customer"`
}

// notification builds the signed webhook for the invoice's transaction
// after payment p; nil when the merchant has no webhook URL. s.mu held.
func (s *Simulator) notification(inv *simInvoice, p simPayment) (*simkit.Callback, error) {
	if inv.merchant.WebhookURL == "" {
		return nil, nil
	}
	paid := inv.paidKobo()
	d := simEventData{
		Product:              product{Reference: inv.Ref, Type: "INVOICE"},
		TransactionReference: inv.TxRef, PaymentReference: inv.Ref,
		PaidOn:             p.At.In(lagos).Format(layoutWebhookOn),
		PaymentDescription: inv.Description, MetaData: map[string]string{},
		PaymentSourceInformation: []simSource{},
		AmountPaid:               simNumber(paid), TotalPayable: simNumber(inv.Kobo),
		CardDetails: map[string]string{}, PaymentMethod: p.Method, Currency: "NGN",
		SettlementAmount: models.FormatAmount(paid-inv.feeKobo(), ngn), PaymentStatus: inv.paymentStatus(),
		Customer: customer{Name: inv.CustomerName, Email: inv.CustomerEmail},
	}
	if p.Method == methodTransfer {
		d.PaymentSourceInformation = append(d.PaymentSourceInformation, simSource{BankCode: p.SenderBank,
			AmountPaid: simNumber(p.Kobo), AccountName: p.SenderName, SessionID: p.SessionID, AccountNumber: p.SenderAccount})
		d.DestinationAccountInformation = simDestination{BankCode: simBankCode, BankName: simBankName, AccountNumber: inv.AccountNumber}
	}
	if p.Card != nil {
		d.CardDetails = p.Card
	}
	body, err := json.Marshal(struct {
		EventData simEventData `json:"eventData"`
		EventType string       `json:"eventType"`
	}{d, eventSuccessfulTransaction})
	if err != nil {
		return nil, err
	}
	return &simkit.Callback{
		URL: inv.merchant.WebhookURL, Method: http.MethodPost, Body: body,
		// Lowercase on the wire, as Monnify sends it; signed over these
		// exact bytes.
		Header: http.Header{signatureHeader: {Sign(inv.merchant.SecretKey, body)}, "Content-Type": {"application/json"}},
	}, nil
}

// --- test hooks -----------------------------------------------------------------

// handleOnboard registers a new sandbox merchant with random credentials
// and the given webhook URL (a sim-only stand-in for signing up and
// pasting the webhook URL into Monnify's dashboard).
func (s *Simulator) handleOnboard(w http.ResponseWriter, r *http.Request) {
	if s.disp.APIFault(w, r) {
		return
	}
	var req struct {
		WebhookURL string `json:"webhookUrl"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
			s.fail(w, http.StatusBadRequest, "Invalid request body: "+err.Error())
			return
		}
	}
	m := &simMerchant{APIKey: "MK_TEST_" + randUpper(10), SecretKey: randUpper(32), ContractCode: randDigits(10), WebhookURL: req.WebhookURL}
	s.mu.Lock()
	s.merchants[m.APIKey] = m
	s.changed()
	s.unlock()
	s.ok(w, simMerchantJSON{APIKey: m.APIKey, SecretKey: m.SecretKey, ContractCode: m.ContractCode, WebhookURL: m.WebhookURL})
}

// find resolves a checkout id: a transactionReference or an
// invoiceReference (the first merchant's, if several share it).
func (s *Simulator) find(id string) *simInvoice {
	s.mu.Lock()
	defer s.unlock()
	if inv := s.txs[id]; inv != nil {
		return inv
	}
	for _, inv := range s.order {
		if inv.Ref == id {
			return inv
		}
	}
	return nil
}

// handleHookPay pays an invoice without a browser:
// {"amount": "500.00", "paymentMethod": "ACCOUNT_TRANSFER" | "CARD"};
// amount defaults to what is still owed.
func (s *Simulator) handleHookPay(w http.ResponseWriter, r *http.Request) {
	inv := s.find(r.PathValue("id"))
	if inv == nil {
		s.fail(w, http.StatusNotFound, "Could not find invoice "+r.PathValue("id"))
		return
	}
	var req struct {
		Amount        string `json:"amount"`
		PaymentMethod string `json:"paymentMethod"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
			s.fail(w, http.StatusBadRequest, "Invalid request body: "+err.Error())
			return
		}
	}
	p := simPayment{Method: req.PaymentMethod}
	if p.Method == "" {
		p.Method = methodTransfer
	}
	switch p.Method {
	case methodTransfer:
		p.SenderName, p.SenderAccount, p.SenderBank = "SANDBOX PAYER", "0123456789", "000013"
	case methodCard:
		p.Card = &cardDetails{CardType: "VISA", Last4: "1111", ExpMonth: "12", ExpYear: "30", Bin: "411111", AuthorizationCode: "AUTH_" + randUpper(8)}
	default:
		s.fail(w, http.StatusBadRequest, "paymentMethod must be ACCOUNT_TRANSFER or CARD")
		return
	}
	var err error
	if req.Amount != "" {
		if p.Kobo, err = models.ParseAmount(req.Amount, ngn); err != nil {
			s.fail(w, http.StatusBadRequest, "amount must be a number with at most 2 decimal places")
			return
		}
	} else {
		s.mu.Lock()
		p.Kobo = inv.Kobo - inv.paidKobo()
		s.unlock()
	}
	status, err := s.pay(inv, p)
	if err != nil {
		s.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	s.ok(w, map[string]string{"transactionReference": inv.TxRef, "paymentStatus": status})
}

// handleHookExpire moves an invoice's expiry to now.
func (s *Simulator) handleHookExpire(w http.ResponseWriter, r *http.Request) {
	inv := s.find(r.PathValue("id"))
	if inv == nil {
		s.fail(w, http.StatusNotFound, "Could not find invoice "+r.PathValue("id"))
		return
	}
	s.mu.Lock()
	if inv.Status == invoicePending {
		inv.Expiry = s.now()
		s.changed()
	}
	s.expire(inv)
	st := inv.Status
	s.unlock()
	s.ok(w, map[string]string{"invoiceStatus": st})
}
