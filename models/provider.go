package models

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// ProviderName identifies a payment provider.
type ProviderName string

const (
	MoMo      ProviderName = "momo"
	IremboPay ProviderName = "irembopay"
	Monnify   ProviderName = "monnify"
	MobilePay ProviderName = "mobilepay"
)

// ProviderNames lists the providers in the order the product shows them.
var ProviderNames = []ProviderName{MoMo, IremboPay, Monnify, MobilePay}

// Provider is what Ankara needs from a payment provider, in domain terms. Each
// implementation lives in providers/<name> and talks to the provider over
// HTTP only (its real API or the simulator of it). One value serves every
// merchant: per-merchant configuration arrives in *Account on every call.
type Provider interface {
	Info() ProviderInfo

	// InvoiceFields are the provider-specific fields of the create form; acct
	// may be nil when the merchant has no account yet.
	InvoiceFields(acct *Account) []FieldSpec

	// Validate checks the provider's own rules (currencies, limits, dates,
	// required fields) before anything is sent. Keys of the returned map are
	// form field names: "currency", "expires_at", "customer_email",
	// "lines.N.field" or "provider.<name>" for InvoiceFields.
	Validate(acct *Account, inv *Invoice, now time.Time) FieldErrors

	// Create registers the invoice with the provider. It must be idempotent
	// on inv.SubmitKey: calling it again after a timeout must never create a
	// second invoice at the provider.
	Create(ctx context.Context, acct *Account, inv *Invoice) (*Submission, error)

	// Fetch asks the provider where the invoice stands.
	Fetch(ctx context.Context, acct *Account, inv *Invoice) (*Observation, error)

	// Cancel cancels the invoice at the provider. A provider that cannot
	// cancel returns an observation that says what it did instead.
	Cancel(ctx context.Context, acct *Account, inv *Invoice) (*Observation, error)

	// ParseCallback verifies a callback delivery (signature, credential or
	// key) and parses it into events. It returns an EUNAUTHORIZED error for
	// a delivery that fails verification.
	ParseCallback(ctx context.Context, acct *Account, header http.Header, body []byte, now time.Time) ([]CallbackEvent, error)

	// TestConnection makes one real authenticated call and says what happened.
	TestConnection(ctx context.Context, acct *Account) (string, error)
}

// SandboxProvisioner is implemented by providers that can give a new merchant
// a ready sandbox account on the simulator at acct.BaseURL. It returns the
// account configuration to store.
type SandboxProvisioner interface {
	ProvisionSandbox(ctx context.Context, acct *Account) (map[string]string, error)
}

// Connector is implemented by providers whose merchants connect through an
// OAuth/OpenID Connect flow (MobilePay).
type Connector interface {
	// AuthorizeURL is where the merchant's browser goes to consent.
	AuthorizeURL(acct *Account, p ConnectParams) (string, error)
	// CompleteConnect exchanges the authorization code; the returned
	// configuration values are merged into the account's.
	CompleteConnect(ctx context.Context, acct *Account, p ConnectParams, code string) (map[string]string, error)
}

// ConnectParams carry the per-attempt values of a connect flow.
type ConnectParams struct {
	RedirectURL  string
	State        string
	Nonce        string
	CodeVerifier string // PKCE; the challenge is derived by the provider
}

// Pusher is implemented by providers that can send a payment prompt to the
// payer's phone (IremboPay mobile-money push).
type Pusher interface {
	PushOptions() []Option // e.g. MTN, Airtel
	Push(ctx context.Context, acct *Account, inv *Invoice, phone, option string) (*Observation, error)
}

// ProviderInfo describes a provider for forms and settings.
type ProviderInfo struct {
	Name        ProviderName
	DisplayName string
	Country     string      // where it operates, for people
	Currencies  []string    // currencies it can invoice in
	Languages   []string    // invoice languages it supports ("en", "fr", "rw")
	CanCancel   bool        // false: Ankara cancels locally (design.md §4)
	Config      []FieldSpec // account configuration (credentials and settings)
	// DefaultBaseURL is the real sandbox or live base URL for an environment.
	DefaultBaseURL map[string]string
}

// FieldSpec describes one input of a form that a provider contributes.
type FieldSpec struct {
	Name        string
	Label       string
	Kind        string // "text", "email", "tel", "select", "password", "textarea", "url"
	Options     []Option
	Required    bool
	Secret      bool // never shown back in full
	Help        string
	Placeholder string
	Default     string
}

// Option is one choice of a select field.
type Option struct {
	Value string
	Label string
}

// Account is a merchant's account with a provider, decrypted, as providers
// see it.
type Account struct {
	ID          string
	MerchantID  string
	Provider    ProviderName
	Environment string // "sandbox" or "live"
	BaseURL     string
	Config      map[string]string
	// CallbackURL is Ankara's unguessable callback URL for this account.
	CallbackURL string
	// Save persists changed configuration values (e.g. a rotated refresh
	// token). It may be nil in tests.
	Save func(ctx context.Context, updates map[string]string) error `json:"-"`
}

// Get returns a configuration value or def when it is empty.
func (a *Account) Get(key, def string) string {
	if a != nil && a.Config != nil && a.Config[key] != "" {
		return a.Config[key]
	}
	return def
}

// Submission is what a provider answered to Create.
type Submission struct {
	ProviderRef  string            // the provider's id for the invoice, used to fetch and cancel
	PaymentRef   string            // a second reference payers or statements use, if any
	References   map[string]string // every other reference worth keeping
	Instructions *Instructions     // how the payer pays; may be nil until Fetch
	Observation  *Observation      // the status the provider reported, if any
	Raw          string            // the provider's response, for the timeline
	Request      string            // what was sent, for the timeline
}

// Observation is what Ankara learned about an invoice from a provider.
type Observation struct {
	Status         Status // mapped status; "" when the provider said nothing new
	ProviderStatus string // the provider's own word
	Reason         string // why it failed, was rejected, etc.
	PaidMinor      int64  // amount paid so far, minor units of the invoice currency
	PaidAt         time.Time
	PaymentMethod  string
	TransactionRef string
	FeeMinor       int64
	PayerName      string
	PaymentRef     string            // newly learned payment reference
	References     map[string]string // newly learned references
	Instructions   *Instructions     // updated payment instructions
	ExpiresAt      *time.Time        // the provider moved the expiry
	Raw            string            // the provider's response, for the timeline
}

// CallbackEvent is one event of a callback delivery.
type CallbackEvent struct {
	// EventID identifies the provider event; deliveries of the same event
	// carry the same id so that a duplicate has no second effect.
	EventID string
	// Ref is any reference that finds the invoice: the provider reference,
	// the payment reference or the submit key Ankara sent.
	Ref string
	// Observation is what the event says. When Trusted is false (MoMo signs
	// nothing) Ankara asks the provider with Fetch before believing it.
	Observation *Observation
	Trusted     bool
}

// Instructions tell the payer how to pay.
type Instructions struct {
	Kind        string        // "ussd", "link", "bank", "app"
	USSD        string        `json:",omitempty"`
	CheckoutURL string        `json:",omitempty"`
	Bank        *BankTransfer `json:",omitempty"`
	QR          string        `json:",omitempty"` // what the QR code encodes
	Note        string        `json:",omitempty"` // one sentence for the payer
	// SandboxURL is, for sandbox accounts only, the simulator page where a
	// tester plays the payer (e.g. the MoMo USSD phone emulator).
	SandboxURL string `json:",omitempty"`
	// Push is true when the payer can ask for a payment prompt on their
	// phone from the payer page (see Pusher).
	Push bool `json:",omitempty"`
}

// BankTransfer is where to send a bank transfer.
type BankTransfer struct {
	BankName      string
	AccountNumber string
	AccountName   string
}

// ProviderError is a failed provider call.
type ProviderError struct {
	Provider   ProviderName
	Op         string
	HTTPStatus int
	Code       string // the provider's error code
	Message    string // the provider's message
	// Permanent means retrying the same request cannot succeed (the provider
	// refused it). Transient errors (network, 429, 5xx) are retried.
	Permanent bool
	Err       error
}

func (e *ProviderError) Error() string {
	msg := fmt.Sprintf("%s %s", e.Provider, e.Op)
	if e.HTTPStatus != 0 {
		msg += fmt.Sprintf(": HTTP %d", e.HTTPStatus)
	}
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *ProviderError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is a provider refusal that retrying cannot fix.
func IsPermanent(err error) bool {
	var pe *ProviderError
	return errors.As(err, &pe) && pe.Permanent
}

// ProviderSet holds the providers the application was built with.
type ProviderSet map[ProviderName]Provider

// Get returns the provider or an ENOTFOUND error.
func (ps ProviderSet) Get(name ProviderName) (Provider, error) {
	p, ok := ps[name]
	if !ok {
		return nil, Errorf(ENOTFOUND, "Unknown provider %q.", name)
	}
	return p, nil
}
