package bot

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// StreamReply is a passive reply as WeCom sees it after OpenReply.
type StreamReply struct {
	// Empty is true when the callback answered with an empty body (no reply).
	Empty bool
	// MsgType is "stream" for answers to messages, "text" for an enter_chat welcome.
	MsgType string
	// ID is the stream id ("" for a text welcome); Finish reports stream.finish.
	ID     string
	Finish bool
	// Content is stream.content (or text.content for a welcome).
	Content string
}

// SealCallback builds what WeCom sends to the URL callback for msg: the query
// (msg_signature, timestamp, nonce) and the JSON body {"encrypt": …}. msg is marshalled
// to JSON, unless it is already a []byte or json.RawMessage, which is sent as is. The
// timestamp is now and the nonce random. Tests and the local stand-in use it.
func (c *Crypto) SealCallback(msg any) (query url.Values, body []byte, err error) {
	return c.SealCallbackAt(msg, time.Now())
}

// SealCallbackAt is SealCallback with the timestamp at.
func (c *Crypto) SealCallbackAt(msg any, at time.Time) (query url.Values, body []byte, err error) {
	var plain []byte
	switch v := msg.(type) {
	case []byte:
		plain = v
	case json.RawMessage:
		plain = v
	default:
		if plain, err = json.Marshal(msg); err != nil {
			return nil, nil, fmt.Errorf("wecom: seal callback: %w", err)
		}
	}
	enc, err := c.Encrypt(plain)
	if err != nil {
		return nil, nil, fmt.Errorf("wecom: seal callback: %w", err)
	}
	ts, nonce := strconv.FormatInt(at.Unix(), 10), newNonce()
	query = url.Values{}
	query.Set("msg_signature", c.Sign(ts, nonce, enc))
	query.Set("timestamp", ts)
	query.Set("nonce", nonce)
	body, err = json.Marshal(struct {
		Encrypt string `json:"encrypt"`
	}{enc})
	if err != nil {
		return nil, nil, fmt.Errorf("wecom: seal callback: %w", err)
	}
	return query, body, nil
}

// SealEcho builds the query of WeCom's URL verification GET for the plaintext echo:
// msg_signature, timestamp, nonce and echostr.
func (c *Crypto) SealEcho(echo string) (url.Values, error) {
	enc, err := c.Encrypt([]byte(echo))
	if err != nil {
		return nil, fmt.Errorf("wecom: seal echo: %w", err)
	}
	ts, nonce := timestampNow(), newNonce()
	q := url.Values{}
	q.Set("msg_signature", c.Sign(ts, nonce, enc))
	q.Set("timestamp", ts)
	q.Set("nonce", nonce)
	q.Set("echostr", enc)
	return q, nil
}

// passiveReply is the JSON envelope of an encrypted passive reply.
type passiveReply struct {
	Encrypt      string          `json:"encrypt"`
	MsgSignature string          `json:"msgsignature"`
	Timestamp    json.RawMessage `json:"timestamp"` // a number, as in WeCom's samples, when the callback's is one
	Nonce        string          `json:"nonce"`
}

// ErrReplyEnvelope means a passive reply does not carry the timestamp and nonce of the
// callback it answers (doc 101033: the reply's nonce must be the callback URL's).
var ErrReplyEnvelope = errors.New("wecom: the reply's timestamp or nonce is not the callback's")

// sealReply encrypts and signs a passive reply plaintext with the timestamp and nonce of
// the callback's URL, as doc 101033 asks ("需要用回调url中的nonce") and WeCom's own bot
// plugin does.
func (c *Crypto) sealReply(plain []byte, timestamp, nonce string) ([]byte, error) {
	enc, err := c.Encrypt(plain)
	if err != nil {
		return nil, err
	}
	ts := json.RawMessage(strconv.Quote(timestamp))
	if n, err := strconv.ParseInt(timestamp, 10, 64); err == nil && strconv.FormatInt(n, 10) == timestamp {
		ts = json.RawMessage(timestamp)
	}
	return json.Marshal(passiveReply{
		Encrypt:      enc,
		MsgSignature: c.Sign(timestamp, nonce, enc),
		Timestamp:    ts,
		Nonce:        nonce,
	})
}

// OpenReply does what WeCom does with the answer to the callback whose query was
// callback: an empty (or all white space) body is no reply (Empty); otherwise it checks
// that the reply echoes the callback's timestamp and nonce (ErrReplyEnvelope), verifies
// msgsignature (ErrBadSignature), decrypts (ErrBadCiphertext) and returns the stream, or
// the text of a welcome. An encrypted empty JSON object is no reply too, as WeCom's own
// plugin sends it.
func (c *Crypto) OpenReply(callback url.Values, body []byte) (StreamReply, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return StreamReply{Empty: true}, nil
	}
	var env struct {
		Encrypt      string          `json:"encrypt"`
		MsgSignature string          `json:"msgsignature"`
		Timestamp    json.RawMessage `json:"timestamp"` // WeCom's samples use a number; tolerate a string
		Nonce        string          `json:"nonce"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return StreamReply{}, fmt.Errorf("wecom: reply is not JSON: %w", err)
	}
	ts := string(env.Timestamp)
	if s, err := strconv.Unquote(ts); err == nil {
		ts = s
	}
	if ts != callback.Get("timestamp") || env.Nonce != callback.Get("nonce") {
		return StreamReply{}, fmt.Errorf("%w: reply %s/%s, callback %s/%s", ErrReplyEnvelope,
			ts, env.Nonce, callback.Get("timestamp"), callback.Get("nonce"))
	}
	if env.Encrypt == "" || !c.Verify(env.MsgSignature, ts, env.Nonce, env.Encrypt) {
		return StreamReply{}, ErrBadSignature
	}
	plain, _, err := c.Decrypt(env.Encrypt)
	if err != nil {
		return StreamReply{}, err
	}
	var r replyBody
	if err := json.Unmarshal(plain, &r); err != nil {
		return StreamReply{}, fmt.Errorf("%w: reply plaintext is not JSON: %v", ErrBadCiphertext, err)
	}
	switch {
	case r.MsgType == "" && r.Stream == nil && r.Text == nil:
		return StreamReply{Empty: true}, nil
	case r.MsgType == "stream" && r.Stream != nil:
		return StreamReply{MsgType: r.MsgType, ID: r.Stream.ID, Finish: r.Stream.Finish, Content: r.Stream.Content}, nil
	case r.MsgType == "text" && r.Text != nil:
		return StreamReply{MsgType: r.MsgType, Finish: true, Content: r.Text.Content}, nil
	}
	return StreamReply{}, errors.New("wecom: reply is neither a stream nor a text welcome: msgtype " + strconv.Quote(r.MsgType))
}

func timestampNow() string { return strconv.FormatInt(time.Now().Unix(), 10) }

// newNonce returns a random decimal nonce like WeCom's.
func newNonce() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return strconv.FormatUint(uint64(binary.BigEndian.Uint32(b[:])), 10)
}
