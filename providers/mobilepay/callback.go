package mobilepay

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"ankara/models"
)

// CallbackItem is one element of a callback array (providers file B.7).
type CallbackItem struct {
	InvoiceID    string          `json:"InvoiceId"`
	Status       string          `json:"Status"`
	ErrorCode    json.RawMessage `json:"ErrorCode,omitempty"`
	ErrorMessage string          `json:"ErrorMessage,omitempty"`
	Date         string          `json:"Date"`
	PaymentDate  string          `json:"PaymentDate,omitempty"`
	Sequence     *int64          `json:"Sequence,omitempty"`
	Links        []Link          `json:"Links,omitempty"`
}

// checkCallbackAuth compares the Authorization header with the credential
// Ankara registered: "Basic base64(user:password)" or the raw API key.
func checkCallbackAuth(acct *models.Account, header http.Header) bool {
	secret := acct.Get(KeyCallbackSecret, "")
	if secret == "" {
		return false
	}
	got := strings.TrimSpace(header.Get("Authorization"))
	var want string
	switch acct.Get(KeyCallbackAuth, "apikey") {
	case "basic":
		want = "Basic " + base64.StdEncoding.EncodeToString([]byte(acct.Get(KeyCallbackUsername, "")+":"+secret))
		// The scheme name is case-insensitive.
		if len(got) > 6 && strings.EqualFold(got[:6], "basic ") {
			got = "Basic " + strings.TrimSpace(got[6:])
		}
	default:
		want = secret
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// ParseCallback checks the registered credential and returns one event per
// array element. EventID is InvoiceId:status:Sequence, so a redelivered
// batch (MobilePay retries whole batches) has no second effect; Ref is the
// InvoiceId.
func (c *Client) ParseCallback(ctx context.Context, acct *models.Account, header http.Header, body []byte, now time.Time) ([]models.CallbackEvent, error) {
	if !checkCallbackAuth(acct, header) {
		return nil, models.Errorf(models.EUNAUTHORIZED, "The MobilePay callback did not carry the registered credential.")
	}
	var items []CallbackItem
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, models.Errorf(models.EINVALID, "The MobilePay callback is not a JSON array of invoice events: %v", err)
	}
	events := make([]models.CallbackEvent, 0, len(items))
	for _, it := range items {
		if it.InvoiceID == "" || it.Status == "" {
			continue
		}
		events = append(events, callbackEvent(acct, it))
	}
	return events, nil
}

func callbackEvent(acct *models.Account, it CallbackItem) models.CallbackEvent {
	status := strings.ToLower(it.Status)
	id := it.InvoiceID + ":" + status + ":"
	if it.Sequence != nil {
		id += fmt.Sprint(*it.Sequence)
	} else {
		id += it.Date // 2018 callbacks had no Sequence
	}
	raw, _ := json.Marshal(it) // re-encoding a decoded value cannot fail
	obs := &models.Observation{Status: MapStatus(it.Status), ProviderStatus: it.Status, Raw: string(raw)}
	switch obs.Status {
	case models.StatusFailed:
		obs.Reason = strings.TrimSpace("MobilePay refused the invoice: " + it.ErrorMessage)
		if code := rawString(it.ErrorCode); code != "" {
			if m := codeMessages[code]; m != "" {
				obs.Reason = m
			}
			obs.Reason += " (code " + code + ")"
		}
	case models.StatusPaid:
		obs.PaymentMethod = "MobilePay"
		if t, ok := parseDate(it.Date); ok {
			obs.PaidAt = t
		}
	case models.StatusAccepted:
		if t, ok := parseDate(it.PaymentDate); ok {
			obs.Reason = "Payment scheduled for " + t.Format("2006-01-02") + "."
		}
	}
	if h := linkHref(it.Links); h != "" {
		obs.References = map[string]string{"link": h}
		obs.Instructions = linkInstructions(acct, h)
	}
	return models.CallbackEvent{EventID: id, Ref: it.InvoiceID, Observation: obs, Trusted: true}
}
