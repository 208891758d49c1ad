package models

import (
	"crypto/rand"
	"database/sql/driver"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// NewID returns a 32-character hex id that sorts by creation time: 6 bytes
// of milliseconds since the epoch followed by 10 random bytes.
func NewID() string {
	var b [16]byte
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(time.Now().UnixMilli()))
	copy(b[:6], ms[2:])
	if _, err := rand.Read(b[6:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never happens on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// NewToken returns a URL-safe random token with at least 'bits' bits of
// entropy (rounded up to whole bytes).
func NewToken(bits int) string {
	b := make([]byte, (bits+7)/8)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}

// NewUUID returns a random (version 4) UUID, the form MoMo and others want
// for idempotency keys.
func NewUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// JSONMap is a string map stored as a JSON text column.
type JSONMap map[string]string

// Value implements driver.Valuer.
func (m JSONMap) Value() (driver.Value, error) {
	if m == nil {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

// Scan implements sql.Scanner.
func (m *JSONMap) Scan(src any) error {
	*m = JSONMap{}
	return scanJSON(src, m)
}

// JSONInstructions stores payment instructions as JSON text.
type JSONInstructions struct{ *Instructions }

// Value implements driver.Valuer.
func (j JSONInstructions) Value() (driver.Value, error) {
	if j.Instructions == nil {
		return "", nil
	}
	b, err := json.Marshal(j.Instructions)
	return string(b), err
}

// Scan implements sql.Scanner.
func (j *JSONInstructions) Scan(src any) error {
	j.Instructions = nil
	var in Instructions
	ok := false
	switch v := src.(type) {
	case string:
		ok = v != ""
	case []byte:
		ok = len(v) > 0
	}
	if !ok {
		return nil
	}
	if err := scanJSON(src, &in); err != nil {
		return err
	}
	j.Instructions = &in
	return nil
}

func scanJSON(src, dst any) error {
	switch v := src.(type) {
	case nil:
		return nil
	case string:
		if v == "" {
			return nil
		}
		return json.Unmarshal([]byte(v), dst)
	case []byte:
		if len(v) == 0 {
			return nil
		}
		return json.Unmarshal(v, dst)
	}
	return fmt.Errorf("scan json: unsupported type %T", src)
}
