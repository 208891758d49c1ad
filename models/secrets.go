package models

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// Sealer encrypts provider configuration at rest with AES-256-GCM under a
// key derived from the application secret.
type Sealer struct {
	aead cipher.AEAD
}

// DeriveKey derives a purpose-specific 32-byte key from the app secret, so
// that the session keys and the encryption key are never the same bytes.
func DeriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("ankara/" + purpose))
	return m.Sum(nil)
}

// NewSealer builds a sealer from the application secret.
func NewSealer(secret []byte) (*Sealer, error) {
	block, err := aes.NewCipher(DeriveKey(secret, "provider-config"))
	if err != nil {
		return nil, fmt.Errorf("new sealer: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("new sealer: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts a configuration map; ad binds it to its row (account id).
func (s *Sealer) Seal(cfg map[string]string, ad string) (string, error) {
	plain, err := json.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("seal config: %w", err)
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal config: %w", err)
	}
	out := s.aead.Seal(nonce, nonce, plain, []byte(ad))
	return base64.StdEncoding.EncodeToString(out), nil
}

// Open decrypts what Seal produced.
func (s *Sealer) Open(sealed, ad string) (map[string]string, error) {
	cfg := map[string]string{}
	if sealed == "" {
		return cfg, nil
	}
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return nil, fmt.Errorf("open config: malformed")
	}
	plain, err := s.aead.Open(nil, raw[:s.aead.NonceSize()], raw[s.aead.NonceSize():], []byte(ad))
	if err != nil {
		return nil, fmt.Errorf("open config: %w (was the app secret changed?)", err)
	}
	if err := json.Unmarshal(plain, &cfg); err != nil {
		return nil, fmt.Errorf("open config: %w", err)
	}
	return cfg, nil
}

// MaskSecret shows only the last four characters of a secret.
func MaskSecret(s string) string {
	if s == "" {
		return ""
	}
	if len(s) <= 6 {
		return "••••"
	}
	return "••••" + s[len(s)-4:]
}
