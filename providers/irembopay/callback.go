package irembopay

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"ankara/models"
)

// SignatureHeader carries IremboPay's notification signature (§2.8):
// "t=<unix ms>,s=<hex HMAC-SHA256(secret, t + "#" + raw body)>".
const SignatureHeader = "irembopay-signature"

// signatureTolerance is how far the signature timestamp may be from now,
// either way, before a delivery is treated as a replay (reliability.md R5).
const signatureTolerance = 5 * time.Minute

// Sign computes the irembopay-signature header value for a body at time t,
// the way IremboPay signs notifications. Tests and tools use it.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.UnixMilli(), 10)
	return "t=" + ts + ",s=" + signature(secret, ts, body)
}

func signature(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte("#"))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// verifySignature checks the header against the raw body. It splits on ","
// and trims, since the docs' template has a space after the comma and the
// example has none; it accepts several s= values (key rotation) and a
// timestamp in seconds as well as the documented milliseconds.
func verifySignature(header string, body []byte, secret string, now time.Time) error {
	if strings.TrimSpace(header) == "" {
		return errors.New("no irembopay-signature header")
	}
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "t":
			ts = strings.TrimSpace(v)
		case "s":
			sigs = append(sigs, strings.TrimSpace(v))
		}
	}
	if ts == "" || len(sigs) == 0 {
		return errors.New("malformed irembopay-signature header")
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || n <= 0 || n > 1e15 {
		return errors.New("bad signature timestamp")
	}
	t := time.UnixMilli(n)
	if n < 1e11 { // 11 digits or fewer: seconds, not milliseconds
		t = time.Unix(n, 0)
	}
	if absDuration(now.Sub(t)) > signatureTolerance {
		return fmt.Errorf("signature timestamp %s is more than 5 minutes from now", t.UTC().Format(time.RFC3339))
	}
	want, _ := hex.DecodeString(signature(secret, ts, body))
	for _, s := range sigs {
		if got, err := hex.DecodeString(s); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("signature does not match")
}

// ParseCallback verifies and reads a payment notification (§2.8): the body
// is {"success":true,"data":{invoice}} with paymentStatus PAID. For a batch
// (§2.6 rule 9: only the batch is notified) it also returns one untrusted
// event per child invoice, so that Ankara fetches each child's own status.
func (c *Client) ParseCallback(ctx context.Context, acct *models.Account, header http.Header, body []byte, now time.Time) ([]models.CallbackEvent, error) {
	secret := acct.Get(KeySecretKey, "")
	if secret == "" {
		return nil, models.Errorf(models.EUNAUTHORIZED, "IremboPay notification refused: the account has no secret key to check its signature.")
	}
	if err := verifySignature(header.Get(SignatureHeader), body, secret, now); err != nil {
		return nil, models.Errorf(models.EUNAUTHORIZED, "IremboPay notification refused: %s.", err.Error())
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, models.Errorf(models.EINVALID, "IremboPay notification is not JSON: %s.", err.Error())
	}
	data := env.Data
	if len(bytes.TrimSpace(data)) == 0 || bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		data = body // lenient: an invoice object without the envelope
	}
	var wi wireInvoice
	if err := json.Unmarshal(data, &wi); err != nil || wi.InvoiceNumber == "" {
		return nil, models.Errorf(models.EINVALID, "IremboPay notification has no readable invoice.")
	}
	cur := wi.Currency
	if cur == "" {
		if pa, ok := findPaymentAccount(acct, wi.PaymentAccountIdentifier); ok {
			cur = pa.Currency
		} else {
			cur = "RWF"
		}
	}
	obs := c.observeAt(&models.Invoice{Currency: strings.ToUpper(cur)}, &wi, string(body), now)
	obs.ExpiresAt = nil // a notification reports a payment, not an expiry change
	number := string(wi.InvoiceNumber)
	status := strings.ToUpper(wi.PaymentStatus)
	events := []models.CallbackEvent{{
		EventID:     "irembopay:" + number + ":" + status + ":" + wi.PaymentReference,
		Ref:         number,
		Observation: obs,
		Trusted:     true,
	}}
	if strings.EqualFold(wi.Type, "BATCH") {
		for _, child := range wi.ChildInvoices {
			if child == "" {
				continue
			}
			co := &models.Observation{Status: obs.Status, ProviderStatus: wi.PaymentStatus, PaidAt: obs.PaidAt,
				PaymentMethod: obs.PaymentMethod, TransactionRef: obs.TransactionRef, Raw: obs.Raw,
				References: map[string]string{"batch_number": firstNonEmpty(wi.BatchNumber, number)}}
			events = append(events, models.CallbackEvent{
				EventID:     "irembopay:" + string(child) + ":" + status + ":batch:" + number + ":" + wi.PaymentReference,
				Ref:         string(child),
				Observation: co,
				Trusted:     false, // the child's own amount comes from Fetch
			})
		}
	}
	return events, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
