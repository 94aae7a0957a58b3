package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/paysaga/paysaga/internal/stacktest"
)

// userID is the shopper the checkout acts for.
func (c *checkout) userID() int64 {
	if c.user == 0 {
		return 1
	}
	return c.user
}

// as returns the same session signed in as another user.
func (c *checkout) as(userID int64) *checkout {
	return &checkout{t: c.t, stack: c.stack, user: userID}
}

// secondUser creates another shopper, for ownership tests.
func (c *checkout) secondUser() *checkout {
	c.t.Helper()
	u, err := c.stack.Store.CreateUser(context.Background(), "두번째 고객 "+c.t.Name())
	if err != nil {
		c.t.Fatalf("create user: %v", err)
	}
	return c.as(u.ID)
}

// bearer is the user's token from the dev stack's token endpoint, as the checkout page
// gets it.
func (c *checkout) bearer() string {
	c.t.Helper()
	if c.token != "" {
		return c.token
	}
	tok, status := devToken(c.stack.APIURL, fmt.Sprintf(`{"userId":%d}`, c.userID()))
	if status != http.StatusOK || tok == "" {
		c.t.Fatalf("dev token for user %d: status %d", c.userID(), status)
	}
	c.token = tok
	return tok
}

// devToken asks POST /api/v1/dev/token for a token.
func devToken(apiURL, body string) (string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := (&stacktest.Client{}).Send(ctx, http.MethodPost, apiURL+"/api/v1/dev/token", json.RawMessage(body), nil)
	if err != nil {
		return "", 0
	}
	var out struct {
		Token string `json:"token"`
	}
	_ = json.Unmarshal(a.Body, &out)
	return out.Token, a.Status
}

// e2eJWTSecret signs the tokens of the test stacks: the attack suite forges tokens with it
// (another algorithm, no expiry) and the secrets test looks for it in logs and histories.
const e2eJWTSecret = "e2e-jwt-secret-0123456789abcdef-0123"

var (
	bearersMu sync.Mutex
	bearers   = map[string]string{}
)

// devBearer is a token for userID from the dev stack at apiURL, cached per stack and user,
// for tests that call the API with their own HTTP helpers.
func devBearer(apiURL string, userID int64) (string, error) {
	key := fmt.Sprintf("%s|%d", apiURL, userID)
	bearersMu.Lock()
	defer bearersMu.Unlock()
	if tok, ok := bearers[key]; ok {
		return tok, nil
	}
	tok, status := devToken(apiURL, fmt.Sprintf(`{"userId":%d}`, userID))
	if status != http.StatusOK || tok == "" {
		return "", fmt.Errorf("dev token for user %d: status %d", userID, status)
	}
	bearers[key] = tok
	return tok, nil
}
