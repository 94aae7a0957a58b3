// Package web is the checkout: plain HTML, CSS and JavaScript pages embedded into the
// binary, so the API serves them with no build step and the dev stack needs no internet.
//
// The pages are the shop (/), the success page the payment window returns to (/success),
// the fail page (/fail) and an order's status (/orders/:orderId). Every call they make to
// the API goes through one function in assets/app.js.
package web

import (
	"embed"
	"io/fs"
)

//go:embed *.html assets
var files embed.FS

// The pages, by file name in FS.
const (
	ShopPage    = "index.html"
	SuccessPage = "success.html"
	FailPage    = "fail.html"
	OrderPage   = "order.html"
)

// FS holds the pages at its root and their scripts and styles under assets/.
func FS() fs.FS { return files }

// Assets holds the scripts and styles, the tree served under /assets/.
func Assets() fs.FS {
	sub, err := fs.Sub(files, "assets")
	if err != nil {
		panic(err) // assets/ is embedded above; this cannot happen
	}
	return sub
}
