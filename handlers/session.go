package handlers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"ankara/models"
	"ankara/views"
)

// Session lifetimes (ASVS 5.0 V7, level 2): 30 minutes idle, 12 hours at most.
const (
	sessionIdle     = 30 * time.Minute
	sessionAbsolute = 12 * time.Hour
)

// Keys of the values kept in the session cookie.
const (
	keySID     = "sid"     // random id; new at every login, it keys the CSRF token
	keyUser    = "uid"     // signed-in user
	keyCreated = "created" // unix seconds of login
	keySeen    = "seen"    // unix seconds of the last request
	keyFlash   = "flash"
)

type ctxKey string

const (
	ctxSession  ctxKey = "session"
	ctxUser     ctxKey = "user"
	ctxMerchant ctxKey = "merchant"
)

func (s *Server) session(c echo.Context) *sessions.Session {
	sess, _ := c.Get(string(ctxSession)).(*sessions.Session)
	return sess
}

func currentUser(c echo.Context) *models.User {
	u, _ := c.Get(string(ctxUser)).(*models.User)
	return u
}

func currentMerchant(c echo.Context) *models.Merchant {
	m, _ := c.Get(string(ctxMerchant)).(*models.Merchant)
	return m
}

// loadSession reads the session cookie, applies the idle and absolute
// timeouts and loads the signed-in user on every request.
func (s *Server) loadSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sess, err := s.sessions.Get(c.Request(), s.cookie)
		if err != nil || sess == nil {
			// A cookie we cannot read (old key, tampering): start afresh.
			sess = sessions.NewSession(s.sessions, s.cookie)
			sess.Options = s.cookieOptions()
			sess.IsNew = true
		}
		sess.Options = s.cookieOptions()
		now := time.Now().Unix()
		dirty := sess.IsNew
		if sid, _ := sess.Values[keySID].(string); sid == "" {
			sess.Values[keySID] = models.NewToken(128)
			dirty = true
		}
		if uid, ok := sess.Values[keyUser].(string); ok && uid != "" {
			created, _ := sess.Values[keyCreated].(int64)
			seen, _ := sess.Values[keySeen].(int64)
			if now-created > int64(sessionAbsolute/time.Second) || now-seen > int64(sessionIdle/time.Second) {
				s.clearSession(sess)
				sess.Values[keyFlash] = "Your session expired. Please log in again."
				dirty = true
			} else if u, err := s.svc.Store.User(c.Request().Context(), uid); err == nil {
				m, err := s.svc.Store.Merchant(c.Request().Context(), u.MerchantID)
				if err != nil {
					return err
				}
				c.Set(string(ctxUser), u)
				c.Set(string(ctxMerchant), m)
				// Refresh the idle clock at most once a minute, to avoid
				// rewriting the cookie on every poll.
				if now-seen > 60 {
					sess.Values[keySeen] = now
					dirty = true
				}
			} else if models.ErrorCode(err) == models.ENOTFOUND {
				s.clearSession(sess)
				dirty = true
			} else {
				return err
			}
		}
		c.Set(string(ctxSession), sess)
		if dirty {
			if err := sess.Save(c.Request(), c.Response()); err != nil {
				return err
			}
		}
		return next(c)
	}
}

func (s *Server) cookieOptions() *sessions.Options {
	return &sessions.Options{Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: int(sessionAbsolute / time.Second)}
}

func (s *Server) clearSession(sess *sessions.Session) {
	for k := range sess.Values {
		delete(sess.Values, k)
	}
	sess.Values[keySID] = models.NewToken(128)
}

// startSession rotates the session at login: a new id (so a new CSRF
// token) and fresh timestamps.
func (s *Server) startSession(c echo.Context, u *models.User) error {
	sess := s.session(c)
	s.clearSession(sess)
	now := time.Now().Unix()
	sess.Values[keyUser] = u.ID
	sess.Values[keyCreated] = now
	sess.Values[keySeen] = now
	return sess.Save(c.Request(), c.Response())
}

func (s *Server) setFlash(c echo.Context, msg string) {
	sess := s.session(c)
	sess.Values[keyFlash] = msg
	_ = sess.Save(c.Request(), c.Response()) // a lost flash message is harmless
}

func (s *Server) takeFlash(c echo.Context) string {
	sess := s.session(c)
	if sess == nil {
		return ""
	}
	msg, _ := sess.Values[keyFlash].(string)
	if msg != "" {
		delete(sess.Values, keyFlash)
		_ = sess.Save(c.Request(), c.Response()) // harmless if lost
	}
	return msg
}

// csrfToken is an HMAC of the session id: stateless, and new at every login.
func (s *Server) csrfToken(c echo.Context) string {
	sess := s.session(c)
	if sess == nil {
		return ""
	}
	sid, _ := sess.Values[keySID].(string)
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte(sid))
	return hex.EncodeToString(m.Sum(nil))
}

// csrf rejects state-changing requests without the session's token, taken
// from the X-CSRF-Token header (htmx) or the _csrf form field.
func (s *Server) csrf(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		if c.Path() == "/settings/providers/:provider/callback" {
			return next(c) // protected by the OAuth state, see connectFormPost
		}
		got := c.Request().Header.Get("X-CSRF-Token")
		if got == "" {
			got = c.FormValue("_csrf")
		}
		want := s.csrfToken(c)
		if got == "" || want == "" || !hmac.Equal([]byte(got), []byte(want)) {
			return echo.NewHTTPError(http.StatusForbidden, "This form has expired. Go back, reload the page and try again.")
		}
		return next(c)
	}
}

func (s *Server) requireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if currentUser(c) == nil {
			if isHTMX(c) {
				c.Response().Header().Set("HX-Redirect", "/login")
				return c.NoContent(http.StatusUnauthorized)
			}
			to := "/login"
			if c.Request().Method == http.MethodGet && c.Request().URL.Path != "/" {
				to += "?next=" + c.Request().URL.RequestURI()
			}
			return c.Redirect(http.StatusSeeOther, to)
		}
		return next(c)
	}
}

func (s *Server) requireOwner(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if u := currentUser(c); u == nil || !u.CanWrite() {
			return models.Errorf(models.EFORBIDDEN, "Your role can view invoices and reports but not change them.")
		}
		return next(c)
	}
}

// page builds the layout's data for a request.
func (s *Server) page(c echo.Context, title, nav string) views.Page {
	return views.Page{
		Title: title, Nav: nav, User: currentUser(c), Merchant: currentMerchant(c),
		CSRF: s.csrfToken(c), Flash: s.takeFlash(c), Assets: s.assets,
	}
}

// safeNext accepts only local paths as a post-login destination.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/") && !strings.HasPrefix(next, "//") && !strings.HasPrefix(next, "/\\") {
		return next
	}
	return "/"
}
