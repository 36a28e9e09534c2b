package bot

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// The WeCom sample's credentials (see WECOM.md): any valid pair would do.
const (
	fuzzToken  = "QDG6eK"
	fuzzAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
)

func fuzzCrypto(f *testing.F) *Crypto {
	c, err := NewCrypto(fuzzToken, fuzzAESKey, "")
	if err != nil {
		f.Fatal(err)
	}
	return c
}

// encryptRaw AES-CBC-encrypts plain (zero-filled to whole blocks) with the bot's key
// and IV, without any framing or padding: the fuzzer then controls every byte that
// Decrypt sees after decryption (the random prefix, the length field, the padding).
func encryptRaw(c *Crypto, plain []byte) string {
	buf := append([]byte(nil), plain...)
	if len(buf)%aes.BlockSize != 0 || len(buf) == 0 {
		buf = append(buf, make([]byte, aes.BlockSize-len(buf)%aes.BlockSize)...)
	}
	block, _ := aes.NewCipher(c.aesKey)
	cipher.NewCBCEncrypter(block, c.aesKey[:16]).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf)
}

// FuzzDecrypt feeds Decrypt every possible decrypted payload: it must never panic, and
// whatever it accepts must lie inside the payload and survive a round trip.
func FuzzDecrypt(f *testing.F) {
	c := fuzzCrypto(f)
	framed := func(msg, receiveID string, pad int) []byte {
		p := append(make([]byte, 16), 0, 0, 0, 0)
		binary.BigEndian.PutUint32(p[16:], uint32(len(msg)))
		p = append(append(p, msg...), receiveID...)
		return append(p, bytes.Repeat([]byte{byte(pad)}, pad)...)
	}
	f.Add(framed(`{"msgid":"1","msgtype":"text","text":{"content":"进度"}}`, "", 4))
	f.Add(framed("1616140317555161061", "wx5823bf96d3bd56c7", 9))
	f.Add(framed("", "", 12))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, plain []byte) {
		enc := encryptRaw(c, plain)
		msg, receiveID, err := c.Decrypt(enc)
		if err != nil {
			return
		}
		if len(msg)+len(receiveID)+20 > len(plain)+aes.BlockSize {
			t.Fatalf("accepted %d+%d bytes from a %d-byte payload", len(msg), len(receiveID), len(plain))
		}
		again, err := c.Encrypt(msg)
		if err != nil {
			t.Fatal(err)
		}
		back, _, err := c.Decrypt(again)
		if err != nil || !bytes.Equal(back, msg) {
			t.Fatalf("round trip of %q: %q, %v", msg, back, err)
		}
	})
}

// FuzzDecryptBase64 feeds Decrypt arbitrary strings as the callback's "encrypt" field.
func FuzzDecryptBase64(f *testing.F) {
	c := fuzzCrypto(f)
	sealed, _ := c.Encrypt([]byte(`{"msgid":"1"}`))
	for _, s := range []string{sealed, "", "====", "bm90IGEgcmVhbCBjaXBoZXJ0ZXh0", sealed[:len(sealed)-4]} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _, _ = c.Decrypt(s)
	})
}

// FuzzCallback signs and encrypts any plaintext the way WeCom would and posts it to the
// URL callback: the answer is 200 with a reply that opens, or a 4xx; never a 5xx.
func FuzzCallback(f *testing.F) {
	c := fuzzCrypto(f)
	for _, s := range []string{
		`{"msgid":"m1","aibotid":"b","chatid":"c","chattype":"group","from":{"userid":"u"},"msgtype":"text","text":{"content":"@换届助手 进度"}}`,
		`{"msgid":"m2","chattype":"single","from":{"userid":""},"msgtype":"image","image":{"url":"http://127.0.0.1:1/x"}}`,
		`{"msgid":"m3","msgtype":"mixed","mixed":{"msg_item":[{"msgtype":"text","text":{"content":"a"}},{"msgtype":"image"}]}}`,
		`{"msgid":"m4","msgtype":"event","event":{"eventtype":"enter_chat"}}`,
		`{"msgid":"m5","msgtype":"stream","stream":{"id":"s"}}`,
		`{"msgtype":"text","text":null}`,
		`[]`, `null`, `{`, "\x00\xff",
	} {
		f.Add([]byte(s))
	}
	h := HandlerFunc(func(_ context.Context, m Message) Reply {
		return Reply{Markdown: "收到：" + m.PlainText()}
	})
	cb := NewCallback(c, h, nil, slog.New(slog.DiscardHandler))
	cb.Now = func() time.Time { return time.Unix(1409659589, 0) } // the fixed timestamp is fresh
	f.Fuzz(func(t *testing.T, plain []byte) {
		enc, err := c.Encrypt(plain)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(map[string]string{"encrypt": enc})
		q := url.Values{"timestamp": {"1409659589"}, "nonce": {"263014780"}}
		q.Set("msg_signature", c.Sign("1409659589", "263014780", enc))
		req := httptest.NewRequest(http.MethodPost, CallbackPath+"?"+q.Encode(), bytes.NewReader(body))
		w := httptest.NewRecorder()
		cb.ServeHTTP(w, req)
		switch {
		case w.Code >= 500:
			t.Fatalf("HTTP %d for %q", w.Code, plain)
		case w.Code == 200 && w.Body.Len() > 0:
			if _, err := c.OpenReply(q, w.Body.Bytes()); err != nil {
				t.Fatalf("a reply that does not open (%v) for %q", err, plain)
			}
		}
	})
}
