// Package toss is the typed client for the Toss Payments core API v1 and the only package in
// paysaga that speaks Toss's HTTP.
//
// The client does one HTTP exchange per call and never retries on its own: the caller (a
// Temporal activity) owns retries, so every retry is visible in the workflow's history and
// carries the same Idempotency-Key. For the same reason requests are built so that net/http's
// transport does not silently resend a POST on a broken keep-alive connection.
//
// Errors come in three kinds, and IsUnknownOutcome / IsRetryable tell them apart:
//   - *Error: Toss answered with an error body (or any non-2xx answer); HTTPStatus and Code
//     say what it was.
//   - ErrNotSent (and ErrInvalidArgument, which implies it): the request never left the
//     process — a bad argument or a context that was already done. Nothing can have happened.
//   - anything else: a transport failure, a timeout, or a 2xx answer that could not be decoded.
//     The money may have moved; resolve by retrying with the same Idempotency-Key or by reading
//     the payment, never by assuming failure.
//
// The secret key never appears in an error: it is sent only in the Authorization header, and
// any text Toss (or a proxy) echoes back is scrubbed of it before it reaches an error message.
package toss
