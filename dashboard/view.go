package dashboard

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"huanjie/campaign"
)

// Every view model here is filled from campaign's judgement (StreetState,
// CommunityState, ItemState) and its wording (Summary, Describe, Due, Word): the
// dashboard decides how things look, never where a community stands.

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

// streetView is one street on the overview: its totals (which are also the filters),
// then the communities worst first, as phone cards and as a desktop table.
type streetView struct {
	ID, Name, Anchor string
	Filters          []filterView
	Steps            []stepHead
	Communities      []communityView
}

// filterView is one total, which shows only the communities it counts when tapped.
type filterView struct {
	Key, Label, Empty string
	Count             int
}

type stepHead struct{ Label, Due string }

// communityView is one community: a card on a phone, a row on a desktop.
type communityView struct {
	Name, Title, Link string
	Marks             string // the filters it belongs to: "late warn", "ok"
	Progress          string // 已完成 5/15 项
	Complete          bool
	Tags              []tagView
	Owes              []owedView
	Problems          []problemView
	Reviews           []reviewView
	Next              string // when nothing is owed: the next item that opens
	Contacts          string
	Cells             []cellView
}

type tagView struct{ Class, Text string }

// owedView is one item a community owes now.
type owedView struct {
	Icon, Label, Detail, Due, Class string
}

// problemView is one item filed with problems, each problem in full.
type problemView struct {
	Icon, Label string
	Problems    []string
}

// reviewView is the office's decision on a reviewed item.
type reviewView struct {
	Icon, Label, Text, Class string
}

// cellView is one item in the desktop table: an icon and a few words; the filing's full
// description opens on a tap (no hover: phones and touch screens have none); problems
// are always shown in full.
type cellView struct {
	Icon, Text, Class string
	Full              string // "" when Text says it all
	Review            string // the review's word when the status does not already say it
	Flags             []string
}

// cardView is a community's page.
type cardView struct {
	Street, StreetName, Name string
	Steps                    []stepCard
	Photos                   []photoView
	PhotoCount, PhotoRule    string
	PhotoClass               string
	ZipURL                   string
	Contacts                 string
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
	URL, Thumb, Alt string
	Side            int
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

// classOf is the CSS class of a judged status.
func classOf(st campaign.Status) string {
	switch st {
	case campaign.StatusFiled, campaign.StatusApproved:
		return "ok"
	case campaign.StatusProblem, campaign.StatusReturned:
		return "warn"
	case campaign.StatusOverdue:
		return "late"
	case campaign.StatusNotOpen, campaign.StatusExempt:
		return "idle"
	}
	return "open"
}

// stepCell renders one item's judged state in a table cell.
func stepCell(s *campaign.Street, is *campaign.ItemState) cellView {
	c := cellView{Icon: is.Status.Icon(), Class: classOf(is.Status), Text: is.Word(), Flags: is.Problems}
	switch {
	case is.Exemption != nil:
		c.Full = s.Summary(is) // 免报（原因）
	case is.Def.Kind == campaign.KindPhotos:
		c.Text, c.Full = fmt.Sprintf(fmtPhotoCell, is.Photos), s.Summary(is)
	case is.Filing != nil:
		c.Full = s.Summary(is)
	case is.Status == campaign.StatusNotOpen:
		c.Text = fmt.Sprintf(fmtStarts, is.Step.Start)
	case is.Late:
		c.Text = fmt.Sprintf(fmtOverdueShort, is.DaysLate)
	case is.DaysLeft == 0:
		c.Text = txtTodayShort
	default:
		c.Text = fmt.Sprintf(fmtLeftShort, is.DaysLeft)
	}
	if w := is.ReviewWord(); w != "" && w != c.Text {
		c.Review = w
	}
	return c
}

// reviewOf is the office's decision on an item, with the reason of a return; ok is
// false when the item is not reviewed or nothing is filed.
func reviewOf(is *campaign.ItemState) (reviewView, bool) {
	if is.Def.Review == nil || is.Review == campaign.ReviewNone {
		return reviewView{}, false
	}
	r := reviewView{Label: is.Def.Review.Label, Text: is.ReviewWord()}
	switch is.Review {
	case campaign.ReviewPending:
		r.Icon, r.Class = campaign.StatusPending.Icon(), "open"
	case campaign.ReviewApproved:
		r.Icon, r.Class = campaign.StatusApproved.Icon(), "ok"
	case campaign.ReviewReturned:
		r.Icon, r.Class = campaign.StatusReturned.Icon(), "warn"
	}
	if rv := is.ReviewRecord; rv != nil && rv.Reason != "" {
		r.Text = fmt.Sprintf(fmtReviewReason, r.Text, rv.Reason)
	}
	return r, true
}

// contacts names the people who file for a community, with their titles.
func contacts(people *campaign.People, community string) string {
	var names []string
	for _, id := range people.Secretaries(community) {
		name := people.Name(id)
		if who, ok := people.Who(id); ok && who.Title != "" && who.Name != "" {
			name = fmt.Sprintf(fmtNameTitle, name, who.Title)
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return txtNoContact
	}
	return fmt.Sprintf(fmtContacts, strings.Join(names, "、"))
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := s.now()
	today := campaign.DateOf(now)
	p := &page{Title: ui.Title, Heading: ui.Title, AsOf: asOf(now)}
	for i := range s.Config.Streets {
		st := &s.Config.Streets[i]
		recs, err := s.Filings.Records(ctx, st.ID)
		if err != nil {
			s.serverError(w, r, "records of "+st.ID, err)
			return
		}
		bound, err := s.Bindings.Bound(ctx, st.ID)
		if err != nil {
			s.serverError(w, r, "bindings of "+st.ID, err)
			return
		}
		p.Streets = append(p.Streets, s.streetView(s.memo().JudgeStreet(st, recs, today), st.PeopleOf(bound)))
	}
	s.render(w, r, http.StatusOK, "index", p)
}

func (s *Server) streetView(ss *campaign.StreetState, people *campaign.People) streetView {
	st := ss.Street
	v := streetView{ID: st.ID, Name: st.Name, Anchor: "street-" + st.ID, Filters: []filterView{
		{Key: "all", Label: ui.Total, Count: len(ss.Communities)},
		{Key: "late", Label: ui.Overdue, Count: ss.WithLate, Empty: ui.NoneLate},
		{Key: "warn", Label: ui.Problems, Count: ss.WithProblems, Empty: ui.NoneProblems},
		{Key: "ok", Label: ui.AllFiled, Count: ss.Complete, Empty: ui.NoneComplete},
	}}
	for _, step := range st.Steps {
		v.Steps = append(v.Steps, stepHead{Label: step.Item.Label(), Due: step.Due.String()})
	}
	for _, cs := range ss.WorstFirst() {
		v.Communities = append(v.Communities, s.communityView(st, cs, people))
	}
	return v
}

func (s *Server) communityView(st *campaign.Street, cs *campaign.CommunityState, people *campaign.People) communityView {
	c := communityView{Name: cs.Name, Title: fmt.Sprintf(fmtCommunity, cs.Name), Link: s.communityURL(st.ID, cs.Name),
		Progress: fmt.Sprintf(fmtProgress, cs.Done, cs.Total), Complete: cs.Complete, Contacts: contacts(people, cs.Name)}
	var marks []string
	if cs.Late > 0 {
		marks = append(marks, "late")
		c.Tags = append(c.Tags, tagView{"late", campaign.StatusOverdue.Icon() + " " + fmt.Sprintf(fmtLateItems, cs.Late)})
	}
	if cs.Problems > 0 {
		marks = append(marks, "warn")
		c.Tags = append(c.Tags, tagView{"warn", campaign.StatusProblem.Icon() + " " + fmt.Sprintf(fmtProblemItems, cs.Problems)})
	}
	if cs.Returned > 0 {
		c.Tags = append(c.Tags, tagView{"warn", campaign.StatusReturned.Icon() + " " + fmt.Sprintf(fmtReturnedItems, cs.Returned)})
	}
	if cs.Complete {
		marks = append(marks, "ok")
		c.Tags = append(c.Tags, tagView{"ok", campaign.StatusFiled.Icon() + " " + ui.AllFiled})
	}
	c.Marks = strings.Join(marks, " ")
	for i := range cs.Items {
		is := &cs.Items[i]
		c.Cells = append(c.Cells, stepCell(st, is))
		if r, ok := reviewOf(is); ok {
			c.Reviews = append(c.Reviews, r)
		}
	}
	for _, is := range cs.Owes() {
		o := owedView{Icon: is.Status.Icon(), Label: is.Def.Label, Due: is.Due(), Class: classOf(is.Status)}
		if is.Def.Kind == campaign.KindPhotos {
			o.Detail = st.Rules.Photos.PhotoText(int(is.Photos))
		}
		c.Owes = append(c.Owes, o)
	}
	for _, is := range cs.WithProblems() {
		c.Problems = append(c.Problems, problemView{Icon: is.Status.Icon(), Label: is.Def.Label, Problems: is.Problems})
	}
	if len(c.Owes) == 0 && !cs.Complete {
		if is := cs.Next(); is != nil {
			c.Next = fmt.Sprintf(fmtNext, is.Def.Label, st.Summary(is))
		}
	}
	return c
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
	rec, err := s.Filings.Record(ctx, st.ID, community)
	if err != nil {
		s.serverError(w, r, "record of "+st.ID+"/"+community, err)
		return
	}
	photos, err := s.Photos.PhotoList(ctx, st.ID, community)
	if err != nil {
		s.serverError(w, r, "photos of "+st.ID+"/"+community, err)
		return
	}
	bound, err := s.Bindings.Bound(ctx, st.ID)
	if err != nil {
		s.serverError(w, r, "bindings of "+st.ID, err)
		return
	}
	people := st.PeopleOf(bound)
	cs := st.Judge(community, rec, today)
	card := &cardView{Street: st.ID, StreetName: st.Name, Name: fmt.Sprintf(fmtCommunity, community),
		PhotoCount: fmt.Sprintf(ui.PhotoCount, len(photos)),
		PhotoRule:  fmt.Sprintf(ui.PhotoRule, st.Rules.Photos.Min, st.Rules.Photos.Max),
		Contacts:   contacts(people, community)}
	if is := cs.Item(campaign.ItemPhotos); is != nil {
		card.PhotoClass = classOf(is.Status)
	}
	for i := range cs.Items {
		is := &cs.Items[i]
		c := stepCard{Icon: is.Status.Icon(), Label: is.Def.Label, Class: classOf(is.Status),
			Window: fmt.Sprintf(fmtWindow, is.Step.Start, is.Step.Due), Flags: is.Problems}
		if is.Step.Start.IsZero() {
			c.Window = fmt.Sprintf(fmtDue, is.Step.Due)
		}
		if is.Status != campaign.StatusNotOpen || is.Filing != nil {
			c.Summary = st.Summary(is)
		}
		if is.Filing != nil {
			c.Meta = fmt.Sprintf(fmtFiledMeta, campaign.DateOf(is.Filing.At), people.Name(is.Filing.By))
		}
		if rv, ok := reviewOf(is); ok {
			c.Review, c.ReviewClass = rv.Icon+" "+rv.Text, rv.Class
		}
		card.Steps = append(card.Steps, c)
	}
	for i, ph := range photos {
		card.Photos = append(card.Photos, photoView{URL: s.photoURL(st.ID, community, i+1, ph.Hash),
			Thumb: s.thumbURL(st.ID, community, i+1, ph.Hash), Alt: fmt.Sprintf(fmtPhotoAlt, i+1, ph.Name), Side: thumbSide})
	}
	if s.Zip != nil && len(photos) > 0 {
		card.ZipURL = s.zipURL(st.ID, community)
	}
	s.render(w, r, http.StatusOK, "community", &page{Title: card.Name + " · " + ui.Title,
		Heading: card.Name, AsOf: asOf(now), Card: card})
}
