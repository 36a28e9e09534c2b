package bot

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Media over the long connection (doc 101463 上传临时素材, WeCom's aibot-node-sdk): a
// file is uploaded in chunks of at most 512 KB (base64 in the frame), at most 100 of
// them — aibot_upload_media_init answers an upload_id, aibot_upload_media_chunk carries
// each chunk, aibot_upload_media_finish answers the media_id — and then sent into a chat
// with aibot_send_msg as an image or file message.

const (
	cmdUploadInit   = "aibot_upload_media_init"
	cmdUploadChunk  = "aibot_upload_media_chunk"
	cmdUploadFinish = "aibot_upload_media_finish"
	uploadChunk     = 512 << 10
	uploadMaxChunks = 100
)

// Media kinds the bot sends.
const (
	MediaImage = "image"
	MediaFile  = "file"
)

// MediaSender pushes an image or a file into a chat as the bot; *LongConn is one.
type MediaSender interface {
	SendMedia(ctx context.Context, chatID, kind, name string, data []byte) error
}

var _ MediaSender = (*LongConn)(nil)

func reqID(cmd string) string {
	return cmd + "_" + strconv.FormatInt(time.Now().UnixMilli(), 10) + "_" + newID()[:8]
}

// SendMedia uploads data (an image: PNG or JPG up to 2 MB, or a file named name up to
// 20 MB, the limits the webhook has too) and sends it into the chat with aibot_send_msg.
func (lc *LongConn) SendMedia(ctx context.Context, chatID, kind, name string, data []byte) error {
	switch kind {
	case MediaImage:
		if err := checkImage(data); err != nil {
			return err
		}
		if name == "" {
			name = "image.png"
			if len(data) > 2 && data[0] == 0xFF && data[1] == 0xD8 {
				name = "image.jpg"
			}
		}
	case MediaFile:
		if len(data) < MinFileBytes || len(data) > MaxFileBytes {
			return &MediaSizeError{Kind: "file", Size: len(data), Min: MinFileBytes, Max: MaxFileBytes}
		}
		if name = cleanFileName(name); name == "" {
			return ErrNoFileName
		}
	default:
		return fmt.Errorf("wecom long connection: media kind %q", kind)
	}
	if chatID == "" {
		return errors.New("wecom long connection: send media: empty chatid")
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	c, err := lc.current(wctx)
	cancel()
	if err != nil {
		return err
	}
	mediaID, err := lc.upload(ctx, c, kind, name, data)
	if err != nil {
		return fmt.Errorf("wecom long connection: upload %s: %w", name, err)
	}
	return c.request(ctx, outFrame{Cmd: cmdSendMsg, Headers: frameHeaders{ReqID: reqID(cmdSendMsg)}, Body: map[string]any{
		"chatid": chatID, "msgtype": kind, kind: map[string]string{"media_id": mediaID},
	}})
}

// upload sends data in chunks and returns its media_id.
func (lc *LongConn) upload(ctx context.Context, c *conn, kind, name string, data []byte) (string, error) {
	chunks := (len(data) + uploadChunk - 1) / uploadChunk
	if chunks > uploadMaxChunks {
		return "", fmt.Errorf("%d bytes need %d chunks, WeCom takes %d", len(data), chunks, uploadMaxChunks)
	}
	sum := md5.Sum(data)
	body, err := c.call(ctx, outFrame{Cmd: cmdUploadInit, Headers: frameHeaders{ReqID: reqID(cmdUploadInit)}, Body: map[string]any{
		"type": kind, "filename": name, "total_size": len(data), "total_chunks": chunks, "md5": hex.EncodeToString(sum[:]),
	}})
	if err != nil {
		return "", err
	}
	var init struct {
		UploadID string `json:"upload_id"`
	}
	if json.Unmarshal(body, &init) != nil || init.UploadID == "" {
		return "", fmt.Errorf("%s answered no upload_id: %.200s", cmdUploadInit, body)
	}
	for i := range chunks {
		part := data[i*uploadChunk : min(len(data), (i+1)*uploadChunk)]
		err := c.request(ctx, outFrame{Cmd: cmdUploadChunk, Headers: frameHeaders{ReqID: reqID(cmdUploadChunk)}, Body: map[string]any{
			"upload_id": init.UploadID, "chunk_index": i, "base64_data": base64.StdEncoding.EncodeToString(part),
		}})
		if err != nil {
			return "", fmt.Errorf("chunk %d of %d: %w", i+1, chunks, err)
		}
	}
	body, err = c.call(ctx, outFrame{Cmd: cmdUploadFinish, Headers: frameHeaders{ReqID: reqID(cmdUploadFinish)}, Body: map[string]any{
		"upload_id": init.UploadID,
	}})
	if err != nil {
		return "", err
	}
	var fin struct {
		MediaID string `json:"media_id"`
	}
	if json.Unmarshal(body, &fin) != nil || fin.MediaID == "" {
		return "", fmt.Errorf("%s answered no media_id: %.200s", cmdUploadFinish, body)
	}
	return fin.MediaID, nil
}
