package bot

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/silenceper/wechat/v2/util"
)

// Crypto implements WeCom's callback encryption (WXBizMsgCrypt) for the AI bot.
//
// Encryption and signatures use github.com/silenceper/wechat/v2/util; decryption is
// our own because util.DecryptMsg rejects the empty receiveid that AI-bot callbacks carry.
type Crypto struct {
	token      string
	aesKey     []byte // 32 bytes
	encodedKey string
	receiveID  string // "" for AI bots
}

// ErrBadSignature means msg_signature does not match token/timestamp/nonce/encrypt.
var ErrBadSignature = errors.New("wecom: signature mismatch")

// ErrBadCiphertext means the encrypted payload could not be decrypted or parsed.
var ErrBadCiphertext = errors.New("wecom: undecryptable payload")

// NewCrypto checks the 43-character EncodingAESKey and returns a Crypto.
// receiveID is "" for AI bots (it is appended on encrypt; any value is tolerated on decrypt).
func NewCrypto(token, encodingAESKey, receiveID string) (*Crypto, error) {
	if token == "" {
		return nil, errors.New("wecom: token is empty")
	}
	if len(encodingAESKey) != 43 {
		return nil, fmt.Errorf("wecom: EncodingAESKey must be 43 characters, got %d", len(encodingAESKey))
	}
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("wecom: EncodingAESKey is not valid base64 for 32 bytes: %v", err)
	}
	return &Crypto{token: token, aesKey: key, encodedKey: encodingAESKey, receiveID: receiveID}, nil
}

// Sign returns hex(sha1(sort(token, timestamp, nonce, encrypt))).
func (c *Crypto) Sign(timestamp, nonce, encrypt string) string {
	return util.Signature(c.token, timestamp, nonce, encrypt)
}

// Verify checks a msg_signature in constant time.
func (c *Crypto) Verify(signature, timestamp, nonce, encrypt string) bool {
	want := c.Sign(timestamp, nonce, encrypt)
	return subtle.ConstantTimeCompare([]byte(want), []byte(signature)) == 1
}

// Encrypt returns base64(AES-256-CBC(random16 ‖ len ‖ msg ‖ receiveid, PKCS#7/32)).
func (c *Crypto) Encrypt(msg []byte) (string, error) {
	random := make([]byte, 16)
	if _, err := rand.Read(random); err != nil {
		return "", fmt.Errorf("wecom: random: %w", err)
	}
	out, err := util.EncryptMsg(random, msg, c.receiveID, c.encodedKey)
	if err != nil {
		return "", fmt.Errorf("wecom: encrypt: %w", err)
	}
	return string(out), nil
}

// Decrypt reverses Encrypt. It returns the message and the receiveid found after it.
func (c *Crypto) Decrypt(encrypted string) (msg []byte, receiveID string, err error) {
	raw, err := base64.StdEncoding.DecodeString(encrypted)
	if err != nil {
		return nil, "", fmt.Errorf("%w: base64: %v", ErrBadCiphertext, err)
	}
	if len(raw) == 0 || len(raw)%aes.BlockSize != 0 {
		return nil, "", fmt.Errorf("%w: length %d is not a multiple of the block size", ErrBadCiphertext, len(raw))
	}
	block, err := aes.NewCipher(c.aesKey)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrBadCiphertext, err)
	}
	plain := make([]byte, len(raw))
	cipher.NewCBCDecrypter(block, c.aesKey[:16]).CryptBlocks(plain, raw)
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > 32 || pad > len(plain) || !bytes.Equal(plain[len(plain)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, "", fmt.Errorf("%w: bad padding", ErrBadCiphertext)
	}
	plain = plain[:len(plain)-pad]
	if len(plain) < 20 {
		return nil, "", fmt.Errorf("%w: too short", ErrBadCiphertext)
	}
	n := int(binary.BigEndian.Uint32(plain[16:20]))
	if n > len(plain)-20 {
		return nil, "", fmt.Errorf("%w: message length %d exceeds payload", ErrBadCiphertext, n)
	}
	return plain[20 : 20+n], string(plain[20+n:]), nil
}
