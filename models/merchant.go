package models

import "time"

// Roles a user can have within a merchant.
const (
	RoleOwner      = "owner"
	RoleAccountant = "accountant"
)

// Merchant is a business using Ankara: the tenant every row belongs to.
type Merchant struct {
	ID              string `gorm:"primaryKey"`
	Name            string
	Address         string
	VATNumber       string `gorm:"column:vat_number"`
	TimeZone        string
	DefaultCurrency string
	InvoiceSeq      int64 // last automatic invoice number
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Location is the merchant's time zone, UTC when unknown.
func (m *Merchant) Location() *time.Location {
	if loc, err := time.LoadLocation(m.TimeZone); err == nil && m.TimeZone != "" {
		return loc
	}
	return time.UTC
}

// User is a person who signs in for a merchant.
type User struct {
	ID           string `gorm:"primaryKey"`
	MerchantID   string
	Email        string
	PasswordHash string
	Role         string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// CanWrite reports whether the user may create and cancel invoices.
func (u *User) CanWrite() bool { return u.Role == RoleOwner }

// ProviderAccount is a merchant's account with one provider. Its
// configuration, credentials included, is stored encrypted.
type ProviderAccount struct {
	ID          string `gorm:"primaryKey"`
	MerchantID  string
	Provider    ProviderName
	Environment string
	BaseURL     string
	ConfigEnc   string // base64 of AES-256-GCM sealed JSON
	WebhookKey  string
	LastCheck   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// CallbackDelivery is a callback exactly as received, kept before it is
// acknowledged and applied afterwards.
type CallbackDelivery struct {
	ID          string `gorm:"primaryKey"`
	Provider    ProviderName
	AccountID   string
	MerchantID  string
	Method      string
	Headers     string
	Body        string
	ReceivedAt  time.Time
	ProcessedAt *time.Time
	Attempts    int
	LeaseUntil  *time.Time
	LastError   string
}
