package models

import (
	"context"
	"strings"
	"time"
)

// Login throttling: after loginMaxPerEmail failures for one email, or
// loginMaxPerIP from one address, within loginWindow, further attempts are
// refused until the window has passed. That stays well under ASVS's 100
// failures an hour per account without letting anyone lock an owner out
// for long.
const (
	loginWindow      = 15 * time.Minute
	loginMaxPerEmail = 10
	loginMaxPerIP    = 50
)

// Login checks an email and password. Wrong email and wrong password get
// the same message and take the same time.
func (s *Service) Login(ctx context.Context, email, password, ip string) (*User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	now := s.now()
	byEmail, byIP, err := s.Store.LoginFailures(ctx, email, ip, now.Add(-loginWindow))
	if err != nil {
		return nil, err
	}
	if byEmail >= loginMaxPerEmail || byIP >= loginMaxPerIP {
		return nil, Errorf(ETHROTTLED, "Too many failed attempts. Wait 15 minutes and try again.")
	}
	u, err := s.Store.UserByEmail(ctx, email)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return nil, err
	}
	hash := dummyHash
	if u != nil {
		hash = u.PasswordHash
	}
	if !CheckPassword(hash, password) || u == nil {
		if err := s.Store.RecordLoginFailure(ctx, email, ip, now); err != nil {
			return nil, err
		}
		return nil, &Error{Code: EUNAUTHORIZED, Message: "Wrong email or password.", Fields: map[string]string{"password": "Wrong email or password."}}
	}
	if err := s.Store.ClearLoginFailures(ctx, email); err != nil {
		return nil, err
	}
	return u, nil
}

// EnsureDemo creates the demo merchant if it does not exist and returns
// whether it was created.
func (s *Service) EnsureDemo(ctx context.Context, email, password string) (bool, error) {
	if _, err := s.Store.UserByEmail(ctx, email); err == nil {
		if s.Sandbox {
			u, _ := s.Store.UserByEmail(ctx, email) // found just above
			s.SetUpSandboxAccounts(ctx, u.MerchantID)
		}
		return false, nil
	} else if ErrorCode(err) != ENOTFOUND {
		return false, err
	}
	_, err := s.Signup(ctx, SignupInput{BusinessName: "Demo Duka Ltd", Email: email, Password: password, TimeZone: "Africa/Kampala"})
	return err == nil, err
}
