package bot

import (
	"bytes"
	"errors"
	"testing"
)

// WeCom's official sample (doc 91144): token QDG6eK, receiveid wx5823bf96d3bd56c7.
const (
	vectorToken = "QDG6eK"
	vectorKey   = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
)

func TestCryptoOfficialVector(t *testing.T) {
	c, err := NewCrypto(vectorToken, vectorKey, "wx5823bf96d3bd56c7")
	if err != nil {
		t.Fatal(err)
	}
	const (
		sig  = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
		ts   = "1409659589"
		nc   = "263014780"
		echo = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
	)
	if !c.Verify(sig, ts, nc, echo) {
		t.Fatalf("signature of the official vector does not verify: got %s", c.Sign(ts, nc, echo))
	}
	msg, recv, err := c.Decrypt(echo)
	if err != nil {
		t.Fatal(err)
	}
	if string(msg) != "1616140317555161061" || recv != "wx5823bf96d3bd56c7" {
		t.Fatalf("decrypted %q / %q", msg, recv)
	}
}

func TestCryptoRoundTripEmptyReceiveID(t *testing.T) {
	c, err := NewCrypto(vectorToken, vectorKey, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range [][]byte{[]byte(`{"msgid":"1","text":{"content":"@换届助手 进度"}}`), {}, bytes.Repeat([]byte("计"), 300)} {
		enc, err := c.Encrypt(msg)
		if err != nil {
			t.Fatal(err)
		}
		got, recv, err := c.Decrypt(enc)
		if err != nil || !bytes.Equal(got, msg) || recv != "" {
			t.Fatalf("round trip: %q %q %v", got, recv, err)
		}
	}
}

func TestCryptoRejects(t *testing.T) {
	c, _ := NewCrypto(vectorToken, vectorKey, "")
	other, _ := NewCrypto(vectorToken, "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "")
	enc, _ := other.Encrypt([]byte("hello"))
	for name, in := range map[string]string{
		"not base64": "!!!",
		"short":      "AAAA",
		"wrong key":  enc,
		"empty":      "",
	} {
		if _, _, err := c.Decrypt(in); !errors.Is(err, ErrBadCiphertext) {
			t.Errorf("%s: want ErrBadCiphertext, got %v", name, err)
		}
	}
	if _, err := NewCrypto("t", "short", ""); err == nil {
		t.Error("a short EncodingAESKey must be refused")
	}
}
