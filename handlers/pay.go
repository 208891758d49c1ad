package handlers

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	qrcode "github.com/skip2/go-qrcode"

	"ankara/models"
	"ankara/views"
)

// payerPage loads the public page's data. The page shows the merchant's
// name and nothing else of the merchant.
func (s *Server) payerPage(c echo.Context) (views.PayerPage, error) {
	ctx := c.Request().Context()
	inv, err := s.svc.Store.InvoiceByToken(ctx, c.Param("token"))
	if err != nil {
		return views.PayerPage{}, err
	}
	m, err := s.svc.Store.Merchant(ctx, inv.MerchantID)
	if err != nil {
		return views.PayerPage{}, err
	}
	pp := views.PayerPage{Invoice: inv, MerchantName: m.Name, Assets: s.assets, CSRF: s.csrfToken(c), Loc: m.Location()}
	if pa, err := s.svc.Store.AccountByID(ctx, inv.AccountID); err == nil {
		pp.Sandbox = pa.Environment == "sandbox"
	}
	if p, err := s.svc.Providers.Get(inv.Provider); err == nil {
		if pusher, ok := p.(models.Pusher); ok {
			pp.PushOptions = pusher.PushOptions()
		}
	}
	c.Response().Header().Set("X-Robots-Tag", "noindex, nofollow")
	c.Response().Header().Set("Cache-Control", "no-store")
	return pp, nil
}

func (s *Server) payPage(c echo.Context) error {
	pp, err := s.payerPage(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.PayPage(pp))
}

// payStatus answers the payer page's poll every two seconds: it needs only
// the invoice, not the merchant, account or provider the full page shows.
func (s *Server) payStatus(c echo.Context) error {
	inv, err := s.svc.Store.InvoiceByToken(c.Request().Context(), c.Param("token"))
	if err != nil {
		return err
	}
	pp := views.PayerPage{Invoice: inv}
	c.Response().Header().Set("X-Robots-Tag", "noindex, nofollow")
	c.Response().Header().Set("Cache-Control", "no-store")
	if inv.Status.Final() && isHTMX(c) {
		// Show the whole page again so the instructions disappear.
		c.Response().Header().Set("HX-Refresh", "true")
	}
	return render(c, http.StatusOK, views.PayStatus(pp))
}

// payQR serves the QR code of the payment instructions as a PNG.
func (s *Server) payQR(c echo.Context) error {
	inv, err := s.svc.Store.InvoiceByToken(c.Request().Context(), c.Param("token"))
	if err != nil {
		return err
	}
	in := inv.Instructions.Instructions
	if in == nil || in.QR == "" {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	png, err := qrcode.Encode(in.QR, qrcode.Medium, 440)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "private, max-age=300")
	c.Response().Header().Set("X-Robots-Tag", "noindex")
	return c.Blob(http.StatusOK, "image/png", png)
}

// payPush asks the provider to send a payment prompt to the payer's phone.
func (s *Server) payPush(c echo.Context) error {
	pp, err := s.payerPage(c)
	if err != nil {
		return err
	}
	phone := models.NormalizePhone(c.FormValue("phone"))
	if !models.ValidE164(phone) {
		pp.PushError = "Enter the phone in international form, e.g. +250788123456."
		return render(c, http.StatusUnprocessableEntity, views.PayPage(pp))
	}
	if err := s.svc.Push(c.Request().Context(), pp.Invoice, phone, c.FormValue("network")); err != nil {
		pp.PushError = models.ErrorMessage(err)
		return render(c, http.StatusBadGateway, views.PayPage(pp))
	}
	// The push changed the invoice (e.g. the sandbox link now leads to the
	// phone that got the prompt): show it as it is now, not as loaded above.
	if inv, err := s.svc.Store.InvoiceByToken(c.Request().Context(), c.Param("token")); err == nil {
		pp.Invoice = inv
	}
	pp.PushMessage = "Check your phone " + phone + " and approve the payment there."
	return render(c, http.StatusOK, views.PayPage(pp))
}

// webhook receives provider callbacks. The delivery is verified and stored
// before it is acknowledged; it is applied in the background.
func (s *Server) webhook(c echo.Context) error {
	r := c.Request()
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		return echo.NewHTTPError(http.StatusMethodNotAllowed)
	}
	body, err := readBody(r, 256<<10)
	if err != nil {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "callback too large")
	}
	err = s.svc.ReceiveCallback(r.Context(), models.ProviderName(c.Param("provider")), c.Param("key"), r.Method, r.Header.Clone(), body)
	switch models.ErrorCode(err) {
	case "":
		return c.JSON(http.StatusOK, map[string]string{"status": "received"})
	case models.ENOTFOUND:
		return echo.NewHTTPError(http.StatusNotFound, "unknown callback endpoint")
	case models.EUNAUTHORIZED:
		s.log.Warn("callback rejected", "provider", c.Param("provider"), "err", err)
		return echo.NewHTTPError(http.StatusUnauthorized, "invalid signature")
	case models.EINVALID:
		return echo.NewHTTPError(http.StatusBadRequest, strings.TrimSpace(models.ErrorMessage(err)))
	}
	return err
}
