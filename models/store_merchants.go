package models

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// CreateMerchant stores a new merchant with its first user.
func (s *Store) CreateMerchant(ctx context.Context, m *Merchant, u *User) error {
	return s.Tx(ctx, func(tx *Store) error {
		if err := tx.db.Create(m).Error; err != nil {
			return fmt.Errorf("create merchant: %w", err)
		}
		if err := tx.db.Create(u).Error; err != nil {
			if isDuplicate(err) {
				return &Error{Code: ECONFLICT, Message: "An account with this email exists already.", Fields: map[string]string{"email": "An account with this email exists already. Log in instead."}}
			}
			return fmt.Errorf("create user: %w", err)
		}
		return nil
	})
}

// CreateUser adds a user to an existing merchant.
func (s *Store) CreateUser(ctx context.Context, u *User) error {
	if err := s.db.WithContext(ctx).Create(u).Error; err != nil {
		if isDuplicate(err) {
			return &Error{Code: ECONFLICT, Message: "A user with this email exists already.", Fields: map[string]string{"email": "A user with this email exists already."}}
		}
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// Merchant loads a merchant by id.
func (s *Store) Merchant(ctx context.Context, id string) (*Merchant, error) {
	var m Merchant
	if err := s.db.WithContext(ctx).Where("id = ?", id).First(&m).Error; err != nil {
		return nil, notFound(err, "Merchant")
	}
	return &m, nil
}

// UpdateMerchant saves the business profile.
func (s *Store) UpdateMerchant(ctx context.Context, m *Merchant) error {
	err := s.db.WithContext(ctx).Model(&Merchant{}).Where("id = ?", m.ID).Updates(map[string]any{
		"name": m.Name, "address": m.Address, "vat_number": m.VATNumber, "time_zone": m.TimeZone,
		"default_currency": m.DefaultCurrency, "updated_at": nowUTC(),
	}).Error
	if err != nil {
		return fmt.Errorf("update merchant: %w", err)
	}
	return nil
}

// nextInvoiceNumber reserves the merchant's next automatic invoice number.
func (s *Store) nextInvoiceNumber(ctx context.Context, merchantID string) (int64, error) {
	db := s.db.WithContext(ctx)
	if err := db.Exec("UPDATE merchants SET invoice_seq = invoice_seq + 1 WHERE id = ?", merchantID).Error; err != nil {
		return 0, fmt.Errorf("next invoice number: %w", err)
	}
	var n int64
	if err := db.Raw("SELECT invoice_seq FROM merchants WHERE id = ?", merchantID).Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("next invoice number: %w", err)
	}
	return n, nil
}

// UserByEmail loads a user by email (case-insensitive).
func (s *Store) UserByEmail(ctx context.Context, email string) (*User, error) {
	var u User
	if err := s.db.WithContext(ctx).Where("email = ?", strings.ToLower(strings.TrimSpace(email))).First(&u).Error; err != nil {
		return nil, notFound(err, "User")
	}
	return &u, nil
}

// User loads a user by id.
func (s *Store) User(ctx context.Context, id string) (*User, error) {
	var u User
	if err := s.db.WithContext(ctx).Where("id = ?", id).First(&u).Error; err != nil {
		return nil, notFound(err, "User")
	}
	return &u, nil
}

// Users lists a merchant's users.
func (s *Store) Users(ctx context.Context, merchantID string) ([]User, error) {
	var us []User
	if err := s.db.WithContext(ctx).Where("merchant_id = ?", merchantID).Order("created_at").Find(&us).Error; err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return us, nil
}

// RecordLoginFailure notes a failed login for throttling.
func (s *Store) RecordLoginFailure(ctx context.Context, email, ip string, at time.Time) error {
	err := s.db.WithContext(ctx).Exec("INSERT INTO login_attempts (id, email, ip, created_at) VALUES (?, ?, ?, ?)", NewID(), email, ip, dbTime(at)).Error
	if err != nil {
		return fmt.Errorf("record login failure: %w", err)
	}
	return nil
}

// LoginFailures counts failures for an email and for an IP since a time.
func (s *Store) LoginFailures(ctx context.Context, email, ip string, since time.Time) (byEmail, byIP int64, err error) {
	db := s.db.WithContext(ctx)
	since = dbTime(since)
	if err = db.Raw("SELECT COUNT(*) FROM login_attempts WHERE email = ? AND created_at > ?", email, since).Scan(&byEmail).Error; err != nil {
		return 0, 0, fmt.Errorf("count login failures: %w", err)
	}
	if err = db.Raw("SELECT COUNT(*) FROM login_attempts WHERE ip = ? AND created_at > ?", ip, since).Scan(&byIP).Error; err != nil {
		return 0, 0, fmt.Errorf("count login failures: %w", err)
	}
	return byEmail, byIP, nil
}

// ClearLoginFailures forgets an email's failures after a successful login.
func (s *Store) ClearLoginFailures(ctx context.Context, email string) error {
	if err := s.db.WithContext(ctx).Exec("DELETE FROM login_attempts WHERE email = ?", email).Error; err != nil {
		return fmt.Errorf("clear login failures: %w", err)
	}
	return nil
}

// SaveAccount inserts or updates a provider account.
func (s *Store) SaveAccount(ctx context.Context, a *ProviderAccount) error {
	a.UpdatedAt = nowUTC()
	if a.CreatedAt.IsZero() {
		a.CreatedAt = a.UpdatedAt
		if err := s.db.WithContext(ctx).Create(a).Error; err != nil {
			return fmt.Errorf("create provider account: %w", err)
		}
		return nil
	}
	err := s.db.WithContext(ctx).Model(&ProviderAccount{}).Where("id = ? AND merchant_id = ?", a.ID, a.MerchantID).Updates(map[string]any{
		"environment": a.Environment, "base_url": a.BaseURL, "config_enc": a.ConfigEnc, "last_check": a.LastCheck, "updated_at": a.UpdatedAt,
	}).Error
	if err != nil {
		return fmt.Errorf("update provider account: %w", err)
	}
	return nil
}

// AccountFor loads a merchant's account with a provider.
func (s *Store) AccountFor(ctx context.Context, merchantID string, p ProviderName) (*ProviderAccount, error) {
	var a ProviderAccount
	if err := s.db.WithContext(ctx).Where("merchant_id = ? AND provider = ?", merchantID, p).First(&a).Error; err != nil {
		return nil, notFound(err, "Provider account")
	}
	return &a, nil
}

// AccountByID loads an account by id (background work).
func (s *Store) AccountByID(ctx context.Context, id string) (*ProviderAccount, error) {
	var a ProviderAccount
	if err := s.db.WithContext(ctx).Where("id = ?", id).First(&a).Error; err != nil {
		return nil, notFound(err, "Provider account")
	}
	return &a, nil
}

// AccountByWebhookKey finds the account a callback URL belongs to.
func (s *Store) AccountByWebhookKey(ctx context.Context, p ProviderName, key string) (*ProviderAccount, error) {
	var a ProviderAccount
	if err := s.db.WithContext(ctx).Where("provider = ? AND webhook_key = ?", p, key).First(&a).Error; err != nil {
		return nil, notFound(err, "Callback endpoint")
	}
	return &a, nil
}

// Accounts lists a merchant's provider accounts.
func (s *Store) Accounts(ctx context.Context, merchantID string) ([]ProviderAccount, error) {
	var as []ProviderAccount
	if err := s.db.WithContext(ctx).Where("merchant_id = ?", merchantID).Order("provider").Find(&as).Error; err != nil {
		return nil, fmt.Errorf("list provider accounts: %w", err)
	}
	return as, nil
}
