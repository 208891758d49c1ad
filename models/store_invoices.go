package models

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// insertInvoice stores a new invoice with its lines and first event. When the
// invoice has no number it gets the merchant's next one (INV-000001).
func (s *Store) insertInvoice(ctx context.Context, inv *Invoice, ev *InvoiceEvent) error {
	return s.Tx(ctx, func(tx *Store) error {
		if inv.Number == "" {
			n, err := tx.nextInvoiceNumber(ctx, inv.MerchantID)
			if err != nil {
				return err
			}
			inv.Number = fmt.Sprintf("INV-%06d", n)
		}
		inv.SearchText = searchText(inv)
		if err := tx.db.Omit("Lines").Create(inv).Error; err != nil {
			if isDuplicate(err) {
				return &Error{Code: ECONFLICT, Message: "An invoice with this number exists already.", Fields: map[string]string{"number": "This invoice number is used already; choose another or leave it empty."}}
			}
			return fmt.Errorf("create invoice: %w", err)
		}
		for i := range inv.Lines {
			l := &inv.Lines[i]
			l.ID, l.InvoiceID, l.MerchantID = NewID(), inv.ID, inv.MerchantID
		}
		if len(inv.Lines) > 0 {
			if err := tx.db.Create(&inv.Lines).Error; err != nil {
				return fmt.Errorf("create invoice lines: %w", err)
			}
		}
		if ev != nil {
			return tx.addEvent(ctx, ev)
		}
		return nil
	})
}

func searchText(inv *Invoice) string {
	return strings.ToLower(strings.Join([]string{inv.Number, inv.CustomerName, inv.CustomerEmail, inv.CustomerPhone, inv.ProviderRef, inv.PaymentRef, inv.TransactionRef}, " "))
}

func (s *Store) addEvent(ctx context.Context, ev *InvoiceEvent) error {
	if ev.ID == "" {
		ev.ID = NewID()
	}
	if ev.CreatedAt.IsZero() {
		ev.CreatedAt = nowUTC()
	}
	if err := s.db.WithContext(ctx).Create(ev).Error; err != nil {
		return fmt.Errorf("add invoice event: %w", err)
	}
	return nil
}

// Invoice loads one of a merchant's invoices with its lines. Another
// merchant's id gives ENOTFOUND.
func (s *Store) Invoice(ctx context.Context, merchantID, id string) (*Invoice, error) {
	var inv Invoice
	err := s.db.WithContext(ctx).Preload("Lines", func(db *gorm.DB) *gorm.DB { return db.Order("position") }).
		Where("merchant_id = ? AND id = ?", merchantID, id).First(&inv).Error
	if err != nil {
		return nil, notFound(err, "Invoice")
	}
	return &inv, nil
}

// InvoicesByIDs loads a merchant's invoices by id, without lines.
func (s *Store) InvoicesByIDs(ctx context.Context, merchantID string, ids []string) ([]Invoice, error) {
	var out []Invoice
	if len(ids) == 0 {
		return out, nil
	}
	if err := s.db.WithContext(ctx).Where("merchant_id = ? AND id IN ?", merchantID, ids).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("load invoices: %w", err)
	}
	return out, nil
}

// InvoiceByToken loads an invoice by its public payer token.
func (s *Store) InvoiceByToken(ctx context.Context, token string) (*Invoice, error) {
	var inv Invoice
	if token == "" {
		return nil, Errorf(ENOTFOUND, "Invoice not found.")
	}
	err := s.db.WithContext(ctx).Preload("Lines", func(db *gorm.DB) *gorm.DB { return db.Order("position") }).
		Where("public_token = ?", token).First(&inv).Error
	if err != nil {
		return nil, notFound(err, "Invoice")
	}
	return &inv, nil
}

// invoiceByID loads any merchant's invoice with its lines, for background
// work that is not acting for a signed-in merchant.
func (s *Store) invoiceByID(ctx context.Context, id string) (*Invoice, error) {
	var inv Invoice
	err := s.db.WithContext(ctx).Preload("Lines", func(db *gorm.DB) *gorm.DB { return db.Order("position") }).
		Where("id = ?", id).First(&inv).Error
	if err != nil {
		return nil, notFound(err, "Invoice")
	}
	return &inv, nil
}

// releaseLease frees an invoice whose poll failed before it was recorded,
// and pushes its next poll back to next.
func (s *Store) releaseLease(ctx context.Context, id string, next time.Time) error {
	err := s.db.WithContext(ctx).Model(&Invoice{}).Where("id = ?", id).
		Updates(map[string]any{"lease_until": nil, "next_poll_at": next.UTC()}).Error
	if err != nil {
		return fmt.Errorf("release invoice lease: %w", err)
	}
	return nil
}

// InvoiceByRef finds an account's invoice by provider reference, payment
// reference or submit key.
func (s *Store) InvoiceByRef(ctx context.Context, accountID, ref string) (*Invoice, error) {
	var inv Invoice
	if ref == "" {
		return nil, Errorf(ENOTFOUND, "Invoice not found.")
	}
	err := s.db.WithContext(ctx).Preload("Lines", func(db *gorm.DB) *gorm.DB { return db.Order("position") }).
		Where("account_id = ? AND (provider_ref = ? OR payment_ref = ? OR submit_key = ?)", accountID, ref, ref, ref).First(&inv).Error
	if err != nil {
		return nil, notFound(err, "Invoice")
	}
	return &inv, nil
}

// Events returns an invoice's timeline, oldest first.
func (s *Store) Events(ctx context.Context, merchantID, invoiceID string) ([]InvoiceEvent, error) {
	var evs []InvoiceEvent
	err := s.db.WithContext(ctx).Where("merchant_id = ? AND invoice_id = ?", merchantID, invoiceID).Order("created_at, id").Find(&evs).Error
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return evs, nil
}

// updateInvoice runs fn on a fresh, locked copy of the invoice inside a
// transaction and saves it with the events fn returns.
func (s *Store) updateInvoice(ctx context.Context, id string, fn func(tx *Store, inv *Invoice) ([]InvoiceEvent, error)) (*Invoice, error) {
	var out *Invoice
	err := s.Tx(ctx, func(tx *Store) error {
		var inv Invoice
		if err := tx.db.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", id).First(&inv).Error; err != nil {
			return notFound(err, "Invoice")
		}
		evs, err := fn(tx, &inv)
		if err != nil {
			return err
		}
		inv.SearchText = searchText(&inv)
		inv.UpdatedAt = nowUTC()
		if err := tx.db.Omit("Lines", "CreatedAt").Save(&inv).Error; err != nil {
			return fmt.Errorf("save invoice: %w", err)
		}
		for i := range evs {
			evs[i].InvoiceID, evs[i].MerchantID = inv.ID, inv.MerchantID
			// Events of one change share a clock reading; a microsecond
			// apart keeps the timeline in the order they happened.
			if evs[i].CreatedAt.IsZero() {
				evs[i].CreatedAt = inv.UpdatedAt
			}
			evs[i].CreatedAt = evs[i].CreatedAt.Add(time.Duration(i) * time.Microsecond)
			if err := tx.addEvent(ctx, &evs[i]); err != nil {
				return err
			}
		}
		out = &inv
		return nil
	})
	return out, err
}

// InvoiceFilter selects and orders a merchant's invoices.
type InvoiceFilter struct {
	Query    string
	Status   Status
	Provider ProviderName
	Currency string
	From, To time.Time // created at, [From, To)
	Sort     string    // "newest" (default), "oldest", "expiry", "expiry_desc", "amount", "amount_desc"
	Cursor   string    // from InvoicePage.Next
	Limit    int
}

// InvoicePage is one page of a keyset-paginated list.
type InvoicePage struct {
	Invoices []Invoice
	Next     string // cursor of the next page; empty at the end
}

type sortSpec struct {
	col  string
	desc bool
}

var sorts = map[string]sortSpec{
	"newest":      {"id", true},
	"oldest":      {"id", false},
	"expiry":      {"expires_at", false},
	"expiry_desc": {"expires_at", true},
	"amount":      {"total_minor", false},
	"amount_desc": {"total_minor", true},
}

// SortOptions lists the list's sort orders for the view.
var SortOptions = []Option{{"newest", "Newest first"}, {"oldest", "Oldest first"}, {"expiry", "Expiry, soonest first"}, {"expiry_desc", "Expiry, latest first"}, {"amount_desc", "Amount, largest first"}, {"amount", "Amount, smallest first"}}

func (s *Store) filtered(ctx context.Context, merchantID string, f InvoiceFilter, withStatus bool) *gorm.DB {
	q := s.db.WithContext(ctx).Model(&Invoice{}).Where("merchant_id = ?", merchantID)
	if t := strings.ToLower(strings.TrimSpace(f.Query)); t != "" {
		t = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(t)
		q = q.Where(`search_text LIKE ? ESCAPE '\'`, "%"+t+"%")
	}
	if withStatus && f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Provider != "" {
		q = q.Where("provider = ?", f.Provider)
	}
	if f.Currency != "" {
		q = q.Where("currency = ?", f.Currency)
	}
	if !f.From.IsZero() {
		q = q.Where("created_at >= ?", dbTime(f.From))
	}
	if !f.To.IsZero() {
		q = q.Where("created_at < ?", dbTime(f.To))
	}
	return q
}

// ListInvoices returns one page of a merchant's invoices (without lines).
func (s *Store) ListInvoices(ctx context.Context, merchantID string, f InvoiceFilter) (*InvoicePage, error) {
	spec, ok := sorts[f.Sort]
	if !ok {
		spec = sorts["newest"]
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	q := s.filtered(ctx, merchantID, f, true)
	op, dir := ">", "ASC"
	if spec.desc {
		op, dir = "<", "DESC"
	}
	if f.Cursor != "" {
		val, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, Errorf(EINVALID, "That page link is no longer valid; start from the first page.")
		}
		switch spec.col {
		case "id":
			q = q.Where("id "+op+" ?", id)
		case "total_minor":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return nil, Errorf(EINVALID, "That page link is no longer valid; start from the first page.")
			}
			q = q.Where("(total_minor "+op+" ? OR (total_minor = ? AND id "+op+" ?))", n, n, id)
		case "expires_at":
			t, err := time.Parse(time.RFC3339Nano, val)
			if err != nil {
				return nil, Errorf(EINVALID, "That page link is no longer valid; start from the first page.")
			}
			t = dbTime(t)
			q = q.Where("(expires_at "+op+" ? OR (expires_at = ? AND id "+op+" ?))", t, t, id)
		}
	}
	order := spec.col + " " + dir
	if spec.col != "id" {
		order += ", id " + dir
	}
	var invs []Invoice
	if err := q.Order(order).Limit(f.Limit + 1).Find(&invs).Error; err != nil {
		return nil, fmt.Errorf("list invoices: %w", err)
	}
	page := &InvoicePage{Invoices: invs}
	if len(invs) > f.Limit {
		page.Invoices = invs[:f.Limit]
		last := page.Invoices[f.Limit-1]
		var val string
		switch spec.col {
		case "total_minor":
			val = strconv.FormatInt(last.TotalMinor, 10)
		case "expires_at":
			val = last.ExpiresAt.UTC().Format(time.RFC3339Nano)
		}
		page.Next = encodeCursor(val, last.ID)
	}
	return page, nil
}

func encodeCursor(val, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(val + "|" + id))
}

func decodeCursor(c string) (string, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", "", err
	}
	val, id, ok := strings.Cut(string(b), "|")
	if !ok || id == "" {
		return "", "", fmt.Errorf("bad cursor")
	}
	return val, id, nil
}

// CountByStatus counts the invoices matching f (ignoring its status) per status.
func (s *Store) CountByStatus(ctx context.Context, merchantID string, f InvoiceFilter) (map[Status]int64, error) {
	type row struct {
		Status Status
		N      int64
	}
	var rows []row
	if err := s.filtered(ctx, merchantID, f, false).Select("status, COUNT(*) AS n").Group("status").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("count invoices: %w", err)
	}
	out := map[Status]int64{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}

// claimDue leases up to limit invoices whose next poll is due and returns
// their ids. Several app instances may call it at once: a row is theirs
// only if their UPDATE won.
func (s *Store) claimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]string, error) {
	now = dbTime(now)
	var cands []string
	err := s.db.WithContext(ctx).Model(&Invoice{}).
		Where("next_poll_at IS NOT NULL AND next_poll_at <= ? AND (lease_until IS NULL OR lease_until < ?)", now, now).
		Order("next_poll_at").Limit(limit).Pluck("id", &cands).Error
	if err != nil {
		return nil, fmt.Errorf("find due invoices: %w", err)
	}
	var out []string
	for _, id := range cands {
		res := s.db.WithContext(ctx).Model(&Invoice{}).
			Where("id = ? AND (lease_until IS NULL OR lease_until < ?)", id, now).
			Update("lease_until", now.Add(lease))
		if res.Error != nil {
			return nil, fmt.Errorf("lease invoice: %w", res.Error)
		}
		if res.RowsAffected == 1 {
			out = append(out, id)
		}
	}
	return out, nil
}

// SaveDelivery stores a verified callback delivery before it is acknowledged.
func (s *Store) SaveDelivery(ctx context.Context, d *CallbackDelivery) error {
	if err := s.db.WithContext(ctx).Create(d).Error; err != nil {
		return fmt.Errorf("save callback delivery: %w", err)
	}
	return nil
}

// claimDeliveries leases unprocessed callback deliveries.
func (s *Store) claimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]CallbackDelivery, error) {
	now = dbTime(now)
	var cands []CallbackDelivery
	err := s.db.WithContext(ctx).Where("processed_at IS NULL AND (lease_until IS NULL OR lease_until < ?)", now).
		Order("received_at").Limit(limit).Find(&cands).Error
	if err != nil {
		return nil, fmt.Errorf("find callback deliveries: %w", err)
	}
	var out []CallbackDelivery
	for _, d := range cands {
		res := s.db.WithContext(ctx).Model(&CallbackDelivery{}).
			Where("id = ? AND processed_at IS NULL AND (lease_until IS NULL OR lease_until < ?)", d.ID, now).
			Updates(map[string]any{"lease_until": now.Add(lease), "attempts": gorm.Expr("attempts + 1")})
		if res.Error != nil {
			return nil, fmt.Errorf("lease callback delivery: %w", res.Error)
		}
		if res.RowsAffected == 1 {
			d.Attempts++
			out = append(out, d)
		}
	}
	return out, nil
}

// finishDelivery marks a delivery processed, or records why it failed and
// when to try again.
func (s *Store) finishDelivery(ctx context.Context, id string, now time.Time, procErr error, retryAt time.Time) error {
	upd := map[string]any{"lease_until": nil, "last_error": ""}
	if procErr == nil {
		upd["processed_at"] = dbTime(now)
	} else {
		upd["last_error"] = procErr.Error()
		upd["lease_until"] = dbTime(retryAt)
	}
	if err := s.db.WithContext(ctx).Model(&CallbackDelivery{}).Where("id = ?", id).Updates(upd).Error; err != nil {
		return fmt.Errorf("finish callback delivery: %w", err)
	}
	return nil
}

// eventSeen reports whether a provider event was applied already.
func (s *Store) eventSeen(ctx context.Context, p ProviderName, eventID string) (bool, error) {
	var n int64
	if err := s.db.WithContext(ctx).Raw("SELECT COUNT(*) FROM callback_events WHERE provider = ? AND event_id = ?", p, eventID).Scan(&n).Error; err != nil {
		return false, fmt.Errorf("check callback event: %w", err)
	}
	return n > 0, nil
}

// markEvent records a provider event as applied; false if it was already.
func (s *Store) markEvent(ctx context.Context, p ProviderName, eventID, invoiceID string, now time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Exec("INSERT INTO callback_events (provider, event_id, invoice_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", p, eventID, invoiceID, dbTime(now))
	if res.Error != nil {
		return false, fmt.Errorf("mark callback event: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// CurrencyTotal is an amount in one currency.
type CurrencyTotal struct {
	Currency string
	Minor    int64
	Count    int64
}

// Summary is the dashboard's picture of a merchant's invoices.
type Summary struct {
	Outstanding    []CurrencyTotal // pending and accepted: still to be paid
	PaidSince      []CurrencyTotal // paid since the summary's start
	NeedsAttention int64           // not registered yet, or money to refund
}

// Summarize totals a merchant's open invoices per currency and what was
// paid since a time.
func (s *Store) Summarize(ctx context.Context, merchantID string, since time.Time) (*Summary, error) {
	db := s.db.WithContext(ctx)
	out := &Summary{}
	err := db.Model(&Invoice{}).Select("currency, SUM(total_minor - paid_minor) AS minor, COUNT(*) AS count").
		Where("merchant_id = ? AND status IN ?", merchantID, []Status{StatusPending, StatusAccepted, StatusSubmitting}).
		Group("currency").Order("currency").Scan(&out.Outstanding).Error
	if err != nil {
		return nil, fmt.Errorf("summarize outstanding: %w", err)
	}
	err = db.Model(&Invoice{}).Select("currency, SUM(paid_minor) AS minor, COUNT(*) AS count").
		Where("merchant_id = ? AND status = ? AND paid_at >= ?", merchantID, StatusPaid, dbTime(since)).
		Group("currency").Order("currency").Scan(&out.PaidSince).Error
	if err != nil {
		return nil, fmt.Errorf("summarize paid: %w", err)
	}
	err = db.Model(&Invoice{}).Where("merchant_id = ? AND (paid_after_final = ? OR (status = ? AND last_error <> ''))", merchantID, true, StatusSubmitting).
		Count(&out.NeedsAttention).Error
	if err != nil {
		return nil, fmt.Errorf("summarize attention: %w", err)
	}
	return out, nil
}
