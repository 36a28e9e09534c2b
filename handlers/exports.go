package handlers

import (
	"fmt"
	"strings"

	"huanjie/bot"
	"huanjie/exports"
)

func (b *Bot) exportWorkbook(r *request) (string, error) {
	s := r.street
	filings, err := b.Filings.CurrentAll(r.ctx, s.ID, s.CommunityNames())
	if err != nil {
		return "", fmt.Errorf("export %s: %w", s.ID, err)
	}
	counts := map[string]int{}
	if b.PhotoStore != nil {
		if counts, err = b.PhotoStore.PhotoCounts(r.ctx, s.ID, s.CommunityNames()); err != nil {
			return "", fmt.Errorf("export %s photo counts: %w", s.ID, err)
		}
	}
	data, err := exports.Workbook(b.Config, []exports.StreetData{{Street: s, Filings: filings, Photos: counts}}, r.now)
	if err != nil {
		return "", fmt.Errorf("export %s: %w", s.ID, err)
	}
	name := fmt.Sprintf(msgWorkbookName, s.Name, r.now.Format("20060102_1504"))
	b.Log.InfoContext(r.ctx, "workbook exported", "street", s.ID, "by", r.who.UserID, "bytes", len(data))
	return fmt.Sprintf(msgExported, s.Name, r.today) + "\n" + b.deliverFile(r, name, data), nil
}

func (b *Bot) progressChart(r *request) (string, error) {
	s := r.street
	filings, err := b.Filings.CurrentAll(r.ctx, s.ID, s.CommunityNames())
	if err != nil {
		return "", fmt.Errorf("chart %s: %w", s.ID, err)
	}
	png, err := exports.ProgressChart(s, filings, r.today)
	if err != nil {
		return "", fmt.Errorf("chart %s: %w", s.ID, err)
	}
	var parts []string
	if b.Links != nil {
		parts = append(parts, fmt.Sprintf(msgFileLink, "进度图.png", b.Links.Put(fmt.Sprintf(msgChartName, s.Name, r.now.Format("20060102")), png)))
	}
	switch sent, failed := b.pushToStreet(r, bot.Push{Image: png}); {
	case sent > 0:
		parts = append(parts, msgChartSent)
	case failed > 0:
		parts = append(parts, msgFileSendFailed)
	}
	if len(parts) == 0 {
		parts = append(parts, msgFileNowhere)
	}
	return fmt.Sprintf(msgChartMade, s.Name, r.today) + "\n" + strings.Join(parts, "\n"), nil
}
