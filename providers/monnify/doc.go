// Package monnify connects Ankara to Monnify (TeamApt / Moniepoint, Nigeria)
// invoices, and simulates Monnify for the sandbox. The wire format follows
// /work/shared/providers/monnify-and-irembopay.md §1 ("§" below) and its
// simulator checklist in §3.
//
// # What Monnify can do in Ankara
//
//   - Create (POST /api/v1/invoice/create, §1.4.1): the invoiceReference is
//     Ankara's SubmitKey, so a retry never creates a second invoice; a retry
//     that meets "Invoice with this reference already exists." reads the
//     details and returns that invoice (after checking the amount). The
//     amount is sent as a JSON number in naira ("15000.00"), expiryDate as
//     "YYYY-MM-DD HH:mm:ss" in Lagos time (UTC+1, §1.4.1), paymentMethods from
//     the invoice field "payment_methods" (CARD and ACCOUNT_TRANSFER by
//     default), redirectUrl = Ankara's payer page (the public base is taken
//     from the account's CallbackURL before "/webhooks/").
//   - Payment instructions: Kind "bank" with the invoice's virtual account
//     (bankName, accountNumber, accountName of the create answer), plus the
//     checkoutUrl as CheckoutURL and QR. A card-only invoice has no account
//     and gets Kind "link". PaymentRef is the virtual account number.
//   - Fetch: GET /api/v1/invoice/{ref}/details (§1.4.3) for the lifecycle,
//     then GET /api/v2/transactions/{url-encoded transactionReference}
//     (§1.5) for the money whenever a transaction is known (from the details'
//     transactionReference or Invoice.TransactionRef).
//   - Cancel: DELETE /api/v1/invoice/{ref}/cancel (§1.4.5). A refused cancel
//     is checked against the details: already cancelled → cancelled,
//     expired → expired, paid → a permanent error.
//   - List: Client.List (GET /api/v1/invoice/all?page&size, §1.4.4), not part
//     of models.Provider; for tests and a future reconciliation sweep.
//   - Callbacks: SUCCESSFUL_TRANSACTION webhooks (§1.6) verified by
//     monnify-signature = hex HMAC-SHA512(secret key, raw body) (§1.7, the
//     documentation's test vector is a test). Other event types are
//     acknowledged and ignored.
//   - Validate (§1.3, §1.4.1): NGN only; total above 20.00 NGN ("Amount must
//     be greater than 20."); expiry required, in the future and at most six
//     months ahead ("the maximum duration of an invoice is 6 months");
//     customer name (≥ 3 characters) and email required; description required
//     (≥ 3 characters, marked (M) in the field reference and used as the
//     virtual account's name); keys currency, lines, expires_at,
//     customer_name, customer_email, description, provider.payment_methods.
//
// Money: the amounts always come from verify transaction (or the webhook
// only when verify cannot be reached, see below). amountPaid below the
// invoice total is a partial payment: Observation.Status stays pending (or
// the invoice's own expired/cancelled status), PaidMinor records the money
// and ProviderStatus is PARTIALLY_PAID, so it is shown as partial, never as
// paid. The total or more is paid (OVERPAID keeps the larger PaidMinor).
// FeeMinor = amountPaid − settlementAmount. paidOn is read in every format
// seen (§1.6): "2021-11-17 11:28:42.615", "2024-07-01 11:33:48.0",
// "17/11/2021 3:48:10 PM", "26/02/2020 09:38:13 AM", as Lagos time.
//
// Callback choice: ParseCallback verifies the signature, then calls verify
// transaction itself and builds the Observation from its answer (Trusted =
// true). If that call fails, the event still comes back, built from the
// signed payload but with Trusted = false, so that Ankara confirms it with
// Fetch. EventID is transactionReference|eventType|paymentStatus|amountPaid:
// redeliveries share it, while a second partial payment on the same
// transaction (Monnify keeps one transaction per invoice and accumulates
// amountPaid) is a new event. Ref is eventData.product.reference, which is
// the invoiceReference (= SubmitKey = ProviderRef) for invoices.
//
// What it cannot do: Monnify has no per-request callback URL; the merchant
// pastes Ankara's webhook URL into the Monnify dashboard (Developer →
// Webhook URLs). Reserved-account (static) invoices (§1.4.6) need a BVN/NIN
// and are not used. Refunds and the manual resend of failed notifications
// are not implemented. Monnify sends no timestamp in the signature, so
// stale deliveries cannot be told apart from late ones; duplicates are
// handled by EventID.
//
// Configuration keys: "api_key", "secret_key" (secret; also verifies
// webhooks), "contract_code". Access tokens (POST /api/v1/auth/login with
// Basic base64(apiKey:secretKey), §1.2) are cached per account and
// credentials until expiresIn minus two minutes; a 401 drops the token and
// the call is tried once more.
//
// # Webhook retries
//
// Monnify tries a notification 12 times, 5 minutes apart, until it gets
// HTTP 200 (§1.8). The simulator also tries 12 times, SimOptions.RetryEvery
// apart (2 s by default).
//
// # Simulator
//
// NewSimulator serves, relative to its mount (e.g. /sandbox/monnify):
//
//	POST   /api/v1/auth/login                  Basic apiKey:secretKey → opaque token, expiresIn 3600
//	POST   /api/v1/invoice/create              Bearer (or legacy Basic); documented errors, HTTP 400 + responseCode "99"
//	GET    /api/v1/invoice/{ref}/details
//	DELETE /api/v1/invoice/{ref}/cancel        already cancelled → 404; paid or expired → 400
//	GET    /api/v1/invoice/all?page=&size=     newest first, Spring-style page
//	GET    /api/v2/transactions/{ref}          ref URL-encoded (MNFY%7C…)
//	GET    /checkout/{transactionReference or invoiceReference}
//	POST   /checkout/{id}/card
//	GET    /bank-transfer?account=NNNNNNNNNN
//	POST   /bank-transfer
//	POST   /_sim/merchants                     test hook: {"webhookUrl": …} → new merchant {apiKey, secretKey, contractCode}
//	POST   /_sim/invoices/{id}/pay             test hook: {"amount": "500.00", "paymentMethod": "ACCOUNT_TRANSFER"|"CARD"}; amount defaults to what is owed
//	POST   /_sim/invoices/{id}/expire          test hook: expire a pending invoice now
//	GET|POST /_faults                          simkit faults
//
// A seeded merchant (SimAPIKey, SimSecretKey = the docs' test-vector key,
// SimContractCode = the docs' sample contract code) accepts the
// documentation's sample request; it has no webhook URL. ProvisionSandbox
// uses POST /_sim/merchants, the stand-in for signing up and pasting the
// webhook URL (acct.CallbackURL) into the dashboard, and returns a complete
// config.
//
// Each invoice gets a transaction reference MNFY|NN|yyyyMMddHHmmss|NNNNNN
// at creation (its checkoutUrl is PublicURL + "/checkout/" + that
// reference, with raw "|" as Monnify writes it) and, when bank transfer is
// allowed, a 10-digit virtual account at "Wema bank" (code 035) named after
// the description. Payments accumulate on that transaction; the details
// show transactionReference once money has arrived; paymentStatus is
// PARTIALLY_PAID, PAID or OVERPAID by amount; PAID/OVERPAID closes the
// invoice as PAID. Each payment sends SUCCESSFUL_TRANSACTION with
// product {type "INVOICE", reference invoiceReference}, paymentReference =
// invoiceReference, paidOn "yyyy-MM-dd HH:mm:ss.SSS", amounts as JSON
// numbers and settlementAmount as a string (the captured real payload's
// shapes), signed over the exact bytes in a lowercase monnify-signature
// header. The simulator's fee: 1 % of a transfer, 1.5 % of a card payment,
// at most 2,000 NGN. Pending invoices expire when their expiryDate passes.
//
// Persistence: with SimOptions.StateFile set, the simulator keeps its
// sandbox in that JSON file across app restarts: the merchants made by
// POST /_sim/merchants (keys, contract code, webhook URL) and every invoice
// with its status, expiry, virtual account, transaction reference and
// payments, plus the sequence behind transaction references. After every
// change the whole state is encoded under the simulator's mutex and
// rewritten once the mutex is released (simkit.StateWriter: temp file in
// the same directory, fsync, rename; mode 0600; writes take turns and an
// older snapshot never overwrites a newer one), before the answer and
// before any webhook for that change is queued, so other calls and the
// payer's pages do not wait for the disk. A failed save is logged and the
// next change (or Close) saves again; a closed simulator saves nothing
// more. A missing file is a fresh sandbox, an unreadable or corrupt one is
// logged at warn, kept as StateFile+".corrupt" and the sandbox starts
// fresh. Not kept: access tokens (a client gets 401 and logs in again, as
// with an expired token), the seeded merchant (it comes from the code),
// faults set on /_faults, the login counter, and webhooks still queued or
// being retried when the app stops, which are lost (Ankara's polling with
// Fetch catches those payments). An invoice whose expiryDate passed while
// the app was down is expired when next looked at. An empty StateFile keeps
// everything in memory (tests).
//
// # Browser payer journey (for the end-to-end test)
//
// By bank transfer (the payer page's sandbox link, Instructions.SandboxURL):
//
//  1. Open /sandbox/monnify/bank-transfer?account=<accountNumber>. The page
//     shows the payee (data-testid "transfer-payee") and the amount still
//     owed ("transfer-outstanding").
//  2. Inputs: "transfer-account" (prefilled with the account number),
//     "transfer-amount" (prefilled with the full amount owed, e.g.
//     "15000.00"; type a smaller amount for a partial payment),
//     "transfer-sender" (the payer's name, prefilled "Ada Obi").
//  3. Click "transfer-send". The page reloads with "transfer-result":
//     "Transfer of NGN 15000.00 sent. The invoice is paid." (or "… The
//     invoice is partly paid." / an error such as "No Monnify account has
//     this number." or "The account is inactive: …").
//
// By card (Instructions.CheckoutURL):
//
//  1. Open /sandbox/monnify/checkout/<transactionReference> (the
//     checkoutUrl; the invoiceReference works too). It shows
//     "checkout-amount", the transfer details ("transfer-bank",
//     "transfer-account-number", "transfer-account-name", and the link
//     "transfer-open-bank" to the bank page above).
//  2. Type "card-number" 4111 1111 1111 1111 (any 12–19 digits pay, except
//     SimDeclineCard 4000 0000 0000 0002, which is declined),
//     "card-expiry" 12/30 (MM/YY, not in the past), "card-cvv" 123.
//  3. Click "card-pay" (pays the full amount owed). The page reloads with
//     "checkout-result": "Payment successful. NGN 2500.00 paid." and a
//     "checkout-return" link to Ankara's payer page; a decline shows
//     "Card declined by issuer. Try another card." in "checkout-result".
//
// Either way the simulator sends the signed webhook to the account's
// CallbackURL, and Fetch reports the invoice paid.
package monnify
