package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"ankara/models"
)

// BenchmarkCallbackIngestion measures how many provider callbacks per
// second Ankara verifies, stores durably (SQLite, WAL, synchronous FULL)
// and acknowledges, through the real HTTP stack.
func BenchmarkCallbackIngestion(b *testing.B) {
	a := newTestApp(b)
	br := a.browser()
	br.signup("Bench Ltd", "bench@cb.example")
	pa, err := a.svc.Store.AccountFor(context.Background(), merchantOf(b, a, "bench@cb.example"), models.MoMo)
	if err != nil {
		b.Fatal(err)
	}
	url := a.srv.URL + "/webhooks/momo/" + pa.WebhookKey
	client := &http.Client{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		body := fmt.Sprintf(`{"referenceId":"3f1c2f9e-5b0a-4d5e-9a51-%012d","externalId":"INV-%d","amount":"10","currency":"EUR","status":"SUCCESSFUL","paymentReference":"%d"}`, i, i, i)
		req, _ := http.NewRequest(http.MethodPut, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "callbacks/s")
}
