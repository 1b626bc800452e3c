package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts a Standard Webhooks secret; the base64 key follows it.
const SecretPrefix = "whsec_"

// Secret length bounds from the Standard Webhooks specification.
const (
	minSecretLen = 24
	maxSecretLen = 64
)

// ParseSecret decodes a whsec_ secret into its key. Its errors never quote the secret.
func ParseSecret(secret string) ([]byte, error) {
	enc, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, errors.New("want a secret starting with whsec_, e.g. whsec_ followed by the output of `openssl rand -base64 32`")
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, errors.New("the part after whsec_ is not base64")
	}
	if len(key) < minSecretLen || len(key) > maxSecretLen {
		return nil, fmt.Errorf("the key is %d bytes; want %d to %d (`openssl rand -base64 32` gives 32)", len(key), minSecretLen, maxSecretLen)
	}
	return key, nil
}

// Sign returns the webhook-signature value of body sent as message id at ts:
// "v1," followed by the base64 HMAC-SHA256 of "{id}.{unix seconds}.{body}".
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	key, err := ParseSecret(secret)
	if err != nil {
		return "", err
	}
	return sign(key, id, strconv.FormatInt(ts.Unix(), 10), body), nil
}

func sign(key []byte, id, ts string, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Verification errors.
var (
	ErrMissingHeaders = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature")
	ErrTimestamp      = errors.New("webhook: timestamp outside the tolerance")
	ErrSignature      = errors.New("webhook: no matching signature")
)

// DefaultTolerance is how far a webhook-timestamp may be from the receiver's clock.
const DefaultTolerance = 5 * time.Minute

// Verify checks a received webhook against secret, as a receiver should: the timestamp
// within tolerance of now (which blocks replays) and one of the space-separated v1
// signatures matching, compared in constant time.
func Verify(secret string, h http.Header, body []byte, tolerance time.Duration, now time.Time) error {
	key, err := ParseSecret(secret)
	if err != nil {
		return err
	}
	id, ts, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || ts == "" || sigs == "" {
		return ErrMissingHeaders
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrTimestamp
	}
	if d := now.Sub(time.Unix(secs, 0)); d > tolerance || d < -tolerance {
		return ErrTimestamp
	}
	want := []byte(sign(key, id, ts, body))
	for _, sig := range strings.Fields(sigs) {
		if hmac.Equal([]byte(sig), want) {
			return nil
		}
	}
	return ErrSignature
}
