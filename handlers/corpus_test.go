package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"huanjie/campaign"
	"huanjie/internal/corpus"
)

// Outcomes of one corpus message through the bot.
const (
	understood = "understood" // stored exactly what a careful person reads
	askedBack  = "asked back" // nothing stored, the sender was asked (as wanted)
	overAsked  = "over-asked" // nothing stored, although a person reads it: a question too many
	misread    = "misread"    // stored something else, or stored where it must ask
)

// TestCorpus runs every message of testdata/corpus.yaml through the bot on real Redis,
// each on a fresh store with the clock on its day, and compares what was stored with what
// a careful person reads. Misread must be 0: the bot never stores a guess.
func TestCorpus(t *testing.T) {
	entries := corpus.Load(t, "testdata/corpus.yaml")
	if len(entries) < 300 {
		t.Errorf("the corpus has %d messages, want at least 300", len(entries))
	}
	byTag := map[string]map[string]int{}
	total := map[string]int{}
	for i, e := range entries {
		outcome, why := runCorpusEntry(t, e)
		if byTag[e.Tag] == nil {
			byTag[e.Tag] = map[string]int{}
		}
		byTag[e.Tag][outcome]++
		total[outcome]++
		switch outcome {
		case misread:
			t.Errorf("entry %d misread: %s「%s」(%s): %s", i, e.From, e.Text, e.Today, why)
		case overAsked:
			t.Logf("entry %d asked back although a person reads it: %s「%s」: %s", i, e.From, e.Text, why)
		}
	}
	var sb strings.Builder
	cols := []string{understood, askedBack, overAsked, misread}
	fmt.Fprintf(&sb, "%-22s", "tag")
	for _, c := range cols {
		fmt.Fprintf(&sb, " %11s", c)
	}
	tags := make([]string, 0, len(byTag))
	for tag := range byTag {
		tags = append(tags, tag)
	}
	sort.Strings(tags)
	for _, tag := range append(tags, "total") {
		row := byTag[tag]
		if tag == "total" {
			row = total
		}
		fmt.Fprintf(&sb, "\n%-22s", tag)
		for _, c := range cols {
			fmt.Fprintf(&sb, " %11d", row[c])
		}
	}
	t.Logf("corpus of %d messages through the bot:\n%s", len(entries), sb.String())
}

// runCorpusEntry handles one entry on a fresh store and classifies the result.
func runCorpusEntry(t *testing.T, e corpus.Entry) (string, string) {
	t.Helper()
	h := newHarness(t)
	day, err := campaign.ParseISODate(e.Today)
	if err != nil {
		t.Fatalf("today %q: %v", e.Today, err)
	}
	h.now = day.Time().Add(9 * time.Hour)
	for _, s := range e.Setup {
		h.say(s.From, s.Text)
	}
	for _, s := range e.Before {
		h.say(e.From, s)
	}
	before := h.state()
	reply := h.say(e.From, e.Text)
	after := h.state()
	stored := before != after
	st := &h.bot.Config.Streets[0]

	switch {
	case e.Want.Ask:
		if stored {
			return misread, "stored where it must ask back; reply: " + reply
		}
		if e.Want.Says != "" && !strings.Contains(reply, e.Want.Says) {
			return misread, fmt.Sprintf("asked, but not %q: %s", e.Want.Says, reply)
		}
		return askedBack, ""
	case e.Want.Review != "":
		c, ok := st.Community(e.Want.Community)
		if !ok {
			t.Fatalf("no community %q", e.Want.Community)
		}
		rec, err := h.store.Record(context.Background(), st.ID, c.Name)
		if err != nil {
			t.Fatal(err)
		}
		item := campaign.Item(e.Want.Item)
		status, rv := rec.ReviewOf(item)
		want := map[string]string{"approve": campaign.ReviewApproved, "return": campaign.ReviewReturned}[e.Want.Review]
		switch {
		case !stored:
			return overAsked, reply
		case status != want:
			return misread, fmt.Sprintf("%s review is %q, want %q; reply: %s", item, status, want, reply)
		case e.Want.Reason != "" && rv.Reason != e.Want.Reason:
			return misread, fmt.Sprintf("reason %q, want %q", rv.Reason, e.Want.Reason)
		}
		return understood, ""
	}
	if e.Want.Away != "" {
		return awayOutcome(h, e, stored, reply)
	}
	who, _ := st.Person(e.From)
	rec, err := h.store.Record(context.Background(), st.ID, who.Community)
	if err != nil {
		t.Fatal(err)
	}
	f, ok := rec.Filing(campaign.Item(e.Want.Item))
	if !stored || !ok {
		if stored {
			return misread, "stored another item; reply: " + reply
		}
		return overAsked, reply
	}
	for k, want := range e.Want.Values {
		if got := corpusValue(f, k); got != want {
			return misread, fmt.Sprintf("%s = %q, want %q; reply: %s", k, got, want, reply)
		}
	}
	return understood, ""
}

// awayOutcome classifies a 请假 entry: the leave stored for want.away, from and until.
func awayOutcome(h *harness, e corpus.Entry, stored bool, reply string) (string, string) {
	h.t.Helper()
	all, err := h.store.Away(context.Background(), "chengxi")
	if err != nil {
		h.t.Fatal(err)
	}
	i := slices.IndexFunc(all, func(a campaign.Away) bool { return a.UserID == e.Want.Away })
	switch {
	case i < 0 && !stored:
		return overAsked, reply
	case i < 0:
		return misread, "stored something else; reply: " + reply
	}
	got := map[string]string{"from": all[i].From.ISO(), "until": all[i].Until.ISO()}
	for k, want := range e.Want.Values {
		if got[k] != want {
			return misread, fmt.Sprintf("%s = %q, want %q; reply: %s", k, got[k], want, reply)
		}
	}
	return understood, ""
}

// state is everything a message could have stored: the street's records, its leaves, and
// what waits for 确认 (held filings count as nothing stored).
func (h *harness) state() string {
	h.t.Helper()
	ctx := context.Background()
	recs, err := h.store.Records(ctx, "chengxi")
	if err != nil {
		h.t.Fatal(err)
	}
	away, err := h.store.Away(ctx, "chengxi")
	if err != nil {
		h.t.Fatal(err)
	}
	b, err := json.Marshal(struct {
		Records any
		Away    []campaign.Away
	}{recs, away})
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b)
}

// corpusValue reads value k of a filing as the corpus writes it.
func corpusValue(f campaign.Filing, k string) string {
	v := f.Value
	date := func(d campaign.Date) string { return d.ISO() }
	switch k {
	case "members":
		return strconv.Itoa(v.Members)
	case "population":
		return strconv.Itoa(v.Population)
	case "count":
		return strconv.Itoa(v.Count)
	case "assembly":
		if v.Assembly {
			return "yes"
		}
		return ""
	case "start":
		return date(v.Start)
	case "date":
		return date(v.Date)
	case "leader":
		return v.Leader
	case "president":
		return strings.Join(v.Roster.President, "、")
	case "vice_president":
		return strings.Join(v.Roster.VicePresidents, "、")
	case "secretary_general":
		return strings.Join(v.Roster.SecretaryGeneral, "、")
	case "council_size":
		return strconv.Itoa(v.Roster.Size())
	case "text_chars":
		return strconv.Itoa(v.Chars)
	}
	return "?" + k
}
