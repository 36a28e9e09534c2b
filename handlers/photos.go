package handlers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"huanjie/bot"
	"huanjie/campaign"
	"huanjie/photos"
	"huanjie/storage"
)

// PhotoService receives, lists, deletes and packs a community's photos.
type PhotoService interface {
	Download(ctx context.Context, img bot.Image, fallbackKey []byte) ([]byte, error)
	Receive(ctx context.Context, street, streetName, community, by string, data []byte, rule campaign.PhotoRule) (photos.Result, error)
	List(ctx context.Context, street, community string) ([]storage.Photo, error)
	Delete(ctx context.Context, street, community string, n int) (storage.Photo, error)
	Zip(ctx context.Context, street, streetName, community string, w io.Writer) error
}

// Links turns a generated file into a download link (local mode, or a deployment with a
// public URL); nil when the bot has none.
type Links interface {
	Put(name string, data []byte) string
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
	last := -1
	for i, img := range imgs {
		prefix := ""
		if len(imgs) > 1 {
			prefix = fmt.Sprintf("第 %d 张：", i+1)
		}
		data, err := b.Photos.Download(r.ctx, img, b.MediaKey)
		if err != nil {
			b.Log.WarnContext(r.ctx, "photo download failed", "community", r.who.Community, "by", r.who.UserID, "err", err)
			lines = append(lines, prefix+msgPhotoDownloadFailed)
			continue
		}
		res, err := b.Photos.Receive(r.ctx, r.street.ID, r.street.Name, r.who.Community, r.who.UserID, data, rule)
		var refusal *photos.Refusal
		switch {
		case errors.As(err, &refusal):
			lines = append(lines, prefix+fmt.Sprintf(msgPhotoRefused, refusal.Reason))
			continue
		case err != nil:
			return "", fmt.Errorf("receive photo: %w", err)
		}
		last = res.Count
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
	if last >= 0 {
		if err := b.savePhotoFiling(r, last); err != nil {
			return "", err
		}
	}
	return strings.Join(lines, "\n"), nil
}

// savePhotoFiling keeps the photo count as the community's 照片 filing, flagged while
// there are fewer than the rule asks, so 进度 and 哪些社区还没报 see it.
func (b *Bot) savePhotoFiling(r *request, count int) error {
	rule := r.street.Rules.Photos
	f := campaign.Filing{Street: r.street.ID, Community: r.who.Community, Item: campaign.ItemPhotos,
		Fields:  map[string]string{"count": strconv.Itoa(count)},
		Summary: fmt.Sprintf("照片 %d 张（需要 %d-%d 张）", count, rule.Min, rule.Max),
		By:      r.who.UserID, At: r.now, Raw: r.msg.PlainText()}
	if count < rule.Min {
		f.Flags = []string{fmt.Sprintf("照片还差 %d 张", rule.Min-count)}
	}
	if err := b.Filings.Save(r.ctx, f, false); err != nil {
		return fmt.Errorf("save photo count: %w", err)
	}
	return nil
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
		fmt.Fprintf(&sb, "\n%d. %s（%s）", i+1, p.Name, campaign.DateOf(p.At))
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
	p, err := b.Photos.Delete(r.ctx, r.street.ID, r.who.Community, n)
	if errors.Is(err, storage.ErrNoSuchPhoto) {
		return fmt.Sprintf(msgNoSuchPhoto, n), nil
	}
	if err != nil {
		return "", fmt.Errorf("delete photo: %w", err)
	}
	list, err := b.Photos.List(r.ctx, r.street.ID, r.who.Community)
	if err != nil {
		return "", fmt.Errorf("list photos: %w", err)
	}
	if err := b.savePhotoFiling(r, len(list)); err != nil {
		return "", err
	}
	return fmt.Sprintf(msgPhotoDeleted, n, p.Name, len(list)), nil
}

func (b *Bot) packPhotos(r *request) (string, error) {
	if b.Photos == nil {
		return msgPhotosOff, nil
	}
	c, err := b.photoCommunity(r, "照片打包 大辛")
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	err = b.Photos.Zip(r.ctx, r.street.ID, r.street.Name, c, &buf)
	if errors.Is(err, photos.ErrNoPhotos) {
		return fmt.Sprintf(msgNoPhotosYet, c), nil
	}
	if err != nil {
		return "", fmt.Errorf("zip photos: %w", err)
	}
	name := photos.ZipFolder(r.street.Name, c) + ".zip"
	return b.deliverFile(r, name, buf.Bytes()), nil
}

// deliverFile hands a generated file to people: a download link when the bot has one,
// and the file itself in the street's groups when it is within WeCom's limit.
func (b *Bot) deliverFile(r *request, name string, data []byte) string {
	var parts []string
	if b.Links != nil {
		parts = append(parts, fmt.Sprintf(msgFileLink, name, b.Links.Put(name, data)))
	}
	if len(data) <= maxFilePush {
		if sent, failed := b.pushToStreet(r, bot.Push{File: data, FileName: name}); sent > 0 {
			parts = append(parts, fmt.Sprintf(msgFileSent, name))
		} else if failed > 0 {
			parts = append(parts, msgFileSendFailed)
		}
	} else if b.Links == nil {
		parts = append(parts, msgFileTooLarge)
	}
	if len(parts) == 0 {
		return msgFileNowhere
	}
	return strings.Join(parts, "\n")
}
