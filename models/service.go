package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Service holds the use cases that handlers and background workers share:
// sign up, create, submit, cancel, poll, apply callbacks.
type Service struct {
	Store     *Store
	Providers ProviderSet
	Sealer    *Sealer
	Log       *slog.Logger
	// BaseURL is Ankara's public URL, for callback and payer links.
	BaseURL string
	// Sandbox gives new merchants ready sandbox accounts on the simulators
	// mounted under BaseURL/sandbox/{provider}.
	Sandbox bool
	// Now is the clock; tests replace it.
	Now func() time.Time
	// PollSchedule is the wait before each successive poll of a non-final
	// invoice; the last entry repeats.
	PollSchedule []time.Duration
	// SubmitTimeout bounds the synchronous provider call when creating.
	SubmitTimeout time.Duration
}

// DefaultPollSchedule follows design.md §4: quick at first, since mobile
// money is paid within minutes, then hourly, then daily.
var DefaultPollSchedule = []time.Duration{
	30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	time.Hour, time.Hour, time.Hour, time.Hour, time.Hour, time.Hour, 6 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// ExpiryMargin is how long after expiry Ankara keeps asking the provider
// before it declares an invoice expired by itself.
const ExpiryMargin = 10 * time.Minute

// now is the service's clock in UTC, to the microsecond as the database
// keeps times.
func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return nowUTC()
}

func (s *Service) nextPoll(count int) time.Time {
	sched := s.PollSchedule
	if len(sched) == 0 {
		sched = DefaultPollSchedule
	}
	if count >= len(sched) {
		count = len(sched) - 1
	}
	return s.now().Add(sched[count])
}

// CallbackURL is the unguessable callback URL of a provider account.
func (s *Service) CallbackURL(a *ProviderAccount) string {
	return strings.TrimRight(s.BaseURL, "/") + "/webhooks/" + string(a.Provider) + "/" + a.WebhookKey
}

func (s *Service) sandboxBase(p ProviderName) string {
	return strings.TrimRight(s.BaseURL, "/") + "/sandbox/" + string(p)
}

// Account decrypts a provider account into what providers see.
func (s *Service) Account(ctx context.Context, pa *ProviderAccount) (*Account, error) {
	cfg, err := s.Sealer.Open(pa.ConfigEnc, pa.ID)
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", pa.ID, err)
	}
	acct := &Account{
		ID: pa.ID, MerchantID: pa.MerchantID, Provider: pa.Provider, Environment: pa.Environment,
		BaseURL: pa.BaseURL, Config: cfg, CallbackURL: s.CallbackURL(pa),
	}
	acct.Save = func(ctx context.Context, updates map[string]string) error {
		return s.updateAccountConfig(ctx, pa.MerchantID, pa.Provider, updates)
	}
	return acct, nil
}

func (s *Service) updateAccountConfig(ctx context.Context, merchantID string, p ProviderName, updates map[string]string) error {
	return s.Store.Tx(ctx, func(tx *Store) error {
		pa, err := tx.AccountFor(ctx, merchantID, p)
		if err != nil {
			return err
		}
		cfg, err := s.Sealer.Open(pa.ConfigEnc, pa.ID)
		if err != nil {
			return err
		}
		for k, v := range updates {
			cfg[k] = v
		}
		if pa.ConfigEnc, err = s.Sealer.Seal(cfg, pa.ID); err != nil {
			return err
		}
		return tx.SaveAccount(ctx, pa)
	})
}

// MerchantAccount loads and decrypts a merchant's account with a provider.
func (s *Service) MerchantAccount(ctx context.Context, merchantID string, p ProviderName) (*Account, *ProviderAccount, error) {
	pa, err := s.Store.AccountFor(ctx, merchantID, p)
	if err != nil {
		return nil, nil, err
	}
	acct, err := s.Account(ctx, pa)
	return acct, pa, err
}

// SignupInput is what a new owner types.
type SignupInput struct {
	BusinessName string
	Email        string
	Password     string
	TimeZone     string
}

// Signup creates a merchant and its owner, and, in sandbox mode, ready
// sandbox accounts with every provider.
func (s *Service) Signup(ctx context.Context, in SignupInput) (*User, error) {
	fe := FieldErrors{}
	name := strings.TrimSpace(in.BusinessName)
	email := strings.ToLower(strings.TrimSpace(in.Email))
	if name == "" {
		fe.Add("business_name", "Enter your business name.")
	} else if len(name) > 100 {
		fe.Add("business_name", "Use at most 100 characters.")
	}
	if !ValidEmail(email) {
		fe.Add("email", "Enter an email address like name@example.com.")
	}
	if msg := ValidatePassword(in.Password); msg != "" {
		fe.Add("password", msg)
	}
	tz := strings.TrimSpace(in.TimeZone)
	if tz == "" {
		tz = "UTC"
	}
	if _, err := time.LoadLocation(tz); err != nil {
		fe.Add("time_zone", "Choose a time zone.")
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	now := s.now()
	m := &Merchant{ID: NewID(), Name: name, TimeZone: tz, DefaultCurrency: "EUR", CreatedAt: now, UpdatedAt: now}
	u := &User{ID: NewID(), MerchantID: m.ID, Email: email, PasswordHash: hash, Role: RoleOwner, CreatedAt: now, UpdatedAt: now}
	if err := s.Store.CreateMerchant(ctx, m, u); err != nil {
		return nil, err
	}
	if s.Sandbox {
		s.SetUpSandboxAccounts(ctx, m.ID)
	}
	return u, nil
}

// SetUpSandboxAccounts gives a merchant a sandbox account with every
// provider that has none yet, provisioned on the simulators. A provider that
// fails is logged and left for the merchant to set up in Settings.
func (s *Service) SetUpSandboxAccounts(ctx context.Context, merchantID string) {
	for _, name := range ProviderNames {
		p, ok := s.Providers[name]
		if !ok {
			continue
		}
		if _, err := s.Store.AccountFor(ctx, merchantID, name); err == nil {
			continue
		}
		if err := s.provisionSandbox(ctx, merchantID, p); err != nil {
			s.Log.Warn("sandbox account not ready", "merchant_id", merchantID, "provider", name, "err", err)
		}
	}
}

func (s *Service) provisionSandbox(ctx context.Context, merchantID string, p Provider) error {
	info := p.Info()
	pa := &ProviderAccount{ID: NewID(), MerchantID: merchantID, Provider: info.Name, Environment: "sandbox",
		BaseURL: s.sandboxBase(info.Name), WebhookKey: NewToken(128)}
	cfg := map[string]string{}
	if prov, ok := p.(SandboxProvisioner); ok {
		acct := &Account{ID: pa.ID, MerchantID: merchantID, Provider: info.Name, Environment: "sandbox", BaseURL: pa.BaseURL, Config: map[string]string{}, CallbackURL: s.CallbackURL(pa)}
		got, err := prov.ProvisionSandbox(ctx, acct)
		if err != nil {
			pa.LastCheck = "Sandbox set-up failed: " + err.Error()
		}
		for k, v := range got {
			cfg[k] = v
		}
	}
	var err error
	if pa.ConfigEnc, err = s.Sealer.Seal(cfg, pa.ID); err != nil {
		return err
	}
	return s.Store.SaveAccount(ctx, pa)
}

// AccountInput is what the merchant types in Settings → Providers. Secret
// fields left empty keep their stored value.
type AccountInput struct {
	Environment string
	BaseURL     string
	Config      map[string]string
}

// SaveAccount creates or updates a merchant's provider account.
func (s *Service) SaveAccount(ctx context.Context, merchantID string, name ProviderName, in AccountInput) (*ProviderAccount, error) {
	p, err := s.Providers.Get(name)
	if err != nil {
		return nil, err
	}
	info := p.Info()
	fe := FieldErrors{}
	env := strings.TrimSpace(in.Environment)
	if env != "sandbox" && env != "live" {
		fe.Add("environment", "Choose sandbox or live.")
	}
	base := strings.TrimRight(strings.TrimSpace(in.BaseURL), "/")
	if base == "" {
		base = info.DefaultBaseURL[env]
		if env == "sandbox" && s.Sandbox {
			base = s.sandboxBase(name)
		}
	}
	if !strings.HasPrefix(base, "https://") && !strings.HasPrefix(base, "http://") {
		fe.Add("base_url", "Enter a URL starting with https://.")
	}
	pa, err := s.Store.AccountFor(ctx, merchantID, name)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return nil, err
	}
	cfg := map[string]string{}
	if pa != nil {
		if cfg, err = s.Sealer.Open(pa.ConfigEnc, pa.ID); err != nil {
			return nil, err
		}
	} else {
		pa = &ProviderAccount{ID: NewID(), MerchantID: merchantID, Provider: name, WebhookKey: NewToken(128)}
	}
	for _, f := range info.Config {
		v := strings.TrimSpace(in.Config[f.Name])
		if f.Secret && v == "" {
			continue
		}
		if f.Kind == "select" && v != "" && !validOption(f.Options, v) {
			fe.Add("config."+f.Name, "Choose one of the options.")
		}
		cfg[f.Name] = v
		if f.Required && cfg[f.Name] == "" {
			fe.Add("config."+f.Name, f.Label+" is required.")
		}
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	pa.Environment, pa.BaseURL = env, base
	if pa.ConfigEnc, err = s.Sealer.Seal(cfg, pa.ID); err != nil {
		return nil, err
	}
	if err := s.Store.SaveAccount(ctx, pa); err != nil {
		return nil, err
	}
	return pa, nil
}

// TestConnection makes one authenticated call with the merchant's account
// and records what happened.
func (s *Service) TestConnection(ctx context.Context, merchantID string, name ProviderName) (string, error) {
	p, err := s.Providers.Get(name)
	if err != nil {
		return "", err
	}
	acct, pa, err := s.MerchantAccount(ctx, merchantID, name)
	if err != nil {
		return "", err
	}
	msg, err := p.TestConnection(ctx, acct)
	when := s.now().Format("2006-01-02 15:04 MST")
	if err != nil {
		pa.LastCheck = "Failed " + when + ": " + err.Error()
	} else {
		pa.LastCheck = "OK " + when + ": " + msg
	}
	if saveErr := s.Store.SaveAccount(ctx, pa); saveErr != nil {
		return "", saveErr
	}
	if err != nil {
		return "", Errorf(EUNAVAILABLE, "The connection test failed: %s", err.Error())
	}
	return msg, nil
}

// CreateInvoice validates a draft against Ankara's and the provider's rules,
// stores the invoice and registers it with the provider. A provider that
// cannot be reached leaves the invoice "submitting" with the error shown and
// a retry scheduled; one that refuses it leaves it "failed" with the reason.
func (s *Service) CreateInvoice(ctx context.Context, merchantID string, d Draft) (*Invoice, error) {
	m, err := s.Store.Merchant(ctx, merchantID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	inv, buildErr := d.Build(m.Location(), now)
	fe := FieldErrors(ErrorFields(buildErr))
	if buildErr != nil && ErrorCode(buildErr) != EINVALID {
		return nil, buildErr
	}
	var p Provider
	var acct *Account
	var pa *ProviderAccount
	if inv.Provider != "" {
		if p, err = s.Providers.Get(inv.Provider); err != nil {
			fe.Add("provider", "Choose a provider.")
		} else if acct, pa, err = s.MerchantAccount(ctx, merchantID, inv.Provider); err != nil {
			if ErrorCode(err) != ENOTFOUND {
				return nil, err
			}
			fe.Add("provider", "Set up your "+p.Info().DisplayName+" account in Settings first.")
		} else if buildErr == nil {
			for k, v := range p.Validate(acct, inv, now) {
				fe.Add(k, v)
			}
		}
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	inv.ID, inv.MerchantID, inv.AccountID = NewID(), merchantID, pa.ID
	inv.Status = StatusSubmitting
	inv.PublicToken = NewToken(128)
	inv.SubmitKey = NewUUID()
	inv.References = JSONMap{}
	inv.CreatedAt, inv.UpdatedAt = now, now
	next := now
	inv.NextPollAt = &next
	ev := &InvoiceEvent{InvoiceID: inv.ID, MerchantID: merchantID, Kind: EventCreated, ToStatus: StatusSubmitting, CreatedAt: now,
		Message: fmt.Sprintf("Invoice created for %s, total %s.", inv.CustomerName, FormatMoney(inv.TotalMinor, inv.Currency))}
	if err := s.Store.insertInvoice(ctx, inv, ev); err != nil {
		return nil, err
	}
	// Register now so the owner sees the payment instructions at once; the
	// poller retries if this does not finish.
	sctx, cancel := context.WithTimeout(ctx, s.submitTimeout())
	defer cancel()
	if got, err := s.submit(sctx, p, acct, inv); err == nil {
		inv = got
	} else {
		s.Log.Warn("submit invoice", "invoice_id", inv.ID, "err", err)
	}
	return inv, nil
}

func (s *Service) submitTimeout() time.Duration {
	if s.SubmitTimeout > 0 {
		return s.SubmitTimeout
	}
	return 30 * time.Second
}

// submit registers an invoice with its provider and records the outcome.
func (s *Service) submit(ctx context.Context, p Provider, acct *Account, inv *Invoice) (*Invoice, error) {
	sub, callErr := p.Create(ctx, acct, inv)
	now := s.now()
	return s.Store.updateInvoice(context.WithoutCancel(ctx), inv.ID, func(tx *Store, cur *Invoice) ([]InvoiceEvent, error) {
		if cur.Status != StatusSubmitting {
			return nil, nil // cancelled meanwhile, or another instance finished first
		}
		cur.SubmitAttempts++
		cur.LeaseUntil = nil
		if callErr != nil {
			var pe *ProviderError
			raw := ""
			if errors.As(callErr, &pe) {
				raw = pe.Message
			}
			if IsPermanent(callErr) {
				cur.LastError = ""
				cur.NextPollAt = nil
				evs := cur.Apply(&Observation{Status: StatusFailed, Reason: providerReason(callErr)}, now)
				return append([]InvoiceEvent{{Kind: EventSubmitFailed, Message: "The provider refused the invoice: " + providerReason(callErr), Payload: raw, CreatedAt: now}}, evs...), nil
			}
			cur.LastError = "Could not reach " + p.Info().DisplayName + ": " + providerReason(callErr) + ". Ankara retries automatically."
			next := s.nextPoll(cur.SubmitAttempts - 1)
			cur.NextPollAt = &next
			return []InvoiceEvent{{Kind: EventSubmitFailed, Message: cur.LastError, Payload: raw, CreatedAt: now}}, nil
		}
		cur.LastError = ""
		cur.ProviderRef = sub.ProviderRef
		if sub.PaymentRef != "" {
			cur.PaymentRef = sub.PaymentRef
		}
		if cur.References == nil {
			cur.References = JSONMap{}
		}
		for k, v := range sub.References {
			cur.References[k] = v
		}
		if sub.Instructions != nil {
			cur.Instructions = JSONInstructions{sub.Instructions}
		}
		evs := []InvoiceEvent{{Kind: EventSubmitted, Message: "Registered with " + p.Info().DisplayName + " as " + sub.ProviderRef + ".", Payload: sub.Raw, CreatedAt: now}}
		obs := sub.Observation
		if obs == nil || obs.Status == "" || obs.Status == StatusSubmitting {
			if obs == nil {
				obs = &Observation{}
			}
			obs.Status = StatusPending
		}
		evs = append(evs, cur.Apply(obs, now)...)
		cur.PollCount = 0
		if !cur.Status.Final() {
			next := s.nextPoll(0)
			cur.NextPollAt = &next
		}
		return evs, nil
	})
}

func providerReason(err error) string {
	var pe *ProviderError
	if errors.As(err, &pe) {
		switch {
		case pe.Message != "" && pe.Code != "":
			return pe.Message + " (" + pe.Code + ")"
		case pe.Message != "":
			return pe.Message
		case pe.Code != "":
			return pe.Code
		case pe.HTTPStatus != 0:
			return fmt.Sprintf("HTTP %d", pe.HTTPStatus)
		}
	}
	return err.Error()
}

// Retry submits again an invoice whose registration did not go through.
func (s *Service) Retry(ctx context.Context, merchantID, id string) (*Invoice, error) {
	inv, err := s.Store.Invoice(ctx, merchantID, id)
	if err != nil {
		return nil, err
	}
	if inv.Status != StatusSubmitting {
		return nil, Errorf(ECONFLICT, "This invoice is %s; only an invoice that is still being submitted can be retried.", strings.ToLower(inv.Status.Label()))
	}
	p, acct, err := s.providerFor(ctx, inv)
	if err != nil {
		return nil, err
	}
	return s.submit(ctx, p, acct, inv)
}

func (s *Service) providerFor(ctx context.Context, inv *Invoice) (Provider, *Account, error) {
	p, err := s.Providers.Get(inv.Provider)
	if err != nil {
		return nil, nil, err
	}
	pa, err := s.Store.AccountByID(ctx, inv.AccountID)
	if err != nil {
		return nil, nil, err
	}
	acct, err := s.Account(ctx, pa)
	return p, acct, err
}

// Cancel cancels a pending invoice at the provider and records it. A
// provider that cannot cancel (IremboPay) says what it did instead.
func (s *Service) Cancel(ctx context.Context, merchantID, id string) (*Invoice, error) {
	inv, err := s.Store.Invoice(ctx, merchantID, id)
	if err != nil {
		return nil, err
	}
	if !inv.Status.Cancellable() {
		return nil, Errorf(ECONFLICT, "This invoice is %s and can no longer be cancelled.", strings.ToLower(inv.Status.Label()))
	}
	now := s.now()
	if inv.Status == StatusSubmitting && inv.ProviderRef == "" {
		return s.Store.updateInvoice(ctx, inv.ID, func(tx *Store, cur *Invoice) ([]InvoiceEvent, error) {
			evs := cur.Apply(&Observation{Status: StatusCancelled, Reason: "Cancelled before the provider registered it."}, now)
			return append([]InvoiceEvent{{Kind: EventCancel, Message: "Cancelled by the merchant.", CreatedAt: now}}, evs...), nil
		})
	}
	p, acct, err := s.providerFor(ctx, inv)
	if err != nil {
		return nil, err
	}
	obs, callErr := p.Cancel(ctx, acct, inv)
	if callErr != nil {
		if IsPermanent(callErr) {
			// The provider would not cancel, most likely because it was
			// paid or expired meanwhile: find out and show it.
			_, _ = s.Poll(ctx, inv.ID) // errors are in the timeline
		}
		return nil, Errorf(EUNAVAILABLE, "%s could not cancel the invoice: %s", p.Info().DisplayName, providerReason(callErr))
	}
	if obs == nil {
		obs = &Observation{}
	}
	if obs.Status == "" {
		obs.Status = StatusCancelled
	}
	return s.Store.updateInvoice(ctx, inv.ID, func(tx *Store, cur *Invoice) ([]InvoiceEvent, error) {
		evs := []InvoiceEvent{{Kind: EventCancel, Message: "Cancelled by the merchant.", Payload: obs.Raw, CreatedAt: now}}
		evs = append(evs, cur.Apply(obs, now)...)
		cur.PollCount = 0
		s.schedule(cur, p.Info().CanCancel, now, &evs)
		return evs, nil
	})
}

// Poll asks the provider where an invoice stands and applies the answer.
func (s *Service) Poll(ctx context.Context, id string) (*Invoice, error) {
	inv, err := s.Store.invoiceByID(ctx, id)
	if err != nil {
		return nil, err
	}
	p, acct, err := s.providerFor(ctx, inv)
	if err != nil {
		return nil, err
	}
	if inv.Status == StatusSubmitting {
		return s.submit(ctx, p, acct, inv)
	}
	obs, callErr := p.Fetch(ctx, acct, inv)
	now := s.now()
	return s.Store.updateInvoice(context.WithoutCancel(ctx), inv.ID, func(tx *Store, cur *Invoice) ([]InvoiceEvent, error) {
		cur.LeaseUntil = nil
		cur.PollCount++
		var evs []InvoiceEvent
		if callErr != nil {
			evs = append(evs, InvoiceEvent{Kind: EventPoll, Message: "Status check failed: " + providerReason(callErr), CreatedAt: now})
		} else {
			evs = append(evs, InvoiceEvent{Kind: EventPoll, Message: "Status check: " + describe(obs), Payload: obs.Raw, CreatedAt: now})
			evs = append(evs, cur.Apply(obs, now)...)
		}
		s.schedule(cur, p.Info().CanCancel, now, &evs)
		return evs, nil
	})
}

// schedule decides the next poll and applies expiry when the provider has
// not reported it long after the invoice expired.
func (s *Service) schedule(cur *Invoice, canCancel bool, now time.Time, evs *[]InvoiceEvent) {
	if !cur.Status.Final() && now.After(cur.ExpiresAt.Add(ExpiryMargin)) {
		*evs = append(*evs, cur.Apply(&Observation{Status: StatusExpired, Reason: "The invoice expired without payment."}, now)...)
	}
	if !stillWatched(cur, canCancel, now) {
		cur.NextPollAt = nil
		return
	}
	next := s.nextPoll(cur.PollCount)
	// Look again right after expiry, so that expiry is applied on time.
	if exp := cur.ExpiresAt.Add(ExpiryMargin + time.Second); now.Before(exp) && next.After(exp) {
		next = exp
	}
	cur.NextPollAt = &next
}

// stillWatched reports whether an invoice is polled any further: every
// non-final one, and one cancelled only on Ankara's side (the provider has
// no cancel) until its link expires, so that a late payment is flagged.
func stillWatched(inv *Invoice, canCancel bool, now time.Time) bool {
	if !inv.Status.Final() {
		return true
	}
	return inv.Status == StatusCancelled && !canCancel && !inv.PaidAfterFinal && now.Before(inv.ExpiresAt.Add(ExpiryMargin))
}

func describe(o *Observation) string {
	if o == nil {
		return "no answer"
	}
	parts := []string{}
	if o.ProviderStatus != "" {
		parts = append(parts, o.ProviderStatus)
	}
	if o.Status != "" {
		parts = append(parts, "("+o.Status.Label()+")")
	}
	if o.Reason != "" {
		parts = append(parts, "— "+o.Reason)
	}
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, " ")
}

// ReceiveCallback verifies a callback delivery and stores it durably; it is
// applied afterwards by ProcessCallbacks. It returns ENOTFOUND for an
// unknown key and EUNAUTHORIZED when verification fails.
func (s *Service) ReceiveCallback(ctx context.Context, provider ProviderName, key, method string, header http.Header, body []byte) error {
	p, err := s.Providers.Get(provider)
	if err != nil {
		return err
	}
	pa, err := s.Store.AccountByWebhookKey(ctx, provider, key)
	if err != nil {
		return err
	}
	acct, err := s.Account(ctx, pa)
	if err != nil {
		return err
	}
	now := s.now()
	if _, err := p.ParseCallback(ctx, acct, header, body, now); err != nil {
		if ErrorCode(err) == EUNAUTHORIZED {
			return err
		}
		return Errorf(EINVALID, "Malformed callback: %v", err)
	}
	return s.Store.SaveDelivery(ctx, &CallbackDelivery{
		ID: NewID(), Provider: provider, AccountID: pa.ID, MerchantID: pa.MerchantID, Method: method,
		Headers: encodeHeader(header), Body: string(body), ReceivedAt: now,
	})
}

// maxDeliveryAttempts bounds how often a stored callback that cannot be
// applied is tried again (about 45 minutes with the quadratic backoff).
const maxDeliveryAttempts = 10

// ProcessCallbacks applies stored deliveries; it returns how many it handled.
func (s *Service) ProcessCallbacks(ctx context.Context, limit int) (int, error) {
	now := s.now()
	ds, err := s.Store.claimDeliveries(ctx, now, time.Minute, limit)
	if err != nil {
		return 0, err
	}
	for _, d := range ds {
		perr := s.processDelivery(ctx, &d)
		retry := now.Add(time.Duration(d.Attempts*d.Attempts) * 10 * time.Second)
		if perr != nil {
			s.Log.Warn("callback not applied yet", "delivery_id", d.ID, "provider", d.Provider, "attempt", d.Attempts, "err", perr)
		}
		if perr != nil && d.Attempts >= maxDeliveryAttempts {
			// Give up on this delivery; polling still reconciles the invoice.
			s.Log.Error("callback abandoned", "delivery_id", d.ID, "provider", d.Provider, "attempts", d.Attempts, "err", perr)
			perr = nil
		}
		if err := s.Store.finishDelivery(ctx, d.ID, s.now(), perr, retry); err != nil {
			return 0, err
		}
	}
	return len(ds), nil
}

func (s *Service) processDelivery(ctx context.Context, d *CallbackDelivery) error {
	p, err := s.Providers.Get(d.Provider)
	if err != nil {
		return err
	}
	pa, err := s.Store.AccountByID(ctx, d.AccountID)
	if err != nil {
		return err
	}
	acct, err := s.Account(ctx, pa)
	if err != nil {
		return err
	}
	events, err := p.ParseCallback(ctx, acct, decodeHeader(d.Headers), []byte(d.Body), d.ReceivedAt)
	if err != nil {
		return fmt.Errorf("parse stored callback: %w", err)
	}
	for _, ev := range events {
		if err := s.applyCallbackEvent(ctx, p, acct, d, ev); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) applyCallbackEvent(ctx context.Context, p Provider, acct *Account, d *CallbackDelivery, ev CallbackEvent) error {
	inv, err := s.Store.InvoiceByRef(ctx, acct.ID, ev.Ref)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			s.Log.Info("callback for an unknown invoice ignored", "provider", d.Provider, "ref", ev.Ref)
			return nil
		}
		return err
	}
	if ev.EventID != "" {
		seen, err := s.Store.eventSeen(ctx, d.Provider, ev.EventID)
		if err != nil {
			return err
		}
		if seen {
			return nil
		}
	}
	obs := ev.Observation
	confirm := ""
	if !ev.Trusted || obs == nil {
		// Unsigned callbacks are hints: what the provider's API says is
		// what Ankara believes.
		got, err := p.Fetch(ctx, acct, inv)
		if err != nil {
			return fmt.Errorf("confirm callback: %w", err)
		}
		obs, confirm = got, " Confirmed with the provider: "+describe(got)+"."
	}
	now := s.now()
	_, err = s.Store.updateInvoice(ctx, inv.ID, func(tx *Store, cur *Invoice) ([]InvoiceEvent, error) {
		if ev.EventID != "" {
			fresh, err := tx.markEvent(ctx, d.Provider, ev.EventID, cur.ID, now)
			if err != nil || !fresh {
				return nil, err
			}
		}
		evs := []InvoiceEvent{{Kind: EventCallback, Message: "Callback received from " + p.Info().DisplayName + "." + confirm, Payload: d.Body, CreatedAt: now}}
		evs = append(evs, cur.Apply(obs, now)...)
		if !stillWatched(cur, p.Info().CanCancel, now) {
			cur.NextPollAt = nil
		}
		return evs, nil
	})
	return err
}

func encodeHeader(h http.Header) string {
	b, _ := json.Marshal(h) // a header map always marshals
	return string(b)
}

func decodeHeader(s string) http.Header {
	h := http.Header{}
	_ = json.Unmarshal([]byte(s), &h) // stored by encodeHeader
	return h
}

// Push asks the provider to send a payment prompt to the payer's phone.
func (s *Service) Push(ctx context.Context, inv *Invoice, phone, option string) error {
	if inv.Status.Final() {
		return Errorf(ECONFLICT, "This invoice is %s.", strings.ToLower(inv.Status.Label()))
	}
	p, acct, err := s.providerFor(ctx, inv)
	if err != nil {
		return err
	}
	pusher, ok := p.(Pusher)
	if !ok {
		return Errorf(EINVALID, "%s cannot send payment prompts.", p.Info().DisplayName)
	}
	obs, callErr := pusher.Push(ctx, acct, inv, phone, option)
	now := s.now()
	_, err = s.Store.updateInvoice(ctx, inv.ID, func(tx *Store, cur *Invoice) ([]InvoiceEvent, error) {
		if callErr != nil {
			return []InvoiceEvent{{Kind: EventPush, Message: "Payment prompt to " + phone + " failed: " + providerReason(callErr), CreatedAt: now}}, nil
		}
		evs := []InvoiceEvent{{Kind: EventPush, Message: "Payment prompt sent to " + phone + " (" + option + ").", Payload: obsRaw(obs), CreatedAt: now}}
		return append(evs, cur.Apply(obs, now)...), nil
	})
	if err != nil {
		return err
	}
	if callErr != nil {
		return Errorf(EUNAVAILABLE, "The payment prompt could not be sent: %s", providerReason(callErr))
	}
	return nil
}

func obsRaw(o *Observation) string {
	if o == nil {
		return ""
	}
	return o.Raw
}
