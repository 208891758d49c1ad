// Package mobilepay is Ankara's provider for the MobilePay Invoice API
// (Denmark: DKK, Finland: EUR) and a simulator of it (in memory, or kept
// in a state file; see Simulator persistence).
//
// MobilePay retired the Invoice API in 2024 (providers file, status
// warning). The client implements the last published contract (OAS of
// 2024-01-09, docs 2022-11 to 2024-04; providers file Part B) and normally
// runs against the simulator.
//
// # What Ankara can do with MobilePay
//
//   - Connect (models.Connector): the OpenID Connect hybrid flow with PKCE
//     (B.2). AuthorizeURL asks for response_type "code id_token",
//     response_mode form_post, scope "openid offline_access invoice", S256
//     code challenge, state, nonce and merchant_vat. CompleteConnect exchanges
//     the code (client_secret_post), verifies the id_token (RS256 against the
//     issuer's JWKS, or HS256 with the client secret; iss, aud, nonce, exp),
//     reads the merchant (GET merchants/me), picks the first enabled invoice
//     issuer and registers Ankara's callback. Only the token endpoint's
//     id_token is checked: ConnectParams carries no front-channel id_token, so
//     c_hash is not verified. The form_post lands as a cross-site POST on
//     Ankara's redirect URL, so a SameSite=Lax session cookie is not sent
//     with it; the handler must rely on state, not on the session cookie.
//   - Access tokens live 300 s and are renewed 60 s before expiry from the
//     refresh token (13 months, sliding). When the token endpoint rotates the
//     refresh token, the new one is saved with acct.Save and remembered in
//     the client, so a stale account value still works in this process. Two
//     processes refreshing the same rotated token at the same moment lose
//     the race on one side (invalid_grant, "connect again").
//   - Create (B.4, B.5): InvoiceLink (field mode=link, default) or
//     InvoiceDirect (mode=direct, needs a +45/+358 phone). Amounts are JSON
//     numbers written from decimal strings. IssueDate is the invoice's
//     creation date and DueDate its expiry date in the merchant's country.
//     MobilePay has no idempotency key and no search by invoice number: the
//     body is deterministic, so a retry after a lost answer is refused by
//     MobilePay's duplicate check (10104/10301) rather than creating a second
//     invoice. The InvoiceId of that first invoice cannot be looked up; this
//     process remembers ids it received per SubmitKey, otherwise the merchant
//     gets a permanent error telling them to check the MobilePay portal
//     (residual risk). Creates are never retried automatically.
//   - CreateBatch (extra method): up to 2000 invoices per call to
//     …/invoices/batch or …/invoices/link/batch (202). Accepted invoices can
//     still become Invalid by callback; batch links arrive in the Created
//     callbacks (Observation.Instructions).
//   - Fetch (GET details), Cancel (PUT …/cancel → 204; on 409 the real status
//     is fetched and returned, e.g. paid), Issuers, RegisterCallback,
//     TestConnection.
//   - Callbacks (B.7): batched JSON arrays authenticated by the credential
//     Ankara registered with PUT auth/apikey (raw key in Authorization) or
//     auth/basic. ParseCallback rejects any other credential (EUNAUTHORIZED),
//     returns one Trusted event per element with EventID
//     "InvoiceId:status:Sequence" and Ref = InvoiceId. Callbacks carry no
//     amount, so PaidMinor is set by Fetch only.
//   - Status mapping (MapStatus): created→pending, invalid→failed,
//     accepted→accepted, paid→paid, rejected→rejected, expired→expired,
//     canceled/cancelled→cancelled, case-insensitive (Part C #11).
//
// Not done: the real sandbox's consent requires a MobilePay portal login
// that the simulator skips; consents (B.10) are served by the simulator but
// not used by the client; the User Simulation PDF is a one-line PDF.
//
// # Configuration keys
//
// client_id, client_secret (secret), country (DK|FI), merchant_vat,
// merchant_id and invoice_issuer (set by Connect), refresh_token (secret,
// set by Connect), callback_auth (apikey|basic), callback_username,
// callback_secret (secret, generated), min_amount / max_amount (account
// currency; defaults 0.01 and 300000 DKK / 2000 EUR, B.8), discovery_url
// (default: derived from the base URL — the real sandbox uses
// https://sandprod-admin.mobilepay.dk/account/.well-known/openid-configuration,
// live https://admin.mobilepay.dk/…, .fi for Finland; the simulator
// {mount}/account/.well-known/openid-configuration), ibm_headers (yes|no:
// send x-ibm-client-id/secret, B.2 conflict). Invoice form fields: mode
// (link|direct), phone, address_lines (one per line).
//
// # Callback retries
//
// MobilePay sends queued events every 5 s and retries a failed delivery 8
// times after 5 s, 19 min, 39 min, 1 h 19 min, 2 h 39 min, 5 h 19 min,
// 10 h 39 min and 21 h 19 min. The simulator batches every 500 ms
// (SimOptions.CallbackInterval) and retries after 100 ms·2^n, n = 0…7
// (SimOptions.RetrySchedule). Expiry is not compressed: an unaccepted
// invoice expires 30 days after its due date (use the test hook below).
//
// # Simulator persistence
//
// With SimOptions.StateFile set, the simulator keeps its sandbox in that
// JSON file (mode 0600) across restarts: OpenID clients and secrets,
// merchants and issuers, registered callback URLs and credentials, refresh
// tokens (the latest one issued per grant; rotated ones stay retired),
// invoices with their payments and transaction ids, consents, sandbox
// users, per-day counters, callback Sequence numbers, events still queued
// for the next batch, and the RS256 signing key (the JWKS kid stays the
// same). Every change is written before the request is answered (marshal
// under the mutex; once the mutex is released, so other calls and the
// payer's pages do not wait for the disk, simkit.StateWriter writes a temp
// file in the same directory, fsyncs and renames it; writes take turns and
// an older snapshot never overwrites a newer one), so a refresh token the
// client saved with acct.Save is on disk too, and callbacks queued by a
// change go out only after it is written. A failed write is logged and
// retried by the next change or background tick; Close writes anything
// still unwritten, and a closed simulator writes nothing more. Not kept: access tokens (the client gets
// 401 and renews from its refresh token), authorization requests and codes
// (a Connect in progress during a restart must start again), and callback
// batches already handed to the dispatcher or waiting for a retry — those
// may be lost; Ankara's status polling catches them. Scheduled payments and
// expiry that fell due while the app was down are applied when the file is
// loaded. A missing file is a fresh sandbox; an unreadable or corrupt file
// is logged at warn and the simulator starts fresh (a corrupt file is kept
// as StateFile.corrupt). An empty StateFile keeps everything in memory.
//
// # Simulator routes (relative to the mount, e.g. /sandbox/mobilepay)
//
// The API is served at /api/v1/… and also at /invoice-restapi/api/v1/…:
// merchants/me, merchants/{id}/invoices (+/batch, /link, /link/batch),
// invoices/{id}, invoices/{id}/status, invoices/{id}/cancel, invoiceissuers,
// auth/basic, auth/apikey, directinvoiceconsents, and the sandbox User
// Simulation endpoints consumers/me/invoices/{id}/accept|reject|pdf and
// consumers/me/invoices/directinvoiceconsent/{consentId} (header
// AuthenticatedUser). OpenID: /account/.well-known/openid-configuration,
// /account/connect/authorize, /merchant-authentication-openidconnect/connect/token
// and …/.well-known/openid-configuration/jwks. Simulator-only:
// POST /_sandbox/onboarding ({"Country":"DK"} → client id/secret, merchant,
// issuer, test users), GET /_sandbox/users, POST /_sandbox/invoices/{id}/expire,
// POST /_sandbox/tick (run scheduled payments, expiry and callbacks now),
// /_sandbox/redirect (a redirect_uri sink), /_faults.
// Phones +45000…/+358000… are "MobilePay user not found" (10101); any other
// well-formed number of the merchant's country is a sandbox user. The
// documented test user +4599592431 has an expired card: paying fails.
//
// # Browser payer journey
//
// Connect (Settings → Connect MobilePay): the authorize URL shows the
// consent page with the app name (data-testid consent-app), merchant
// (consent-merchant) and scopes (consent-scopes). Click consent-allow (or
// consent-deny). The next page, "Returning to Ankara", has a single button
// consent-continue that POSTs code, id_token and state (or error) to the
// redirect_uri; there is no script, so the test must click it.
//
// InvoiceLink: open Instructions.CheckoutURL = {mount}/link/{InvoiceId}. It
// shows link-issuer, link-number, link-amount, link-due and link-status
// (attribute data-status = created|accepted|paid|rejected|expired|canceled).
// The phone input link-phone is prefilled (leave it, or type a +45… / +358…
// number). Click link-pay to pay now, or link-accept to accept with payment
// scheduled on the due date (executed at the end of that day in the
// merchant's time zone). link-reject appears only after accepting. After
// accept or pay the browser is redirected to Ankara's payer page
// {app}/pay/{token}?status=accepted|paid (RedirectUrl, derived from the
// account's callback URL); errors come back on the link page as link-error.
//
// InvoiceDirect: open Instructions.SandboxURL = {mount}/app/{phone} (phone
// with its +, e.g. /app/+4522509895). The newest invoice has buttons
// app-accept, app-pay, app-reject and status app-status; every invoice also
// has app-accept-{InvoiceId}, app-pay-{InvoiceId}, app-reject-{InvoiceId}
// and app-status-{InvoiceId}. Errors show as app-error.
package mobilepay
