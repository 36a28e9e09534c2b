package storage

import (
	"encoding/json"
	"strconv"
	"strings"

	"huanjie/campaign"
)

// Filings written before the typed values (until the one-model release) hold a
// map of strings, a frozen summary and frozen flags, and reviews are stored as filings of
// the items review.candidates and review.election. They are read into the typed form
// here, so a deployment keeps every filing it acknowledged; the frozen summary and flags
// are dropped and judged again from the values.

// legacyFiling is the stored JSON of either form.
type legacyFiling struct {
	campaign.Filing
	Fields map[string]string `json:"fields"`
}

// decodeFiling reads a stored filing of either form.
func decodeFiling(js string) (campaign.Filing, error) {
	var l legacyFiling
	if err := json.Unmarshal([]byte(js), &l); err != nil {
		return campaign.Filing{}, err
	}
	f := l.Filing
	if l.Fields != nil && f.Value.IsZero() {
		f.Value = legacyValue(f.Item, l.Fields)
		f.Text = l.Fields["text"]
	}
	return f, nil
}

// legacyReview reads a review stored as a filing (field review.candidates or
// review.election of the cur hash).
func legacyReview(field, js string) (campaign.Review, bool, error) {
	d, ok := campaign.Reviewed(campaign.Item(field))
	if !ok {
		return campaign.Review{}, false, nil
	}
	var l legacyFiling
	if err := json.Unmarshal([]byte(js), &l); err != nil {
		return campaign.Review{}, true, err
	}
	return campaign.Review{Item: d.ID, Of: l.Fields["of"], Status: l.Fields["status"], Reason: l.Fields["reason"],
		By: l.By, At: l.At}, true, nil
}

func legacyValue(item campaign.Item, m map[string]string) campaign.Value {
	num := func(k string) int { n, _ := strconv.Atoi(m[k]); return n }
	date := func(k string) campaign.Date { d, _ := campaign.ParseISODate(m[k]); return d }
	names := func(k string) []string {
		if m[k] == "" {
			return nil
		}
		return strings.Split(m[k], "、")
	}
	v := campaign.Value{}
	d, ok := campaign.Lookup(item)
	if !ok {
		return v
	}
	switch d.Kind {
	case campaign.KindLeadingGroup:
		v.Leader = m["leader"]
	case campaign.KindMembers:
		v.Members, v.Population = num("members"), num("population")
	case campaign.KindRepresentatives:
		v.Count, v.Assembly = num("count"), m["assembly"] == "yes"
	case campaign.KindPublicity:
		v.Start = date("start")
	case campaign.KindCandidates, campaign.KindElection:
		v.Date = date("date")
		v.Roster = campaign.Roster{President: names("president"), VicePresidents: names("vice_president"),
			SecretaryGeneral: names("secretary_general"), DeputySecretary: names("deputy_secretary_general"),
			Council: names("council"), CouncilSize: num("council_size")}
		for k, val := range m {
			if part, ok := strings.CutPrefix(k, "makeup."); ok {
				if v.Roster.Makeup == nil {
					v.Roster.Makeup = map[string]int{}
				}
				v.Roster.Makeup[part], _ = strconv.Atoi(val)
			}
		}
	case campaign.KindText:
		v.Chars = num("chars")
		v.Preview = firstRunes(m["text"], previewRunes)
	case campaign.KindDone:
		v.Date = date("date")
	}
	return v
}

// previewRunes is how much of a long text the compact value keeps.
const previewRunes = 40

func firstRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
