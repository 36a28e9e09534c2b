package bot

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Media that a person sends the bot in a 1:1 chat (images, files) is not in the callback:
// the callback carries a URL to a file encrypted with AES-256-CBC, IV = key[:16], PKCS#7
// padding to a multiple of 32 bytes. The key is the message's own aeskey (base64, long
// connection) when it has one, else the bot's EncodingAESKey (URL callback).

// mediaPadBlock is the block size WeCom pads media (and messages) to.
const mediaPadBlock = 32

// MediaError means media bytes or a media key cannot be used: the wrong key, a truncated
// or garbled download, a malformed aeskey.
type MediaError struct {
	Reason string
}

func (e *MediaError) Error() string { return "wecom: media: " + e.Reason }

func mediaErr(format string, a ...any) error { return &MediaError{Reason: fmt.Sprintf(format, a...)} }

// ErrMediaTooLarge is returned by MediaFetcher.Fetch when the body exceeds MaxBytes.
var ErrMediaTooLarge = errors.New("wecom: media is larger than allowed")

func mediaCipher(key []byte) (cipher.Block, error) {
	if len(key) != 32 {
		return nil, mediaErr("key is %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, mediaErr("%v", err)
	}
	return block, nil
}

// DecryptMedia decrypts a downloaded media file: AES-256-CBC with IV key[:16], then
// strips the PKCS#7 padding (1 to 32 bytes). Bad input gives a *MediaError.
func DecryptMedia(key, data []byte) ([]byte, error) {
	block, err := mediaCipher(key)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, mediaErr("empty data")
	}
	if len(data)%aes.BlockSize != 0 {
		return nil, mediaErr("%d bytes is not a multiple of the AES block size (truncated download?)", len(data))
	}
	plain := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, key[:aes.BlockSize]).CryptBlocks(plain, data)
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > mediaPadBlock || pad > len(plain) ||
		!bytes.Equal(plain[len(plain)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, mediaErr("bad padding (wrong key or garbled data)")
	}
	return plain[:len(plain)-pad], nil
}

// EncryptMedia is the inverse of DecryptMedia: PKCS#7 padding to a multiple of 32 bytes,
// AES-256-CBC with IV key[:16]. The local stand-in and tests use it.
func EncryptMedia(key, plain []byte) ([]byte, error) {
	block, err := mediaCipher(key)
	if err != nil {
		return nil, err
	}
	pad := mediaPadBlock - len(plain)%mediaPadBlock
	buf := make([]byte, len(plain)+pad)
	copy(buf, plain)
	for i := len(plain); i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, key[:aes.BlockSize]).CryptBlocks(buf, buf)
	return buf, nil
}

// MediaKey returns (a copy of) the 32-byte AES key decoded from the EncodingAESKey: the
// key of media received through the URL callback.
func (c *Crypto) MediaKey() []byte { return bytes.Clone(c.aesKey) }

// MediaKeyFor returns the key of img: its aeskey (base64, padded or not) when set, else
// fallback (the bot's MediaKey). Either must be 32 bytes, else a *MediaError.
func MediaKeyFor(img Image, fallback []byte) ([]byte, error) {
	s := strings.TrimSpace(img.AESKey)
	if s == "" {
		if len(fallback) != 32 {
			return nil, mediaErr("no aeskey on the image and the fallback key is %d bytes, want 32", len(fallback))
		}
		return bytes.Clone(fallback), nil
	}
	raw := strings.TrimRight(s, "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(raw); err == nil {
			if len(key) != 32 {
				return nil, mediaErr("aeskey decodes to %d bytes, want 32", len(key))
			}
			return key, nil
		}
	}
	return nil, mediaErr("aeskey is not base64")
}

// MediaFetcher downloads and decrypts media files. The zero value is usable.
type MediaFetcher struct {
	HTTP     *http.Client // default: a client with a 30 s timeout
	MaxBytes int64        // largest encrypted body accepted; default 10 MiB
	Retries  int          // retries after the first try on network errors and 5xx; 0: 3, < 0: none
	// Backoff is the pause before the first retry, doubled each time; default 200 ms.
	Backoff time.Duration
}

var defaultMediaClient = &http.Client{Timeout: 30 * time.Second}

func (f *MediaFetcher) client() *http.Client {
	if f != nil && f.HTTP != nil {
		return f.HTTP
	}
	return defaultMediaClient
}

func (f *MediaFetcher) maxBytes() int64 {
	if f != nil && f.MaxBytes > 0 {
		return f.MaxBytes
	}
	return 10 << 20
}

func (f *MediaFetcher) retries() int {
	switch {
	case f == nil || f.Retries == 0:
		return 3
	case f.Retries < 0:
		return 0
	}
	return f.Retries
}

func (f *MediaFetcher) backoff() time.Duration {
	if f != nil && f.Backoff > 0 {
		return f.Backoff
	}
	return 200 * time.Millisecond
}

// retryable marks a failure worth trying again.
type retryable struct{ err error }

func (r retryable) Error() string { return r.err.Error() }
func (r retryable) Unwrap() error { return r.err }

// Fetch GETs rawURL (http or https only), retrying network errors and 5xx answers with
// exponential backoff (200 ms · 2^n), refuses a body over MaxBytes (ErrMediaTooLarge) and
// decrypts it with key (a *MediaError if that fails).
func (f *MediaFetcher) Fetch(ctx context.Context, rawURL string, key []byte) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("wecom: media url %q: only http and https URLs are fetched", rawURL)
	}
	if len(key) != 32 {
		return nil, mediaErr("key is %d bytes, want 32", len(key))
	}
	var body []byte
	for attempt := 0; ; attempt++ {
		body, err = f.get(ctx, u.String())
		var r retryable
		if err == nil || !errors.As(err, &r) || attempt >= f.retries() || ctx.Err() != nil {
			break
		}
		t := time.NewTimer(f.backoff() << attempt)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("wecom: fetch media: %w (after: %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
	if err != nil {
		var r retryable
		if errors.As(err, &r) {
			err = r.err
		}
		return nil, fmt.Errorf("wecom: fetch media: %w", err)
	}
	return DecryptMedia(key, body)
}

// get does one attempt.
func (f *MediaFetcher) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.client().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, retryable{err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		err := fmt.Errorf("HTTP %d", resp.StatusCode)
		if resp.StatusCode >= 500 {
			return nil, retryable{err}
		}
		return nil, err
	}
	max := f.maxBytes()
	if resp.ContentLength > max {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrMediaTooLarge, resp.ContentLength, max)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, retryable{err} // the connection broke mid-body
	}
	if int64(len(body)) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrMediaTooLarge, max)
	}
	return body, nil
}
