package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

var pages = []string{ShopPage, SuccessPage, FailPage, OrderPage}

func parse(t *testing.T, name string) *html.Node {
	t.Helper()
	b, err := fs.ReadFile(FS(), name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	doc, err := html.Parse(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return doc
}

func walk(n *html.Node, f func(*html.Node)) {
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func text(n *html.Node) string {
	var b strings.Builder
	walk(n, func(c *html.Node) {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	})
	return strings.TrimSpace(b.String())
}

// The dev stack has no internet: a page that needs a CDN or a web font breaks there.
func TestPages_KoreanAndSelfContained(t *testing.T) {
	for _, name := range pages {
		doc := parse(t, name)
		var lang, viewport, title bool
		walk(doc, func(n *html.Node) {
			if n.Type != html.ElementNode {
				return
			}
			switch n.Data {
			case "html":
				v, _ := attr(n, "lang")
				lang = v == "ko"
			case "meta":
				if v, _ := attr(n, "name"); v == "viewport" {
					viewport = true
				}
			case "title":
				title = text(n) != ""
			}
			for _, key := range []string{"src", "href"} {
				ref, ok := attr(n, key)
				if !ok || ref == "#main" {
					continue
				}
				if !strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "//") {
					t.Errorf("%s: <%s %s=%q> is not a path on this server", name, n.Data, key, ref)
					continue
				}
				if asset, ok := strings.CutPrefix(ref, "/assets/"); ok {
					if _, err := fs.Stat(Assets(), asset); err != nil {
						t.Errorf("%s: %s is not embedded", name, ref)
					}
				}
			}
		})
		if !lang || !viewport || !title {
			t.Errorf("%s: lang=ko %v, viewport %v, title %v", name, lang, viewport, title)
		}
	}
}

// Every control a shopper can reach has a name a screen reader can say.
func TestPages_ControlsAreLabelled(t *testing.T) {
	for _, name := range pages {
		doc := parse(t, name)
		labelled := map[string]bool{}
		walk(doc, func(n *html.Node) {
			if n.Type == html.ElementNode && n.Data == "label" {
				if id, ok := attr(n, "for"); ok {
					labelled[id] = true
				}
			}
		})
		walk(doc, func(n *html.Node) {
			if n.Type != html.ElementNode {
				return
			}
			_, aria := attr(n, "aria-label")
			switch n.Data {
			case "input", "select", "textarea":
				id, _ := attr(n, "id")
				if !aria && !labelled[id] {
					t.Errorf("%s: <%s id=%q> has no label", name, n.Data, id)
				}
			case "button", "a":
				if !aria && text(n) == "" {
					t.Errorf("%s: a <%s> has no text", name, n.Data)
				}
			}
		})
	}
}

// Authentication is added in one place: every request to the API goes through api() in
// app.js, so no other script may call fetch or XMLHttpRequest, and nothing but Toss's SDK
// is loaded from another host.
func TestScripts_OneDoorToTheAPI(t *testing.T) {
	external := regexp.MustCompile(`https?://[^\s'"` + "`" + `]+`)
	err := fs.WalkDir(Assets(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Assets(), path)
		if err != nil {
			return err
		}
		src := string(b)
		if path != "app.js" && (strings.Contains(src, "fetch(") || strings.Contains(src, "XMLHttpRequest")) {
			t.Errorf("%s calls the network itself; use paysaga.api", path)
		}
		for _, u := range external.FindAllString(src, -1) {
			if u != "https://js.tosspayments.com/v2/standard" {
				t.Errorf("%s refers to %s", path, u)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	app, _ := fs.ReadFile(Assets(), "app.js")
	if n := strings.Count(string(app), "fetch("); n != 2 {
		t.Errorf("app.js: want fetch only in token() and api(), found %d calls", n)
	}
}
