// Package handlers is Ankara's HTTP surface: echo routes and middleware.
// Handlers are thin: parse the request, call a models use case, render a
// views component.
package handlers

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"ankara/models"
	"ankara/static"
	"ankara/views"
)

// Deps are what the handlers need.
type Deps struct {
	Service *models.Service
	Log     *slog.Logger
	// Secret is the application secret; session and CSRF keys derive from it.
	Secret  []byte
	BaseURL string
	// Simulators are mounted under /sandbox/{provider}/ when non-nil.
	Simulators map[models.ProviderName]http.Handler
}

// Server holds the handlers' shared state.
type Server struct {
	svc      *models.Service
	log      *slog.Logger
	sessions *sessions.CookieStore
	csrfKey  []byte
	secure   bool
	cookie   string
	assets   views.Assets
	sandbox  bool
}

// New builds the echo application with every route.
func New(d Deps) *echo.Echo {
	secure := strings.HasPrefix(d.BaseURL, "https://")
	store := sessions.NewCookieStore(models.DeriveKey(d.Secret, "session-hash"), models.DeriveKey(d.Secret, "session-block"))
	store.Options = &sessions.Options{Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode, MaxAge: int(sessionAbsolute / time.Second)}
	cookie := "ankara_session"
	if secure {
		cookie = "__Host-ankara_session"
	}
	s := &Server{
		svc: d.Service, log: d.Log, sessions: store, csrfKey: models.DeriveKey(d.Secret, "csrf"),
		secure: secure, cookie: cookie, assets: assetURLs(), sandbox: d.Simulators != nil,
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		s.log.Error("panic", "err", err, "path", c.Request().URL.Path, "stack", string(stack))
		return err
	}}))
	e.Use(middleware.RequestID())
	e.Use(s.requestLog)
	e.Use(securityHeaders)

	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/readyz", s.readyz)
	e.GET("/static/*", echo.WrapHandler(http.StripPrefix("/static/", staticHandler())))

	// Provider callbacks: authenticated by signature or unguessable key, so
	// no session and no CSRF token.
	wh := e.Group("/webhooks", middleware.BodyLimit("256K"))
	wh.Any("/:provider/:key", s.webhook)

	for name, sim := range d.Simulators {
		prefix := "/sandbox/" + string(name)
		e.Any(prefix+"/*", echo.WrapHandler(http.StripPrefix(prefix, sim)))
	}

	app := e.Group("", middleware.BodyLimit("2M"), s.loadSession, s.csrf)
	app.GET("/signup", s.signupForm)
	app.POST("/signup", s.signup)
	app.GET("/login", s.loginForm)
	app.POST("/login", s.login)
	app.POST("/logout", s.logout)

	app.GET("/pay/:token", s.payPage)
	app.GET("/pay/:token/status", s.payStatus)
	app.GET("/pay/:token/qr.png", s.payQR)
	app.POST("/pay/:token/push", s.payPush)

	auth := app.Group("", s.requireUser)
	auth.GET("/", s.dashboard)
	auth.GET("/invoices", s.listInvoices)
	auth.GET("/invoices/live", s.liveInvoices)
	auth.GET("/invoices/new", s.newInvoice, s.requireOwner)
	auth.POST("/invoices", s.createInvoice, s.requireOwner)
	auth.POST("/invoices/new/lines", s.formLines, s.requireOwner)
	auth.POST("/invoices/new/totals", s.formTotals, s.requireOwner)
	auth.GET("/invoices/new/provider-fields", s.formProviderFields, s.requireOwner)
	auth.GET("/invoices/:id", s.showInvoice)
	auth.GET("/invoices/:id/live", s.invoiceLive)
	auth.GET("/invoices/:id/cancel", s.confirmCancel, s.requireOwner)
	auth.POST("/invoices/:id/cancel", s.cancelInvoice, s.requireOwner)
	auth.POST("/invoices/:id/retry", s.retryInvoice, s.requireOwner)

	auth.GET("/settings", s.settings)
	auth.POST("/settings", s.saveProfile, s.requireOwner)
	auth.GET("/settings/providers/:provider", s.providerSettings)
	auth.POST("/settings/providers/:provider", s.saveProviderSettings, s.requireOwner)
	auth.POST("/settings/providers/:provider/test", s.testProvider, s.requireOwner)
	auth.GET("/settings/providers/:provider/connect", s.connectProvider, s.requireOwner)
	auth.GET("/settings/providers/:provider/callback", s.connectCallback, s.requireOwner)
	// OpenID Connect form_post answers arrive as a cross-site POST that
	// carries no SameSite=Lax cookie and no CSRF token; it is turned into a
	// top-level GET (which does carry the session) and checked by state.
	app.POST("/settings/providers/:provider/callback", s.connectFormPost)
	return e
}

func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	if err := s.svc.Store.Ping(ctx); err != nil {
		return c.String(http.StatusServiceUnavailable, "not ready: "+err.Error())
	}
	return c.String(http.StatusOK, "ready")
}

// render writes a templ component with a status.
func render(c echo.Context, status int, comp templ.Component) error {
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(status)
	return comp.Render(c.Request().Context(), c.Response().Writer)
}

// isHTMX reports an htmx request for a partial.
func isHTMX(c echo.Context) bool {
	return c.Request().Header.Get("HX-Request") == "true" && c.Request().Header.Get("HX-Boosted") != "true"
}

// redirect sends a 303, or HX-Redirect to htmx.
func redirect(c echo.Context, to string) error {
	if isHTMX(c) {
		c.Response().Header().Set("HX-Redirect", to)
		return c.NoContent(http.StatusNoContent)
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// statusFor maps domain error codes to HTTP statuses.
var statusFor = map[string]int{
	models.EINVALID:      http.StatusUnprocessableEntity,
	models.ENOTFOUND:     http.StatusNotFound,
	models.ECONFLICT:     http.StatusConflict,
	models.EUNAUTHORIZED: http.StatusUnauthorized,
	models.EFORBIDDEN:    http.StatusForbidden,
	models.ETHROTTLED:    http.StatusTooManyRequests,
	models.EUNAVAILABLE:  http.StatusBadGateway,
	models.EINTERNAL:     http.StatusInternalServerError,
}

var titles = map[int]string{
	http.StatusNotFound:              "Not found",
	http.StatusForbidden:             "Not allowed",
	http.StatusUnauthorized:          "Not signed in",
	http.StatusConflict:              "Not possible now",
	http.StatusTooManyRequests:       "Too many requests",
	http.StatusBadGateway:            "Provider unavailable",
	http.StatusRequestEntityTooLarge: "Too large",
}

// errorHandler renders every error once, as a page or as plain text for
// htmx and webhooks, and logs internal ones with the request id.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed || errors.Is(err, context.Canceled) {
		return
	}
	status, msg := http.StatusInternalServerError, models.ErrorMessage(err)
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		status = he.Code
		msg = http.StatusText(status)
		if m, ok := he.Message.(string); ok && status < 500 {
			msg = m
		}
		if status == http.StatusNotFound {
			msg = "There is nothing at this address."
		}
	default:
		if st, ok := statusFor[models.ErrorCode(err)]; ok {
			status = st
		}
	}
	if status >= 500 {
		s.log.Error("request failed", "err", err, "path", c.Request().URL.Path, "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		if status == http.StatusInternalServerError {
			msg = "Something went wrong on our side. Please try again; if it keeps happening, tell us the request id " + c.Response().Header().Get(echo.HeaderXRequestID) + "."
		}
	}
	webhook := strings.HasPrefix(c.Request().URL.Path, "/webhooks/")
	if webhook || isHTMX(c) || c.Request().Method == http.MethodHead {
		_ = c.String(status, msg) // client went away
		return
	}
	title := titles[status]
	if title == "" {
		title = "Error"
	}
	page := s.page(c, title, "")
	_ = render(c, status, views.ErrorPage(page, status, msg)) // client went away
}

func (s *Server) requestLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		r := c.Request()
		lvl := slog.LevelDebug
		if c.Response().Status >= 500 {
			lvl = slog.LevelWarn
		}
		s.log.Log(r.Context(), lvl, "http", "method", r.Method, "path", r.URL.Path, "status", c.Response().Status,
			"ms", time.Since(start).Milliseconds(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		return nil
	}
}

// securityHeaders sets a strict CSP (no inline script or style) and the
// usual hardening headers. The simulators are separate "sites" and get
// their own defaults.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		if !strings.HasPrefix(c.Request().URL.Path, "/sandbox/") {
			h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
		}
		return next(c)
	}
}

func assetURLs() views.Assets {
	return views.Assets{
		CSS:  static.URL("css/app.css"),
		HTMX: static.URL("js/htmx-2.0.11.min.js"),
		App:  static.URL("js/app.js"),
	}
}

func staticHandler() http.Handler {
	sub, err := fs.Sub(static.FS, ".")
	if err != nil {
		panic(err) // embedded at build time
	}
	fileServer := http.FileServer(http.FS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "public, max-age=300")
		}
		fileServer.ServeHTTP(w, r)
	})
}
