package models

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error codes shared by the whole application. Handlers map them onto HTTP
// statuses in one table; everything else only compares codes.
const (
	EINVALID      = "invalid"      // the user's input breaks a rule; Fields says where
	ENOTFOUND     = "not_found"    // no such thing for this merchant
	ECONFLICT     = "conflict"     // the thing exists already or its state forbids the action
	EUNAUTHORIZED = "unauthorized" // bad credentials or signature
	EFORBIDDEN    = "forbidden"    // signed in, but the role does not allow it
	ETHROTTLED    = "throttled"    // too many attempts, try later
	EUNAVAILABLE  = "unavailable"  // a provider could not be reached; try again
	EINTERNAL     = "internal"
)

// Error is a domain error whose Message can be shown to a user as it is.
type Error struct {
	Code    string
	Message string
	// Fields maps a form field (or "lines.2.quantity") to what is wrong with it.
	Fields map[string]string
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+e.Fields[k])
	}
	return e.Message + " (" + strings.Join(parts, "; ") + ")"
}

// Errorf builds a domain error with a user-facing message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first domain error in err's chain, or
// EINTERNAL for any other non-nil error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err; internal errors get a
// generic sentence so that no detail leaks.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Something went wrong on our side. Please try again."
}

// ErrorFields returns the per-field messages of a validation error.
func ErrorFields(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) && e.Fields != nil {
		return e.Fields
	}
	return map[string]string{}
}

// FieldErrors collects validation messages per field.
type FieldErrors map[string]string

// Add records msg for field unless the field already has a message.
func (f FieldErrors) Add(field, msg string) {
	if _, ok := f[field]; !ok {
		f[field] = msg
	}
}

// Err returns nil when there are no messages, else an EINVALID error.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "Please correct the highlighted fields.", Fields: f}
}
