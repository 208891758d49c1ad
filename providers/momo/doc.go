// Package momo is Ankara's MTN MoMo provider: the Collection "Invoice API"
// (v2_0) client and a simulator of the MoMo sandbox. The wire
// format follows /work/shared/providers/momo-and-mobilepay.md, Part A
// (sections cited as A.n below).
//
// # What it does in Ankara
//
//   - Create: POST {base}/collection/v2_0/invoice (A.6) with X-Reference-Id =
//     inv.SubmitKey (a UUID v4 kept across retries), X-Callback-Url =
//     acct.CallbackURL and X-Target-Environment. The body carries amount (a
//     string in major units, models.FormatAmount), currency,
//     validityDuration (whole seconds from now until inv.ExpiresAt),
//     intendedPayer (MSISDN from the invoice field "payer_msisdn", else the
//     customer phone without '+'), payee (config payee_msisdn, omitted when
//     empty), externalId = inv.Number and description (inv.Description or
//     "Invoice {number}"). A 409 RESOURCE_ALREADY_EXIST on a retry means an
//     earlier try created it: the client fetches it instead of failing, so
//     a retry can never create a second invoice (A.5). ASCII apostrophes in
//     free text are sent as U+2019 because an apostrophe in the body is a
//     documented cause of 400 (A.9).
//   - After a create the client calls GetInvoiceStatus (A.7) to read
//     paymentReference → Submission.PaymentRef, and builds
//     Instructions{Kind: "ussd", USSD = QR = "{ussd_short_code}*{paymentReference}*1#"}
//     (A.12). For sandbox accounts whose base URL is not MTN's real sandbox,
//     SandboxURL is the simulator's USSD phone: "{base}/ussd?code={USSD}".
//   - Fetch: GetInvoiceStatus. Cancel: DELETE with a fresh X-Reference-Id and
//     body {externalId} (A.8), then a Fetch to confirm; cancelling an invoice
//     that is already final returns its final observation instead of an error.
//   - Status mapping (MapStatus, one table): CREATED/PENDING → pending,
//     SUCCESSFUL → paid (PaidMinor = amount, PaidAt = now), FAILED by
//     errorReason.code: EXPIRED → expired, TRANSACTION_CANCELED → cancelled,
//     APPROVAL_REJECTED/PAYMENT_NOT_APPROVED → rejected, anything else →
//     failed with the reason kept. MTN publishes no per-status semantics for
//     invoices (A.7), so this table is partly inference.
//   - Tokens: POST {base}/collection/token/ with Basic api_user:api_key and
//     the subscription key, no body (A.4); cached per account and
//     credentials, renewed 10 minutes before the hour runs out (MTN's own
//     advice), forgotten and fetched again once on a 401.
//   - Callbacks: MoMo signs nothing (A.10). ParseCallback accepts the
//     InvoiceResult JSON (PUT or POST: the method is not passed in, both
//     bodies are the same) and returns one event with Ref = referenceId (the
//     submit key), EventID = referenceId:STATUS[:ERRORCODE] and Trusted =
//     false: Ankara confirms every MoMo callback with Fetch. The unguessable
//     webhook key in the callback URL is checked by the app, not here.
//   - ProvisionSandbox: like a developer on the real sandbox (A.3) with the
//     subscription key of their profile (random unless the account has one):
//     POST /v1_0/apiuser (providerCallbackHost = host of acct.CallbackURL),
//     POST /v1_0/apiuser/{id}/apikey, and returns the configuration.
//   - TestConnection: a fresh token plus GetInvoiceStatus of a random id;
//     404 RESOURCE_NOT_FOUND proves every credential and the target
//     environment are accepted.
//   - Validate: sandbox target environment ⇒ EUR only (A.11); otherwise the
//     country's currency where known (mtnuganda UGX, mtnghana GHS, mtnrwanda
//     RWF, mtnzambia ZMW, mtncameroon/mtncongo XAF, mtnivorycoast/mtnbenin
//     XOF, mtnnigeria NGN, …); a payer MSISDN (provider.payer_msisdn or
//     customer_phone, digits with country code); description ≤ 160 characters
//     (A.9); an expiry at least one second away (validityDuration > 0).
//
// # What it cannot do
//
//   - No per-line items, VAT or payer name reach MTN: the invoice body has
//     only an amount and a description (A.6). The payer page shows the lines.
//   - No payer-side push: the payer dials the USSD string or scans its QR
//     (A.12); MoMo sends the payer an SMS in production, which Ankara cannot
//     influence.
//   - expiryDateTime has no time zone in MTN's documentation (A.7), so the
//     client keeps it as a reference and never moves the invoice expiry.
//   - MTN documents no signature on callbacks, and two conflicting retry
//     behaviours (A.10), hence Trusted=false and polling as the real source.
//
// # Configuration keys (Info().Config)
//
//	subscription_key    Ocp-Apim-Subscription-Key (secret)
//	api_user            API user id (UUID)
//	api_key             API key (secret)
//	target_environment  X-Target-Environment: sandbox (default) or mtnuganda, mtnghana, …
//	ussd_short_code     MoMo Pay short code, default *165*3
//	payee_msisdn        optional payee MSISDN
//
// acct.BaseURL is the gateway base: https://sandbox.momodeveloper.mtn.com
// (real sandbox), https://proxy.momoapi.mtn.com (live), or
// {app}/sandbox/momo for the embedded simulator. Invoice field:
// payer_msisdn (error key "provider.payer_msisdn").
//
// # Callback retries
//
// Real MTN: the older callback page says a callback is sent once with no
// retry; a newer version says the platform waits 2 s for an answer, then
// retries 20 times at 1-second intervals, then every 2 minutes 30 times,
// then hourly (A.10). The simulator sends a PUT with the InvoiceResult body
// (Content-Type application/json) to X-Callback-Url when an invoice becomes
// SUCCESSFUL or FAILED, with a 2 s timeout, and retries 5 times 1 s apart on
// a non-2xx answer or a network error. Faults (drop, duplicate, delay,
// reorder; API 429/5xx/timeouts) are switched at POST {mount}/_faults.
//
// # Simulator routes (relative to the mount, e.g. /sandbox/momo)
//
//	POST   /v1_0/apiuser                   201 (X-Reference-Id UUIDv4, {"providerCallbackHost"}); 409 RESOURCE_ALREADY_EXIST on a reused id
//	POST   /v1_0/apiuser/{id}/apikey       201 {"apiKey"}
//	GET    /v1_0/apiuser/{id}              200 {"providerCallbackHost","targetEnvironment":"sandbox"}
//	POST   /collection/token/              200 {access_token, token_type, expires_in: 3600}; 401 {"error":"login_failed"}; 400 with a body
//	POST   /collection/v2_0/invoice        202 empty; 400 bad reference id/body; 409 RESOURCE_ALREADY_EXIST; 500 INVALID_CURRENCY (non-EUR), INVALID_CALLBACK_URL_HOST
//	GET    /collection/v2_0/invoice/{ref}  200 InvoiceResult (all A.7 fields; errorReason only when FAILED); 404 RESOURCE_NOT_FOUND
//	DELETE /collection/v2_0/invoice/{ref}  200 {"externalId"} → FAILED/TRANSACTION_CANCELED; 400 NOT_ALLOWED when already final; 404
//	GET|POST /_faults                      simkit faults
//	GET    /                               index with a link to the phone
//	GET    /ussd, POST /ussd, GET|POST /ussd/confirm, GET /ussd/result   the USSD phone (below)
//
// Every call needs Ocp-Apim-Subscription-Key (header, or the
// subscription-key query parameter), else 401 with Azure APIM's body; the
// key must be the one the API user was created with. Product calls also
// need a Bearer token (tokens die after 3600 s of simulator time) and
// X-Target-Environment: "sandbox" (missing → 400, any other value → 500
// NOT_ALLOWED_TARGET_ENVIRONMENT). Invoices expire after validityDuration
// seconds → FAILED/EXPIRED with a callback. paymentReference is an 8-digit
// number; expiryDateTime is written "2006-01-02T15:04:05" in UTC.
//
// Sandbox test MSISDNs as intendedPayer (A.11): 46733123450 payment fails
// (INTERNAL_PROCESSING_ERROR), …451 rejected (APPROVAL_REJECTED), …452
// expired (EXPIRED), …453 stays PENDING, …454 PENDING then SUCCESSFUL 2 s
// after the PIN — all applied when the payer confirms with a PIN; …455
// PAYER_NOT_FOUND, …456 PAYEE_NOT_ALLOWED_TO_RECEIVE, …457 NOT_ALLOWED, …461
// INTERNAL_PROCESSING_ERROR: accepted with 202 and FAILED at once (callback
// sent); …458 500 NOT_ALLOWED_TARGET_ENVIRONMENT, …459 500
// INVALID_CALLBACK_URL_HOST, …460 500 INVALID_CURRENCY, …462 503
// SERVICE_UNAVAILABLE refuse the create. Any other number pays normally.
//
// # Persistence
//
// With SimOptions.StateFile set, the simulator keeps its state in that JSON
// file (sim_state.go) so that a restart of the app forgets nothing a client
// relies on: every API user with its API key, subscription key and
// providerCallbackHost; every invoice with its status, errorReason,
// paymentReference, invoiceId, expiry, X-Callback-Url and a delayed payment
// under way (test MSISDN …454); and every X-Reference-Id already taken, so
// a create retried after a restart still answers 409. The whole state is
// written after each change, before the answer leaves: encoded under the
// simulator's mutex, then written once the mutex is released (so other
// calls and the payer's pages do not wait for the disk) by
// simkit.StateWriter: temp file in the same directory, fsync, rename, mode
// 0600 (it holds API keys); writes take turns and an older snapshot never
// overwrites a newer one. Close flushes, and a closed simulator writes
// nothing more. A missing file is a fresh sandbox; an unreadable or corrupt
// one is logged at warn and the simulator starts fresh (a corrupt file is
// moved aside to {file}.corrupt); a failed save is logged once and the
// simulator keeps serving from memory (the next change, or Close, tries
// again). Not kept: access tokens (a client
// gets a 401 and logs in again with its kept API user and key, as the
// client does on its own), the faults set at /_faults, TokensIssued, and
// callbacks still queued or being retried when the app stopped (they are
// lost; Ankara's polling catches the change). An expiry or a delayed
// payment that fell due while the app was down is applied, with its
// callback, when the invoice is next looked at, or about a second after
// the reload at the latest. Empty StateFile: memory only (tests).
//
// # Browser payer journey (for the end-to-end test)
//
//  1. Open Instructions.SandboxURL, i.e. {mount}/ussd?code={USSD} (the
//     payer page links it). The screen [data-testid=ussd-screen] shows a
//     phone; the input [data-testid=ussd-input] (name "code") is prefilled
//     with the code, e.g. *165*3*48213377*1#. Without ?code= type it: any
//     "*NNN*N*" short code followed by "{paymentReference}*1#" is accepted.
//  2. Click [data-testid=ussd-send] ("Send"). The form POSTs to {mount}/ussd
//     and redirects to {mount}/ussd/confirm?ref={paymentReference}; the
//     invoice becomes PENDING. The screen shows "Pay Sandbox Merchant",
//     the amount in [data-testid=ussd-amount] (e.g. "50.00 EUR"), the
//     invoice number and the reference. A bad code shows "Connection
//     problem or invalid MMI code."; an unknown reference "No pending
//     invoice has this payment reference." (back on the first screen).
//  3. Type any 5 digits except 00000 into [data-testid=ussd-pin] and click
//     [data-testid=ussd-confirm] ("Confirm"). The result page
//     ({mount}/ussd/result?ref=…) says "You have paid 50.00 EUR to Sandbox
//     Merchant …" and [data-testid=ussd-status] reads SUCCESSFUL; the PUT
//     callback goes out at once. PIN 00000 shows "Wrong PIN. The payment was
//     not made." with [data-testid=ussd-retry] back to the PIN screen (the
//     invoice stays PENDING); a PIN that is not 5 digits asks again with
//     "The PIN must be 5 digits.".
//  4. Or click [data-testid=ussd-reject] ("Reject", no PIN needed): the
//     invoice becomes FAILED/APPROVAL_REJECTED (Ankara: rejected), the
//     result says "You rejected the payment of …", and a callback is sent.
//
// [data-testid=ussd-home] on the result page goes back to the first screen.
// A cancelled or expired invoice shows "This invoice was cancelled by the
// merchant." or "This invoice has expired." after step 2.
package momo
