package handlers

import (
	"errors"
	"fmt"
	"strings"

	"huanjie/bot"
	"huanjie/campaign"
	"huanjie/exports"
)

func (b *Bot) exportWorkbook(r *request) (string, error) {
	s := r.street
	ss, err := b.judged(r)
	if err != nil {
		return "", err
	}
	data, err := exports.Workbook(b.Config, []*campaign.StreetState{ss}, r.now)
	if err != nil {
		return "", fmt.Errorf("export %s: %w", s.ID, err)
	}
	name := fmt.Sprintf(msgWorkbookName, s.Name, r.now.In(campaign.Shanghai).Format("20060102_1504"))
	b.Log.InfoContext(r.ctx, "workbook exported", "street", s.ID, "by", r.who.UserID, "bytes", len(data))
	delivered, err := b.deliverFile(r, name, writeBytes(data))
	if err != nil {
		return "", fmt.Errorf("export %s: %w", s.ID, err)
	}
	return fmt.Sprintf(msgExported, s.Name, r.today) + "\n\n" + delivered, nil
}

func (b *Bot) progressChart(r *request) (string, error) {
	s := r.street
	ss, err := b.judged(r)
	if err != nil {
		return "", err
	}
	png, err := exports.ProgressChart(ss, r.now)
	if err != nil {
		return "", fmt.Errorf("chart %s: %w", s.ID, err)
	}
	name := fmt.Sprintf(msgChartName, s.Name, r.now.In(campaign.Shanghai).Format("20060102_1504"))
	head := fmt.Sprintf(msgChartMade, s.Name, r.today)
	if fig := exports.Figures(ss, r.now); fig.Omitted > 0 {
		head += fmt.Sprintf(msgChartOmitted, len(fig.Rows), fig.Omitted)
	}
	return head + "\n\n" + b.deliverImage(r, name, png), nil
}

// deliverImage keeps a generated image behind a download link and posts it into the
// group that asked; it says in a line or two how that went.
func (b *Bot) deliverImage(r *request, name string, png []byte) string {
	var delivery []string
	if b.Links != nil {
		if link, _, err := b.Links.Keep(name, writeBytes(png)); err != nil {
			b.Log.ErrorContext(r.ctx, "keeping an image failed", "name", name, "err", err)
			delivery = append(delivery, msgFileKeepFailed)
		} else {
			delivery = append(delivery, fmt.Sprintf(msgFileLink, name, link))
		}
	}
	switch sent, failed := b.pushToAsker(r, bot.Push{Image: png}); {
	case sent > 0:
		delivery = append(delivery, fmt.Sprintf(msgFileSent, name))
	case failed > 0:
		delivery = append(delivery, msgFileSendFailed)
	}
	if len(delivery) == 0 {
		delivery = append(delivery, msgFileNowhere)
	}
	return strings.Join(delivery, "\n")
}

// pushToAsker sends a file or an image into the group that asked for it — only that one:
// a street of 500 groups does not make 500 pushes inside one request. A 1:1 question gets
// its download link only. Text notices for other groups go through the outbox
// (tellCommunity, tellOffice).
func (b *Bot) pushToAsker(r *request, p bot.Push) (sent, failed int) {
	if b.Pusher == nil || r.group == nil {
		return 0, 0
	}
	g := r.group
	err := b.Pusher.Push(r.ctx, bot.Target{ChatID: g.ChatID, WebhookKey: g.WebhookKey, Via: g.Push}, p)
	if errors.Is(err, bot.ErrNoPushPath) { // URL-callback mode and no webhook key: the link will do
		return 0, 0
	}
	if err != nil {
		b.Log.ErrorContext(r.ctx, "group push failed", "group", g.ChatID, "err", err)
		return 0, 1
	}
	return 1, 0
}
