package handlers

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"ankara/models"
	"ankara/views"
)

var timeZones = []string{
	"UTC", "Africa/Kampala", "Africa/Kigali", "Africa/Lagos", "Africa/Accra", "Africa/Lusaka", "Africa/Douala",
	"Africa/Abidjan", "Africa/Porto-Novo", "Africa/Brazzaville", "Africa/Johannesburg", "Africa/Nairobi",
	"Europe/Copenhagen", "Europe/Helsinki", "Europe/London", "Europe/Paris",
}

func (s *Server) signupForm(c echo.Context) error {
	if currentUser(c) != nil {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	return render(c, http.StatusOK, views.SignupPage(s.page(c, "Sign up", ""), views.AuthForm{TimeZone: "Africa/Kampala"}, timeZones))
}

func (s *Server) signup(c echo.Context) error {
	f := views.AuthForm{BusinessName: c.FormValue("business_name"), Email: c.FormValue("email"), TimeZone: c.FormValue("time_zone")}
	u, err := s.svc.Signup(c.Request().Context(), models.SignupInput{
		BusinessName: f.BusinessName, Email: f.Email, Password: c.FormValue("password"), TimeZone: f.TimeZone,
	})
	if err != nil {
		code := models.ErrorCode(err)
		if code != models.EINVALID && code != models.ECONFLICT {
			return err
		}
		f.Errors, f.Message = models.ErrorFields(err), models.ErrorMessage(err)
		return render(c, statusFor[code], views.SignupPage(s.page(c, "Sign up", ""), f, timeZones))
	}
	if err := s.startSession(c, u); err != nil {
		return err
	}
	s.setFlash(c, "Welcome to Ankara. Sandbox accounts for every provider are ready: create your first invoice.")
	return c.Redirect(http.StatusSeeOther, "/")
}

func (s *Server) loginForm(c echo.Context) error {
	if currentUser(c) != nil {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	return render(c, http.StatusOK, views.LoginPage(s.page(c, "Log in", ""), views.AuthForm{Next: safeNext(c.QueryParam("next"))}))
}

func (s *Server) login(c echo.Context) error {
	f := views.AuthForm{Email: c.FormValue("email"), Next: safeNext(c.QueryParam("next"))}
	u, err := s.svc.Login(c.Request().Context(), f.Email, c.FormValue("password"), c.RealIP())
	if err != nil {
		code := models.ErrorCode(err)
		if code != models.EUNAUTHORIZED && code != models.ETHROTTLED {
			return err
		}
		f.Message = models.ErrorMessage(err)
		// Slow down guessing a little more than the hash already does.
		time.Sleep(200 * time.Millisecond)
		return render(c, statusFor[code], views.LoginPage(s.page(c, "Log in", ""), f))
	}
	if err := s.startSession(c, u); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
}

func (s *Server) logout(c echo.Context) error {
	sess := s.session(c)
	s.clearSession(sess)
	sess.Values[keyFlash] = "You are logged out."
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/login")
}
