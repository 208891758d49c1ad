package models

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters: OWASP's minimum (19 MiB, 2 iterations, 1 lane).
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword hashes a password with argon2id into a PHC string.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches a hash made by HashPassword.
func CheckPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is compared against when the email is unknown, so that a wrong
// email and a wrong password take the same time.
var dummyHash = func() string {
	h, _ := HashPassword("ankara-dummy-password") // cannot fail with a working crypto/rand
	return h
}()

// ValidatePassword applies the password rules (ASVS V6: length only).
func ValidatePassword(pw string) string {
	switch {
	case len([]rune(pw)) < 10:
		return "Use at least 10 characters."
	case len(pw) > 256:
		return "Use at most 256 characters."
	case commonPasswords[strings.ToLower(pw)]:
		return "This password is too common; choose another."
	}
	return ""
}

var commonPasswords = map[string]bool{
	"1234567890": true, "password123": true, "qwertyuiop": true, "1q2w3e4r5t": true, "password12": true,
	"iloveyou123": true, "0123456789": true, "1111111111": true, "passw0rd123": true, "abcdefghij": true,
	"qwerty1234": true, "123456789a": true, "administrator": true, "letmein123": true, "welcome123": true,
}
