package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/paysaga/paysaga/web"
)

// Checkout modes: how the checkout page takes the shopper through the payment step. The
// server's flow after it (confirm, saga) is the same in every mode.
const (
	// checkoutSimulator sends the shopper to the simulator's payment window (dev stack).
	checkoutSimulator = "simulator"
	// checkoutToss renders Toss's payment widget with the configured client key.
	checkoutToss = "toss"
	// checkoutNone: no payment step is configured; the shop shows it cannot take payments.
	checkoutNone = "none"
)

// checkoutConfig is what the checkout page needs for the payment step. It holds nothing
// secret: the client key is public by design, the secret key never leaves the workers.
type checkoutConfig struct {
	Mode      string `json:"mode"`
	WindowURL string `json:"windowUrl,omitempty"`
	ClientKey string `json:"clientKey,omitempty"`
}

// routePages serves the checkout pages from the binary. Each page has an exact route and the
// scripts live under /assets/, so no route here can shadow /api/...: an unknown API path
// still answers the JSON 404.
func (s *Server) routePages() {
	e := s.echo
	e.GET("/", s.page(web.ShopPage))
	e.GET("/success", s.page(web.SuccessPage))
	e.GET("/fail", s.page(web.FailPage))
	e.GET("/orders/:orderId", s.page(web.OrderPage))
	e.GET("/assets/*", echo.StaticDirectoryHandler(web.Assets(), false), noCache)
	// Outside the /api/v1 group on purpose: the shop reads it before anyone is signed in.
	e.GET("/api/v1/checkout/config", s.checkoutConfig)
}

func (s *Server) page(name string) echo.HandlerFunc {
	serve := echo.StaticFileHandler(name, web.FS())
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Cache-Control", "no-cache")
		if name != web.ShopPage {
			// The success page's address holds the paymentKey, and the others may link out:
			// never send these addresses to another site. (The shop keeps the default
			// policy: Toss's SDK may look at where it is loaded from.)
			h.Set("Referrer-Policy", "no-referrer")
		}
		return serve(c)
	}
}

// noCache makes browsers revalidate the embedded assets, so a new binary's pages never run
// an old binary's scripts.
func noCache(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-cache")
		return next(c)
	}
}

func (s *Server) checkoutConfig(c echo.Context) error {
	cfg := checkoutConfig{Mode: checkoutNone}
	switch {
	case s.cfg.TossClientKey != "":
		cfg = checkoutConfig{Mode: checkoutToss, ClientKey: s.cfg.TossClientKey}
	case s.cfg.CheckoutWindowURL != "":
		cfg = checkoutConfig{Mode: checkoutSimulator, WindowURL: s.cfg.CheckoutWindowURL}
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, cfg)
}
