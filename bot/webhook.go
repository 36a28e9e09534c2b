package bot

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/util"
	"github.com/silenceper/wechat/v2/work/robot"
)

// Limits of the group push webhook (doc 91770).
const (
	MaxTextBytes     = 2048
	MaxMarkdownBytes = 4096
	MaxImageBytes    = 2 << 20  // an image message's raw bytes (JPG or PNG)
	MaxFileBytes     = 20 << 20 // a file for upload_media
	MinFileBytes     = 6        // upload_media wants more than 5 bytes
	// WeComAPIBase is the real API host; SetWeComAPIBase redirects it.
	WeComAPIBase = "https://qyapi.weixin.qq.com"
	// webhookSendURL is the same URL silenceper's robot.RobotBroadcast posts to.
	webhookSendURL = WeComAPIBase + "/cgi-bin/webhook/send?key=%s"
	// webhookUploadURL is the group webhook's file upload (the media_id lasts 3 days, this key only).
	webhookUploadURL = WeComAPIBase + "/cgi-bin/webhook/upload_media?key=%s&type=file"
	// webhookHTTPTimeout bounds each webhook request (util.DefaultHTTPClient has none).
	webhookHTTPTimeout = 10 * time.Second
	// uploadHTTPTimeout is the least time an upload of up to 20 MB is given.
	uploadHTTPTimeout = 60 * time.Second
)

// Webhook errcodes worth naming.
const (
	ErrCodeInvalidMsgType = 40008
	ErrCodeInvalidParam   = 40058 // e.g. content longer than allowed
	ErrCodeEmptyContent   = 44004
	ErrCodeMediaType      = 40004 // not an accepted media type
	ErrCodeFileSize       = 40006 // upload_media: file too large or too small
	ErrCodeInvalidMediaID = 40007 // unknown, expired or another key's media_id
	ErrCodeImageSize      = 40009 // image over 2 MB
)

// ErrEmptyPush is returned for a Push with no Text, Markdown, Image or File.
var ErrEmptyPush = errors.New("wecom webhook: nothing to push")

// Errors about a Push's image or file, returned before anything is sent.
var (
	ErrImageFormat = errors.New("wecom webhook: the image is neither PNG nor JPG")
	ErrNoFileName  = errors.New("wecom webhook: a file needs a FileName")
)

// MediaSizeError is returned, before anything is sent, for an image or file whose size
// WeCom refuses: an image over 2 MB, a file over 20 MB or of 5 bytes or less.
type MediaSizeError struct {
	Kind     string // "image" or "file"
	Size     int    // bytes given
	Min, Max int    // bytes allowed, both inclusive
}

// Error implements error.
func (e *MediaSizeError) Error() string {
	if e.Size < e.Min {
		return fmt.Sprintf("wecom webhook: the %s has %d bytes, WeCom wants at least %d", e.Kind, e.Size, e.Min)
	}
	return fmt.Sprintf("wecom webhook: the %s has %d bytes (%.1f MB), WeCom takes at most %d MB",
		e.Kind, e.Size, float64(e.Size)/(1<<20), e.Max>>20)
}

// WebhookError is a non-zero errcode from the webhook (WeCom answers HTTP 200 then).
type WebhookError struct {
	Code int
	Msg  string
}

// Error implements error.
func (e *WebhookError) Error() string {
	return fmt.Sprintf("wecom webhook: errcode %d (%s): %s", e.Code, CodeName(e.Code), e.Msg)
}

// Permanent reports whether sending the same message again cannot succeed: the key is
// dead (93000: fix the configuration, tell the office) or the message itself is invalid.
// Rate limits (45009), system busy (-1) and unknown codes are temporary: retry later.
func (e *WebhookError) Permanent() bool {
	switch e.Code {
	case ErrCodeInvalidWebhook, ErrCodeInvalidMsgType, ErrCodeInvalidParam, ErrCodeEmptyContent,
		ErrCodeMediaType, ErrCodeFileSize, ErrCodeImageSize:
		return true
	}
	return false
}

// RateLimited reports whether WeCom refused the message for exceeding its rate limit.
func (e *WebhookError) RateLimited() bool { return e.Code == ErrCodeFreqLimit }

var setHTTPClient sync.Once

// Webhook sends pushes through groups' push webhooks. It implements Pusher.
//
// It uses silenceper's work/robot option structs and util.PostJSONContext, the
// context-aware form of the call robot.RobotBroadcast makes (RobotBroadcast takes no
// context), so the same util.DefaultHTTPClient and URI modifier apply.
type Webhook struct {
	log *slog.Logger
}

// NewWebhook returns a Webhook. On first use it replaces silenceper's
// util.DefaultHTTPClient, if it is still http.DefaultClient, by one with a 10 s timeout.
func NewWebhook(log *slog.Logger) *Webhook {
	if log == nil {
		log = slog.Default()
	}
	setHTTPClient.Do(func() {
		if util.DefaultHTTPClient == http.DefaultClient {
			util.DefaultHTTPClient = &http.Client{Timeout: webhookHTTPTimeout}
		}
	})
	return &Webhook{log: log}
}

// SetWeComAPIBase makes every silenceper request to https://qyapi.weixin.qq.com go to base
// instead, keeping the path and query: with base "http://127.0.0.1:8080/wecom-api" the
// webhook becomes http://127.0.0.1:8080/wecom-api/cgi-bin/webhook/send?key=…. An empty
// base restores the real host. silenceper keeps its URI modifier in a package variable
// without locking, so it is installed once, and reads the base from a locked variable
// here: several bots in one process (the tests) can set it while others send.
func SetWeComAPIBase(base string) error {
	if base != "" {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			return fmt.Errorf("wecom: API base %q must be an http(s) URL without a query", base)
		}
		base = strings.TrimRight(base, "/")
	}
	setAPIBase(base)
	installURIModifier.Do(func() { util.SetURIModifier(apiURL) })
	return nil
}

var installURIModifier sync.Once

// apiBase is the base SetWeComAPIBase last set, for the requests this package makes
// without silenceper (the file upload); "" means the real host.
var apiBase struct {
	sync.RWMutex
	base string
}

func setAPIBase(base string) {
	apiBase.Lock()
	defer apiBase.Unlock()
	apiBase.base = base
}

// apiURL applies SetWeComAPIBase to a URL of WeComAPIBase, as silenceper's URI modifier does.
func apiURL(uri string) string {
	apiBase.RLock()
	defer apiBase.RUnlock()
	if apiBase.base == "" {
		return uri
	}
	return rewriteAPIBase(uri, apiBase.base)
}

// rewriteAPIBase replaces the WeComAPIBase prefix of uri by base.
func rewriteAPIBase(uri, base string) string {
	rest, ok := strings.CutPrefix(uri, WeComAPIBase)
	if !ok || (rest != "" && rest[0] != '/' && rest[0] != '?') {
		return uri
	}
	return base + rest
}

// Push sends p to the group of webhookKey; see PushParts.
func (wh *Webhook) Push(ctx context.Context, webhookKey string, p Push) error {
	_, err := wh.PushParts(ctx, webhookKey, p)
	return err
}

// PushParts sends p and reports how many webhook messages went out.
//
// Markdown (when set) is sent instead of Text. Content over the limit (2048 bytes for
// text, 4096 for markdown) is split at line ends, or inside an overlong line at a rune
// boundary, into several messages sent in order; nothing is truncated. Text mentions go
// in mentioned_list of the first message; markdown mentions are appended to the first
// message as <@userid> tokens, except "@all", which markdown cannot express: it adds one
// more text message mentioning @all. Mentions without Text or Markdown are dropped.
//
// After the text come the image (an image message: base64 and md5 of the raw bytes) and
// then the file (uploaded with upload_media, then a file message with its media_id).
// An image over 2 MB or not PNG/JPG, a file over 20 MB or of 5 bytes or less, or a file
// without FileName is refused before anything is sent (*MediaSizeError, ErrImageFormat,
// ErrNoFileName). Each message counts against WeCom's 20 a minute per key; the upload
// does not send a message. On an error the remaining parts are not sent; the error wraps
// *WebhookError when WeCom refused a message or the upload.
func (wh *Webhook) PushParts(ctx context.Context, webhookKey string, p Push) (int, error) {
	parts, err := buildPushParts(p)
	if err != nil {
		return 0, err
	}
	if webhookKey == "" {
		return 0, errors.New("wecom webhook: empty key")
	}
	log := wh.log.With("key", maskKey(webhookKey))
	for i, part := range parts {
		if err := wh.sendPart(ctx, webhookKey, part); err != nil {
			log.Warn("wecom webhook: push failed", "part", i+1, "parts", len(parts), "err", err)
			if len(parts) > 1 {
				return i, fmt.Errorf("wecom webhook: part %d of %d: %w", i+1, len(parts), err)
			}
			return i, err
		}
	}
	log.Info("wecom webhook: pushed", "parts", len(parts))
	return len(parts), nil
}

// pushPart is one webhook message: an option struct ready to post, or a file to upload
// first and then send by media_id.
type pushPart struct {
	msg      any
	file     []byte
	fileName string
}

// sendPart sends one part, uploading its file first if it has one.
func (wh *Webhook) sendPart(ctx context.Context, key string, part pushPart) error {
	if part.msg != nil {
		return wh.send(ctx, key, part.msg)
	}
	mediaID, err := wh.upload(ctx, key, part.fileName, part.file)
	if err != nil {
		return fmt.Errorf("upload %s: %w", part.fileName, err)
	}
	o := &robot.WebhookSendFileOption{MsgType: "file"}
	o.File.MediaID = mediaID
	return wh.send(ctx, key, o)
}

// send posts one option struct and turns a non-zero errcode into *WebhookError.
func (wh *Webhook) send(ctx context.Context, key string, opt any) error {
	data, err := util.PostJSONContext(ctx, fmt.Sprintf(webhookSendURL, url.QueryEscape(key)), opt)
	if err != nil {
		return &redactedError{err: err, key: key}
	}
	var resp robot.WebhookSendResponse
	if err := json.Unmarshal(data, &resp); err != nil {
		return fmt.Errorf("wecom webhook: answer is not JSON: %w", err)
	}
	if resp.ErrCode != 0 {
		return &WebhookError{Code: int(resp.ErrCode), Msg: resp.ErrMsg}
	}
	return nil
}

// uploadResponse is upload_media's answer.
type uploadResponse struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
	Type    string `json:"type"`
	MediaID string `json:"media_id"`
}

// upload posts data to upload_media as multipart field "media" named name and returns
// the media_id. silenceper's util.PostFileByStream would post the same form but takes no
// context and sends no filelength, so this uses net/http with util.DefaultHTTPClient
// (its transport; its timeout raised to at least 60 s for up to 20 MB) and applies
// SetWeComAPIBase itself.
func (wh *Webhook) upload(ctx context.Context, key, name string, data []byte) (string, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="media"; filename="%s"; filelength=%d`, name, len(data)))
	h.Set("Content-Type", "application/octet-stream")
	pw, err := mw.CreatePart(h)
	if err != nil {
		return "", err
	}
	if _, err := pw.Write(data); err != nil {
		return "", err
	}
	if err := mw.Close(); err != nil {
		return "", err
	}
	uri := apiURL(fmt.Sprintf(webhookUploadURL, url.QueryEscape(key)))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, &body)
	if err != nil {
		return "", &redactedError{err: err, key: key}
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	client := *util.DefaultHTTPClient
	if client.Timeout > 0 && client.Timeout < uploadHTTPTimeout {
		client.Timeout = uploadHTTPTimeout
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", &redactedError{err: err, key: key}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", &redactedError{err: err, key: key}
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("wecom webhook: upload_media answered HTTP %d", resp.StatusCode)
	}
	var ur uploadResponse
	if err := json.Unmarshal(raw, &ur); err != nil {
		return "", fmt.Errorf("wecom webhook: upload_media answer is not JSON: %w", err)
	}
	if ur.ErrCode != 0 {
		return "", &WebhookError{Code: ur.ErrCode, Msg: ur.ErrMsg}
	}
	if ur.MediaID == "" {
		return "", errors.New("wecom webhook: upload_media answered no media_id")
	}
	return ur.MediaID, nil
}

// buildPushParts turns p into the webhook messages to send, in order, after checking
// its image and file.
func buildPushParts(p Push) ([]pushPart, error) {
	pushes, err := SplitWebhook(p)
	if err != nil {
		return nil, err
	}
	parts := make([]pushPart, 0, len(pushes))
	for _, one := range pushes {
		parts = append(parts, webhookMessage(one))
	}
	return parts, nil
}

// SplitWebhook cuts p into pushes of one webhook message each, in the order they are
// sent: the text or markdown (split at the size limit, mentions on the first part as
// mentioned_list or <@userid> tokens, and for "@all" in markdown one more text message),
// then the image, then the file. It checks the image and the file first.
func SplitWebhook(p Push) ([]Push, error) {
	out, err := splitText(p)
	if err != nil {
		return nil, err
	}
	if p.Image != nil {
		if err := checkImage(p.Image); err != nil {
			return nil, err
		}
		out = append(out, Push{Image: p.Image})
	}
	if p.File != nil {
		if len(p.File) < MinFileBytes || len(p.File) > MaxFileBytes {
			return nil, &MediaSizeError{Kind: "file", Size: len(p.File), Min: MinFileBytes, Max: MaxFileBytes}
		}
		name := cleanFileName(p.FileName)
		if name == "" {
			return nil, ErrNoFileName
		}
		out = append(out, Push{File: p.File, FileName: name})
	}
	if len(out) == 0 {
		return nil, ErrEmptyPush
	}
	return out, nil
}

// webhookMessage is the one webhook message of a push made by SplitWebhook.
func webhookMessage(p Push) pushPart {
	switch {
	case p.Markdown != "":
		o := &robot.WebhookSendMarkdownOption{MsgType: "markdown"}
		o.Markdown.Content = p.Markdown
		return pushPart{msg: o}
	case p.Text != "":
		o := &robot.WebhookSendTextOption{MsgType: "text"}
		o.Text.Content = p.Text
		o.Text.MentionedList = p.Mentions
		return pushPart{msg: o}
	case p.Image != nil:
		sum := md5.Sum(p.Image)
		o := &robot.WebhookSendImageOption{MsgType: "image"}
		o.Image.Base64 = base64.StdEncoding.EncodeToString(p.Image)
		o.Image.MD5 = hex.EncodeToString(sum[:])
		return pushPart{msg: o}
	}
	return pushPart{file: p.File, fileName: p.FileName}
}

// checkImage checks an image message's size and format (PNG or JPG, by content).
func checkImage(img []byte) error {
	if len(img) == 0 || len(img) > MaxImageBytes {
		return &MediaSizeError{Kind: "image", Size: len(img), Min: 1, Max: MaxImageBytes}
	}
	if !bytes.HasPrefix(img, []byte("\x89PNG\r\n\x1a\n")) && !bytes.HasPrefix(img, []byte{0xFF, 0xD8, 0xFF}) {
		return ErrImageFormat
	}
	return nil
}

// cleanFileName makes name safe for a multipart header: no directories, no control
// characters, no quotes or backslashes; it keeps Chinese as UTF-8, as browsers send it.
func cleanFileName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r == '"' || r == '\\' || r == utf8.RuneError:
			return '_'
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, name)
	return strings.TrimSpace(name)
}

// splitText turns p's text or markdown into pushes of one webhook message each; none
// when p has neither.
func splitText(p Push) ([]Push, error) {
	var out []Push
	if strings.TrimSpace(p.Markdown) != "" {
		var tokens strings.Builder
		all := false
		for _, id := range p.Mentions {
			switch id = strings.TrimSpace(id); id {
			case "":
			case "@all":
				all = true
			default:
				fmt.Fprintf(&tokens, "<@%s>", id)
			}
		}
		suffix := ""
		if tokens.Len() > 0 {
			suffix = "\n" + tokens.String()
		}
		if len(suffix) > MaxMarkdownBytes/2 {
			return nil, fmt.Errorf("wecom webhook: %d mentions do not fit in one markdown message", len(p.Mentions))
		}
		for i, part := range splitContent(p.Markdown, MaxMarkdownBytes-len(suffix)) {
			if i == 0 {
				part += suffix
			}
			out = append(out, Push{Markdown: part})
		}
		if all {
			out = append(out, Push{Text: msgLookAbove, Mentions: []string{"@all"}})
		}
		return out, nil
	}
	if strings.TrimSpace(p.Text) == "" {
		return nil, nil
	}
	var mentions []string
	for _, id := range p.Mentions {
		if id = strings.TrimSpace(id); id != "" {
			mentions = append(mentions, id)
		}
	}
	for i, part := range splitContent(p.Text, MaxTextBytes) {
		one := Push{Text: part}
		if i == 0 {
			one.Mentions = mentions
		}
		out = append(out, one)
	}
	return out, nil
}

// splitContent cuts s into parts of at most limit bytes, preferring to cut after a
// newline and otherwise at a rune boundary. Concatenating the parts gives s back.
func splitContent(s string, limit int) []string {
	var parts []string
	for len(s) > limit {
		cut := strings.LastIndexByte(s[:limit], '\n') + 1
		if cut <= 0 {
			cut = limit
			for cut > 0 && !utf8.RuneStart(s[cut]) {
				cut--
			}
			if cut == 0 { // limit smaller than one rune: cannot happen with our limits
				_, cut = utf8.DecodeRuneInString(s)
			}
		}
		parts = append(parts, s[:cut])
		s = s[cut:]
	}
	if s != "" || len(parts) == 0 {
		parts = append(parts, s)
	}
	return parts
}

// maskKey keeps the first 4 characters of a webhook key for logs.
func maskKey(key string) string {
	if len(key) <= 4 {
		return "****"
	}
	return key[:4] + "****"
}

// redactedError hides the webhook key that silenceper and net/http put in error texts.
type redactedError struct {
	err error
	key string
}

func (e *redactedError) Error() string {
	msg := strings.ReplaceAll(e.err.Error(), url.QueryEscape(e.key), maskKey(e.key))
	return "wecom webhook: " + strings.ReplaceAll(msg, e.key, maskKey(e.key))
}

func (e *redactedError) Unwrap() error { return e.err }
