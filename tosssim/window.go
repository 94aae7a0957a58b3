package tosssim

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The payment window: a plain HTML form (no JavaScript, nothing fetched from the internet)
// that stands in for Toss's. Paying authorizes the payment and redirects to successUrl with
// paymentType, orderId, paymentKey and amount; cancelling redirects to failUrl with
// code=PAY_PROCESS_CANCELED. A refused authorization (a used orderId, say) redirects to
// failUrl with code=PAY_PROCESS_ABORTED and Toss's message. 결제하기 comes first in the
// markup so that Enter pays, and the form's action is relative so that the simulator can be
// mounted under a path prefix.

type windowParams struct {
	OrderID, OrderName, Amount, SuccessURL, FailURL string
}

func windowParamsOf(get func(string) string) windowParams {
	return windowParams{
		OrderID:    get("orderId"),
		OrderName:  get("orderName"),
		Amount:     get("amount"),
		SuccessURL: get("successUrl"),
		FailURL:    get("failUrl"),
	}
}

// check validates what the window needs before it can show anything. Redirect targets must
// be absolute http(s) URLs: the window never sends a browser to javascript:, data: or a
// relative path.
func (p windowParams) check() string {
	switch {
	case !redirectable(p.SuccessURL):
		return "successUrl은 http(s) 주소여야 합니다."
	case !redirectable(p.FailURL):
		return "failUrl은 http(s) 주소여야 합니다."
	case !orderIDPattern.MatchString(p.OrderID):
		return "orderId는 영문 대소문자, 숫자, -, _, = 로 이루어진 6자 이상 64자 이하의 문자열이어야 합니다."
	case p.OrderName == "" || len([]rune(p.OrderName)) > 100:
		return "orderName은 1자 이상 100자 이하여야 합니다."
	}
	if n, err := parseWon(json.RawMessage(strconv.Quote(p.Amount))); err != nil || n <= 0 {
		return "amount는 양의 정수여야 합니다."
	}
	return ""
}

func redirectable(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// withQuery adds params to target's query, keeping the ones it has.
func withQuery(target string, params url.Values) string {
	u, _ := url.Parse(target)
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func (s *Simulator) handleWindow(w http.ResponseWriter, r *http.Request) {
	p := windowParamsOf(r.URL.Query().Get)
	if msg := p.check(); msg != "" {
		s.countWindow("400")
		windowError(w, msg)
		return
	}
	amount, _ := parseWon(json.RawMessage(strconv.Quote(p.Amount)))
	s.countWindow("200")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = windowPage.Execute(w, struct {
		windowParams
		AmountText string
	}{p, formatWon(amount)})
}

func (s *Simulator) handleWindowSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		s.countWindow("400")
		windowError(w, "잘못된 요청입니다.")
		return
	}
	p := windowParamsOf(r.PostForm.Get)
	if msg := p.check(); msg != "" {
		s.countWindow("400")
		windowError(w, msg)
		return
	}
	if r.PostForm.Get("action") != "pay" {
		s.countWindow("302 PAY_PROCESS_CANCELED")
		http.Redirect(w, r, withQuery(p.FailURL, url.Values{
			"code":    {"PAY_PROCESS_CANCELED"},
			"message": {"사용자에 의해 결제가 취소되었습니다."},
			"orderId": {p.OrderID},
		}), http.StatusFound)
		return
	}
	out, refusal := s.authorize(authorizeInput{
		OrderID:    p.OrderID,
		OrderName:  p.OrderName,
		Amount:     json.RawMessage(strconv.Quote(p.Amount)),
		CardNumber: r.PostForm.Get("cardNumber"),
	}, baseURLOf(r), langKO)
	if refusal != nil {
		var body struct{ Code, Message string }
		_ = json.Unmarshal(refusal.body, &body)
		s.countWindow("302 PAY_PROCESS_ABORTED")
		http.Redirect(w, r, withQuery(p.FailURL, url.Values{
			"code":    {"PAY_PROCESS_ABORTED"},
			"message": {body.Message},
			"orderId": {p.OrderID},
		}), http.StatusFound)
		return
	}
	s.countWindow("302")
	http.Redirect(w, r, withQuery(p.SuccessURL, url.Values{
		"paymentType": {"NORMAL"},
		"orderId":     {out.OrderID},
		"paymentKey":  {out.PaymentKey},
		"amount":      {strconv.FormatInt(out.Amount, 10)},
	}), http.StatusFound)
}

func (s *Simulator) countWindow(outcome string) {
	s.begin(EndpointWindow)
	s.end(EndpointWindow, outcome)
}

func windowError(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	_ = errorPage.Execute(w, msg)
}

// formatWon writes 12000 as "12,000원".
func formatWon(n int64) string {
	digits := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String() + "원"
}

const pageStyle = `
body{margin:0;font-family:-apple-system,"Apple SD Gothic Neo","Malgun Gothic",sans-serif;background:#f2f4f6;color:#191f28}
.box{max-width:420px;margin:48px auto;background:#fff;border-radius:16px;padding:28px;box-shadow:0 2px 12px rgba(0,0,0,.08)}
.brand{color:#3182f6;font-weight:700;font-size:15px;margin-bottom:20px}
.sim{float:right;font-size:12px;color:#8b95a1;font-weight:400}
h1{font-size:20px;margin:0 0 4px}
.amount{font-size:28px;font-weight:700;margin:8px 0 24px}
label{display:block;font-size:14px;color:#4e5968;margin-bottom:6px}
input[type=text]{width:100%;box-sizing:border-box;padding:12px;border:1px solid #d1d6db;border-radius:8px;font-size:16px}
.hint{font-size:12px;color:#8b95a1;margin:6px 0 24px}
.buttons{display:flex;flex-direction:row-reverse;gap:8px}
button{flex:1;padding:14px;border:0;border-radius:8px;font-size:16px;font-weight:600;cursor:pointer}
.pay{background:#3182f6;color:#fff}.cancel{background:#e8f3ff;color:#1b64da}
dl{font-size:14px}dt{color:#8b95a1}dd{margin:0 0 10px}
`

var windowPage = template.Must(template.New("window").Parse(`<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>토스페이먼츠 결제 (시뮬레이터)</title><style>` + pageStyle + `</style></head>
<body><div class="box">
<div class="brand">토스페이먼츠 <span class="sim">오프라인 시뮬레이터</span></div>
<h1>{{.OrderName}}</h1>
<div class="amount">{{.AmountText}}</div>
<form method="post" action="window">
<input type="hidden" name="orderId" value="{{.OrderID}}">
<input type="hidden" name="orderName" value="{{.OrderName}}">
<input type="hidden" name="amount" value="{{.Amount}}">
<input type="hidden" name="successUrl" value="{{.SuccessURL}}">
<input type="hidden" name="failUrl" value="{{.FailURL}}">
<label for="cardNumber">카드 번호</label>
<input type="text" id="cardNumber" name="cardNumber" inputmode="numeric" autocomplete="off" placeholder="1234 5678 9012 3456">
<p class="hint">아무 번호나 입력해도 됩니다. 9999로 끝나는 번호는 승인 단계에서 거절됩니다.</p>
<div class="buttons">
<button class="pay" type="submit" name="action" value="pay">결제하기</button>
<button class="cancel" type="submit" name="action" value="cancel">취소</button>
</div>
</form>
<p class="hint">주문번호 {{.OrderID}}</p>
</div></body></html>
`))

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>결제 요청 오류</title><style>` + pageStyle + `</style></head>
<body><div class="box"><div class="brand">토스페이먼츠 <span class="sim">오프라인 시뮬레이터</span></div>
<h1>결제를 진행할 수 없습니다</h1><p>{{.}}</p></div></body></html>
`))

var receiptPage = template.Must(template.New("receipt").Parse(`<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>카드 매출전표</title><style>` + pageStyle + `</style></head>
<body><div class="box"><div class="brand">토스페이먼츠 <span class="sim">오프라인 시뮬레이터</span></div>
<h1>카드 매출전표</h1>
<dl><dt>주문명</dt><dd>{{.OrderName}}</dd><dt>주문번호</dt><dd>{{.OrderID}}</dd>
<dt>결제 금액</dt><dd>{{.TotalAmount}}원</dd><dt>취소 후 잔액</dt><dd>{{.BalanceAmount}}원</dd>
<dt>상태</dt><dd>{{.Status}}</dd>{{with .Card}}<dt>카드 번호</dt><dd>{{.Number}}</dd><dt>승인 번호</dt><dd>{{.ApproveNo}}</dd>{{end}}
<dt>승인 일시</dt><dd>{{.ApprovedAt}}</dd></dl></div></body></html>
`))
