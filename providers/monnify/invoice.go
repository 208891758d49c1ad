package monnify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"ankara/models"
)

// createRequest is the body of POST /api/v1/invoice/create (§1.4.1), fields
// in the documentation's order.
type createRequest struct {
	Amount           json.Number `json:"amount"`
	InvoiceReference string      `json:"invoiceReference"`
	Description      string      `json:"description"`
	CurrencyCode     string      `json:"currencyCode"`
	ContractCode     string      `json:"contractCode"`
	CustomerEmail    string      `json:"customerEmail"`
	CustomerName     string      `json:"customerName"`
	ExpiryDate       string      `json:"expiryDate"`
	PaymentMethods   []string    `json:"paymentMethods,omitempty"`
	RedirectURL      string      `json:"redirectUrl,omitempty"`
}

var ngn = models.Currency{Code: "NGN", Exponent: 2, Name: "Nigerian naira"}

// Create registers the invoice, using inv.SubmitKey as the invoiceReference.
// A retry that meets "Invoice with this reference already exists." returns
// the invoice Monnify already has.
func (c *Client) Create(ctx context.Context, acct *models.Account, inv *models.Invoice) (*models.Submission, error) {
	cr, err := c.creds(acct)
	if err != nil {
		return nil, err
	}
	if cr.contractCode == "" {
		return nil, &models.ProviderError{Provider: models.Monnify, Op: "create invoice", Permanent: true,
			Message: "The Monnify account has no contract code; add it in Settings."}
	}
	if inv.SubmitKey == "" {
		return nil, errors.New("monnify create invoice: the invoice has no submit key")
	}
	req := createRequest{
		Amount:           json.Number(models.FormatAmount(inv.TotalMinor, ngn)),
		InvoiceReference: inv.SubmitKey,
		Description:      strings.TrimSpace(inv.Description),
		CurrencyCode:     inv.Currency,
		ContractCode:     cr.contractCode,
		CustomerEmail:    strings.TrimSpace(inv.CustomerEmail),
		CustomerName:     strings.TrimSpace(inv.CustomerName),
		ExpiryDate:       inv.ExpiresAt.In(lagos).Format(layoutExpiry),
		PaymentMethods:   paymentMethods(inv),
		RedirectURL:      redirectURL(acct, inv),
	}
	sent, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("monnify create invoice: encode request: %w", err)
	}
	resp, env, err := c.call(ctx, acct, "create invoice", http.MethodPost, "/api/v1/invoice/create", sent)
	if err != nil {
		var pe *models.ProviderError
		if errors.As(err, &pe) && strings.Contains(strings.ToLower(pe.Message), "already exists") {
			c.log.Info("monnify invoice exists already; fetching it", "ref", inv.SubmitKey)
			return c.existing(ctx, acct, inv, string(sent))
		}
		return nil, err
	}
	var b invoiceBody
	if err := json.Unmarshal(env.ResponseBody, &b); err != nil || b.InvoiceReference == "" {
		return nil, c.badReply("create invoice", resp, fmt.Errorf("invoice body: %v", err))
	}
	return c.submission(acct, b, resp.Exchange, string(sent)), nil
}

// existing returns the invoice a previous attempt created, after checking
// that it is the same invoice.
func (c *Client) existing(ctx context.Context, acct *models.Account, inv *models.Invoice, sent string) (*models.Submission, error) {
	b, raw, err := c.details(ctx, acct, inv.SubmitKey)
	if err != nil {
		return nil, err
	}
	if amt, err := models.ParseDecimal(string(b.Amount), ngn.Exponent); err == nil && amt != inv.TotalMinor {
		return nil, &models.ProviderError{Provider: models.Monnify, Op: "create invoice", Permanent: true,
			Message: fmt.Sprintf("Monnify already has an invoice with reference %s for %s NGN, not %s NGN.",
				inv.SubmitKey, b.Amount, models.FormatAmount(inv.TotalMinor, ngn))}
	}
	return c.submission(acct, b, raw, sent), nil
}

func (c *Client) submission(acct *models.Account, b invoiceBody, raw, sent string) *models.Submission {
	refs := map[string]string{}
	for k, v := range map[string]string{"invoiceReference": b.InvoiceReference, "accountNumber": b.AccountNumber,
		"bankName": b.BankName, "bankCode": b.BankCode, "checkoutUrl": b.CheckoutURL, "transactionReference": b.TransactionReference} {
		if v != "" {
			refs[k] = v
		}
	}
	return &models.Submission{
		ProviderRef:  b.InvoiceReference,
		PaymentRef:   b.AccountNumber,
		References:   refs,
		Instructions: c.instructions(acct, b),
		Observation:  invoiceObservation(b, raw),
		Raw:          raw,
		Request:      sent,
	}
}

// instructions: transfer to the invoice's virtual account, or pay by card
// through the checkout link; the QR code encodes the checkout link.
func (c *Client) instructions(acct *models.Account, b invoiceBody) *models.Instructions {
	in := &models.Instructions{Kind: "link", CheckoutURL: b.CheckoutURL, QR: b.CheckoutURL,
		Note: "Pay by card or bank transfer through the Monnify checkout link."}
	if b.AccountNumber != "" {
		in.Kind = "bank"
		in.Bank = &models.BankTransfer{BankName: b.BankName, AccountNumber: b.AccountNumber, AccountName: b.AccountName}
		in.Note = "Transfer the invoice total to this account from any Nigerian bank (the account only takes payments for this invoice), or pay by card through the checkout link."
	}
	if base := strings.TrimRight(acct.BaseURL, "/"); acct.Environment == "sandbox" && base != "" &&
		base != SandboxBaseURL && base != LiveBaseURL {
		// The simulator's bank-transfer page plays the payer's bank.
		in.SandboxURL = base + "/bank-transfer"
		if b.AccountNumber != "" {
			in.SandboxURL += "?account=" + url.QueryEscape(b.AccountNumber)
		} else if b.CheckoutURL != "" {
			in.SandboxURL = b.CheckoutURL
		}
	}
	return in
}

// redirectURL sends the payer back to Ankara's payer page after checkout.
// Ankara's public base is the part of the account's callback URL before
// "/webhooks/" (design §9); without it no redirectUrl is sent.
func redirectURL(acct *models.Account, inv *models.Invoice) string {
	base, _, ok := strings.Cut(acct.CallbackURL, "/webhooks/")
	if !ok || base == "" || inv.PublicToken == "" {
		return ""
	}
	return base + "/pay/" + url.PathEscape(inv.PublicToken)
}

// details is GET /api/v1/invoice/{invoiceReference}/details (§1.4.3).
func (c *Client) details(ctx context.Context, acct *models.Account, ref string) (invoiceBody, string, error) {
	resp, env, err := c.call(ctx, acct, "get invoice", http.MethodGet, "/api/v1/invoice/"+pathRef(ref)+"/details", nil)
	if err != nil {
		return invoiceBody{}, "", err
	}
	var b invoiceBody
	if err := json.Unmarshal(env.ResponseBody, &b); err != nil {
		return invoiceBody{}, "", c.badReply("get invoice", resp, err)
	}
	return b, resp.Exchange, nil
}

// verify is GET /api/v2/transactions/{url-encoded transactionReference} (§1.5).
func (c *Client) verify(ctx context.Context, acct *models.Account, txRef string) (transactionBody, string, error) {
	resp, env, err := c.call(ctx, acct, "verify transaction", http.MethodGet, "/api/v2/transactions/"+pathRef(txRef), nil)
	if err != nil {
		return transactionBody{}, "", err
	}
	var tx transactionBody
	if err := json.Unmarshal(env.ResponseBody, &tx); err != nil {
		return transactionBody{}, "", c.badReply("verify transaction", resp, err)
	}
	return tx, resp.Exchange, nil
}

// invoiceObservation maps an invoice object. The amount paid is not in it;
// verify transaction says that.
func invoiceObservation(b invoiceBody, raw string) *models.Observation {
	obs := &models.Observation{Status: mapStatus("invoice", b.InvoiceStatus), ProviderStatus: b.InvoiceStatus,
		TransactionRef: b.TransactionReference, Raw: raw}
	if t, err := time.ParseInLocation(layoutExpiry, b.ExpiryDate, lagos); err == nil {
		t = t.UTC()
		obs.ExpiresAt = &t
	}
	switch obs.Status {
	case models.StatusExpired:
		obs.Reason = "The invoice expired at Monnify before it was paid."
	case models.StatusCancelled:
		obs.Reason = "The invoice was cancelled at Monnify."
	}
	return obs
}

// Fetch reads the invoice details and, when a transaction is known (from
// the details or from an earlier notification), verifies it for the amount
// paid, the time, the method and the fee.
func (c *Client) Fetch(ctx context.Context, acct *models.Account, inv *models.Invoice) (*models.Observation, error) {
	ref := inv.ProviderRef
	if ref == "" {
		ref = inv.SubmitKey
	}
	b, raw, err := c.details(ctx, acct, ref)
	if err != nil {
		return nil, err
	}
	obs := invoiceObservation(b, raw)
	txRef := b.TransactionReference
	if txRef == "" {
		txRef = inv.TransactionRef
	}
	if txRef == "" {
		if obs.Status == models.StatusPaid {
			// Paid, but Monnify named no transaction: the invoice amount is
			// what was paid.
			if amt, err := models.ParseDecimal(string(b.Amount), ngn.Exponent); err == nil {
				obs.PaidMinor = amt
			}
		}
		return obs, nil
	}
	tx, txRaw, err := c.verify(ctx, acct, txRef)
	if err != nil {
		return nil, err
	}
	obs.Raw += "\n" + txRaw
	if err := applyPayment(obs, paymentOf(tx), inv.TotalMinor); err != nil {
		return nil, &models.ProviderError{Provider: models.Monnify, Op: "verify transaction", Message: "Monnify sent a transaction Ankara could not read.", Err: err}
	}
	return obs, nil
}

// payment is what verify transaction and the webhook both say about money.
type payment struct {
	TransactionRef string
	PaymentRef     string
	Status         string
	Method         string
	PaidOn         string
	AmountPaid     decimal
	TotalPayable   decimal
	Settlement     decimal
	PayerName      string
}

func paymentOf(tx transactionBody) payment {
	p := payment{TransactionRef: tx.TransactionReference, PaymentRef: tx.PaymentReference, Status: tx.PaymentStatus,
		Method: tx.PaymentMethod, AmountPaid: tx.AmountPaid, TotalPayable: tx.TotalPayable, Settlement: tx.SettlementAmount,
		PayerName: tx.Customer.Name}
	if tx.PaidOn != nil {
		p.PaidOn = *tx.PaidOn
	}
	if tx.AccountDetails != nil && tx.AccountDetails.AccountName != "" {
		p.PayerName = tx.AccountDetails.AccountName
	}
	return p
}

// applyPayment folds a transaction into an observation. totalMinor is what
// the invoice asks for (0 when unknown: then totalPayable is used). The
// amounts decide: less than the total is a partial payment that keeps the
// invoice open (or keeps the status the invoice already has), the total or
// more is paid.
func applyPayment(obs *models.Observation, p payment, totalMinor int64) error {
	paid, err := amountMinor(p.AmountPaid)
	if err != nil {
		return fmt.Errorf("amountPaid: %w", err)
	}
	if totalMinor <= 0 {
		if totalMinor, err = amountMinor(p.TotalPayable); err != nil {
			return fmt.Errorf("totalPayable: %w", err)
		}
	}
	obs.TransactionRef = p.TransactionRef
	if paid > 0 {
		obs.PaidMinor = paid
		obs.PaymentMethod = p.Method
		obs.PayerName = p.PayerName
		if p.PaidOn != "" {
			if t, err := parsePaidOn(p.PaidOn); err == nil {
				obs.PaidAt = t
			}
		}
		if s, err := amountMinor(p.Settlement); err == nil && p.Settlement != "" && s >= 0 && s <= paid {
			obs.FeeMinor = paid - s
		}
	}
	st := mapStatus("payment", p.Status)
	switch {
	case paid > 0 && totalMinor > 0 && paid < totalMinor:
		obs.ProviderStatus = payPartiallyPaid
		if obs.Status == "" || obs.Status == models.StatusPaid {
			obs.Status = models.StatusPending
		}
		obs.Reason = fmt.Sprintf("Partly paid: %s of %s NGN received.",
			models.FormatAmount(paid, ngn), models.FormatAmount(totalMinor, ngn))
	case st == models.StatusPaid && paid > 0:
		obs.Status = models.StatusPaid
		obs.ProviderStatus = p.Status
		if paid > totalMinor && totalMinor > 0 {
			obs.Reason = fmt.Sprintf("Overpaid: %s NGN received for %s NGN.",
				models.FormatAmount(paid, ngn), models.FormatAmount(totalMinor, ngn))
		}
	case p.Status == payReversed:
		obs.Reason = "Monnify reports that the payment was reversed."
	case obs.Status == "":
		obs.Status = st
		obs.ProviderStatus = p.Status
	}
	return nil
}

// amountMinor reads a wire amount in kobo; an empty amount is zero.
func amountMinor(d decimal) (int64, error) {
	if d == "" {
		return 0, nil
	}
	return models.ParseDecimal(string(d), ngn.Exponent)
}

// Cancel is DELETE /api/v1/invoice/{invoiceReference}/cancel (§1.4.5). A
// refusal is checked against the details: an invoice that is already
// cancelled counts as cancelled, an expired one is reported expired, and a
// paid one cannot be cancelled.
func (c *Client) Cancel(ctx context.Context, acct *models.Account, inv *models.Invoice) (*models.Observation, error) {
	ref := inv.ProviderRef
	if ref == "" {
		ref = inv.SubmitKey
	}
	resp, env, err := c.call(ctx, acct, "cancel invoice", http.MethodDelete, "/api/v1/invoice/"+pathRef(ref)+"/cancel", nil)
	if err != nil {
		if !models.IsPermanent(err) {
			return nil, err
		}
		b, raw, derr := c.details(ctx, acct, ref)
		if derr != nil {
			return nil, err
		}
		switch b.InvoiceStatus {
		case invoiceCancelled, invoiceExpired:
			// Already closed: say so instead of failing.
			return invoiceObservation(b, raw), nil
		case invoicePaid:
			return nil, &models.ProviderError{Provider: models.Monnify, Op: "cancel invoice", Permanent: true,
				Message: "Monnify says this invoice is already paid, so it cannot be cancelled."}
		}
		return nil, err
	}
	var b invoiceBody
	if err := json.Unmarshal(env.ResponseBody, &b); err != nil {
		return nil, c.badReply("cancel invoice", resp, err)
	}
	return invoiceObservation(b, resp.Exchange), nil
}

// ListedInvoice is one invoice of a List page.
type ListedInvoice struct {
	Reference     string
	Status        string // Monnify's invoiceStatus
	AmountMinor   int64
	Description   string
	CustomerName  string
	CustomerEmail string
	AccountNumber string
	BankName      string
	ExpiresAt     time.Time
	CreatedAt     time.Time
}

// InvoiceList is one page of the merchant's invoices at Monnify.
type InvoiceList struct {
	Invoices      []ListedInvoice
	Page, Size    int
	TotalElements int
	TotalPages    int
	Last          bool
	Raw           string
}

// List is GET /api/v1/invoice/all?page=&size= (§1.4.4): page counts from 0.
// It serves tests and a future reconciliation sweep.
func (c *Client) List(ctx context.Context, acct *models.Account, page, size int) (*InvoiceList, error) {
	if page < 0 {
		page = 0
	}
	if size < 1 {
		size = 10
	}
	q := url.Values{"page": {strconv.Itoa(page)}, "size": {strconv.Itoa(size)}}
	resp, env, err := c.call(ctx, acct, "list invoices", http.MethodGet, "/api/v1/invoice/all?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	var p invoicePage
	if err := json.Unmarshal(env.ResponseBody, &p); err != nil {
		return nil, c.badReply("list invoices", resp, err)
	}
	out := &InvoiceList{Page: p.Number, Size: p.Size, TotalElements: p.TotalElements, TotalPages: p.TotalPages, Last: p.Last, Raw: resp.Exchange}
	for _, b := range p.Content {
		li := ListedInvoice{Reference: b.InvoiceReference, Status: b.InvoiceStatus, Description: b.Description,
			CustomerName: b.CustomerName, CustomerEmail: b.CustomerEmail, AccountNumber: b.AccountNumber, BankName: b.BankName}
		if li.AmountMinor, err = amountMinor(b.Amount); err != nil {
			return nil, c.badReply("list invoices", resp, fmt.Errorf("amount of %s: %w", b.InvoiceReference, err))
		}
		if t, err := time.ParseInLocation(layoutExpiry, b.ExpiryDate, lagos); err == nil {
			li.ExpiresAt = t.UTC()
		}
		if t, err := time.ParseInLocation(layoutExpiry, b.CreatedOn, lagos); err == nil {
			li.CreatedAt = t.UTC()
		}
		out.Invoices = append(out.Invoices, li)
	}
	return out, nil
}
