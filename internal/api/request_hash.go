package api

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// requestHashInfo names the key RequestHashKey derives; a new version of
// the canonical form gets a new name, so old and new hashes never match.
const requestHashInfo = "reserver request hash v1"

// RequestHashKey derives the key of the idempotency request hash from the
// secret key that seals site passwords (RESERVER_SECRET_KEY), with HKDF, so
// that every API instance computes the same hash and the sealing key itself
// is used for nothing else.
func RequestHashKey(secretKey []byte) ([]byte, error) {
	return hkdf.Key(sha256.New, secretKey, nil, requestHashInfo, 32)
}

// requestHash is what bookings.request_hash stores to recognise a replayed
// Idempotency-Key: HMAC-SHA-256 under key of the canonical request without
// account.password, in hex. The password is left out so that a copy of the
// database offers nothing to guess it against, and keyed so that the other
// fields (a phone number, a name) cannot be confirmed by guessing either.
// body must be a JSON object (decodeBooking accepted it).
func requestHash(key, body []byte) (string, error) {
	canon, err := canonicalRequest(body)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(canon)
	return hex.EncodeToString(mac.Sum(nil)), nil
}

// canonicalRequest re-encodes a booking request without account.password,
// with object keys sorted and no insignificant whitespace, so that a
// replay that only reformats the JSON (or changes the password) is the same
// request. Numbers keep their literal text.
func canonicalRequest(body []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var req map[string]any
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("canonical request: %w", err)
	}
	if acct, ok := req["account"].(map[string]any); ok {
		delete(acct, "password")
	}
	// encoding/json writes map keys sorted; SetEscapeHTML keeps the bytes
	// of the values as they were sent.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(req); err != nil {
		return nil, fmt.Errorf("canonical request: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
