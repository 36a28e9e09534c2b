package handlers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"huanjie/campaign"
	"huanjie/dashboard"
	"huanjie/exports"
	"huanjie/storage"
)

// recLinks keeps the files the bot generates, as a download link would serve them.
type recLinks struct {
	mu    sync.Mutex
	files map[string][]byte
}

func (l *recLinks) Keep(name string, write func(io.Writer) error) (string, int64, error) {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return "", 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.files == nil {
		l.files = map[string][]byte{}
	}
	l.files[name] = buf.Bytes()
	return "https://files.example/" + name, int64(buf.Len()), nil
}

// daxinToElection: 大辛 files every item up to its election, its candidates approved.
var daxinToElection = []step{
	{who: "cuihong", text: "领导小组 组长 崔宏", at: "2021-06-15"},
	{who: "cuihong", text: "会员 320 人口 6200", at: "2021-06-28"},
	{who: "cuihong", text: "会员小组 已划分"},
	{who: "cuihong", text: "联系户 已建立"},
	{who: "cuihong", text: "培训 已参加 7月2日", at: "2021-07-02"},
	{who: "cuihong", text: "代表 50"},
	{who: "cuihong", text: "公示 7月2日"},
	{who: "cuihong", text: "候选人 会长 崔宏 副会长 王芳 秘书长 李丽"},
	{who: "luolimei", text: "初审通过 大辛"},
	{who: "cuihong", text: "选举 7月6日 会长 崔宏 副会长 王芳 秘书长 李丽 理事会 11人", at: "2021-07-06"},
}

// TestViewsAgree builds one campaign state through the chat and checks that every view
// renders the same judgement of it: 进度, the community cards, 哪些社区还没报 (all and
// per item), 催一下, the scheduled nudges and late summaries, the workbook, the chart's
// figures and the dashboard agree on who is complete, who has problems, who is late and
// who still owes what.
func TestViewsAgree(t *testing.T) {
	h := withScheduler(newHarness(t))
	links := &recLinks{}
	h.bot.Links = links
	// 大辛 does everything up to the election, approved; 3 of 6 photos.
	h.run(append(slices.Clone(daxinToElection), []step{
		{who: "luolimei", text: "批复 大辛"},
		// 柳杭 files too few members (a problem) and its leading group.
		{who: "zhuxunyan", text: "领导小组 组长 朱训岩", at: "2021-06-18"},
		{who: "zhuxunyan", text: "会员 150 人口 3200", at: "2021-06-29"},
		// 李家窑's candidates are returned; 太平 files only its leading group, late.
		{who: "yangyueheng", text: "领导小组 组长 杨曰珩", at: "2021-06-19"},
		{who: "yangyueheng", text: "候选人 会长 杨曰珩 副会长 王敏 秘书长 赵丽", at: "2021-07-05"},
		{who: "luolimei", text: "退回 李家窑 副会长人选需调整"},
		{who: "yudunfu", text: "领导小组 组长 于敦富", at: "2021-06-25"},
		// 凤凰园 holds a 会员大会 instead of electing representatives: excused.
		{who: "luolimei", text: "免报 凤凰园 代表 会员大会代替", at: "2021-07-05", want: []string{"已登记免报"}},
	}...))
	ctx := context.Background()
	for i := range 3 {
		p := storage.Photo{Hash: fmt.Sprint("h", i), Name: fmt.Sprint(i, ".jpg"), By: "cuihong", At: h.now}
		if _, err := h.store.AddPhoto(ctx, "chengxi", "大辛", p, 10); err != nil {
			t.Fatal(err)
		}
	}
	h.notices() // the review notices so far

	// Monday 7月12日, 09:00: the truth every view must show.
	h.now = time.Date(2021, 7, 12, 9, 0, 0, 0, campaign.Shanghai)
	st := &h.bot.Config.Streets[0]
	recs, err := h.store.Records(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	truth := st.JudgeStreet(recs, campaign.DateOf(h.now))
	if truth.Complete != 0 || truth.WithProblems != 1 || truth.WithLate != 14 {
		t.Fatalf("fixture: complete %d problems %d late %d", truth.Complete, truth.WithProblems, truth.WithLate)
	}

	t.Run("进度", func(t *testing.T) {
		got := h.say("quxin", "进度")
		for i := range truth.Communities {
			cs := &truth.Communities[i]
			line := lineOf(t, got, fmt.Sprintf("**%s** ", cs.Name))
			if !strings.Contains(line, fmt.Sprintf("已报 %d/%d", cs.Done, cs.Total)) ||
				strings.Contains(line, "项有问题") != (cs.Problems > 0) || strings.Contains(line, "逾期") != (cs.Late > 0) ||
				(cs.Problems > 0 && !strings.Contains(line, fmt.Sprintf("%d 项有问题", cs.Problems))) ||
				(cs.Late > 0 && !strings.Contains(line, fmt.Sprintf("逾期 %d 项", cs.Late))) {
				t.Errorf("%s: %q disagrees with done %d/%d problems %d late %d", cs.Name, line, cs.Done, cs.Total, cs.Problems, cs.Late)
			}
		}
		if want := fmt.Sprintf("全部报齐 %d 个，有问题 %d 个，有逾期 %d 个", truth.Complete, truth.WithProblems, truth.WithLate); !strings.Contains(got, want) {
			t.Errorf("totals: want %q in\n%s", want, got)
		}
	})

	t.Run("cards", func(t *testing.T) {
		for i := range truth.Communities {
			cs := &truth.Communities[i]
			got := h.say("quxin", cs.Name)
			for j := range cs.Items {
				is := &cs.Items[j]
				if want := is.Status.Icon() + " **" + is.Def.Label + "**"; !strings.Contains(got, want) {
					t.Errorf("%s card lacks %q", cs.Name, want)
				}
				for _, p := range is.Problems {
					if !strings.Contains(got, "⚠️ "+p) {
						t.Errorf("%s card lacks the problem %q", cs.Name, p)
					}
				}
			}
		}
	})

	t.Run("哪些社区还没报", func(t *testing.T) {
		all := h.say("quxin", "哪些社区还没报")
		for i := range truth.Communities {
			cs := &truth.Communities[i]
			marker := "**" + cs.Name + "**："
			owes := cs.Owes()
			if len(owes) == 0 {
				if strings.Contains(all, marker) {
					t.Errorf("%s owes nothing but is listed", cs.Name)
				}
				continue
			}
			line := lineOf(t, all, marker)
			if len(owes) > manyOwed {
				if want := fmt.Sprintf("未报 %d 项（⏰ 逾期 %d 项）", len(owes), cs.Late); !strings.Contains(line, want) {
					t.Errorf("%s: %q, want %q", cs.Name, line, want)
				}
				continue
			}
			listed := strings.Split(strings.TrimPrefix(line[strings.Index(line, marker):], marker), "、")
			if len(listed) != len(owes) {
				t.Errorf("%s: %q, want the %d items it owes", cs.Name, line, len(owes))
			}
			for _, is := range owes {
				if !strings.Contains(line, is.Def.Words[0]) || strings.Contains(line, "⏰"+is.Def.Words[0]) != is.Late {
					t.Errorf("%s: %q, want %s (late %v)", cs.Name, line, is.Def.Words[0], is.Late)
				}
			}
		}
		for _, step := range st.Steps {
			one := h.say("quxin", "哪些社区还没报 "+step.Item.Def().Words[0])
			notDone := truth.NotDone(step.Item)
			if len(notDone) == 0 {
				if !strings.Contains(one, "所有社区都已报") {
					t.Errorf("哪些社区还没报 %s: want all filed in\n%s", step.Item.Def().Words[0], one)
				}
				continue
			}
			if want := fmt.Sprintf("共 %d 个\n\n%s", len(notDone), names(notDone, step.Item)); !strings.Contains(one, want) {
				t.Errorf("哪些社区还没报 %s: want %q in\n%s", step.Item.Def().Words[0], want, one)
			}
		}
	})

	t.Run("催一下 and the morning nudge", func(t *testing.T) {
		people := st.PeopleOf(nil)
		// check compares a nudge with the judgement: it names exactly the communities of
		// want, each with exactly the items of want, and @-mentions their secretaries once.
		check := func(name string, m storage.OutMsg, want map[string][]string) {
			t.Helper()
			got := nudgedItems(m.Text)
			var ids []string
			for i := range truth.Communities {
				c := truth.Communities[i].Name
				if labels, late := want[c]; late {
					ids = append(ids, people.Secretaries(c)...)
					if !slices.Equal(got[c], labels) {
						t.Errorf("%s: %s owes %v, the nudge says %v", name, c, labels, got[c])
					}
				} else if _, named := got[c]; named {
					t.Errorf("%s: %s is named but owes nothing now", name, c)
				}
			}
			if strings.Join(m.Mentions, ",") != strings.Join(ids, ",") {
				t.Errorf("%s: @%v, want @%v", name, m.Mentions, ids)
			}
		}
		h.say("luolimei", "催一下 代表")
		nudges := h.notices()
		owing := map[string][]string{}
		for _, cs := range truth.NotDone(campaign.ItemRepresentatives) {
			owing[cs.Name] = []string{campaign.ItemRepresentatives.Label()}
		}
		if len(nudges) != 1 {
			t.Fatalf("催一下 代表: %d messages, want one: %+v", len(nudges), nudges)
		}
		check("催一下 代表", nudges[0], owing)

		// 09:00 brings the phase reminders; 09:30 one nudge of everything late.
		for _, at := range []time.Duration{9 * time.Hour, 9*time.Hour + 30*time.Minute} {
			h.now = truth.Today.Time().Add(at)
			if err := h.bot.Reminders.(interface{ Tick(context.Context) error }).Tick(ctx); err != nil {
				t.Fatal(err)
			}
		}
		h.now = truth.Today.Time().Add(9 * time.Hour)
		var morning []storage.OutMsg
		for _, m := range h.notices() {
			if strings.HasPrefix(m.Text, "【催报】") {
				morning = append(morning, m)
			}
		}
		if len(morning) != 1 {
			t.Fatalf("7月12日: %d nudges, want one", len(morning))
		}
		late := map[string][]string{}
		for i := range truth.Communities {
			cs := &truth.Communities[i]
			for j := range cs.Items {
				if is := &cs.Items[j]; is.Late && int(is.DaysLate) <= st.Reminders.NudgeForDays {
					late[cs.Name] = append(late[cs.Name], is.Def.Label)
				}
			}
		}
		if len(late) == 0 {
			t.Fatal("fixture: nobody late on 7月12日")
		}
		check("the morning nudge", morning[0], late)
	})

	t.Run("workbook", func(t *testing.T) {
		reply := h.say("luolimei", "导出")
		var data []byte
		for name, b := range links.files {
			if strings.HasSuffix(name, ".xlsx") {
				data = b
				// The reply names the file as it is named, in a short markdown link.
				if !strings.Contains(reply, "["+name+"](https://files.example/"+name+")") || !strings.Contains(reply, "「"+name+"」已发到群里") {
					t.Errorf("导出 reply does not name %s: %q", name, reply)
				}
			}
		}
		f, err := excelize.OpenReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		raw := excelize.Options{RawCellValue: true}
		cell := func(sheet, ref string) string { v, _ := f.GetCellValue(sheet, ref, raw); return v }
		// column finds a header in row 4 of a sheet.
		column := func(sheet, header string) string {
			rows, _ := f.GetRows(sheet, raw)
			for i, v := range rows[3] {
				if v == header {
					name, _ := excelize.ColumnNumberToName(i + 1)
					return name
				}
			}
			t.Fatalf("%s has no %s column", sheet, header)
			return ""
		}
		for ref, want := range map[string]int{"D5": truth.Complete, "E5": truth.WithProblems, "F5": truth.WithLate} {
			if got := cell("汇总", ref); got != fmt.Sprint(want) {
				t.Errorf("汇总!%s = %s, want %d", ref, got, want)
			}
		}
		detail := st.Name + "明细"
		done, state, problems := column(st.Name, "已完成"), column(st.Name, "情况"), column(detail, "问题说明")
		for i := range truth.Communities {
			cs := &truth.Communities[i]
			row, drow := i+7, i+6 // the first community rows of the grid and the 明细 sheet
			if got := cell(st.Name, fmt.Sprintf("B%d", row)); got != cs.Name {
				t.Fatalf("grid row %d is %s, want %s", row, got, cs.Name)
			}
			if got := cell(st.Name, fmt.Sprint(done, row)); got != fmt.Sprint(cs.Done) {
				t.Errorf("workbook %s 已完成 %s, want %d", cs.Name, got, cs.Done)
			}
			situation := cell(st.Name, fmt.Sprint(state, row))
			if (situation == "全部报齐") != cs.Complete || strings.Contains(situation, fmt.Sprintf("逾期 %d 项", cs.Late)) != (cs.Late > 0) ||
				strings.Contains(situation, fmt.Sprintf("有问题 %d 项", cs.Problems)) != (cs.Problems > 0) {
				t.Errorf("workbook %s 情况 %q disagrees with done %d problems %d late %d", cs.Name, situation, cs.Done, cs.Problems, cs.Late)
			}
			text := cell(detail, fmt.Sprint(problems, drow))
			if strings.Contains(text, "逾期未报") != (cs.Late > 0) {
				t.Errorf("workbook %s 问题说明 %q disagrees with late %d", cs.Name, text, cs.Late)
			}
			for _, is := range cs.WithProblems() {
				for _, p := range is.Problems {
					if !strings.Contains(text, p) {
						t.Errorf("workbook %s 问题说明 %q lacks %q", cs.Name, text, p)
					}
				}
			}
		}
	})

	t.Run("chart", func(t *testing.T) {
		fig := exports.Figures(truth, h.now)
		if want := fmt.Sprintf("全部报齐 %d 个，有问题 %d 个，有逾期 %d 个", truth.Complete, truth.WithProblems, truth.WithLate); !strings.Contains(fig.Totals, want) {
			t.Errorf("chart totals %q", fig.Totals)
		}
		if len(fig.Rows) != len(truth.Communities) || fig.Omitted != 0 {
			t.Fatalf("chart draws %d of %d communities", len(fig.Rows), len(truth.Communities))
		}
		for i, row := range fig.Rows {
			cs := &truth.Communities[i]
			if row.Community != cs.Name || row.Problems() != cs.Problems || (row.Late() > 0) != (cs.Late > 0) ||
				row.Filed()+row.Problems() < cs.Done-cs.Problems {
				t.Errorf("chart row %+v disagrees with %s done %d problems %d late %d", row, cs.Name, cs.Done, cs.Problems, cs.Late)
			}
		}
	})

	t.Run("dashboard", func(t *testing.T) {
		srv := &dashboard.Server{Config: h.bot.Config, Filings: h.store, Photos: h.store, Bindings: h.store, Token: "t",
			Clock: h.bot.Clock, Memo: h.bot.Memo}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/dashboard/?token=t", nil))
		body := w.Body.String()
		for class, n := range map[string]int{"ok": truth.Complete, "warn": truth.WithProblems, "late": truth.WithLate} {
			if want := fmt.Sprintf(`<label class="stat %s" for="f-%s-%s"><b>%d</b>`, class, truth.Street.ID, class, n); !strings.Contains(body, want) {
				t.Errorf("dashboard lacks %s", want)
			}
		}
		for i := range truth.Communities {
			cs := &truth.Communities[i]
			icons := rowIcons(body, cs.Name)
			var want []string
			for j := range cs.Items {
				want = append(want, cs.Items[j].Status.Icon())
			}
			if !slices.Equal(icons, want) {
				t.Errorf("dashboard row %s: %v, want %v", cs.Name, icons, want)
			}
			// The community's card: its marks (the filters it shows under) and progress.
			marks, progress := cardOf(body, cs.Name)
			wantMarks := map[string]bool{"late": cs.Late > 0, "warn": cs.Problems > 0, "ok": cs.Complete}
			for mark, on := range wantMarks {
				if slices.Contains(marks, mark) != on {
					t.Errorf("dashboard card %s marks %v: %s should be %v", cs.Name, marks, mark, on)
				}
			}
			if want := fmt.Sprintf("已完成 %d/%d 项", cs.Done, cs.Total); progress != want {
				t.Errorf("dashboard card %s says %q, want %q", cs.Name, progress, want)
			}
		}
		// Worst first, as 哪些社区还没报 lists those that owe something.
		var cards, owing []string
		for _, m := range cardHead.FindAllStringSubmatch(body, -1) {
			if cs := truth.Community(m[2]); cs != nil && cs.OwesAny() {
				cards = append(cards, m[2])
			}
		}
		for _, l := range strings.Split(h.say("quxin", "哪些社区还没报"), "\n") {
			if m := listedName.FindStringSubmatch(l); m != nil {
				owing = append(owing, m[1])
			}
		}
		if !slices.Equal(cards, owing) {
			t.Errorf("the dashboard puts first %v,\n哪些社区还没报 %v", cards, owing)
		}
	})
}

// listedName reads the community of a numbered line: 「3. **太平**：…」.
var listedName = regexp.MustCompile(`^\d+\. \*\*([^*]+)\*\*`)

// nudgeItems reads a nudge's lines 「· 社区、社区：事项（…）、事项、事项（…）」 into the
// items each community is said to owe.
func nudgedItems(text string) map[string][]string {
	out := map[string][]string{}
	label := regexp.MustCompile(`(?:^|、)([^、（]+)`)
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimPrefix(strings.TrimPrefix(line, "⚠️ "), "· ")
		who, what, ok := strings.Cut(line, "：")
		if !ok || strings.HasPrefix(who, "【") || strings.HasPrefix(who, "报送方法") {
			continue
		}
		what, _, _ = strings.Cut(what, "。") // notes
		what = regexp.MustCompile(`（[^）]*）`).ReplaceAllString(what, "")
		var labels []string
		for _, m := range label.FindAllStringSubmatch(what, -1) {
			labels = append(labels, m[1])
		}
		for _, c := range strings.Split(who, "、") {
			out[c] = labels
		}
	}
	return out
}

// lineOf returns the line of s that contains marker.
func lineOf(t *testing.T, s, marker string) string {
	t.Helper()
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, marker) {
			return l
		}
	}
	t.Errorf("no line with %q in\n%s", marker, s)
	return ""
}

var (
	cellIcon = regexp.MustCompile(`<td class="[a-z]+">(?:<details><summary>)?<span class="i">([^<]*)</span>`)
	cardHead = regexp.MustCompile(`<article class="card ?([^"]*)" data-c="([^"]*)">\s*<h3>.*?<span class="progress">([^<]*)</span>`)
)

// rowIcons lists the status icons of a community's row in the dashboard's table.
func rowIcons(body, community string) []string {
	i := strings.Index(body, `data-c="`+community+`"><th class="name"`)
	if i < 0 {
		return nil
	}
	row := body[i:]
	if end := strings.Index(row, "</tr>"); end >= 0 {
		row = row[:end]
	}
	var out []string
	for _, m := range cellIcon.FindAllStringSubmatch(row, -1) {
		out = append(out, m[1])
	}
	return out
}

// cardOf reads a community's card on the dashboard: its marks and its progress line.
func cardOf(body, community string) (marks []string, progress string) {
	for _, m := range cardHead.FindAllStringSubmatch(body, -1) {
		if m[2] == community {
			return strings.Fields(m[1]), m[3]
		}
	}
	return nil, ""
}

// TestNextStepAgrees: with the steps listed by phase (the summary, phase 11, last) the
// step that opens next is the one that opens first, in 哪些社区还没报 and on the
// dashboard's card of a community that owes nothing now.
func TestNextStepAgrees(t *testing.T) {
	h := newHarness(t)
	st := &h.bot.Config.Streets[0]
	slices.SortStableFunc(st.Steps, func(a, b campaign.Step) int { return a.Phase - b.Phase })
	st.Index()
	h.run(append(slices.Clone(daxinToElection),
		step{who: "quxin", text: "哪些社区还没报", want: []string{"下一项：换届总结，7月10日开始，7月20日截止。"}}))
	srv := &dashboard.Server{Config: h.bot.Config, Filings: h.store, Photos: h.store, Bindings: h.store, Token: "t",
		Clock: h.bot.Clock, Memo: h.bot.Memo}
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/dashboard/?token=t", nil))
	card := w.Body.String()
	card = card[strings.Index(card, `data-c="大辛"`):]
	card = card[:strings.Index(card, "</article>")]
	if !strings.Contains(card, "下一项：换届总结") {
		t.Errorf("大辛's card names another next item:\n%s", card)
	}
}
