package models

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"ankara/models/testdb"
)

var discardLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// openTestDB opens a fresh database, configured as the application
// configures it, without migrating it: a SQLite file, or a schema of its own
// on the PostgreSQL server TEST_DATABASE_URL names (see package testdb).
func openTestDB(t testing.TB) *Store {
	t.Helper()
	return NewStore(testdb.Open(t, GormConfig()))
}

// newTestStore is a migrated store on its own database.
func newTestStore(t testing.TB) *Store {
	t.Helper()
	s := openTestDB(t)
	if err := s.Migrate(context.Background(), discardLog); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// storeNow is a fixed instant, to the microsecond as PostgreSQL keeps it.
var storeNow = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

func seedMerchant(t testing.TB, s *Store, name string) *Merchant {
	t.Helper()
	id := NewID()
	m := &Merchant{ID: id, Name: name, TimeZone: "Africa/Kampala", DefaultCurrency: "UGX", CreatedAt: storeNow, UpdatedAt: storeNow}
	u := &User{ID: NewID(), MerchantID: id, Email: strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "." + id[20:] + "@example.com",
		PasswordHash: "$argon2id$x", Role: RoleOwner, CreatedAt: storeNow, UpdatedAt: storeNow}
	if err := s.CreateMerchant(context.Background(), m, u); err != nil {
		t.Fatalf("CreateMerchant: %v", err)
	}
	return m
}

func seedAccount(t testing.TB, s *Store, merchantID string, p ProviderName) *ProviderAccount {
	t.Helper()
	a := &ProviderAccount{ID: NewID(), MerchantID: merchantID, Provider: p, Environment: "sandbox", BaseURL: "https://sandbox.example/" + string(p), WebhookKey: NewToken(128)}
	if err := s.SaveAccount(context.Background(), a); err != nil {
		t.Fatalf("SaveAccount: %v", err)
	}
	return a
}

// testInvoice is a pending invoice of merchant m on account a, with one line.
func testInvoice(m *Merchant, a *ProviderAccount, total int64) *Invoice {
	next := storeNow.Add(time.Minute)
	return &Invoice{
		ID: NewID(), MerchantID: m.ID, Provider: a.Provider, AccountID: a.ID, Status: StatusPending, Currency: "EUR",
		CustomerName: "Amina Nakato", CustomerPhone: "+256772123456", Language: "en",
		NetMinor: total, TotalMinor: total, ExpiresAt: storeNow.Add(72 * time.Hour),
		PublicToken: NewToken(128), SubmitKey: NewUUID(), ProviderFields: JSONMap{}, References: JSONMap{},
		NextPollAt: &next, CreatedAt: storeNow, UpdatedAt: storeNow,
		Lines: []InvoiceLine{{Position: 1, Description: "Tea", QuantityMilli: 1000, UnitPriceMinor: total, NetMinor: total}},
	}
}

func insertTestInvoice(t testing.TB, s *Store, inv *Invoice) *Invoice {
	t.Helper()
	ev := &InvoiceEvent{InvoiceID: inv.ID, MerchantID: inv.MerchantID, Kind: EventCreated, ToStatus: inv.Status, Message: "Invoice created.", CreatedAt: inv.CreatedAt}
	if err := s.insertInvoice(context.Background(), inv, ev); err != nil {
		t.Fatalf("insertInvoice: %v", err)
	}
	return inv
}

// utcTimes returns a copy of v (a pointer to a struct, or a slice of
// structs) with every time.Time and *time.Time field in UTC, so that values
// read back from the database compare with DeepEqual.
func utcTimes(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			if tp, ok := v.Interface().(*time.Time); ok {
				*tp = tp.UTC()
				return
			}
			utcTimes(v.Elem())
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(v.Interface().(time.Time).UTC()))
			return
		}
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				utcTimes(f)
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			utcTimes(v.Index(i))
		}
	}
}

func assertSame(t *testing.T, what string, got, want any) {
	t.Helper()
	utcTimes(reflect.ValueOf(got))
	utcTimes(reflect.ValueOf(want))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s read back differs:\n got %+v\nwant %+v", what, got, want)
	}
}

func TestMigrateAndPing(t *testing.T) {
	ctx := context.Background()
	s := openTestDB(t)
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping on an empty database reported ready")
	}
	if err := s.Migrate(ctx, discardLog); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after Migrate: %v", err)
	}
	var before []struct {
		Version   int
		Name      string
		AppliedAt time.Time
	}
	if err := s.DB().Raw("SELECT version, name, applied_at FROM schema_migrations ORDER BY version").Scan(&before).Error; err != nil {
		t.Fatal(err)
	}
	latest, err := latestMigration()
	if err != nil || latest == 0 || len(before) == 0 || before[len(before)-1].Version != latest {
		t.Fatalf("schema_migrations %+v, latest %d (%v)", before, latest, err)
	}
	m := seedMerchant(t, s, "Duka")

	// A second Migrate (every restart) changes nothing and keeps the data.
	if err := s.Migrate(ctx, discardLog); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	var after []struct {
		Version   int
		Name      string
		AppliedAt time.Time
	}
	if err := s.DB().Raw("SELECT version, name, applied_at FROM schema_migrations ORDER BY version").Scan(&after).Error; err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, after) {
		t.Errorf("second Migrate changed schema_migrations:\n%+v\n%+v", before, after)
	}
	if _, err := s.Merchant(ctx, m.ID); err != nil {
		t.Errorf("merchant lost after second Migrate: %v", err)
	}

	// A database behind the code is not ready.
	if err := s.DB().Exec("DELETE FROM schema_migrations WHERE version = ?", latest).Error; err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err == nil || !strings.Contains(err.Error(), "migration") {
		t.Errorf("Ping on a database behind the code = %v, want a migration error", err)
	}
}

// TestMigrateConcurrently starts several instances on one new database at
// once, as a rolling deploy does: every one of them migrates without error
// and each migration is applied once.
func TestMigrateConcurrently(t *testing.T) {
	ctx := context.Background()
	s := openTestDB(t)
	const instances = 4
	errs := make(chan error, instances)
	for range instances {
		go func() { errs <- s.Migrate(ctx, discardLog) }()
	}
	for range instances {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Migrate: %v", err)
		}
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after concurrent Migrate: %v", err)
	}
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := s.DB().Raw("SELECT COUNT(*) FROM schema_migrations").Scan(&n).Error; err != nil || n != int64(len(ms)) {
		t.Errorf("schema_migrations has %d rows (%v), want %d", n, err, len(ms))
	}
}

func TestSplitSQL(t *testing.T) {
	got := splitSQL("-- comment\nCREATE TABLE a (\n  x INT\n);\n\n-- another\nCREATE INDEX b ON a (x);\nSELECT 1")
	want := []string{"CREATE TABLE a (\n  x INT\n);", "CREATE INDEX b ON a (x);", "SELECT 1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("splitSQL = %q, want %q", got, want)
	}
}

func TestStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)

	// Merchant and user.
	m := &Merchant{ID: NewID(), Name: "Duka Ltd", Address: "Plot 1, Kampala Road", VATNumber: "UG123", TimeZone: "Africa/Kampala",
		DefaultCurrency: "UGX", CreatedAt: storeNow, UpdatedAt: storeNow}
	u := &User{ID: NewID(), MerchantID: m.ID, Email: "owner@duka.example", PasswordHash: "$argon2id$v=19$hash", Role: RoleOwner, CreatedAt: storeNow, UpdatedAt: storeNow}
	if err := s.CreateMerchant(ctx, m, u); err != nil {
		t.Fatalf("CreateMerchant: %v", err)
	}
	gotM, err := s.Merchant(ctx, m.ID)
	if err != nil {
		t.Fatalf("Merchant: %v", err)
	}
	assertSame(t, "merchant", gotM, m)
	gotU, err := s.UserByEmail(ctx, "  Owner@Duka.EXAMPLE ")
	if err != nil {
		t.Fatalf("UserByEmail: %v", err)
	}
	assertSame(t, "user", gotU, u)
	if byID, err := s.User(ctx, u.ID); err != nil || byID.Email != u.Email {
		t.Errorf("User(id) = %+v, %v", byID, err)
	}
	acc := &User{ID: NewID(), MerchantID: m.ID, Email: "books@duka.example", PasswordHash: "h", Role: RoleAccountant, CreatedAt: storeNow.Add(time.Second), UpdatedAt: storeNow}
	if err := s.CreateUser(ctx, acc); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if us, err := s.Users(ctx, m.ID); err != nil || len(us) != 2 || us[0].ID != u.ID || us[1].ID != acc.ID {
		t.Errorf("Users = %+v, %v; want owner then accountant", us, err)
	}
	dup := &User{ID: NewID(), MerchantID: m.ID, Email: u.Email, PasswordHash: "h", Role: RoleOwner, CreatedAt: storeNow, UpdatedAt: storeNow}
	if err := s.CreateUser(ctx, dup); ErrorCode(err) != ECONFLICT || ErrorFields(err)["email"] == "" {
		t.Errorf("second user with the same email: %v, want ECONFLICT on email", err)
	}
	m2 := &Merchant{ID: NewID(), Name: "Other", TimeZone: "UTC", DefaultCurrency: "EUR", CreatedAt: storeNow, UpdatedAt: storeNow}
	if err := s.CreateMerchant(ctx, m2, &User{ID: NewID(), MerchantID: m2.ID, Email: u.Email, PasswordHash: "h", Role: RoleOwner, CreatedAt: storeNow, UpdatedAt: storeNow}); ErrorCode(err) != ECONFLICT {
		t.Errorf("signup with a taken email: %v, want ECONFLICT", err)
	}
	if _, err := s.Merchant(ctx, m2.ID); ErrorCode(err) != ENOTFOUND {
		t.Errorf("merchant of a failed signup was kept: %v", err)
	}
	m.Name, m.TimeZone, m.DefaultCurrency = "Duka Uganda Ltd", "Africa/Nairobi", "EUR"
	if err := s.UpdateMerchant(ctx, m); err != nil {
		t.Fatalf("UpdateMerchant: %v", err)
	}
	if got, _ := s.Merchant(ctx, m.ID); got.Name != "Duka Uganda Ltd" || got.TimeZone != "Africa/Nairobi" || got.DefaultCurrency != "EUR" {
		t.Errorf("after UpdateMerchant: %+v", got)
	}

	// Provider account.
	pa := &ProviderAccount{ID: NewID(), MerchantID: m.ID, Provider: MoMo, Environment: "sandbox", BaseURL: "https://sandbox.momodeveloper.mtn.com",
		ConfigEnc: "c2VhbGVk", WebhookKey: NewToken(128)}
	if err := s.SaveAccount(ctx, pa); err != nil {
		t.Fatalf("SaveAccount: %v", err)
	}
	got, err := s.AccountFor(ctx, m.ID, MoMo)
	if err != nil {
		t.Fatalf("AccountFor: %v", err)
	}
	assertSame(t, "provider account", got, pa)
	pa.Environment, pa.BaseURL, pa.ConfigEnc, pa.LastCheck = "live", "https://proxy.momoapi.mtn.com", "bmV3", "OK"
	if err := s.SaveAccount(ctx, pa); err != nil {
		t.Fatalf("SaveAccount update: %v", err)
	}
	for name, load := range map[string]func() (*ProviderAccount, error){
		"AccountFor":          func() (*ProviderAccount, error) { return s.AccountFor(ctx, m.ID, MoMo) },
		"AccountByID":         func() (*ProviderAccount, error) { return s.AccountByID(ctx, pa.ID) },
		"AccountByWebhookKey": func() (*ProviderAccount, error) { return s.AccountByWebhookKey(ctx, MoMo, pa.WebhookKey) },
	} {
		got, err := load()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		assertSame(t, name, got, pa)
	}
	if _, err := s.AccountByWebhookKey(ctx, Monnify, pa.WebhookKey); ErrorCode(err) != ENOTFOUND {
		t.Errorf("webhook key of another provider: %v, want ENOTFOUND", err)
	}
	if as, err := s.Accounts(ctx, m.ID); err != nil || len(as) != 1 {
		t.Errorf("Accounts = %d, %v", len(as), err)
	}

	// Invoice with lines, automatic number, events.
	paidAt := storeNow.Add(time.Hour)
	inv := testInvoice(m, pa, 0)
	inv.Number = ""
	inv.Status, inv.StatusReason, inv.ProviderStatus = StatusPaid, "", "SUCCESSFUL"
	inv.CustomerEmail, inv.Description, inv.Language = "amina@example.com", "March supplies", "fr"
	inv.Lines = []InvoiceLine{
		{Position: 1, Code: "TEA", Description: "Tea", QuantityMilli: 2000, UnitPriceMinor: 1230, VATRateBP: 1800, NetMinor: 2460, VATMinor: 443},
		{Position: 2, Description: "Delivery", QuantityMilli: 1500, UnitPriceMinor: 1000, VATRateBP: 750, NetMinor: 1500, VATMinor: 113},
	}
	inv.ComputeTotals()
	inv.ProviderRef, inv.PaymentRef = "X-REF-1", "PAY-1"
	inv.ProviderFields = JSONMap{"payer_message": "Thanks"}
	inv.References = JSONMap{"financialTransactionId": "123"}
	inv.Instructions = JSONInstructions{&Instructions{Kind: "ussd", USSD: "*165#", Note: "Dial and approve", Push: true}}
	inv.PaidMinor, inv.PaidAt, inv.PaymentMethod, inv.TransactionRef, inv.FeeMinor, inv.PayerName = 4516, &paidAt, "MTN MoMo", "TX-1", 45, "Amina"
	inv.PaidAfterFinal, inv.SubmitAttempts, inv.LastError, inv.PollCount = true, 2, "timeout", 3
	inv.NextPollAt, inv.LeaseUntil = nil, &paidAt
	insertTestInvoice(t, s, inv)
	if inv.Number != "INV-000001" {
		t.Errorf("automatic number %q, want INV-000001", inv.Number)
	}
	gotInv, err := s.Invoice(ctx, m.ID, inv.ID)
	if err != nil {
		t.Fatalf("Invoice: %v", err)
	}
	assertSame(t, "invoice", gotInv, inv)
	for name, load := range map[string]func() (*Invoice, error){
		"InvoiceByToken":          func() (*Invoice, error) { return s.InvoiceByToken(ctx, inv.PublicToken) },
		"InvoiceByRef provider":   func() (*Invoice, error) { return s.InvoiceByRef(ctx, pa.ID, "X-REF-1") },
		"InvoiceByRef payment":    func() (*Invoice, error) { return s.InvoiceByRef(ctx, pa.ID, "PAY-1") },
		"InvoiceByRef submit key": func() (*Invoice, error) { return s.InvoiceByRef(ctx, pa.ID, inv.SubmitKey) },
	} {
		if got, err := load(); err != nil || got.ID != inv.ID {
			t.Errorf("%s = %v, %v; want invoice %s", name, got, err, inv.ID)
		}
	}
	if _, err := s.InvoiceByToken(ctx, ""); ErrorCode(err) != ENOTFOUND {
		t.Errorf("InvoiceByToken(\"\") = %v, want ENOTFOUND", err)
	}
	if _, err := s.InvoiceByRef(ctx, pa.ID, ""); ErrorCode(err) != ENOTFOUND {
		t.Errorf("InvoiceByRef(\"\") = %v, want ENOTFOUND", err)
	}
	if got, err := s.InvoicesByIDs(ctx, m.ID, []string{inv.ID, "nope"}); err != nil || len(got) != 1 || got[0].ID != inv.ID {
		t.Errorf("InvoicesByIDs = %v, %v", got, err)
	}
	second := insertTestInvoice(t, s, func() *Invoice { i := testInvoice(m, pa, 100); i.Number = ""; return i }())
	if second.Number != "INV-000002" {
		t.Errorf("second automatic number %q, want INV-000002", second.Number)
	}
	clash := testInvoice(m, pa, 100)
	clash.Number = "INV-000002"
	if err := s.insertInvoice(ctx, clash, nil); ErrorCode(err) != ECONFLICT || ErrorFields(err)["number"] == "" {
		t.Errorf("duplicate invoice number: %v, want ECONFLICT on number", err)
	}

	ev := &InvoiceEvent{ID: NewID(), InvoiceID: inv.ID, MerchantID: m.ID, Kind: EventStatus, FromStatus: StatusPending, ToStatus: StatusPaid,
		Message: "Pending → Paid", Payload: `{"status":"SUCCESSFUL"}`, CreatedAt: storeNow.Add(2 * time.Second)}
	if err := s.addEvent(ctx, ev); err != nil {
		t.Fatalf("addEvent: %v", err)
	}
	evs, err := s.Events(ctx, m.ID, inv.ID)
	if err != nil || len(evs) != 2 {
		t.Fatalf("Events = %d, %v; want 2", len(evs), err)
	}
	if evs[0].Kind != EventCreated {
		t.Errorf("first event %q, want created (oldest first)", evs[0].Kind)
	}
	assertSame(t, "event", &evs[1], ev)

	// updateInvoice saves every change and appends events.
	upd, err := s.updateInvoice(ctx, second.ID, func(tx *Store, cur *Invoice) ([]InvoiceEvent, error) {
		cur.TransactionRef = "TX-SEARCH"
		return []InvoiceEvent{{Kind: EventNote, Message: "note", CreatedAt: storeNow.Add(time.Minute)}}, nil
	})
	if err != nil || upd.TransactionRef != "TX-SEARCH" {
		t.Fatalf("updateInvoice = %+v, %v", upd, err)
	}
	if page, _ := s.ListInvoices(ctx, m.ID, InvoiceFilter{Query: "tx-search"}); len(page.Invoices) != 1 || page.Invoices[0].ID != second.ID {
		t.Errorf("search by a transaction reference learned later found %d invoices", len(page.Invoices))
	}
	if evs, _ := s.Events(ctx, m.ID, second.ID); len(evs) != 2 || evs[1].InvoiceID != second.ID || evs[1].MerchantID != m.ID {
		t.Errorf("events after updateInvoice: %+v", evs)
	}

	// Callback delivery.
	d := &CallbackDelivery{ID: NewID(), Provider: MoMo, AccountID: pa.ID, MerchantID: m.ID, Method: "PUT",
		Headers: `{"Content-Type":["application/json"]}`, Body: `{"status":"SUCCESSFUL"}`, ReceivedAt: storeNow}
	if err := s.SaveDelivery(ctx, d); err != nil {
		t.Fatalf("SaveDelivery: %v", err)
	}
	ds, err := s.claimDeliveries(ctx, storeNow, time.Minute, 10)
	if err != nil || len(ds) != 1 {
		t.Fatalf("claimDeliveries = %d, %v", len(ds), err)
	}
	want := *d
	want.Attempts = 1
	assertSame(t, "callback delivery", &ds[0], &want)
	if again, _ := s.claimDeliveries(ctx, storeNow.Add(30*time.Second), time.Minute, 10); len(again) != 0 {
		t.Errorf("a leased delivery was claimed again within its lease")
	}
	if err := s.finishDelivery(ctx, d.ID, storeNow, fmt.Errorf("invoice busy"), storeNow.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if ds, _ := s.claimDeliveries(ctx, storeNow.Add(5*time.Second), time.Minute, 10); len(ds) != 0 {
		t.Errorf("a failed delivery was retried before its retry time")
	}
	ds, _ = s.claimDeliveries(ctx, storeNow.Add(11*time.Second), time.Minute, 10)
	if len(ds) != 1 || ds[0].Attempts != 2 || ds[0].LastError != "invoice busy" {
		t.Fatalf("retry claim = %+v", ds)
	}
	if err := s.finishDelivery(ctx, d.ID, storeNow.Add(12*time.Second), nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if ds, _ := s.claimDeliveries(ctx, storeNow.Add(time.Hour), time.Minute, 10); len(ds) != 0 {
		t.Errorf("a processed delivery was claimed again")
	}
	var stored CallbackDelivery
	if err := s.DB().Where("id = ?", d.ID).First(&stored).Error; err != nil || stored.ProcessedAt == nil || stored.LastError != "" {
		t.Errorf("processed delivery = %+v, %v", stored, err)
	}
}

// listFixture is one merchant with 130 invoices whose totals and expiries
// repeat, so that the id tie-break matters, plus another merchant.
type listFixture struct {
	s        *Store
	m, other *Merchant
	momo     *ProviderAccount
	monnify  *ProviderAccount
	invs     []*Invoice // merchant m's
	otherInv *Invoice
}

var listBase = time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)

func newListFixture(t *testing.T) *listFixture {
	t.Helper()
	s := newTestStore(t)
	f := &listFixture{s: s}
	f.m = seedMerchant(t, s, "Duka")
	f.other = seedMerchant(t, s, "Rival")
	f.momo = seedAccount(t, s, f.m.ID, MoMo)
	f.monnify = seedAccount(t, s, f.m.ID, Monnify)
	statuses := []Status{StatusPending, StatusPaid, StatusPending, StatusExpired, StatusCancelled, StatusPaid, StatusFailed}
	currencies := []string{"EUR", "UGX", "NGN"}
	for i := range 130 {
		acct := f.momo
		if i%3 == 0 {
			acct = f.monnify
		}
		inv := testInvoice(f.m, acct, int64(i%17)*250+100) // 17 distinct totals
		inv.Number = fmt.Sprintf("A-%04d", i)
		inv.Status = statuses[i%len(statuses)]
		inv.Currency = currencies[(i/2)%len(currencies)]
		inv.CustomerName = fmt.Sprintf("Customer %03d", i)
		if i%10 == 0 {
			inv.CustomerName = fmt.Sprintf("Amina Nakato %d", i)
		}
		inv.CustomerPhone = fmt.Sprintf("+256772%06d", i)
		inv.ProviderRef = fmt.Sprintf("ref-%04d-x", i)
		// 11 distinct expiries, some with sub-second parts.
		inv.ExpiresAt = listBase.Add(time.Duration(i%11)*time.Hour + time.Duration(i%11%3)*250*time.Millisecond)
		inv.CreatedAt = listBase.Add(time.Duration(i) * time.Hour)
		f.invs = append(f.invs, insertTestInvoice(t, s, inv))
	}
	oa := seedAccount(t, s, f.other.ID, MoMo)
	o := testInvoice(f.other, oa, 350)
	o.Number, o.CustomerName, o.ProviderRef = "A-0001", "Amina Nakato", "ref-other"
	f.otherInv = insertTestInvoice(t, s, o)
	return f
}

func (f *listFixture) listAll(t *testing.T, filter InvoiceFilter) ([]string, int) {
	t.Helper()
	var ids []string
	pages := 0
	for {
		page, err := f.s.ListInvoices(context.Background(), f.m.ID, filter)
		if err != nil {
			t.Fatalf("ListInvoices(%+v): %v", filter, err)
		}
		pages++
		if filter.Limit > 0 && len(page.Invoices) > filter.Limit {
			t.Fatalf("page of %d invoices, limit %d", len(page.Invoices), filter.Limit)
		}
		for _, inv := range page.Invoices {
			ids = append(ids, inv.ID)
		}
		if page.Next == "" {
			return ids, pages
		}
		if pages > 1000 {
			t.Fatal("pagination does not end")
		}
		filter.Cursor = page.Next
	}
}

func TestListInvoicesKeysetPagination(t *testing.T) {
	f := newListFixture(t)
	less := map[string]func(a, b *Invoice) bool{
		"newest": func(a, b *Invoice) bool { return a.ID > b.ID },
		"oldest": func(a, b *Invoice) bool { return a.ID < b.ID },
		"expiry": func(a, b *Invoice) bool {
			if !a.ExpiresAt.Equal(b.ExpiresAt) {
				return a.ExpiresAt.Before(b.ExpiresAt)
			}
			return a.ID < b.ID
		},
		"expiry_desc": func(a, b *Invoice) bool {
			if !a.ExpiresAt.Equal(b.ExpiresAt) {
				return a.ExpiresAt.After(b.ExpiresAt)
			}
			return a.ID > b.ID
		},
		"amount": func(a, b *Invoice) bool {
			if a.TotalMinor != b.TotalMinor {
				return a.TotalMinor < b.TotalMinor
			}
			return a.ID < b.ID
		},
		"amount_desc": func(a, b *Invoice) bool {
			if a.TotalMinor != b.TotalMinor {
				return a.TotalMinor > b.TotalMinor
			}
			return a.ID > b.ID
		},
	}
	if len(less) != len(sorts) || len(SortOptions) != len(sorts) {
		t.Fatalf("test covers %d sort orders, store has %d, view offers %d", len(less), len(sorts), len(SortOptions))
	}
	for name, lessFn := range less {
		for _, limit := range []int{7, 50, 200} {
			t.Run(fmt.Sprintf("%s/limit=%d", name, limit), func(t *testing.T) {
				want := append([]*Invoice(nil), f.invs...)
				sort.SliceStable(want, func(i, j int) bool { return lessFn(want[i], want[j]) })
				wantIDs := make([]string, len(want))
				for i, inv := range want {
					wantIDs[i] = inv.ID
				}
				got, pages := f.listAll(t, InvoiceFilter{Sort: name, Limit: limit})
				if wantPages := (130 + limit - 1) / limit; pages != wantPages {
					t.Errorf("%d pages, want %d", pages, wantPages)
				}
				seen := map[string]bool{}
				for _, id := range got {
					if seen[id] {
						t.Errorf("invoice %s listed twice", id)
					}
					seen[id] = true
				}
				if !reflect.DeepEqual(got, wantIDs) {
					t.Errorf("order differs: got %d invoices, want %d; first difference at %d", len(got), len(wantIDs), firstDiff(got, wantIDs))
				}
			})
		}
	}

	// Filtered lists paginate too.
	got, _ := f.listAll(t, InvoiceFilter{Status: StatusPaid, Sort: "amount_desc", Limit: 5})
	var want []string
	for _, inv := range f.invs {
		if inv.Status == StatusPaid {
			want = append(want, inv.ID)
		}
	}
	if len(got) != len(want) {
		t.Errorf("paid invoices over pages: %d, want %d", len(got), len(want))
	}

	// Defaults and a tampered link.
	ctx := context.Background()
	newest := f.invs[0].ID
	for _, inv := range f.invs {
		newest = max(newest, inv.ID)
	}
	page, err := f.s.ListInvoices(ctx, f.m.ID, InvoiceFilter{Sort: "bogus"})
	if err != nil || len(page.Invoices) != 50 || page.Invoices[0].ID != newest || page.Next == "" {
		t.Errorf("default page: %d invoices, first %v, err %v; want the 50 newest", len(page.Invoices), page.Invoices[0].ID, err)
	}
	if page, _ := f.s.ListInvoices(ctx, f.m.ID, InvoiceFilter{Limit: 1000}); len(page.Invoices) != 50 {
		t.Errorf("limit 1000 gave %d invoices, want the default 50", len(page.Invoices))
	}
	for _, cursor := range []string{"%%%", "bm9waXBl", encodeCursor("abc", "x")} {
		if _, err := f.s.ListInvoices(ctx, f.m.ID, InvoiceFilter{Sort: "amount", Cursor: cursor}); ErrorCode(err) != EINVALID {
			t.Errorf("cursor %q: %v, want EINVALID", cursor, err)
		}
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestListInvoicesFilters(t *testing.T) {
	f := newListFixture(t)
	ctx := context.Background()
	count := func(pred func(i int, inv *Invoice) bool) int {
		n := 0
		for i, inv := range f.invs {
			if pred(i, inv) {
				n++
			}
		}
		return n
	}
	tests := []struct {
		name   string
		filter InvoiceFilter
		want   int
	}{
		{"all", InvoiceFilter{}, 130},
		{"by number", InvoiceFilter{Query: "a-0042"}, 1},
		{"by customer, any case", InvoiceFilter{Query: "  AMINA nakato "}, count(func(i int, _ *Invoice) bool { return i%10 == 0 })},
		{"by phone", InvoiceFilter{Query: "+256772000077"}, 1},
		{"by provider reference", InvoiceFilter{Query: "ref-0101-x"}, 1},
		{"% is not a wildcard", InvoiceFilter{Query: "%"}, 0},
		{"_ is not a wildcard", InvoiceFilter{Query: "a_0042"}, 0},
		{"backslash", InvoiceFilter{Query: `\`}, 0},
		{"status", InvoiceFilter{Status: StatusPaid}, count(func(_ int, inv *Invoice) bool { return inv.Status == StatusPaid })},
		{"provider", InvoiceFilter{Provider: Monnify}, count(func(_ int, inv *Invoice) bool { return inv.Provider == Monnify })},
		{"currency", InvoiceFilter{Currency: "UGX"}, count(func(_ int, inv *Invoice) bool { return inv.Currency == "UGX" })},
		{"created from (inclusive)", InvoiceFilter{From: listBase.Add(100 * time.Hour)}, 30},
		{"created before (exclusive)", InvoiceFilter{To: listBase.Add(10 * time.Hour)}, 10},
		{"date range in another zone", InvoiceFilter{From: listBase.Add(10 * time.Hour).In(mustLoc(t, "Africa/Kampala")), To: listBase.Add(20 * time.Hour)}, 10},
		{"combined", InvoiceFilter{Provider: MoMo, Currency: "EUR", Status: StatusPending, From: listBase, To: listBase.Add(65 * time.Hour)},
			count(func(i int, inv *Invoice) bool {
				return inv.Provider == MoMo && inv.Currency == "EUR" && inv.Status == StatusPending && i < 65
			})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.filter.Limit = 200
			page, err := f.s.ListInvoices(ctx, f.m.ID, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Invoices) != tt.want {
				t.Errorf("%d invoices, want %d", len(page.Invoices), tt.want)
			}
			for _, inv := range page.Invoices {
				if inv.MerchantID != f.m.ID {
					t.Errorf("another merchant's invoice %s listed", inv.ID)
				}
				if len(inv.Lines) != 0 {
					t.Errorf("list loaded lines")
				}
			}
			// The counts per status agree with the list for the same filter.
			counts, err := f.s.CountByStatus(ctx, f.m.ID, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			var total int64
			for _, n := range counts {
				total += n
			}
			if tt.filter.Status != "" {
				if counts[tt.filter.Status] != int64(tt.want) {
					t.Errorf("CountByStatus[%s] = %d, want %d", tt.filter.Status, counts[tt.filter.Status], tt.want)
				}
			} else if total != int64(tt.want) {
				t.Errorf("CountByStatus total %d, want %d", total, tt.want)
			}
		})
	}

	counts, err := f.s.CountByStatus(ctx, f.m.ID, InvoiceFilter{Status: StatusPaid})
	if err != nil {
		t.Fatal(err)
	}
	want := map[Status]int64{}
	for _, inv := range f.invs {
		want[inv.Status]++
	}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("CountByStatus = %v, want %v (the status filter ignored)", counts, want)
	}
}

func TestTenantScoping(t *testing.T) {
	f := newListFixture(t)
	ctx := context.Background()
	mine, theirs := f.invs[0], f.otherInv

	if _, err := f.s.Invoice(ctx, f.m.ID, theirs.ID); ErrorCode(err) != ENOTFOUND {
		t.Errorf("Invoice(another merchant's id) = %v, want ENOTFOUND", err)
	}
	if _, err := f.s.Invoice(ctx, f.other.ID, mine.ID); ErrorCode(err) != ENOTFOUND {
		t.Errorf("the other merchant read my invoice: %v", err)
	}
	if got, _ := f.s.Invoice(ctx, f.other.ID, theirs.ID); got == nil || got.ID != theirs.ID {
		t.Errorf("merchant cannot read its own invoice")
	}
	if got, _ := f.s.InvoicesByIDs(ctx, f.m.ID, []string{theirs.ID}); len(got) != 0 {
		t.Errorf("InvoicesByIDs returned another merchant's invoice")
	}
	if evs, _ := f.s.Events(ctx, f.m.ID, theirs.ID); len(evs) != 0 {
		t.Errorf("Events returned another merchant's timeline")
	}
	theirEvs, _ := f.s.Events(ctx, f.other.ID, theirs.ID)
	if len(theirEvs) != 1 {
		t.Fatalf("other merchant's events: %d", len(theirEvs))
	}
	// Same number, same customer, same search: never the other's invoice.
	page, _ := f.s.ListInvoices(ctx, f.m.ID, InvoiceFilter{Query: "ref-other", Limit: 200})
	if len(page.Invoices) != 0 {
		t.Errorf("search found another merchant's invoice")
	}
	page, _ = f.s.ListInvoices(ctx, f.other.ID, InvoiceFilter{Limit: 200})
	if len(page.Invoices) != 1 || page.Invoices[0].ID != theirs.ID {
		t.Errorf("other merchant lists %d invoices, want only its own", len(page.Invoices))
	}
	counts, _ := f.s.CountByStatus(ctx, f.other.ID, InvoiceFilter{})
	if !reflect.DeepEqual(counts, map[Status]int64{StatusPending: 1}) {
		t.Errorf("other merchant's counts %v", counts)
	}
	if _, err := f.s.AccountFor(ctx, f.other.ID, Monnify); ErrorCode(err) != ENOTFOUND {
		t.Errorf("AccountFor another merchant's provider account: %v", err)
	}
	// A cursor made for one merchant shows nothing of the other's.
	first, _ := f.s.ListInvoices(ctx, f.m.ID, InvoiceFilter{Limit: 1})
	page, _ = f.s.ListInvoices(ctx, f.other.ID, InvoiceFilter{Limit: 200, Cursor: first.Next})
	for _, inv := range page.Invoices {
		if inv.MerchantID != f.other.ID {
			t.Errorf("cursor leaked invoice %s", inv.ID)
		}
	}
}

func TestClaimDue(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	m := seedMerchant(t, s, "Duka")
	a := seedAccount(t, s, m.ID, MoMo)
	now := storeNow.Add(time.Hour)
	due := testInvoice(m, a, 100)
	due.NextPollAt = ptr(now.Add(-time.Minute))
	later := testInvoice(m, a, 100)
	later.NextPollAt = ptr(now.Add(time.Minute))
	never := testInvoice(m, a, 100)
	never.NextPollAt = nil
	for _, inv := range []*Invoice{due, later, never} {
		insertTestInvoice(t, s, inv)
	}

	got, err := s.claimDue(ctx, now, 2*time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != due.ID {
		t.Fatalf("claimDue = %v, want only the due one", got)
	}
	if again, _ := s.claimDue(ctx, now.Add(30*time.Second), 2*time.Minute, 10); len(again) != 0 {
		t.Errorf("second claim within the lease got %d invoices, want none", len(again))
	}
	// After the lease both it and the invoice that became due are claimed.
	after, _ := s.claimDue(ctx, now.Add(3*time.Minute), 2*time.Minute, 10)
	if len(after) != 2 {
		t.Errorf("claim after the lease got %d invoices, want 2", len(after))
	}
}

func TestClaimDueConcurrent(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	m := seedMerchant(t, s, "Duka")
	a := seedAccount(t, s, m.ID, MoMo)
	now := storeNow.Add(time.Hour)
	for range 20 {
		inv := testInvoice(m, a, 100)
		inv.NextPollAt = ptr(now.Add(-time.Minute))
		insertTestInvoice(t, s, inv)
	}
	// Several app instances claim at once: every invoice goes to one.
	var mu sync.Mutex
	claimed := map[string]int{}
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			got, err := s.claimDue(ctx, now, 2*time.Minute, 50)
			if err != nil {
				t.Errorf("claimDue: %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, id := range got {
				claimed[id]++
			}
		})
	}
	wg.Wait()
	if len(claimed) != 20 {
		t.Errorf("%d invoices claimed, want 20", len(claimed))
	}
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("invoice %s claimed %d times", id, n)
		}
	}
}

func TestMarkEventDedupe(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	tests := []struct {
		p     ProviderName
		id    string
		fresh bool
	}{
		{Monnify, "evt-1", true},
		{Monnify, "evt-1", false}, // duplicate delivery
		{Monnify, "evt-2", true},
		{MobilePay, "evt-1", true}, // same id, another provider
		{MobilePay, "evt-1", false},
	}
	for _, tt := range tests {
		seenBefore, err := s.eventSeen(ctx, tt.p, tt.id)
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := s.markEvent(ctx, tt.p, tt.id, "inv", storeNow)
		if err != nil {
			t.Fatal(err)
		}
		if fresh != tt.fresh || seenBefore == tt.fresh {
			t.Errorf("%s/%s: markEvent fresh=%v (seen before %v), want fresh %v", tt.p, tt.id, fresh, seenBefore, tt.fresh)
		}
		if seen, _ := s.eventSeen(ctx, tt.p, tt.id); !seen {
			t.Errorf("%s/%s not seen after markEvent", tt.p, tt.id)
		}
	}
}

func TestLoginFailuresWindow(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	for i := range 3 {
		if err := s.RecordLoginFailure(ctx, "a@example.com", "10.0.0.1", storeNow.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordLoginFailure(ctx, "b@example.com", "10.0.0.1", storeNow.Add(90*time.Second)); err != nil {
		t.Fatal(err)
	}
	byEmail, byIP, err := s.LoginFailures(ctx, "a@example.com", "10.0.0.1", storeNow.Add(30*time.Second))
	if err != nil || byEmail != 2 || byIP != 3 {
		t.Errorf("LoginFailures = %d, %d, %v; want 2 by email, 3 by IP since the window start", byEmail, byIP, err)
	}
	if err := s.ClearLoginFailures(ctx, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	if byEmail, byIP, _ := s.LoginFailures(ctx, "a@example.com", "10.0.0.1", storeNow.Add(-time.Hour)); byEmail != 0 || byIP != 1 {
		t.Errorf("after clear: %d by email, %d by IP; want 0 and 1", byEmail, byIP)
	}
}

func ptr[T any](v T) *T { return &v }

// TestStoreTimesInAnyZone passes the store instants in other zones than UTC:
// it keeps them as the same instants (PostgreSQL's TIMESTAMP would keep the
// wall clock and drop the zone).
func TestStoreTimesInAnyZone(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	east, west := time.FixedZone("UTC+3", 3*3600), time.FixedZone("UTC-5", -5*3600)

	if err := s.RecordLoginFailure(ctx, "a@example.com", "10.0.0.1", storeNow.In(east)); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordLoginFailure(ctx, "a@example.com", "10.0.0.1", storeNow.Add(2*time.Minute).In(west)); err != nil {
		t.Fatal(err)
	}
	if byEmail, byIP, err := s.LoginFailures(ctx, "a@example.com", "10.0.0.1", storeNow.Add(time.Minute).In(east)); err != nil || byEmail != 1 || byIP != 1 {
		t.Errorf("LoginFailures since 09:01 UTC = %d, %d, %v; want 1 and 1", byEmail, byIP, err)
	}

	m := seedMerchant(t, s, "Zone Duka")
	a := seedAccount(t, s, m.ID, MoMo)
	inv := testInvoice(m, a, 1000)
	next := storeNow.Add(time.Minute).In(west)
	inv.NextPollAt, inv.CreatedAt, inv.UpdatedAt = &next, storeNow.In(east), storeNow.In(east)
	inv.ExpiresAt = inv.ExpiresAt.In(west)
	insertTestInvoice(t, s, inv)
	got, err := s.Invoice(ctx, m.ID, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.CreatedAt.Equal(storeNow) || !got.NextPollAt.Equal(storeNow.Add(time.Minute)) || !got.ExpiresAt.Equal(storeNow.Add(72*time.Hour)) {
		t.Errorf("read back created %v, next poll %v, expires %v; want %v, %v, %v", got.CreatedAt, got.NextPollAt, got.ExpiresAt,
			storeNow, storeNow.Add(time.Minute), storeNow.Add(72*time.Hour))
	}
	for _, tz := range []*time.Location{east, west} {
		page, err := s.ListInvoices(ctx, m.ID, InvoiceFilter{From: storeNow.In(tz), To: storeNow.Add(time.Second).In(tz)})
		if err != nil || len(page.Invoices) != 1 {
			t.Errorf("ListInvoices in [09:00:00, 09:00:01) UTC given in %v: %+v, %v; want the invoice", tz, page, err)
		}
	}
	if due, err := s.claimDue(ctx, storeNow.Add(30*time.Second).In(east), time.Minute, 10); err != nil || len(due) != 0 {
		t.Errorf("claimDue at 09:00:30 UTC = %d, %v; want none (due 09:01 UTC)", len(due), err)
	}
	due, err := s.claimDue(ctx, storeNow.Add(2*time.Minute).In(west), time.Minute, 10)
	if err != nil || len(due) != 1 {
		t.Fatalf("claimDue at 09:02 UTC = %d, %v; want the invoice", len(due), err)
	}
	leased, err := s.invoiceByID(ctx, due[0])
	if err != nil {
		t.Fatal(err)
	}
	if leased.LeaseUntil == nil || !leased.LeaseUntil.Equal(storeNow.Add(3*time.Minute)) {
		t.Errorf("leased until %v, want %v", leased.LeaseUntil, storeNow.Add(3*time.Minute))
	}
	if again, _ := s.claimDue(ctx, storeNow.Add(150*time.Second).In(east), time.Minute, 10); len(again) != 0 {
		t.Errorf("claimDue inside the lease claimed %d invoices again", len(again))
	}

	d := &CallbackDelivery{ID: NewID(), Provider: MoMo, AccountID: a.ID, MerchantID: m.ID, Method: "POST", Headers: "{}", Body: "{}", ReceivedAt: storeNow.In(west)}
	if err := s.SaveDelivery(ctx, d); err != nil {
		t.Fatal(err)
	}
	if ds, err := s.claimDeliveries(ctx, storeNow.In(east), time.Minute, 10); err != nil || len(ds) != 1 {
		t.Fatalf("claimDeliveries = %d, %v; want the delivery", len(ds), err)
	}
	if ds, _ := s.claimDeliveries(ctx, storeNow.Add(30*time.Second).In(west), time.Minute, 10); len(ds) != 0 {
		t.Errorf("claimDeliveries inside the lease claimed %d again", len(ds))
	}
	if err := s.finishDelivery(ctx, d.ID, storeNow.In(east), fmt.Errorf("busy"), storeNow.Add(10*time.Second).In(west)); err != nil {
		t.Fatal(err)
	}
	if ds, _ := s.claimDeliveries(ctx, storeNow.Add(5*time.Second).In(east), time.Minute, 10); len(ds) != 0 {
		t.Errorf("claimDeliveries before the retry time claimed %d", len(ds))
	}
	if ds, _ := s.claimDeliveries(ctx, storeNow.Add(11*time.Second).In(east), time.Minute, 10); len(ds) != 1 {
		t.Errorf("claimDeliveries after the retry time claimed %d, want 1", len(ds))
	}
}
