-- Ankara's first schema. Portable SQL: runs on SQLite and PostgreSQL.
CREATE TABLE merchants (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    address          TEXT NOT NULL DEFAULT '',
    vat_number       TEXT NOT NULL DEFAULT '',
    time_zone        TEXT NOT NULL DEFAULT 'UTC',
    default_currency TEXT NOT NULL DEFAULT 'EUR',
    invoice_seq      BIGINT NOT NULL DEFAULT 0,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    merchant_id   TEXT NOT NULL REFERENCES merchants(id),
    email         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'accountant')),
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email);
CREATE INDEX users_merchant ON users (merchant_id);

CREATE TABLE login_attempts (
    id         TEXT PRIMARY KEY,
    email      TEXT NOT NULL,
    ip         TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX login_attempts_email ON login_attempts (email, created_at);
CREATE INDEX login_attempts_ip ON login_attempts (ip, created_at);

CREATE TABLE provider_accounts (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    provider    TEXT NOT NULL,
    environment TEXT NOT NULL CHECK (environment IN ('sandbox', 'live')),
    base_url    TEXT NOT NULL,
    config_enc  TEXT NOT NULL DEFAULT '',
    webhook_key TEXT NOT NULL,
    last_check  TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX provider_accounts_merchant ON provider_accounts (merchant_id, provider);
CREATE UNIQUE INDEX provider_accounts_webhook ON provider_accounts (webhook_key);

CREATE TABLE invoices (
    id               TEXT PRIMARY KEY,
    merchant_id      TEXT NOT NULL REFERENCES merchants(id),
    number           TEXT NOT NULL,
    provider         TEXT NOT NULL,
    account_id       TEXT NOT NULL REFERENCES provider_accounts(id),
    status           TEXT NOT NULL CHECK (status IN ('submitting', 'pending', 'accepted', 'paid', 'failed', 'rejected', 'expired', 'cancelled')),
    status_reason    TEXT NOT NULL DEFAULT '',
    provider_status  TEXT NOT NULL DEFAULT '',
    currency         TEXT NOT NULL CHECK (length(currency) = 3),
    customer_name    TEXT NOT NULL,
    customer_email   TEXT NOT NULL DEFAULT '',
    customer_phone   TEXT NOT NULL DEFAULT '',
    description      TEXT NOT NULL DEFAULT '',
    language         TEXT NOT NULL DEFAULT 'en',
    net_minor        BIGINT NOT NULL,
    vat_minor        BIGINT NOT NULL,
    total_minor      BIGINT NOT NULL,
    expires_at       TIMESTAMP NOT NULL,
    public_token     TEXT NOT NULL,
    submit_key       TEXT NOT NULL,
    provider_ref     TEXT NOT NULL DEFAULT '',
    payment_ref      TEXT NOT NULL DEFAULT '',
    provider_fields  TEXT NOT NULL DEFAULT '{}',
    extra_refs       TEXT NOT NULL DEFAULT '{}',
    instructions     TEXT NOT NULL DEFAULT '',
    paid_minor       BIGINT NOT NULL DEFAULT 0,
    paid_at          TIMESTAMP NULL,
    payment_method   TEXT NOT NULL DEFAULT '',
    transaction_ref  TEXT NOT NULL DEFAULT '',
    fee_minor        BIGINT NOT NULL DEFAULT 0,
    payer_name       TEXT NOT NULL DEFAULT '',
    paid_after_final BOOLEAN NOT NULL DEFAULT FALSE,
    submit_attempts  INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    next_poll_at     TIMESTAMP NULL,
    poll_count       INTEGER NOT NULL DEFAULT 0,
    lease_until      TIMESTAMP NULL,
    search_text      TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX invoices_number ON invoices (merchant_id, number);
CREATE UNIQUE INDEX invoices_token ON invoices (public_token);
CREATE INDEX invoices_merchant_id ON invoices (merchant_id, id);
CREATE INDEX invoices_merchant_status ON invoices (merchant_id, status, id);
CREATE INDEX invoices_merchant_expires ON invoices (merchant_id, expires_at, id);
CREATE INDEX invoices_merchant_total ON invoices (merchant_id, total_minor, id);
CREATE INDEX invoices_provider_ref ON invoices (account_id, provider_ref);
CREATE INDEX invoices_payment_ref ON invoices (account_id, payment_ref);
CREATE INDEX invoices_submit_key ON invoices (account_id, submit_key);
CREATE INDEX invoices_next_poll ON invoices (next_poll_at);

CREATE TABLE invoice_lines (
    id               TEXT PRIMARY KEY,
    invoice_id       TEXT NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    merchant_id      TEXT NOT NULL REFERENCES merchants(id),
    position         INTEGER NOT NULL,
    code             TEXT NOT NULL DEFAULT '',
    description      TEXT NOT NULL,
    quantity_milli   BIGINT NOT NULL,
    unit_price_minor BIGINT NOT NULL,
    vat_rate_bp      BIGINT NOT NULL,
    net_minor        BIGINT NOT NULL,
    vat_minor        BIGINT NOT NULL
);
CREATE INDEX invoice_lines_invoice ON invoice_lines (invoice_id, position);

CREATE TABLE invoice_events (
    id          TEXT PRIMARY KEY,
    invoice_id  TEXT NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    kind        TEXT NOT NULL,
    from_status TEXT NOT NULL DEFAULT '',
    to_status   TEXT NOT NULL DEFAULT '',
    message     TEXT NOT NULL DEFAULT '',
    payload     TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX invoice_events_invoice ON invoice_events (invoice_id, id);

CREATE TABLE callback_deliveries (
    id           TEXT PRIMARY KEY,
    provider     TEXT NOT NULL,
    account_id   TEXT NOT NULL REFERENCES provider_accounts(id),
    merchant_id  TEXT NOT NULL REFERENCES merchants(id),
    method       TEXT NOT NULL,
    headers      TEXT NOT NULL,
    body         TEXT NOT NULL,
    received_at  TIMESTAMP NOT NULL,
    processed_at TIMESTAMP NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    lease_until  TIMESTAMP NULL,
    last_error   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX callback_deliveries_pending ON callback_deliveries (processed_at, received_at);

-- One row per provider event applied, so a duplicate has no second effect.
CREATE TABLE callback_events (
    provider   TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    invoice_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (provider, event_id)
);
