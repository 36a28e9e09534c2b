package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"huanjie/bot"
	"huanjie/campaign"
	"huanjie/photos"
	"huanjie/storage"
)

// PhotoService receives, lists, deletes and packs a community's photos.
type PhotoService interface {
	// Accept downloads and receives one image; a failed download wraps photos.ErrDownload.
	Accept(ctx context.Context, img bot.Image, fallbackKey []byte, street, streetName, community, by string, rule campaign.PhotoRule) (photos.Result, error)
	List(ctx context.Context, street, community string) ([]storage.Photo, error)
	DeleteHash(ctx context.Context, street, community, hash string) (storage.Photo, error)
	Zip(ctx context.Context, street, streetName, community string, w io.Writer) error
}

// Links keeps a generated file on disk for a while and returns the link that downloads
// it (local mode, or a deployment with a public URL); nil when the bot has none. write's
// error comes back as it is.
type Links interface {
	Keep(name string, write func(io.Writer) error) (link string, size int64, err error)
}

// maxFilePush is WeCom's limit for a file sent through the group webhook.
const maxFilePush = 20 << 20

// receivePhotos handles a message carrying images: only in a 1:1 chat, only from a
// secretary, one reply line per image.
func (b *Bot) receivePhotos(r *request, imgs []bot.Image) (string, error) {
	if r.msg.IsGroup() {
		return fmt.Sprintf(msgPhotosInGroup, b.Config.BotName), nil
	}
	if r.who.Role != campaign.RoleSecretary {
		if r.who.Role == "" && r.street != nil {
			return fmt.Sprintf(msgUnknownUser, r.street.Office), nil
		}
		return msgPhotosSecretaryOnly, nil
	}
	if b.Photos == nil {
		return msgPhotosOff, nil
	}
	rule := r.street.Rules.Photos
	var lines []string
	for i, img := range imgs {
		prefix := ""
		if len(imgs) > 1 {
			prefix = fmt.Sprintf("第 %d 张：", i+1)
		}
		res, err := b.Photos.Accept(r.ctx, img, b.MediaKey, r.street.ID, r.street.Name, r.who.Community, r.who.UserID, rule)
		var refusal *photos.Refusal
		switch {
		case errors.Is(err, photos.ErrDownload):
			b.Log.WarnContext(r.ctx, "photo download failed", "community", r.who.Community, "by", r.who.UserID, "err", err)
			lines = append(lines, prefix+msgPhotoDownloadFailed)
			continue
		case errors.As(err, &refusal):
			lines = append(lines, prefix+fmt.Sprintf(msgPhotoRefused, refusal.Reason))
			continue
		case err != nil:
			return "", fmt.Errorf("receive photo: %w", err)
		}
		switch {
		case res.Duplicate:
			lines = append(lines, prefix+fmt.Sprintf(msgPhotoDuplicate, res.N))
		case res.Full:
			lines = append(lines, prefix+fmt.Sprintf(msgPhotoFull, res.Max))
		case res.Count >= res.Max:
			lines = append(lines, prefix+fmt.Sprintf(msgPhotoReceivedFull, res.N, res.Max))
		case res.Count >= res.Min:
			lines = append(lines, prefix+fmt.Sprintf(msgPhotoReceivedEnough, res.N, res.Max-res.Count))
		default:
			lines = append(lines, prefix+fmt.Sprintf(msgPhotoReceived, res.N, res.Min-res.Count))
		}
	}
	return strings.Join(lines, "\n"), nil
}

// photoCommunity is the community a photo command is about: the secretary's own, or the
// one named (for the office and leaders).
func (b *Bot) photoCommunity(r *request, example string) (string, error) {
	if r.who.Role == campaign.RoleSecretary && (len(r.args) == 0 || r.args[0] == r.who.Community) {
		return r.who.Community, nil
	}
	if len(r.args) == 0 {
		return "", badf(msgWhichCommunity, example)
	}
	c, ok := r.street.Community(r.args[0])
	if !ok {
		return "", badf(msgNoSuchCommunity, r.street.Name, r.args[0], strings.Join(r.street.CommunityNames(), "、"))
	}
	if r.who.Role == campaign.RoleSecretary && c.Name != r.who.Community {
		return "", badf("只能查看本社区（%s）的照片", r.who.Community)
	}
	return c.Name, nil
}

func (b *Bot) listPhotos(r *request) (string, error) {
	if b.Photos == nil {
		return msgPhotosOff, nil
	}
	c, err := b.photoCommunity(r, "照片 大辛")
	if err != nil {
		return "", err
	}
	list, err := b.Photos.List(r.ctx, r.street.ID, c)
	if err != nil {
		return "", fmt.Errorf("list photos: %w", err)
	}
	rule := r.street.Rules.Photos
	var sb strings.Builder
	fmt.Fprintf(&sb, msgPhotoCount, c, len(list), rule.Min, rule.Max)
	for i, p := range list {
		fmt.Fprintf(&sb, "\n%d. %s（%s）", photoNumber(p, i), p.Name, campaign.DateOf(p.At))
	}
	if r.who.Role == campaign.RoleSecretary {
		sb.WriteString("\n" + fmt.Sprintf(msgPhotosHowTo, b.Config.BotName))
	}
	return sb.String(), nil
}

func (b *Bot) deletePhoto(r *request) (string, error) {
	if b.Photos == nil {
		return msgPhotosOff, nil
	}
	n := 0
	if len(r.args) > 0 {
		n, _ = strconv.Atoi(r.args[0])
	}
	if n <= 0 {
		return "", badf("请写上照片编号（发「照片」查看编号）")
	}
	list, err := b.Photos.List(r.ctx, r.street.ID, r.who.Community)
	if err != nil {
		return "", fmt.Errorf("list photos: %w", err)
	}
	hash := ""
	for i, p := range list {
		if photoNumber(p, i) == n {
			hash = p.Hash
		}
	}
	if hash == "" {
		return fmt.Sprintf(msgNoSuchPhoto, n), nil
	}
	p, err := b.Photos.DeleteHash(r.ctx, r.street.ID, r.who.Community, hash)
	if errors.Is(err, storage.ErrNoSuchPhoto) {
		return fmt.Sprintf(msgNoSuchPhoto, n), nil
	}
	if err != nil {
		return "", fmt.Errorf("delete photo: %w", err)
	}
	return fmt.Sprintf(msgPhotoDeleted, n, p.Name, len(list)-1), nil
}

// photoNumbered reads the number a photo's file name ends with (…_07.jpg).
var photoNumbered = regexp.MustCompile(`_(\d+)\.jpe?g$`)

// photoNumber is how people refer to a photo: the number in its file name, which never
// changes, so 删除照片 3 after deleting another still means the file named _03; a name
// without a number falls back to its place in the list.
func photoNumber(p storage.Photo, i int) int {
	if m := photoNumbered.FindStringSubmatch(p.Name); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil && n > 0 {
			return n
		}
	}
	return i + 1
}

func (b *Bot) packPhotos(r *request) (string, error) {
	if b.Photos == nil {
		return msgPhotosOff, nil
	}
	c, err := b.photoCommunity(r, "照片打包 大辛")
	if err != nil {
		return "", err
	}
	name := photos.ZipFolder(r.street.Name, c) + ".zip"
	reply, err := b.deliverFile(r, name, func(w io.Writer) error {
		return b.Photos.Zip(r.ctx, r.street.ID, r.street.Name, c, w)
	})
	if errors.Is(err, photos.ErrNoPhotos) {
		return fmt.Sprintf(msgNoPhotosYet, c), nil
	}
	if err != nil {
		return "", fmt.Errorf("zip photos: %w", err)
	}
	return reply, nil
}

// deliverFile hands a generated file to people: a download link when the bot has one,
// and the file itself in the street's groups when it is within WeCom's limit. The file
// goes straight to disk as write produces it; only a file small enough to push is also
// held in memory. write's error is returned.
func (b *Bot) deliverFile(r *request, name string, write func(io.Writer) error) (string, error) {
	small := &capBuffer{max: maxFilePush}
	var parts []string
	if b.Links != nil {
		var werr error
		link, size, err := b.Links.Keep(name, func(w io.Writer) error {
			werr = write(io.MultiWriter(w, small))
			return werr
		})
		switch {
		case werr != nil:
			return "", werr
		case err != nil:
			b.Log.ErrorContext(r.ctx, "keeping a generated file failed", "name", name, "err", err)
			parts = append(parts, msgFileKeepFailed)
		default:
			b.Log.InfoContext(r.ctx, "generated file kept", "name", name, "bytes", size)
			parts = append(parts, fmt.Sprintf(msgFileLink, name, link))
		}
	} else if err := write(small); err != nil {
		return "", err
	}
	if !small.over {
		if sent, failed := b.pushToAsker(r, bot.Push{File: small.buf, FileName: name}); sent > 0 {
			parts = append(parts, fmt.Sprintf(msgFileSent, name))
		} else if failed > 0 {
			parts = append(parts, msgFileSendFailed)
		}
	} else if b.Links == nil {
		parts = append(parts, msgFileTooLarge)
	}
	if len(parts) == 0 {
		return msgFileNowhere, nil
	}
	return strings.Join(parts, "\n"), nil
}

// capBuffer keeps what is written while it stays within max bytes; past that it drops
// it all and only notes that it was over.
type capBuffer struct {
	max  int
	buf  []byte
	over bool
}

func (c *capBuffer) Write(p []byte) (int, error) {
	if !c.over && len(c.buf)+len(p) <= c.max {
		c.buf = append(c.buf, p...)
	} else {
		c.over, c.buf = true, nil
	}
	return len(p), nil
}

// writeBytes is a write func for data already in memory.
func writeBytes(data []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}
}
