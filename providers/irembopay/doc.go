// Package irembopay connects Ankara to IremboPay (Rwanda) and simulates it.
// The wire format is shared/providers/monnify-and-irembopay.md §2 (cited as
// §2.x below) and the simulator follows its checklist §3.
//
// # What Ankara can do with IremboPay
//
//   - Create an invoice: POST /payments/invoices (§2.3). transactionId is
//     the invoice's SubmitKey, so a retry after a timeout gets
//     DUPLICATE_TRANSACTION_ID and Create then fetches the invoice by
//     transaction id and returns it: never two invoices. The payment account
//     (provider field "payment_account") decides the currency. IremboPay has
//     no VAT and charges sum(unitAmount × quantity), so each line is sent at
//     its gross amount (net + VAT): with its whole quantity when the gross
//     divides evenly, else as quantity 1 at the line total, so the IremboPay
//     amount always equals the Ankara total; Create refuses (AMOUNT_MISMATCH,
//     CURRENCY_MISMATCH) an answer that disagrees. expiryAt is sent as
//     2006-01-02T15:04:05.000+02:00 (Kigali), language as EN/FR/RW, the
//     customer phone as 07XXXXXXXX (omitted when not Rwandan).
//   - Fetch: GET /payments/invoices/{invoiceNumber or transactionId} (§2.4).
//   - Mobile-money push (models.Pusher, options MTN and AIRTEL):
//     POST /payments/transactions/initiate (§2.7). RWF invoices only
//     (BAD_DATA otherwise), so Instructions.Push is false for other
//     currencies. Never retried: a retry would send a second prompt.
//   - Payment notifications (§2.8): irembopay-signature "t=<ms>,s=<hex>" =
//     HMAC-SHA256(secret key, t + "#" + raw body), checked in constant time,
//     timestamps more than 5 minutes from now refused. The docs say the
//     "merchant secret key configured in the portal" signs, and every public
//     integration uses the API secret key, so secret_key does both. EventID
//     is "irembopay:<invoiceNumber>:<paymentStatus>:<paymentReference>",
//     the same for every delivery of one payment. A batch notification (only
//     the batch is notified, §2.6 rule 9) also yields one untrusted event per
//     child invoice, so Ankara fetches each child.
//   - Instructions: Kind "link", CheckoutURL = QR = paymentLinkUrl; for a
//     sandbox account pointed at the simulator, SandboxURL = the checkout
//     page (and, after a push, the phone page of that number).
//
// # What it cannot do, and why
//
//   - Cancel: IremboPay documents no cancel (§2.3–§2.7 have no such call).
//     As design.md §4 says, Cancel moves the expiry with
//     PUT /payments/invoices/{invoiceNumber} (§2.5) to now + 1 minute (the
//     docs only say an expiry "in the past" is refused, so a minute covers
//     clock skew) and returns StatusCancelled with the new ExpiresAt and the
//     reason "IremboPay has no cancel; the payment link expires at …". A
//     payment made in that minute is reported as PAID by Fetch and by the
//     notification, and Ankara flags it as paid after cancellation.
//     Info().CanCancel is false.
//   - Expiry is not a documented paymentStatus (§2.3 lists NEW and PAID):
//     an unpaid invoice whose expiryAt has passed is reported expired.
//   - Partial payments and installments (v3 only) and refunds are not used.
//   - There is no access token: every call carries irembopay-secretKey, so
//     httpx.TokenCache has nothing to cache.
//
// Status mapping (mapStatus): NEW, PENDING → pending; PARTIALLY_PAID →
// pending; PAID → paid; EXPIRED → expired; CANCELLED/CANCELED → cancelled;
// anything else → no change (kept in ProviderStatus).
//
// Where sources conflict the client is lenient and the simulator strict:
// the create page (seed 001) gives HTTP 400 for PAYMENT_ACCOUNT_NOT_FOUND
// and PRODUCT_NOT_FOUND while §2.3 guesses 404: the simulator answers 400,
// the client maps by code whatever the status. Timestamps: the client reads
// RFC 3339, the notification sample's hour-only offset
// ("2023-04-19T11:58:02.895+02"), offsets without a colon and no offset
// (Kigali); the simulator writes "…000+02:00" in API answers and the
// notification sample's "…895+02" form in notifications. phoneNumber may be
// a number or a string; amounts are read exactly (no floats).
//
// # Configuration (models.Account.Config)
//
//   - secret_key (secret): the merchant secret key.
//   - payment_accounts: "IDENTIFIER:CURRENCY" pairs, comma separated, e.g.
//     "TST-RWF:RWF,TST-USD:USD"; a bare identifier takes its currency from a
//     -RWF/-USD/-EUR/-GBP suffix, else RWF.
//   - product_codes: comma separated, e.g. "PC-aaf751b73f,PC-7c1e2d9b40".
//   - api_version: X-API-Version, "2" by default.
//
// Invoice form field: payment_account (select; label "TST-RWF (RWF)").
// Validate keys: currency, provider.payment_account, lines, lines.N.code,
// language (en/fr/rw), customer_phone (Rwandan mobile), customer_email,
// expires_at (at least a minute ahead).
//
// # Notification retries
//
// IremboPay documents no retry policy; the only trace is a sandbox report of
// "6 failed webhook attempts" (§2.8). The simulator makes 6 attempts, after
// 0, 1, 2, 4, 8 and 16 seconds (NotificationSchedule), each with the same
// bytes and signature; it stops at the first 2xx.
//
// # Simulator
//
// NewSimulator serves, relative to its mount (e.g. /sandbox/irembopay):
//
//	POST /payments/invoices                   create (200)
//	POST /payments/invoices/batch             batch, rules of §2.6 (201)
//	GET  /payments/invoices/{ref}             by invoice number or transactionId
//	PUT  /payments/invoices/{invoiceNumber}   expiryAt and/or paymentItems
//	POST /payments/transactions/initiate      mobile-money prompt (no key needed, as documented; a key sent must be valid)
//	POST /_sandbox/merchants                  simulator only: onboarding, {"notificationUrl": "…"}
//	GET|POST /_faults                         simkit faults
//	GET  /checkout/{invoiceNumber}            the paymentLinkUrl (payer page)
//	POST /checkout/{invoiceNumber}/card       pay by card (ONLINE_CARD)
//	POST /checkout/{invoiceNumber}/push       form: phone, network (MTN|AIRTEL)
//	GET  /phone                               pick a phone (?msisdn=…)
//	GET  /phone/{msisdn}                      prompts of a phone, newest first (07… or 2507…)
//	POST /phone/{msisdn}/prompts/{referenceId}/approve|decline
//
// API calls need irembopay-secretKey (any header casing) and X-API-Version
// 1, 2 or 3; errors use the documented envelope {"success":false,
// "message":…,"data":null,"errors":[{"code":…,"detail":…}]} with the docs'
// codes and descriptions; 401 is UNAUTHORIZED, unknown routes 404 NOT_FOUND.
// Invoice numbers are 12-digit strings starting 880. Every sandbox merchant
// has the payment accounts TST-RWF (RWF), TST-USD (USD), TST-EUR (EUR) and
// 07808652516 (RWF, the docs' sample account, not handed out by
// ProvisionSandbox), and the products PC-aaf751b73f "Consulting hour",
// PC-7c1e2d9b40 "Training seat" and PC-5d2e8f6a13 "Delivery"; anything else
// is PAYMENT_ACCOUNT_NOT_FOUND or PRODUCT_NOT_FOUND. An unpaid invoice past
// its expiryAt keeps paymentStatus NEW but can no longer be paid
// (INVOICE_EXPIRED). MTN numbers are 078/079…, Airtel 072/073….
//
// ProvisionSandbox calls POST /_sandbox/merchants with acct.CallbackURL; the
// simulator issues a random secret key "sk_sandbox.<payload>.<mac>" that
// carries the notification URL under a MAC, so a restarted simulator accepts
// the key and knows where to notify even without its state file.
//
// Persistence: with SimOptions.StateFile set, the simulator keeps its state
// in that JSON file (version 1): the merchants (secret key and notification
// URL), every invoice and batch with its items, customer, expiry, payment
// (status, method, reference, paid time) and batch links, and every
// mobile-money prompt with its answer. The lookup by transactionId is
// rebuilt from the invoices. After each change the whole state is encoded
// under the simulator's mutex and, once the mutex is released, written to a
// temporary file in the same directory, fsynced and renamed over the file
// (mode 0600: it holds secret keys) by simkit.StateWriter: writes take turns
// and an older snapshot never overwrites a newer one. Close saves once more,
// and a closed simulator writes nothing more. So after a restart the same
// account config still authenticates, invoices are fetched, paid on the
// payer pages (notified at the stored notification URL), updated or
// cancelled, pending prompts can still be approved, and an expiry that fell
// due while the app was down applies at the next look (expiry is computed,
// never stored as a status). Not kept: the faults switched on at /_faults,
// and notifications still queued or between retries when the app stopped —
// they are lost, and Ankara's status polling (Fetch) catches those
// payments. A missing file is a fresh sandbox; a file that cannot be read or
// parsed (or has another version) is logged at warn, set aside as
// <file>.corrupt when it could be read, and the simulator starts fresh; a
// failed save is logged at warn and the simulator goes on in memory (the
// next change, or Close, saves again). Empty StateFile (tests) keeps
// everything in memory.
//
// # Browser payer journey (for the end-to-end test)
//
// Paths are relative to the mount; the checkout URL is the invoice's
// Instructions.CheckoutURL (= {mount}/checkout/{invoiceNumber}).
//
// Checkout page GET /checkout/{invoiceNumber} shows
// data-testid="checkout-invoice-number", "checkout-amount" (e.g.
// "2,360 RWF"), "checkout-status" ("Unpaid", "Paid", "Expired" or
// "In a batch"), one "checkout-item" row per item, and while unpaid:
//
//   - Card: click button "checkout-pay-card" ("Pay with card"). The page
//     reloads with checkout-status "Paid", "checkout-paid" and
//     "checkout-reference"; the notification is sent.
//   - Mobile money (RWF only; otherwise "checkout-no-momo" is shown): type
//     0781234567 into input "checkout-phone", choose "MTN" in select
//     "checkout-network" (or 0731234567 with "AIRTEL"), click
//     "checkout-push" ("Send prompt"). The page reloads with
//     "checkout-prompt-sent" and a link "checkout-phone-link"; a refused
//     prompt shows the documented reason in "checkout-error" instead.
//     Follow the link (GET /phone/250781234567): each prompt is a
//     "phone-prompt" element (data-status PENDING, APPROVED, DECLINED or
//     FAILED; text in "phone-prompt-status"), newest first, with buttons
//     "phone-approve" and "phone-decline" while pending. Click
//     "phone-approve": the phone page reloads with status APPROVED, the
//     invoice is PAID (MTN_MOMO or AIRTEL_MONEY) and the notification is
//     sent. "phone-decline" leaves the invoice unpaid and sends nothing.
//
// The phone picker GET /phone has input "phone-number" and button
// "phone-open". The Ankara push flow (Client.Push) creates the same prompt;
// its observation's Instructions.SandboxURL is {mount}/phone/07XXXXXXXX.
package irembopay
