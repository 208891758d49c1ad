package monnify

import (
	"context"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"ankara/models"
)

// Sign returns the monnify-signature of a webhook body: lowercase hex of
// HMAC-SHA512 keyed by the merchant's secret key over the exact raw bytes
// (§1.7, verified against the documentation's test vector).
func Sign(secretKey string, body []byte) string { return hex.EncodeToString(mac(secretKey, body)) }

// mac is HMAC-SHA512 of body keyed by the secret key.
func mac(secretKey string, body []byte) []byte {
	m := hmac.New(sha512.New, []byte(secretKey))
	m.Write(body)
	return m.Sum(nil)
}

// validSignature compares in constant time.
func validSignature(secretKey string, body []byte, sig string) bool {
	got, err := hex.DecodeString(strings.ToLower(strings.TrimSpace(sig)))
	if err != nil || len(got) != sha512.Size {
		return false
	}
	return hmac.Equal(got, mac(secretKey, body))
}

// headerValue reads a header whether the map was built by net/http
// (canonical keys) or by hand with Monnify's lowercase spelling.
func headerValue(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	for k, vs := range h {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

// ParseCallback verifies monnify-signature and turns a SUCCESSFUL_TRANSACTION
// notification into one event. Other event types are acknowledged and
// ignored.
//
// Choice (documented in doc.go): the amounts come from verify transaction,
// called here. When that call fails, the event is still returned from the
// signed payload but with Trusted=false, so that Ankara confirms it with
// Fetch (which verifies the transaction named by the invoice details).
//
// EventID is transactionReference|eventType|paymentStatus|amountPaid: a
// redelivery of the same notification has the same id, while a second
// partial payment on the same transaction (same reference and status, a
// larger amount) is a new event.
func (c *Client) ParseCallback(ctx context.Context, acct *models.Account, header http.Header, body []byte, now time.Time) ([]models.CallbackEvent, error) {
	secret := ""
	if acct != nil {
		secret = strings.TrimSpace(acct.Get(ConfigSecretKey, ""))
	}
	if secret == "" {
		return nil, models.Errorf(models.EUNAUTHORIZED, "The Monnify account has no secret key, so the notification cannot be verified.")
	}
	sig := headerValue(header, signatureHeader)
	if sig == "" {
		return nil, models.Errorf(models.EUNAUTHORIZED, "The Monnify notification has no monnify-signature header.")
	}
	if !validSignature(secret, body, sig) {
		return nil, models.Errorf(models.EUNAUTHORIZED, "The monnify-signature does not match the notification; it was not signed with this account's secret key.")
	}
	ev, err := parseWebhook(body)
	if err != nil || ev == nil {
		return nil, err
	}
	ev.Trusted = true
	tx, raw, err := c.verify(ctx, acct, ev.Observation.TransactionRef)
	if err != nil {
		c.log.Warn("monnify notification: verify transaction failed; leaving it for Fetch",
			"transaction", ev.Observation.TransactionRef, "err", err)
		ev.Trusted = false
		return []models.CallbackEvent{*ev}, nil
	}
	obs := &models.Observation{Raw: string(body) + "\n\n" + raw}
	if err := applyPayment(obs, paymentOf(tx), 0); err != nil {
		c.log.Warn("monnify notification: unreadable transaction; leaving it for Fetch", "err", err)
		ev.Trusted = false
		return []models.CallbackEvent{*ev}, nil
	}
	ev.Observation = obs
	return []models.CallbackEvent{*ev}, nil
}

// parseWebhook reads a verified body. It returns nil for event types that
// say nothing about invoice payments.
func parseWebhook(body []byte) (*models.CallbackEvent, error) {
	var w webhook
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, models.Errorf(models.EINVALID, "The Monnify notification is not valid JSON: %v", err)
	}
	if w.EventType != eventSuccessfulTransaction {
		return nil, nil
	}
	var d webhookTransaction
	if err := json.Unmarshal(w.EventData, &d); err != nil {
		return nil, models.Errorf(models.EINVALID, "The Monnify notification's eventData cannot be read: %v", err)
	}
	if d.TransactionReference == "" {
		return nil, models.Errorf(models.EINVALID, "The Monnify notification names no transactionReference.")
	}
	ref := d.Product.Reference
	if ref == "" {
		ref = d.PaymentReference
	}
	p := payment{TransactionRef: d.TransactionReference, PaymentRef: d.PaymentReference, Status: d.PaymentStatus,
		Method: d.PaymentMethod, PaidOn: d.PaidOn, AmountPaid: d.AmountPaid, TotalPayable: d.TotalPayable,
		Settlement: d.SettlementAmount, PayerName: d.Customer.Name}
	obs := &models.Observation{Raw: string(body)}
	if err := applyPayment(obs, p, 0); err != nil {
		return nil, models.Errorf(models.EINVALID, "The Monnify notification has an unreadable amount: %v", err)
	}
	return &models.CallbackEvent{
		// applyPayment has read amountPaid into PaidMinor (0 when nothing
		// was paid) and set TransactionRef.
		EventID:     strings.Join([]string{d.TransactionReference, w.EventType, d.PaymentStatus, models.FormatAmount(obs.PaidMinor, ngn)}, "|"),
		Ref:         ref,
		Observation: obs,
	}, nil
}
