package models

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"ankara/models/testdb"
)

// benchList is the 100k-invoice database shared by the list benchmarks,
// seeded once per process.
var benchList struct {
	once     sync.Once
	s        *Store
	merchant string
	deep     string // cursor of a page 50,000 invoices deep, newest sort
	err      error
	seedTime time.Duration
	dir      string       // removed by TestMain
	cleanup  func() error // closes (on PostgreSQL drops) the database; run by TestMain
}

// TestMain removes the benchmark database, which outlives any one
// benchmark function so that it is seeded once per process.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchList.cleanup != nil {
		if err := benchList.cleanup(); err != nil {
			fmt.Fprintln(os.Stderr, "drop benchmark database:", err)
		}
	}
	if benchList.dir != "" {
		os.RemoveAll(benchList.dir)
	}
	os.Exit(code)
}

const benchInvoices = 100_000

// seedBenchList inserts one merchant's 100,000 invoices and another
// merchant's 1,000 with multi-row INSERTs, 500 rows a statement, in a few
// large transactions.
func seedBenchList(b *testing.B) {
	start := time.Now()
	dir, err := os.MkdirTemp("", "ankara-bench-")
	if err != nil {
		benchList.err = err
		return
	}
	benchList.dir = dir
	db, cleanup, err := testdb.OpenIn(dir, GormConfig())
	if err != nil {
		benchList.err = err
		return
	}
	benchList.cleanup = cleanup
	s := NewStore(db)
	ctx := context.Background()
	if err := s.Migrate(ctx, discardLog); err != nil {
		benchList.err = err
		return
	}
	seed := func(name string, n int) (string, error) {
		m := &Merchant{ID: NewID(), Name: name, TimeZone: "Africa/Kampala", DefaultCurrency: "UGX", CreatedAt: storeNow, UpdatedAt: storeNow}
		if err := s.DB().Create(m).Error; err != nil {
			return "", err
		}
		a := &ProviderAccount{ID: NewID(), MerchantID: m.ID, Provider: MoMo, Environment: "sandbox", BaseURL: "https://x", WebhookKey: NewToken(128)}
		if err := s.SaveAccount(ctx, a); err != nil {
			return "", err
		}
		statuses := []Status{StatusPending, StatusPaid, StatusPaid, StatusExpired, StatusCancelled, StatusPending, StatusFailed}
		const cols = 20
		const batch = 500
		err := s.Tx(ctx, func(tx *Store) error {
			for lo := 0; lo < n; lo += batch {
				hi := min(lo+batch, n)
				sql := []byte("INSERT INTO invoices (id, merchant_id, number, provider, account_id, status, currency, customer_name, customer_phone, net_minor, vat_minor, total_minor, expires_at, public_token, submit_key, provider_ref, search_text, next_poll_at, created_at, updated_at) VALUES ")
				args := make([]any, 0, (hi-lo)*cols)
				for i := lo; i < hi; i++ {
					if i > lo {
						sql = append(sql, ',')
					}
					sql = append(sql, "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"...)
					// Ids that sort by creation like NewID's: milliseconds,
					// then bytes unique to the merchant and the row.
					id := fmt.Sprintf("%012x%s%08x", storeNow.UnixMilli()+int64(i), m.ID[12:24], i)
					number := fmt.Sprintf("INV-%06d", i+1)
					name := fmt.Sprintf("Customer %05d", i%5000)
					phone := fmt.Sprintf("+256772%06d", i)
					ref := NewUUID()
					total := int64(1000 + (i*7919)%250_000)
					created := storeNow.Add(time.Duration(i) * time.Minute)
					var next any
					st := statuses[i%len(statuses)]
					if !st.Final() {
						next = created.Add(time.Hour)
					}
					args = append(args, id, m.ID, number, MoMo, a.ID, st, "UGX", name, phone,
						total, 0, total, created.Add(time.Duration(i%30)*24*time.Hour), NewToken(128), NewUUID(), ref,
						// search_text lower-cased, as searchText stores it.
						strings.ToLower(fmt.Sprintf("%s %s %s %s", number, name, phone, ref)), next, created, created)
				}
				if err := tx.DB().Exec(string(sql), args...).Error; err != nil {
					return err
				}
			}
			return nil
		})
		return m.ID, err
	}
	if benchList.merchant, benchList.err = seed("Big Duka", benchInvoices); benchList.err != nil {
		return
	}
	if _, benchList.err = seed("Small Duka", 1000); benchList.err != nil {
		return
	}
	if benchList.err = s.DB().Exec("ANALYZE").Error; benchList.err != nil {
		return
	}
	// Walk to a page half-way down once, to benchmark a deep keyset page.
	f := InvoiceFilter{Sort: "newest", Limit: 200}
	for range benchInvoices / 2 / 200 {
		page, err := s.ListInvoices(ctx, benchList.merchant, f)
		if err != nil {
			benchList.err = err
			return
		}
		f.Cursor = page.Next
	}
	benchList.deep = f.Cursor
	benchList.s = s
	benchList.seedTime = time.Since(start)
}

func BenchmarkListInvoices100k(b *testing.B) {
	if testing.Short() {
		b.Skip("seeds 100,000 invoices")
	}
	benchList.once.Do(func() { seedBenchList(b) })
	if benchList.err != nil {
		b.Fatalf("seed: %v", benchList.err)
	}
	b.Logf("seeded %d + 1,000 invoices in %v", benchInvoices, benchList.seedTime.Round(time.Millisecond))
	ctx := context.Background()
	s, mid := benchList.s, benchList.merchant
	cases := []struct {
		name string
		f    InvoiceFilter
	}{
		{"first_page_newest", InvoiceFilter{Sort: "newest", Limit: 50}},
		{"deep_page_newest", InvoiceFilter{Sort: "newest", Limit: 50, Cursor: benchList.deep}},
		{"status_paid_newest", InvoiceFilter{Sort: "newest", Status: StatusPaid, Limit: 50}},
		{"amount_desc_first_page", InvoiceFilter{Sort: "amount_desc", Limit: 50}},
		{"search_customer", InvoiceFilter{Sort: "newest", Query: "customer 04321", Limit: 50}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				page, err := s.ListInvoices(ctx, mid, c.f)
				if err != nil {
					b.Fatal(err)
				}
				if len(page.Invoices) == 0 {
					b.Fatal("empty page")
				}
			}
		})
	}
	b.Run("count_by_status", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.CountByStatus(ctx, mid, InvoiceFilter{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
