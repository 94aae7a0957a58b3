package tosssim

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// codeInfo is how the simulator answers one Toss error code: the HTTP status from the
// documented table and the message in Korean (default) and English (Accept-Language: en-US).
type codeInfo struct {
	status int
	ko, en string
}

// codes is the documented error table. A code used with TossPayments-Test-Code or a fault
// rule that is not listed here answers 400 (or the rule's status) with a generic message.
var codes = map[string]codeInfo{
	// 400
	"ALREADY_PROCESSED_PAYMENT":     {400, "이미 처리된 결제 입니다.", "This payment has already been processed."},
	"PROVIDER_ERROR":                {400, "일시적인 오류가 발생했습니다. 잠시 후 다시 시도해주세요.", "A temporary error occurred. Please try again shortly."},
	"INVALID_REQUEST":               {400, "잘못된 요청입니다.", "The request is invalid."},
	"INVALID_API_KEY":               {400, "잘못된 시크릿키 연동 정보 입니다.", "The secret key is invalid."},
	"EXCEED_MAX_AMOUNT":             {400, "거래금액 한도를 초과했습니다.", "The amount exceeds the transaction limit."},
	"BELOW_MINIMUM_AMOUNT":          {400, "결제 금액이 최소 결제 금액보다 작습니다.", "The amount is below the minimum payment amount."},
	"UNAPPROVED_ORDER_ID":           {400, "아직 승인되지 않은 주문번호입니다.", "This order ID has not been approved yet."},
	"INVALID_CARD_NUMBER":           {400, "카드번호를 다시 확인해주세요.", "Please check the card number."},
	"INVALID_CARD_EXPIRATION":       {400, "카드 정보를 다시 확인해주세요. (유효기간)", "Please check the card's expiration date."},
	"INVALID_STOPPED_CARD":          {400, "정지된 카드 입니다.", "This card has been suspended."},
	"INVALID_REJECT_CARD":           {400, "카드 사용이 거절되었습니다. 카드사 문의가 필요합니다.", "The card was declined. Please contact the card company."},
	"INVALID_CARD_LOST_OR_STOLEN":   {400, "분실 혹은 도난 카드입니다.", "This card was reported lost or stolen."},
	"DUPLICATED_ORDER_ID":           {400, "이미 승인 및 취소가 진행된 중복된 주문번호 입니다. 다른 주문번호로 진행해주세요.", "This order ID has already been used. Please use another order ID."},
	"ALREADY_CANCELED_PAYMENT":      {400, "이미 취소된 결제 입니다.", "This payment has already been canceled."},
	"NOT_MATCHES_REFUNDABLE_AMOUNT": {400, "잔액 결과가 일치하지 않습니다.", "The refundable amount does not match the balance."},
	"REFUND_REJECTED":               {400, "환불이 거절되었습니다. 결제사에 문의 부탁드립니다.", "The refund was rejected. Please contact the payment provider."},
	"ALREADY_REFUND_PAYMENT":        {400, "이미 환불된 결제입니다.", "This payment has already been refunded."},
	"INVALID_IDEMPOTENCY_KEY":       {400, "멱등키는 300자 이하로 입력해주세요.", "The idempotency key must be at most 300 characters."},
	// 401
	"UNAUTHORIZED_KEY": {401, "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.", "The secret key or client key is not authorized."},
	// 403
	"REJECT_CARD_PAYMENT":           {403, "한도초과 혹은 잔액부족으로 결제에 실패했습니다.", "The payment failed: limit exceeded or insufficient balance."},
	"REJECT_CARD_COMPANY":           {403, "결제 승인이 거절되었습니다.", "The card company declined the payment."},
	"FORBIDDEN_REQUEST":             {403, "허용되지 않은 요청입니다.", "This request is not allowed."},
	"INCORRECT_BASIC_AUTH_FORMAT":   {403, "잘못된 요청입니다. ':' 를 포함해 인코딩해주세요.", "Bad request: encode the key followed by ':'."},
	"FDS_ERROR":                     {403, "[토스페이먼츠] 위험거래가 감지되어 결제가 제한됩니다.", "The payment was blocked by fraud detection."},
	"FORBIDDEN_CONSECUTIVE_REQUEST": {403, "반복적인 요청은 허용되지 않습니다. 잠시 후 다시 시도해주세요.", "Repeated requests are not allowed. Please try again shortly."},
	"NOT_CANCELABLE_AMOUNT":         {403, "취소 할 수 없는 금액 입니다.", "This amount cannot be canceled."},
	"NOT_CANCELABLE_PAYMENT":        {403, "취소 할 수 없는 결제 입니다.", "This payment cannot be canceled."},
	"EXCEED_CANCEL_LIMIT":           {403, "취소 가능 한도를 초과했습니다.", "The cancel limit has been exceeded."},
	// 404
	"NOT_FOUND_PAYMENT":         {404, "존재하지 않는 결제 정보 입니다.", "The payment does not exist."},
	"NOT_FOUND_PAYMENT_SESSION": {404, "결제 시간이 만료되어 결제 진행 데이터가 존재하지 않습니다.", "The payment session has expired."},
	"NOT_FOUND":                 {404, "존재하지 않는 API 입니다.", "No such API."},
	// 409
	"IDEMPOTENT_REQUEST_PROCESSING": {409, "이전 멱등 요청이 처리 중입니다. 잠시 후 다시 시도해주세요.", "The previous request with this idempotency key is still being processed. Please try again shortly."},
	// 429
	"TOO_MANY_REQUESTS": {429, "요청량이 많아 처리할 수 없습니다. 잠시 후 다시 시도해주세요.", "Too many requests. Please try again shortly."},
	// 500
	"FAILED_INTERNAL_SYSTEM_PROCESSING":         {500, "내부 시스템 처리 작업이 실패했습니다. 잠시 후 다시 시도해주세요.", "Internal processing failed. Please try again shortly."},
	"FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING": {500, "결제가 완료되지 않았어요. 다시 시도해주세요.", "The payment was not completed. Please try again."},
	"UNKNOWN_PAYMENT_ERROR":                     {500, "결제에 실패했어요. 같은 문제가 반복된다면 은행이나 카드사로 문의해주세요.", "The payment failed. If this repeats, contact your bank or card company."},
	"FAILED_REFUND_PROCESS":                     {500, "은행 응답시간 지연이나 일시적인 오류로 환불요청에 실패했습니다.", "The refund failed because of a bank delay or a temporary error."},
	"COMMON_ERROR":                              {500, "일시적인 오류가 발생했습니다. 잠시 후 다시 시도해주세요.", "A temporary error occurred. Please try again shortly."},
	"UNKNOWN_ERROR":                             {500, "알 수 없는 에러가 발생했습니다. 잠시 후 다시 시도해주세요.", "An unknown error occurred. Please try again shortly."},
}

// statusOf is the documented status of code, or fallback when the code is not in the table.
func statusOf(code string, fallback int) int {
	if c, ok := codes[code]; ok {
		return c.status
	}
	return fallback
}

func messageOf(code, lang string) string {
	c, ok := codes[code]
	switch {
	case !ok && lang == langEN:
		return "Simulated error " + code + "."
	case !ok:
		return "시뮬레이터가 만든 오류입니다: " + code
	case lang == langEN:
		return c.en
	default:
		return c.ko
	}
}

// answer is one HTTP answer of the simulator, kept as bytes so an idempotent replay is the
// first answer byte for byte.
type answer struct {
	status int
	code   string // Toss error code; "" for a success
	body   []byte
}

// outcome is the stats key of an answer: "200" or "404 NOT_FOUND_PAYMENT".
func (a answer) outcome() string {
	s := strconv.Itoa(a.status)
	if a.code != "" {
		s += " " + a.code
	}
	return s
}

// fail builds an error answer. status 0 means the documented status of code.
func fail(lang, code string, status int, message string) answer {
	if status == 0 {
		status = statusOf(code, http.StatusBadRequest)
	}
	if message == "" {
		message = messageOf(code, lang)
	}
	body, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{code, message})
	return answer{status: status, code: code, body: body}
}

func ok(v any) answer {
	body, err := json.Marshal(v)
	if err != nil {
		// Only the simulator's own types reach here; a failure is a bug worth a loud 500.
		return fail(langKO, "FAILED_INTERNAL_SYSTEM_PROCESSING", 0, "encode answer: "+err.Error())
	}
	return answer{status: http.StatusOK, body: body}
}
