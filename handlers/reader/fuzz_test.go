package reader

import (
	"strings"
	"testing"
	"unicode/utf8"

	"huanjie/campaign"
)

// The fuzz targets check what must hold for any input: no panic, positions inside the
// normalised text and equal to the reported text, and statuses that agree with values.
// Seeds are in testdata/fuzz; run one with: go test -fuzz FuzzNumbers ./handlers/reader

func FuzzNumbers(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		norm := Normalize(s)
		if normalize(norm) != norm {
			t.Fatalf("Normalize not idempotent: %q → %q → %q", s, norm, normalize(norm))
		}
		if normal(s) && normalize(s) != s {
			t.Fatalf("the shortcut took %q as normal, but it normalises to %q", s, normalize(s))
		}
		if !utf8.ValidString(norm) && utf8.ValidString(s) {
			t.Fatalf("Normalize broke UTF-8: %q", norm)
		}
		prev := -1
		for _, n := range Numbers(s) {
			if n.Pos < 0 || n.End > len(norm) || n.Pos >= n.End || norm[n.Pos:n.End] != n.Text {
				t.Fatalf("number %+v is not at its place in %q", n, norm)
			}
			if n.Pos < prev {
				t.Fatalf("numbers out of order in %q", norm)
			}
			prev = n.End
			if (n.Status == Certain) != (n.Why == "") {
				t.Fatalf("status and reason disagree: %+v", n)
			}
			if v, ok := n.Int(); ok && (v < 0 || n.Negative) {
				t.Fatalf("a negative count: %+v", n)
			}
		}
		Assign(Numbers(s), itemSlots["members"])
	})
}

func FuzzDates(f *testing.F) {
	c := Clock{Today: campaign.Date{Year: 2021, Month: 7, Day: 5}, Year: 2021}
	f.Fuzz(func(t *testing.T, s string) {
		norm := Normalize(s)
		for _, d := range Dates(s, c) {
			if d.Pos < 0 || d.End > len(norm) || d.Pos >= d.End || norm[d.Pos:d.End] != d.Text {
				t.Fatalf("date %+v is not at its place in %q", d, norm)
			}
			switch d.Status {
			case Certain:
				if d.Day.IsZero() || d.Why != "" {
					t.Fatalf("a certain date without a day: %+v", d)
				}
				if d.Day.Year < c.Year-1 || d.Day.Year > c.Year+1 {
					t.Fatalf("a certain date far from the campaign: %+v in %q", d, norm)
				}
			default:
				if d.Why == "" {
					t.Fatalf("an uncertain date without a reason: %+v", d)
				}
			}
		}
	})
}

func FuzzFindCommand(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		norm := Normalize(s)
		c, ok := FindCommand(s, secretaryWords)
		if !ok {
			return
		}
		if c.Pos < 0 || c.End > len(norm) || !strings.EqualFold(norm[c.Pos:c.End], c.Word) || secretaryWords[c.Word] != c.Key {
			t.Fatalf("command %+v is not at its place in %q", c, norm)
		}
		for _, m := range FindCommunities(s, fifteen) {
			if norm[m.Pos:m.End] != m.Typed {
				t.Fatalf("mention %+v is not at its place in %q", m, norm)
			}
		}
		ReadReview(s, c, fifteen, itemWords)
	})
}

// longInputs are pages of what people type, pasted ten thousand characters long.
func longInputs() []string {
	unit := []string{"会员三十六人，人口九百", "公示 7.2-7.4 下周一 30号 ", "三千二百零五万", "1,234,567.8", "－－５５５", "大新社区", "第一二三四五六七八九十百千万亿"}
	var out []string
	for _, u := range unit {
		var b strings.Builder
		for b.Len() < 30000 {
			b.WriteString(u)
		}
		out = append(out, string([]rune(b.String())[:10000]))
	}
	out = append(out, strings.Repeat("9", 10000), strings.Repeat("会", 10000), strings.Repeat("·", 10000))
	return out
}

// TestLongInput runs every reader over 10 000-character inputs; the reader is linear in
// the input (labels are looked for at most 60 bytes back, a numeral is at most 24 runes),
// so this finishes at once — BenchmarkLongInput gives the figure.
func TestLongInput(t *testing.T) {
	c := Clock{Today: campaign.Date{Year: 2021, Month: 7, Day: 5}, Year: 2021}
	for _, s := range longInputs() {
		Numbers(s)
		Dates(s, c)
		if cmd, ok := FindCommand(s, secretaryWords); ok {
			ReadReview(s, cmd, fifteen, itemWords)
		}
		FindCommunities(s, fifteen)
	}
}

func BenchmarkLongInput(b *testing.B) {
	c := Clock{Today: campaign.Date{Year: 2021, Month: 7, Day: 5}, Year: 2021}
	in := longInputs()
	b.ResetTimer()
	for b.Loop() {
		for _, s := range in {
			Numbers(s)
			Dates(s, c)
			FindCommand(s, secretaryWords)
			FindCommunities(s, fifteen)
		}
	}
}

func BenchmarkSentence(b *testing.B) {
	c := Clock{Today: campaign.Date{Year: 2021, Month: 7, Day: 5}, Year: 2021}
	s := "您好，大辛社区会员三百二十人，总人口6200，公示从明天开始"
	for b.Loop() {
		Numbers(s)
		Dates(s, c)
		FindCommand(s, secretaryWords)
		FindCommunities(s, fifteen)
	}
}
