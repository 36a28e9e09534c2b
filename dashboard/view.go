package dashboard

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"huanjie/campaign"
	"huanjie/config"
)

// page is what every template gets.
type page struct {
	T       *uiText
	Title   string
	Heading string
	Message string
	Home    string // the overview's URL
	Link    string // a way back from an error page
	AsOf    string
	Streets []streetView // the overview
	Card    *cardView    // a community's page
}

// streetView is one street's table on the overview.
type streetView struct {
	ID, Name, Anchor            string
	Steps                       []stepHead
	Rows                        []rowView
	Total, Done, Problems, Late int
	PhotoRule                   string
}

type stepHead struct{ Label, Due string }

// rowView is one community's row.
type rowView struct {
	Name, Link string
	Cells      []cellView
	Candidates cellView
	Election   cellView
	Photos     cellView
}

// cellView is one status: an icon, a short text and the full text for the title.
type cellView struct {
	Icon, Text, Full, Class string
	Flags                   []string // shown in the warning colour
	FlagsFull               string
}

// cardView is a community's page.
type cardView struct {
	Street, StreetName, Name string
	Steps                    []stepCard
	Photos                   []photoView
	PhotoCount, PhotoRule    string
	PhotoClass               string
	ZipURL                   string
}

// stepCard is one step on a community's page.
type stepCard struct {
	Icon, Label, Class string
	Summary, Meta      string
	Window             string
	Flags              []string
	Review             string
	ReviewClass        string
}

type photoView struct {
	URL, Alt      string
	Width, Height int
}

// cellChars is how many characters of a summary or flag fit in a table cell.
const cellChars = 18

// truncate shortens s to n characters with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func itoa(n int) string { return strconv.Itoa(n) }

// version is the cache-busting part of a photo URL: the start of its content hash.
func version(hash string) string {
	if len(hash) < 16 {
		return ""
	}
	for _, c := range hash[:16] {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return ""
		}
	}
	return hash[:16]
}

func asOf(t time.Time) string {
	t = t.In(campaign.Shanghai)
	return fmt.Sprintf(fmtAsOf, t.Year(), int(t.Month()), t.Day(), weekdays[t.Weekday()], t.Hour(), t.Minute())
}

// stepStatus says where a community stands on one step, the way the chat's card does:
// text in full, and short for a table cell.
func stepStatus(st campaign.Step, f campaign.Filing, filed bool, today campaign.Date) (icon, class, text, short string) {
	switch {
	case filed && f.Flagged():
		return iconFlagged, "warn", f.Summary, f.Summary
	case filed:
		return iconFiled, "ok", f.Summary, f.Summary
	case !st.Open(today):
		s := fmt.Sprintf(fmtStarts, st.Start)
		return iconIdle, "idle", s, s
	case st.Overdue(today):
		n := -today.DaysUntil(st.Due)
		return iconOverdue, "late", fmt.Sprintf(fmtOverdueDays, n), fmt.Sprintf(fmtOverdueShort, n)
	case today == st.Due:
		return iconOpen, "open", txtDueToday, txtTodayShort
	default:
		n := today.DaysUntil(st.Due)
		return iconOpen, "open", fmt.Sprintf(fmtDaysLeft, n), fmt.Sprintf(fmtLeftShort, n)
	}
}

// reviewCell shows the review state of item, with the reason of a return.
func reviewCell(cur map[campaign.Item]campaign.Filing, item campaign.Item) cellView {
	status, rv := campaign.ReviewStatus(cur, item)
	c := cellView{Icon: iconNone, Class: "idle"}
	switch status {
	case campaign.ReviewPending:
		c.Icon, c.Class = iconOpen, "open"
	case campaign.ReviewApproved:
		c.Icon, c.Class = iconFiled, "ok"
	case campaign.ReviewReturned:
		c.Icon, c.Class = iconFlagged, "warn"
	}
	c.Text = reviewWords[item][status]
	c.Full = c.Text
	if rv != nil && rv.Fields["reason"] != "" {
		c.Full = fmt.Sprintf(fmtReviewReason, c.Text, rv.Fields["reason"])
	}
	return c
}

// photoRange says the photo rule, e.g. "6–10".
func photoRange(r campaign.PhotoRule) string {
	if r.Min == r.Max {
		return itoa(r.Min)
	}
	return fmt.Sprintf(fmtPhotoRange, r.Min, r.Max)
}

// photoDue is the step the photos are due with: their own, else the summary's.
func photoDue(s *config.Street) (campaign.Step, bool) {
	if st, ok := s.Step(campaign.ItemPhotos); ok {
		return st, true
	}
	return s.Step(campaign.ItemSummary)
}

// photoCell compares a community's photo count with the rule.
func photoCell(s *config.Street, n int, today campaign.Date) cellView {
	rule := s.Rules.Photos
	c := cellView{Text: fmt.Sprintf(fmtPhotoCell, n, photoRange(rule))}
	c.Full = c.Text
	switch st, ok := photoDue(s); {
	case n > rule.Max && rule.Max > 0:
		c.Icon, c.Class = iconFlagged, "warn"
	case n >= rule.Min:
		c.Icon, c.Class = iconFiled, "ok"
	case ok && st.Overdue(today):
		c.Icon, c.Class = iconOverdue, "late"
	case ok && !st.Open(today) && n == 0:
		c.Icon, c.Class = iconIdle, "idle"
	default:
		c.Icon, c.Class = iconOpen, "open"
	}
	return c
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := s.now()
	today := campaign.DateOf(now)
	p := &page{Title: ui.Title, Heading: ui.Title, AsOf: asOf(now)}
	for i := range s.Config.Streets {
		st := &s.Config.Streets[i]
		names := st.CommunityNames()
		all, err := s.Filings.CurrentAll(ctx, st.ID, names)
		if err != nil {
			s.serverError(w, r, "filings of "+st.ID, err)
			return
		}
		counts, err := s.Photos.PhotoCounts(ctx, st.ID, names)
		if err != nil {
			s.serverError(w, r, "photo counts of "+st.ID, err)
			return
		}
		p.Streets = append(p.Streets, s.streetTable(st, all, counts, today))
	}
	s.render(w, r, http.StatusOK, "index", p)
}

func (s *Server) streetTable(st *config.Street, all map[string]map[campaign.Item]campaign.Filing, counts map[string]int, today campaign.Date) streetView {
	v := streetView{ID: st.ID, Name: st.Name, Anchor: "street-" + st.ID, Total: len(st.Communities),
		PhotoRule: fmt.Sprintf(ui.PhotoRule, st.Rules.Photos.Min, st.Rules.Photos.Max)}
	for _, step := range st.FilingSteps() {
		v.Steps = append(v.Steps, stepHead{Label: step.Item.Label(), Due: step.Due.String()})
	}
	for _, name := range st.CommunityNames() {
		cur := all[name]
		row := rowView{Name: name, Link: s.communityURL(st.ID, name)}
		filed, flagged, overdue := 0, 0, 0
		for _, step := range st.FilingSteps() {
			f, ok := cur[step.Item]
			icon, class, text, short := stepStatus(step, f, ok, today)
			c := cellView{Icon: icon, Class: class, Text: truncate(short, cellChars), Full: text}
			if ok {
				filed++
				if f.Flagged() {
					flagged++
					for _, fl := range f.Flags {
						c.Flags = append(c.Flags, truncate(fl, cellChars))
					}
					c.FlagsFull = strings.Join(f.Flags, "；")
				}
			} else if step.Overdue(today) {
				overdue++
			}
			row.Cells = append(row.Cells, c)
		}
		row.Candidates = reviewCell(cur, campaign.ItemCandidates)
		row.Election = reviewCell(cur, campaign.ItemElection)
		row.Photos = photoCell(st, counts[name], today)
		if filed == len(st.FilingSteps()) && flagged == 0 {
			v.Done++
		}
		if flagged > 0 {
			v.Problems++
		}
		if overdue > 0 {
			v.Late++
		}
		v.Rows = append(v.Rows, row)
	}
	return v
}

func (s *Server) community(w http.ResponseWriter, r *http.Request, street, community string) {
	st, ok := s.lookup(street, community)
	if !ok {
		s.notFound(w, r)
		return
	}
	ctx := r.Context()
	now := s.now()
	today := campaign.DateOf(now)
	cur, err := s.Filings.Current(ctx, st.ID, community)
	if err != nil {
		s.serverError(w, r, "filings of "+st.ID+"/"+community, err)
		return
	}
	photos, err := s.Photos.PhotoList(ctx, st.ID, community)
	if err != nil {
		s.serverError(w, r, "photos of "+st.ID+"/"+community, err)
		return
	}
	card := &cardView{Street: st.ID, StreetName: st.Name, Name: fmt.Sprintf(fmtCommunity, community),
		PhotoCount: fmt.Sprintf(ui.PhotoCount, len(photos)),
		PhotoRule:  fmt.Sprintf(ui.PhotoRule, st.Rules.Photos.Min, st.Rules.Photos.Max)}
	card.PhotoClass = photoCell(st, len(photos), today).Class
	for _, step := range st.FilingSteps() {
		f, filed := cur[step.Item]
		icon, class, text, _ := stepStatus(step, f, filed, today)
		c := stepCard{Icon: icon, Label: step.Item.Label(), Class: class,
			Window: fmt.Sprintf(fmtWindow, step.Start, step.Due)}
		if step.Start.IsZero() {
			c.Window = fmt.Sprintf(fmtDue, step.Due)
		}
		if filed {
			c.Summary = f.Summary
			c.Meta = fmt.Sprintf(fmtFiledMeta, campaign.DateOf(f.At), personName(st, f.By))
			c.Flags = f.Flags
			if step.Item.Review() != "" {
				rc := reviewCell(cur, step.Item)
				c.Review, c.ReviewClass = rc.Icon+" "+rc.Full, rc.Class
			}
		} else if class != "idle" { // a step not started has only its window
			c.Summary = text
		}
		card.Steps = append(card.Steps, c)
	}
	for i, ph := range photos {
		card.Photos = append(card.Photos, photoView{URL: s.photoURL(st.ID, community, i+1, ph.Hash),
			Alt: fmt.Sprintf(fmtPhotoAlt, i+1, ph.Name), Width: ph.Width, Height: ph.Height})
	}
	if s.Zip != nil && len(photos) > 0 {
		card.ZipURL = s.zipURL(st.ID, community)
	}
	s.render(w, r, http.StatusOK, "community", &page{Title: card.Name + " · " + ui.Title,
		Heading: card.Name, AsOf: asOf(now), Card: card})
}

// personName shows who filed: a configured name, else the userid.
func personName(s *config.Street, uid string) string {
	if p, ok := s.Person(uid); ok && p.Name != "" {
		return p.Name
	}
	return uid
}
