package handlers

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"ankara/models"
	"ankara/views"
)

func (s *Server) settingsData(c echo.Context) (views.Settings, error) {
	m := currentMerchant(c)
	accts, err := s.svc.Store.Accounts(c.Request().Context(), m.ID)
	if err != nil {
		return views.Settings{}, err
	}
	byName := map[models.ProviderName]models.ProviderAccount{}
	for _, a := range accts {
		byName[a.Provider] = a
	}
	st := views.Settings{Profile: views.ProfileForm{Name: m.Name, Address: m.Address, VATNumber: m.VATNumber, TimeZone: m.TimeZone, DefaultCurrency: m.DefaultCurrency}, TimeZones: timeZones}
	for _, name := range models.ProviderNames {
		p, ok := s.svc.Providers[name]
		if !ok {
			continue
		}
		row := views.ProviderRow{Info: p.Info()}
		if a, ok := byName[name]; ok {
			row.Configured, row.Environment, row.LastCheck = true, a.Environment, a.LastCheck
		}
		st.Providers = append(st.Providers, row)
	}
	return st, nil
}

func (s *Server) settings(c echo.Context) error {
	st, err := s.settingsData(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.SettingsPage(s.page(c, "Settings", "settings"), st))
}

func (s *Server) saveProfile(c echo.Context) error {
	m := *currentMerchant(c)
	f := views.ProfileForm{
		Name: strings.TrimSpace(c.FormValue("name")), Address: strings.TrimSpace(c.FormValue("address")),
		VATNumber: strings.TrimSpace(c.FormValue("vat_number")), TimeZone: c.FormValue("time_zone"),
		DefaultCurrency: c.FormValue("default_currency"), Errors: map[string]string{},
	}
	if f.Name == "" || len(f.Name) > 100 {
		f.Errors["name"] = "Enter your business name (at most 100 characters)."
	}
	if len(f.Address) > 300 {
		f.Errors["address"] = "Use at most 300 characters."
	}
	if len(f.VATNumber) > 40 {
		f.Errors["vat_number"] = "Use at most 40 characters."
	}
	if _, ok := models.LookupCurrency(f.DefaultCurrency); !ok {
		f.Errors["default_currency"] = "Choose a currency."
	}
	valid := false
	for _, z := range timeZones {
		valid = valid || z == f.TimeZone
	}
	if !valid {
		f.Errors["time_zone"] = "Choose a time zone."
	}
	if len(f.Errors) > 0 {
		st, err := s.settingsData(c)
		if err != nil {
			return err
		}
		st.Profile = f
		return render(c, http.StatusUnprocessableEntity, views.SettingsPage(s.page(c, "Settings", "settings"), st))
	}
	m.Name, m.Address, m.VATNumber, m.TimeZone, m.DefaultCurrency = f.Name, f.Address, f.VATNumber, f.TimeZone, f.DefaultCurrency
	if err := s.svc.Store.UpdateMerchant(c.Request().Context(), &m); err != nil {
		return err
	}
	s.setFlash(c, "Business profile saved.")
	return c.Redirect(http.StatusSeeOther, "/settings")
}

func (s *Server) providerForm(c echo.Context) (views.ProviderForm, error) {
	name := models.ProviderName(c.Param("provider"))
	p, err := s.svc.Providers.Get(name)
	if err != nil {
		return views.ProviderForm{}, err
	}
	f := views.ProviderForm{Info: p.Info(), Values: map[string]string{}, Errors: map[string]string{}, Environment: "sandbox"}
	_, f.CanConnect = p.(models.Connector)
	acct, pa, err := s.svc.MerchantAccount(c.Request().Context(), currentMerchant(c).ID, name)
	switch {
	case err == nil:
		f.Configured, f.Environment, f.BaseURL, f.LastCheck = true, pa.Environment, pa.BaseURL, pa.LastCheck
		f.CallbackURL = s.svc.CallbackURL(pa)
		for _, fs := range f.Info.Config {
			v := acct.Config[fs.Name]
			if fs.Secret {
				f.Values[fs.Name] = models.MaskSecret(v)
			} else {
				f.Values[fs.Name] = v
			}
		}
	case models.ErrorCode(err) != models.ENOTFOUND:
		return f, err
	}
	return f, nil
}

func (s *Server) providerSettings(c echo.Context) error {
	f, err := s.providerForm(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.ProviderSettingsPage(s.page(c, f.Info.DisplayName+" settings", "settings"), f))
}

func (s *Server) saveProviderSettings(c echo.Context) error {
	f, err := s.providerForm(c)
	if err != nil {
		return err
	}
	in := models.AccountInput{Environment: c.FormValue("environment"), BaseURL: c.FormValue("base_url"), Config: map[string]string{}}
	for _, fs := range f.Info.Config {
		in.Config[fs.Name] = c.FormValue("config." + fs.Name)
	}
	if _, err := s.svc.SaveAccount(c.Request().Context(), currentMerchant(c).ID, f.Info.Name, in); err != nil {
		if models.ErrorCode(err) != models.EINVALID {
			return err
		}
		f.Errors, f.Message = models.ErrorFields(err), models.ErrorMessage(err)
		f.Environment, f.BaseURL = in.Environment, in.BaseURL
		for _, fs := range f.Info.Config {
			if !fs.Secret {
				f.Values[fs.Name] = in.Config[fs.Name]
			}
		}
		return render(c, http.StatusUnprocessableEntity, views.ProviderSettingsPage(s.page(c, f.Info.DisplayName+" settings", "settings"), f))
	}
	s.setFlash(c, f.Info.DisplayName+" settings saved. Use “Test connection” to check them.")
	return c.Redirect(http.StatusSeeOther, "/settings/providers/"+string(f.Info.Name))
}

func (s *Server) testProvider(c echo.Context) error {
	name := models.ProviderName(c.Param("provider"))
	msg, err := s.svc.TestConnection(c.Request().Context(), currentMerchant(c).ID, name)
	if err != nil {
		code := models.ErrorCode(err)
		if code != models.EUNAVAILABLE && code != models.ENOTFOUND {
			return err
		}
		s.setFlash(c, models.ErrorMessage(err))
	} else {
		s.setFlash(c, "Connection works: "+msg)
	}
	return redirect(c, "/settings/providers/"+string(name))
}

// Keys of the connect flow's values in the session.
const (
	keyConnectState    = "connect_state"
	keyConnectNonce    = "connect_nonce"
	keyConnectVerifier = "connect_verifier"
)

func (s *Server) connectRedirectURL(name models.ProviderName) string {
	return strings.TrimRight(s.svc.BaseURL, "/") + "/settings/providers/" + string(name) + "/callback"
}

// connectProvider starts an OpenID Connect authorization (MobilePay).
func (s *Server) connectProvider(c echo.Context) error {
	name := models.ProviderName(c.Param("provider"))
	p, err := s.svc.Providers.Get(name)
	if err != nil {
		return err
	}
	conn, ok := p.(models.Connector)
	if !ok {
		return models.Errorf(models.ENOTFOUND, "%s has no connect flow.", p.Info().DisplayName)
	}
	acct, _, err := s.svc.MerchantAccount(c.Request().Context(), currentMerchant(c).ID, name)
	if err != nil {
		if models.ErrorCode(err) == models.ENOTFOUND {
			s.setFlash(c, "Save the client id and secret first, then connect.")
			return c.Redirect(http.StatusSeeOther, "/settings/providers/"+string(name))
		}
		return err
	}
	params := models.ConnectParams{RedirectURL: s.connectRedirectURL(name), State: models.NewToken(128), Nonce: models.NewToken(128), CodeVerifier: models.NewToken(256)}
	u, err := conn.AuthorizeURL(acct, params)
	if err != nil {
		s.setFlash(c, "Could not start the connection: "+err.Error())
		return c.Redirect(http.StatusSeeOther, "/settings/providers/"+string(name))
	}
	sess := s.session(c)
	sess.Values[keyConnectState], sess.Values[keyConnectNonce], sess.Values[keyConnectVerifier] = params.State, params.Nonce, params.CodeVerifier
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, u)
}

// connectCallback finishes the authorization: the provider's form_post or
// redirect carries the code and the state we sent.
func (s *Server) connectCallback(c echo.Context) error {
	name := models.ProviderName(c.Param("provider"))
	p, err := s.svc.Providers.Get(name)
	if err != nil {
		return err
	}
	conn, ok := p.(models.Connector)
	if !ok {
		return models.Errorf(models.ENOTFOUND, "%s has no connect flow.", p.Info().DisplayName)
	}
	back := "/settings/providers/" + string(name)
	sess := s.session(c)
	state, _ := sess.Values[keyConnectState].(string)
	nonce, _ := sess.Values[keyConnectNonce].(string)
	verifier, _ := sess.Values[keyConnectVerifier].(string)
	delete(sess.Values, keyConnectState)
	delete(sess.Values, keyConnectNonce)
	delete(sess.Values, keyConnectVerifier)
	if e := c.FormValue("error"); e != "" {
		s.setFlash(c, p.Info().DisplayName+" did not connect: "+e+" "+c.FormValue("error_description"))
		return c.Redirect(http.StatusSeeOther, back)
	}
	if state == "" || c.FormValue("state") != state {
		s.setFlash(c, "The connection attempt expired or did not come from this browser. Try again.")
		return c.Redirect(http.StatusSeeOther, back)
	}
	acct, _, err := s.svc.MerchantAccount(c.Request().Context(), currentMerchant(c).ID, name)
	if err != nil {
		return err
	}
	params := models.ConnectParams{RedirectURL: s.connectRedirectURL(name), State: state, Nonce: nonce, CodeVerifier: verifier}
	updates, err := conn.CompleteConnect(c.Request().Context(), acct, params, c.FormValue("code"))
	if err != nil {
		s.setFlash(c, "Could not finish connecting "+p.Info().DisplayName+": "+err.Error())
		return c.Redirect(http.StatusSeeOther, back)
	}
	if err := acct.Save(c.Request().Context(), updates); err != nil {
		return err
	}
	s.setFlash(c, p.Info().DisplayName+" is connected.")
	return c.Redirect(http.StatusSeeOther, back)
}

// connectFormPost re-sends a form_post authorization answer as a GET to the
// same URL, so that the browser brings the session cookie along.
func (s *Server) connectFormPost(c echo.Context) error {
	q := url.Values{}
	for _, k := range []string{"code", "state", "error", "error_description", "id_token", "scope"} {
		if v := c.FormValue(k); v != "" {
			q.Set(k, v)
		}
	}
	return c.Redirect(http.StatusSeeOther, "/settings/providers/"+url.PathEscape(c.Param("provider"))+"/callback?"+q.Encode())
}
