package mobilepay

import (
	"net/http"
	"os"
	"testing"
	"time"

	"ankara/models"
)

func FuzzParseCallback(f *testing.F) {
	for _, name := range []string{"callback_statuses.json", "callback_batch_links.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`[{"InvoiceId":"x","Status":"Paid","Sequence":-1,"ErrorCode":"abc","Links":[{}]}]`))
	f.Add([]byte(`{"InvoiceId":"x"}`))
	f.Add([]byte(`[null,{},{"Status":"Invalid","InvoiceId":"y","ErrorCode":10106}]`))
	c := New(Options{})
	acct := &models.Account{Environment: "sandbox", BaseURL: "http://sim.test/sandbox/mobilepay", Config: map[string]string{KeyCallbackSecret: "k"}}
	hdr := http.Header{"Authorization": {"k"}}
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := c.ParseCallback(ctx, acct, hdr, body, time.Now())
		if err != nil {
			return
		}
		for _, e := range evs {
			if e.EventID == "" || e.Ref == "" || e.Observation == nil || !e.Trusted {
				t.Fatalf("bad event %+v", e)
			}
		}
	})
}
