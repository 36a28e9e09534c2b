package dashboard

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"html"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"huanjie/campaign"
	"huanjie/storage"
)

var esc = url.PathEscape

// do sends one request straight to the handler.
func (fx *fixture) do(t *testing.T, method, target string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	fx.srv.ServeHTTP(w, r)
	return w
}

// login opens the dashboard with the token and returns the cookie it set.
func (fx *fixture) login(t *testing.T) *http.Cookie {
	t.Helper()
	w := fx.do(t, "GET", "/dashboard/?token="+url.QueryEscape(testToken))
	if w.Code != http.StatusOK {
		t.Fatalf("login: status %d", w.Code)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == CookieName {
			return c
		}
	}
	t.Fatalf("login: no %s cookie in %q", CookieName, w.Header().Values("Set-Cookie"))
	return nil
}

func TestAuth(t *testing.T) {
	fx := newFixture(t)
	good := fx.login(t)
	forged := &http.Cookie{Name: CookieName, Value: url.QueryEscape(testToken)}
	tok := "?token=" + url.QueryEscape(testToken)
	for _, tc := range []struct {
		name, method, target string
		cookie               *http.Cookie
		token                string // the server's; "-" for none
		want                 int
		body                 string
		setsCookie           bool
	}{
		{name: "no token", method: "GET", target: "/dashboard/", want: 401, body: "请使用街道办提供的带 token 的链接打开"},
		{name: "bad token", method: "GET", target: "/dashboard/?token=guess", want: 401, body: "请使用街道办提供的带 token 的链接打开"},
		{name: "empty token param", method: "GET", target: "/dashboard/?token=", want: 401},
		{name: "token prefix", method: "GET", target: "/dashboard/?token=" + url.QueryEscape(testToken[:5]), want: 401},
		{name: "good token", method: "GET", target: "/dashboard/" + tok, want: 200, body: "大辛", setsCookie: true},
		{name: "good token, community page", method: "GET", target: "/dashboard/c/chengxi/" + esc("大辛") + tok, want: 200, body: "大辛社区", setsCookie: true},
		{name: "cookie only", method: "GET", target: "/dashboard/", cookie: good, want: 200, body: "李家窑"},
		{name: "cookie only, photo", method: "GET", target: "/dashboard/photo/chengxi/" + esc("大辛") + "/1", cookie: good, want: 200},
		{name: "cookie only, thumbnail", method: "GET", target: "/dashboard/thumb/chengxi/" + esc("大辛") + "/1", cookie: good, want: 200},
		{name: "no cookie, thumbnail", method: "GET", target: "/dashboard/thumb/chengxi/" + esc("大辛") + "/1", want: 401},
		{name: "POST thumbnail", method: "POST", target: "/dashboard/thumb/chengxi/" + esc("大辛") + "/1", cookie: good, want: 405},
		{name: "token as cookie value is not the cookie", method: "GET", target: "/dashboard/", cookie: forged, want: 401},
		{name: "bad token beats good cookie", method: "GET", target: "/dashboard/?token=guess", cookie: good, want: 401},
		{name: "HEAD", method: "HEAD", target: "/dashboard/", cookie: good, want: 200},
		{name: "POST", method: "POST", target: "/dashboard/" + tok, cookie: good, want: 405},
		{name: "PUT photo", method: "PUT", target: "/dashboard/photo/chengxi/" + esc("大辛") + "/1", cookie: good, want: 405},
		{name: "DELETE", method: "DELETE", target: "/dashboard/c/chengxi/" + esc("大辛"), cookie: good, want: 405},
		{name: "no slash redirects", method: "GET", target: "/dashboard" + tok, want: 301},
		{name: "outside the prefix", method: "GET", target: "/other/" + tok, want: 404},
		{name: "unknown page", method: "GET", target: "/dashboard/nope" + tok, want: 404, body: "页面不存在", setsCookie: true},
		{name: "disabled", method: "GET", target: "/dashboard/?token=", token: "-", want: 404},
		{name: "disabled ignores cookies", method: "GET", target: "/dashboard/", cookie: good, token: "-", want: 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx.srv.Token = testToken
			if tc.token == "-" {
				fx.srv.Token = ""
			}
			defer func() { fx.srv.Token = testToken }()
			var cookies []*http.Cookie
			if tc.cookie != nil {
				cookies = append(cookies, tc.cookie)
			}
			w := fx.do(t, tc.method, tc.target, cookies...)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d; body %.300s", w.Code, tc.want, w.Body.String())
			}
			if tc.body != "" && !strings.Contains(w.Body.String(), tc.body) {
				t.Errorf("body lacks %q: %.500s", tc.body, w.Body.String())
			}
			if tc.method == "HEAD" && w.Body.Len() != 0 {
				t.Errorf("HEAD wrote a body of %d bytes", w.Body.Len())
			}
			if tc.want == 405 && (w.Header().Get("Allow") != "GET, HEAD" || !strings.Contains(w.Body.String(), "本页只读")) {
				t.Errorf("405 without Allow: %q", w.Header().Get("Allow"))
			}
			if tc.want == 301 && w.Header().Get("Location") != "/dashboard/"+tok {
				t.Errorf("redirect to %q", w.Header().Get("Location"))
			}
			var set *http.Cookie
			for _, c := range w.Result().Cookies() {
				if c.Name == CookieName {
					set = c
				}
			}
			if (set != nil) != tc.setsCookie {
				t.Fatalf("cookie set: %v, want %v (%q)", set != nil, tc.setsCookie, w.Header().Values("Set-Cookie"))
			}
			if set != nil {
				if !set.HttpOnly || set.SameSite != http.SameSiteStrictMode || set.Path != "/dashboard/" || set.MaxAge <= 0 {
					t.Errorf("cookie attributes: %q", w.Header().Get("Set-Cookie"))
				}
				if strings.Contains(set.Value, testToken) || strings.Contains(set.Value, url.QueryEscape(testToken)) {
					t.Errorf("the cookie holds the token itself")
				}
			}
			if tc.want == 401 && !strings.Contains(w.Header().Get("Content-Type"), "text/html") {
				t.Errorf("401 Content-Type %q", w.Header().Get("Content-Type"))
			}
		})
	}
	// A new token signs every phone out.
	fx.srv.Token = "rotated"
	if w := fx.do(t, "GET", "/dashboard/", good); w.Code != 401 {
		t.Fatalf("old cookie after the token changed: %d", w.Code)
	}
}

// cell is one table cell as rendered: its class, visible text (icon and words), the
// filing's description that opens on a tap, the review's word and the problems.
type cell struct {
	class, text, full, review string
	flags                     []string
}

var (
	tdRE     = regexp.MustCompile(`(?s)<td class="([^"]*)">(.*?)</td>`)
	fullRE   = regexp.MustCompile(`(?s)<p class="full">(.*?)</p>`)
	reviewRE = regexp.MustCompile(`(?s)<span class="rv">(.*?)</span>`)
	flagRE   = regexp.MustCompile(`(?s)<p class="flag">(.*?)</p>`)
	liRE     = regexp.MustCompile(`(?s)<li[^>]*>(.*?)</li>`)
	tagRE    = regexp.MustCompile(`<[^>]*>`)
	spaceRE  = regexp.MustCompile(`[ \t\r\n]+`)
)

// plain is the text of some HTML, tags read as spaces.
func plain(s string) string {
	return strings.TrimSpace(spaceRE.ReplaceAllString(html.UnescapeString(tagRE.ReplaceAllString(s, " ")), " "))
}

// between returns the part of s from the first start after from to the next end.
func between(t *testing.T, s, from, start, end string) string {
	t.Helper()
	i := strings.Index(s, from)
	if i < 0 {
		t.Fatalf("no %q", from)
	}
	s = s[i:]
	j := strings.Index(s, start)
	if j < 0 {
		t.Fatalf("no %q after %q", start, from)
	}
	s = s[j:]
	k := strings.Index(s, end)
	if k < 0 {
		t.Fatalf("no %q after %q", end, start)
	}
	return s[:k+len(end)]
}

// streetPart is a street's section of the overview.
func streetPart(t *testing.T, body, street string) string {
	return between(t, body, `<section class="street" id="street-`+street+`">`, "<section", "</section>")
}

// rowCells finds a community's row in a street's table and returns its cells.
func rowCells(t *testing.T, body, street, community string) []cell {
	t.Helper()
	row := between(t, streetPart(t, body, street), `<tbody>`, `data-c="`+community+`">`, "</tr>")
	var out []cell
	for _, m := range tdRE.FindAllStringSubmatch(row, -1) {
		c := cell{class: m[1]}
		inner := m[2]
		if f := fullRE.FindStringSubmatch(inner); f != nil {
			c.full = plain(f[1])
		}
		if r := reviewRE.FindStringSubmatch(inner); r != nil {
			c.review = plain(r[1])
		}
		for _, f := range flagRE.FindAllStringSubmatch(inner, -1) {
			c.flags = append(c.flags, plain(f[1]))
		}
		inner = fullRE.ReplaceAllString(reviewRE.ReplaceAllString(flagRE.ReplaceAllString(inner, ""), ""), "")
		c.text = plain(inner)
		out = append(out, c)
	}
	return out
}

// card is a community's card on the overview, as a person reads it.
type card struct {
	marks, heading string
	tags           string
	owes, problems []string
	reviews        []string
	quiet, contact string
	link           string
}

var (
	cardRE    = regexp.MustCompile(`(?s)<article class="card ?([^"]*)" data-c="([^"]*)">(.*?)</article>`)
	sectionRE = func(tag, class string) *regexp.Regexp {
		return regexp.MustCompile(`(?s)<` + tag + ` class="` + class + `">(.*?)</` + tag + `>`)
	}
	ulOwes, ulProbs, ulRevs = sectionRE("ul", "owes"), sectionRE("ul", "probs"), sectionRE("ul", "revs")
	pTags, pQuiet, pContact = sectionRE("p", "tags"), sectionRE("p", "quiet"), sectionRE("p", "contact")
	h3RE                    = regexp.MustCompile(`(?s)<h3>(.*?)</h3>`)
	moreRE                  = regexp.MustCompile(`<a class="more" href="([^"]*)">`)
)

// cards returns a street's cards in the order shown.
func cards(t *testing.T, body, street string) (names []string, byName map[string]card) {
	t.Helper()
	byName = map[string]card{}
	for _, m := range cardRE.FindAllStringSubmatch(streetPart(t, body, street), -1) {
		inner := m[3]
		c := card{marks: m[1]}
		one := func(re *regexp.Regexp) string {
			if f := re.FindStringSubmatch(inner); f != nil {
				return plain(f[1])
			}
			return ""
		}
		items := func(re *regexp.Regexp) []string {
			var out []string
			if f := re.FindStringSubmatch(inner); f != nil {
				for _, li := range liRE.FindAllStringSubmatch(f[1], -1) {
					out = append(out, plain(li[1]))
				}
			}
			return out
		}
		c.heading, c.tags, c.quiet, c.contact = one(h3RE), one(pTags), one(pQuiet), one(pContact)
		c.owes, c.problems, c.reviews = items(ulOwes), items(ulProbs), items(ulRevs)
		if l := moreRE.FindStringSubmatch(inner); l != nil {
			c.link = l[1]
		}
		names = append(names, m[2])
		byName[m[2]] = c
	}
	return names, byName
}

func TestOverview(t *testing.T) {
	fx := newFixture(t)
	w := fx.do(t, "GET", "/dashboard/?token="+url.QueryEscape(testToken))
	if w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	body := w.Body.String()
	text := html.UnescapeString(body)
	for _, want := range []string{
		"数据截至 2021年7月12日 星期一 10:30（北京时间）",
		// The totals come first and are the filters.
		`<label class="stat all" for="f-chengxi-all"><b>15</b>社区总数</label>`,
		`<label class="stat ok" for="f-chengxi-ok"><b>0</b>全部报齐</label>`,
		`<label class="stat warn" for="f-chengxi-warn"><b>1</b>有问题</label>`,
		`<label class="stat late" for="f-chengxi-late"><b>15</b>有逾期</label>`, // 会员小组划分 and 联系户 were due 6月30日
		`<input class="f f-all" type="radio" name="f-chengxi" id="f-chengxi-all" checked>`,
		`<p class="none ok">还没有全部报齐的社区。</p>`,
		`成立领导小组<span class="due">截止 6月20日</span>`,
		`换届总结<span class="due">截止 7月20日</span>`,
		`换届照片<span class="due">截止 7月20日</span>`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	for _, not := range []string{`<p class="none late">`, `<p class="none warn">`, ` title="`} {
		if strings.Contains(body, not) {
			t.Errorf("overview has %q", not)
		}
	}

	// Cards, worst first: the eleven that filed nothing (in list order), then 李家窑
	// (6 late, 12 days at most, problems and a return), 凤凰园 (6 late, 12 days),
	// 柳杭 (5 late) and 大辛 (2 late).
	order, byName := cards(t, body, "chengxi")
	want := []string{"太平", "西冶街", "双山", "税务街", "白虎山", "新坦", "四十亩地", "龙泽园", "吉光", "大成", "北山",
		"李家窑", "凤凰园", "柳杭", "大辛"}
	if !slices.Equal(order, want) {
		t.Errorf("cards in order %v, want %v", order, want)
	}
	var rows []string
	for _, m := range regexp.MustCompile(`<tr class="c[^"]*" data-c="([^"]*)">`).FindAllStringSubmatch(body, -1) {
		rows = append(rows, m[1])
	}
	if !slices.Equal(rows, want) {
		t.Errorf("table rows in order %v, want %v", rows, want)
	}

	li := byName["李家窑"]
	wantLi := card{marks: "late warn", heading: "李家窑社区 已完成 3/15 项",
		tags: "⏰ 逾期 6 项 ⚠️ 2 项有问题 ↩️ 1 项被退回",
		owes: []string{
			"⏰ 会员小组划分 6月30日截止，已逾期 12 天",
			"⏰ 会员联系户制度 6月30日截止，已逾期 12 天",
			"⏰ 换届知识培训 7月8日截止，已逾期 4 天",
			"⏰ 会员代表人数 7月6日截止，已逾期 6 天",
			"⏰ 代表名单公示 7月9日截止，已逾期 3 天",
			"↩️ 候选人名单 7月10日截止，已逾期 2 天",
			"⏳ 选举结果 7月15日截止，还有 3 天",
			"⏳ 换届总结 7月20日截止，还有 8 天",
		},
		problems: []string{
			"⚠️ 会员数和总人口 会员占总人口 4.8%，低于要求的 5%（至少需要 240 名会员）",
			"↩️ 候选人名单 缺少副会长候选人",
		},
		reviews: []string{"↩️ 初审被退回，原因：缺少副会长候选人，请补报"},
		contact: "联系人：杨曰珩（书记）",
		link:    "/dashboard/c/chengxi/" + esc("李家窑"),
	}
	if !reflect.DeepEqual(li, wantLi) {
		t.Errorf("李家窑's card:\n got %+v\nwant %+v", li, wantLi)
	}
	dx := byName["大辛"]
	if dx.marks != "late" || dx.tags != "⏰ 逾期 2 项" || dx.problems != nil ||
		!slices.Equal(dx.reviews, []string{"✅ 初审已通过", "🕓 待批复"}) ||
		!slices.Equal(dx.owes, []string{"⏰ 会员小组划分 6月30日截止，已逾期 12 天", "⏰ 会员联系户制度 6月30日截止，已逾期 12 天",
			"⏳ 换届总结 7月20日截止，还有 8 天", "⏳ 换届照片 3 张（还需 3 张） 7月20日截止，还有 8 天"}) {
		t.Errorf("大辛's card: %+v", dx)
	}
	if tp := byName["太平"]; len(tp.owes) != 11 || tp.owes[0] != "⏰ 成立领导小组 6月20日截止，已逾期 22 天" ||
		tp.owes[10] != "⏳ 换届照片 0 张（还需 6 张） 7月20日截止，还有 8 天" || tp.reviews != nil {
		t.Errorf("太平's card: %+v", tp)
	}
	// Names, not userids: a secretary bound in chat is named beside the configured one.
	if c := byName["西冶街"].contact; c != "联系人：孙红莲（书记）、李丽（秘书长）" {
		t.Errorf("西冶街's contacts: %q", c)
	}

	const (
		lg, members, training, reps, publicity, candidates, election, summary, photos, duties = 0, 1, 4, 5, 6, 7, 8, 9, 10, 11
		selfcheck                                                                             = 14
	)
	for _, tc := range []struct {
		community string
		col       int
		want      cell
	}{
		{"大辛", lg, cell{class: "ok", text: "✅ 已报", full: "领导小组已成立，组长 崔宏"}},
		{"大辛", members, cell{class: "ok", text: "✅ 已报", full: "会员 320 人，总人口 6200 人，占 5.2%（要求不低于 5%）"}},
		{"大辛", candidates, cell{class: "ok", text: "✅ 初审已通过", full: "候选人：会长 崔宏，副会长 王丽，秘书长 刘芳"}},
		{"大辛", election, cell{class: "open", text: "🕓 待批复", full: fx.summaryOf(6)}},
		{"大辛", summary, cell{class: "open", text: "⏳ 还有 8\u00a0天"}},
		{"大辛", duties, cell{class: "idle", text: "▫️ 7月16日开始"}},
		{"大辛", selfcheck, cell{class: "idle", text: "▫️ 7月21日开始"}},
		{"大辛", photos, cell{class: "open", text: "⏳ 已收 3\u00a0张", full: "照片 3 张（还需 3 张）"}},
		{"李家窑", members, cell{class: "warn", text: "⚠️ 有问题", full: fx.summaryOf(8),
			flags: []string{"会员占总人口 4.8%，低于要求的 5%（至少需要 240 名会员）"}}},
		{"李家窑", training, cell{class: "late", text: "⏰ 逾期 4\u00a0天"}},
		{"李家窑", reps, cell{class: "late", text: "⏰ 逾期 6\u00a0天"}},
		{"李家窑", publicity, cell{class: "late", text: "⏰ 逾期 3\u00a0天"}},
		{"李家窑", candidates, cell{class: "warn", text: "↩️ 初审被退回", full: "候选人：会长 杨曰珩，秘书长 赵敏", flags: []string{"缺少副会长候选人"}}},
		{"李家窑", election, cell{class: "open", text: "⏳ 还有 3\u00a0天"}},
		{"李家窑", photos, cell{class: "ok", text: "✅ 已收 7\u00a0张", full: "照片 7 张"}},
		{"太平", lg, cell{class: "late", text: "⏰ 逾期 22\u00a0天"}},
		{"太平", photos, cell{class: "open", text: "⏳ 已收 0\u00a0张", full: "照片 0 张（还需 6 张）"}},
		{"柳杭", candidates, cell{class: "open", text: "🕓 待初审", full: "候选人：会长 朱训岩，副会长 陈静，秘书长 李娜"}},
		{"北山", candidates, cell{class: "late", text: "⏰ 逾期 2\u00a0天"}},
	} {
		cells := rowCells(t, body, "chengxi", tc.community)
		if want := len(fx.cfg.Streets[0].Steps); len(cells) != want {
			t.Fatalf("%s: %d cells, want %d", tc.community, len(cells), want)
		}
		if got := cells[tc.col]; !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s column %d:\n got %+v\nwant %+v", tc.community, tc.col, got, tc.want)
		}
	}

	// Filed with a problem and waiting for the office: the cell says both.
	ctx := context.Background()
	if err := fx.store.Save(ctx, campaign.Filing{Street: "chengxi", Community: "凤凰园", Item: campaign.ItemCandidates,
		Value: campaign.Value{Roster: roster("徐海峰", "", "周敏")}, By: "xuhaifeng", At: testNow.Add(-time.Hour), Raw: "test"}); err != nil {
		t.Fatal(err)
	}
	body = fx.do(t, "GET", "/dashboard/", fx.login(t)).Body.String()
	got := rowCells(t, body, "chengxi", "凤凰园")[candidates]
	if want := (cell{class: "warn", text: "⚠️ 有问题", full: "候选人：会长 徐海峰，秘书长 周敏", review: "待初审",
		flags: []string{"缺少副会长候选人"}}); !reflect.DeepEqual(got, want) {
		t.Errorf("a problem awaiting review:\n got %+v\nwant %+v", got, want)
	}
	if !strings.Contains(body, `<label class="stat warn" for="f-chengxi-warn"><b>2</b>有问题</label>`) {
		t.Errorf("the problem count did not follow the filing")
	}
}

// TestContacts names who files for a community, and says so when nobody does.
func TestContacts(t *testing.T) {
	st := &campaign.Street{ID: "x", Name: "X街道", Communities: []campaign.Community{{Name: "甲"}, {Name: "乙"}},
		People: []campaign.Person{{UserID: "a1", Name: "王芳", Role: campaign.RoleSecretary, Community: "甲", Title: "书记"},
			{UserID: "a2", Role: campaign.RoleSecretary, Community: "甲", Title: "主任"}}}
	people := st.PeopleOf([]campaign.Binding{{UserID: "b1", Street: "x", Role: campaign.RoleSecretary, Community: "甲", Name: "李丽"}})
	for community, want := range map[string]string{
		"甲": "联系人：王芳（书记）、甲主任、李丽",
		"乙": "联系人：还没有人绑定为本社区的报送人",
	} {
		if got := contacts(people, community); got != want {
			t.Errorf("%s: %q, want %q", community, got, want)
		}
	}
}

func TestSeveralStreets(t *testing.T) {
	fx := newFixture(t)
	east := fx.cfg.Streets[0]
	east.ID, east.Name, east.Communities = "dongcheng", "东城街道", east.Communities[:2]
	fx.cfg.Streets = append(fx.cfg.Streets, east)
	body := fx.do(t, "GET", "/dashboard/", fx.login(t)).Body.String()
	for _, want := range []string{`<a href="#street-chengxi">城西街道</a>`, `<a href="#street-dongcheng">东城街道</a>`,
		`<section class="street" id="street-dongcheng">`, `<label class="stat all" for="f-dongcheng-all"><b>2</b>社区总数</label>`,
		`name="f-dongcheng"`} {
		if !strings.Contains(body, want) {
			t.Errorf("lacks %q", want)
		}
	}
	if c := rowCells(t, body, "dongcheng", "大辛"); c[0].class != "late" {
		t.Errorf("东城 大辛 has filed nothing, its first cell is %+v", c[0])
	}
	if c := rowCells(t, body, "chengxi", "大辛"); c[0].class != "ok" {
		t.Errorf("城西 大辛 filed its leading group, its first cell is %+v", c[0])
	}
	if names, _ := cards(t, body, "dongcheng"); !slices.Equal(names, []string{"大辛", "李家窑"}) {
		t.Errorf("东城's cards: %v", names)
	}
}

func TestCommunityPage(t *testing.T) {
	fx := newFixture(t)
	cookie := fx.login(t)
	list, err := fx.photos.PhotoList(context.Background(), "chengxi", "大辛")
	if err != nil || len(list) != 3 {
		t.Fatalf("photo list: %v %v", list, err)
	}
	for _, tc := range []struct {
		community string
		status    int
		want      []string
		not       []string
	}{
		{"大辛", 200, []string{
			"<h1>大辛社区</h1>", "城西街道 · 数据截至 2021年7月12日",
			"✅ 成立领导小组", "会员 320 人，总人口 6200 人，占 5.2%（要求不低于 5%）", "7月9日 报送 · 崔宏",
			"↳ ✅ 初审已通过", "↳ 🕓 待批复", "⏳ 换届总结", "未报，7月20日截止，还有 8 天", "▫️ 自查", "7月21日开始，7月31日截止",
			"已收 3 张", "要求 6–10 张",
			// A tile shows the thumbnail and opens the original.
			`<a href="/dashboard/photo/chengxi/` + esc("大辛") + `/1?v=` + list[0].Hash[:16] + `"><img src="/dashboard/thumb/chengxi/` + esc("大辛") + `/1?v=` + list[0].Hash[:16] + `" alt="第 1 张：大辛社区_20210715_01.jpg（点开看原图）" loading="lazy" width="360" height="360"></a>`,
			`<a href="/dashboard/photo/chengxi/` + esc("大辛") + `/3?v=` + list[2].Hash[:16] + `"><img src="/dashboard/thumb/chengxi/` + esc("大辛") + `/3?v=` + list[2].Hash[:16] + `"`,
			"联系人：崔宏（书记）",
			`<a class="button" href="/dashboard/zip/chengxi/` + esc("大辛") + `" download>下载全部照片（zip）</a>`,
			`<a class="back" href="/dashboard/">`,
		}, []string{"/4?v=", ` title="`}},
		{"李家窑", 200, []string{"⚠️ 会员数和总人口", "<li>会员占总人口 4.8%，低于要求的 5%（至少需要 240 名会员）</li>",
			"<li>缺少副会长候选人</li>", "↳ ↩️ 初审被退回，原因：缺少副会长候选人，请补报", "⏰ 换届知识培训", "未报，7月8日截止，已逾期 4 天"}, nil},
		{"太平", 200, []string{"还没有收到照片。", "已收 0 张"}, []string{"下载全部照片", "<img"}},
		{"不存在", 404, []string{"页面不存在"}, nil},
		{"大辛社区", 404, nil, nil},
	} {
		t.Run(tc.community, func(t *testing.T) {
			w := fx.do(t, "GET", "/dashboard/c/chengxi/"+esc(tc.community), cookie)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			body := html.UnescapeString(w.Body.String())
			for _, s := range tc.want {
				if !strings.Contains(body, s) {
					t.Errorf("lacks %q", s)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(body, s) {
					t.Errorf("has %q", s)
				}
			}
		})
	}
	if w := fx.do(t, "GET", "/dashboard/c/nosuch/"+esc("大辛"), cookie); w.Code != 404 {
		t.Errorf("unknown street: %d", w.Code)
	}
	fx.srv.Zip = nil
	if body := fx.do(t, "GET", "/dashboard/c/chengxi/"+esc("大辛"), cookie).Body.String(); strings.Contains(body, "下载全部照片") {
		t.Errorf("a zip button without Zip")
	}
}

func TestPhoto(t *testing.T) {
	fx := newFixture(t)
	cookie := fx.login(t)
	list, _ := fx.photos.PhotoList(context.Background(), "chengxi", "李家窑")
	base := "/dashboard/photo/chengxi/" + esc("李家窑") + "/"
	for n := 1; n <= len(list); n++ {
		w := fx.do(t, "GET", base+itoa(n), cookie)
		if w.Code != 200 {
			t.Fatalf("photo %d: status %d", n, w.Code)
		}
		if !bytes.Equal(w.Body.Bytes(), fx.jpegs["李家窑"][n-1]) {
			t.Fatalf("photo %d: not the archived bytes", n)
		}
		h := w.Header()
		if h.Get("Content-Type") != "image/jpeg" || h.Get("ETag") != `"`+list[n-1].Hash+`"` ||
			h.Get("Cache-Control") != "private, no-cache" || h.Get("Last-Modified") == "" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("photo %d headers: %v", n, h)
		}
		_, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
		if err != nil || params["filename"] != list[n-1].Name {
			t.Fatalf("photo %d disposition %q: %v %v", n, h.Get("Content-Disposition"), params, err)
		}
	}
	w := fx.do(t, "GET", base+"2?v="+list[1].Hash[:16], cookie)
	if w.Code != 200 || w.Header().Get("Cache-Control") != "private, max-age=31536000, immutable" {
		t.Fatalf("versioned URL: %d %q", w.Code, w.Header().Get("Cache-Control"))
	}
	if w := fx.do(t, "GET", base+"2?v=0000000000000000", cookie); w.Header().Get("Cache-Control") != "private, no-cache" {
		t.Fatalf("a stale version is cached for good: %q", w.Header().Get("Cache-Control"))
	}
	r := httptest.NewRequest("GET", base+"2", nil)
	r.AddCookie(cookie)
	r.Header.Set("If-None-Match", `"`+list[1].Hash+`"`)
	rec := httptest.NewRecorder()
	fx.srv.ServeHTTP(rec, r)
	if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Fatalf("If-None-Match: %d with %d bytes", rec.Code, rec.Body.Len())
	}
	head := fx.do(t, "HEAD", base+"1", cookie)
	if head.Code != 200 || head.Body.Len() != 0 || head.Header().Get("Content-Length") != itoa(len(fx.jpegs["李家窑"][0])) {
		t.Fatalf("HEAD: %d, %d bytes, length %q", head.Code, head.Body.Len(), head.Header().Get("Content-Length"))
	}
}

func TestPhotoTraversal(t *testing.T) {
	fx := newFixture(t)
	cookie := fx.login(t)
	ctx := context.Background()
	// Records that point outside the archive, as a corrupted store might hold:
	// 太平's photos 1–3.
	if err := os.MkdirAll(filepath.Join(fx.archive, "chengxi", "太平"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(fx.dir, "secret.jpg"), filepath.Join(fx.archive, "chengxi", "太平", "link.jpg")); err != nil {
		t.Fatal(err)
	}
	for i, p := range []string{"../secret.jpg", filepath.Join(fx.dir, "secret.jpg"), "chengxi/太平/link.jpg", "chengxi/太平"} {
		rec := storage.Photo{Hash: strings.Repeat(itoa(i+1), 64), Path: p, Name: "x.jpg"}
		if _, err := fx.photos.AddPhoto(ctx, "chengxi", "太平", rec, 10); err != nil {
			t.Fatal(err)
		}
	}
	d := esc("大辛")
	for _, target := range []string{
		"/dashboard/photo/chengxi/" + d + "/0",
		"/dashboard/photo/chengxi/" + d + "/4",
		"/dashboard/photo/chengxi/" + d + "/01",
		"/dashboard/photo/chengxi/" + d + "/-1",
		"/dashboard/photo/chengxi/" + d + "/+1",
		"/dashboard/photo/chengxi/" + d + "/1.0",
		"/dashboard/photo/chengxi/" + d + "/99999999999999999999",
		"/dashboard/photo/chengxi/" + d + "/1/",
		"/dashboard/photo/chengxi/" + d + "/1/x",
		"/dashboard/photo/chengxi/" + d + "/1%00",
		"/dashboard/photo/chengxi/" + d + "/1%2F..%2F..%2F..%2Fsecret.jpg",
		"/dashboard/photo/chengxi/" + d + "%2F..%2F" + esc("李家窑") + "/1",
		"/dashboard/photo/chengxi/../../secret.jpg",
		"/dashboard/photo/chengxi/../chengxi/" + d + "/1",
		"/dashboard/photo/chengxi/%2e%2e/%2e%2e/1",
		"/dashboard/photo/chengxi/..%2F..%2Fsecret.jpg/1",
		"/dashboard/photo/chengxi/..%5C..%5Csecret.jpg/1",
		"/dashboard/photo/..%2Fchengxi/" + d + "/1",
		"/dashboard/photo/%2E%2E/" + d + "/1",
		"/dashboard/photo//chengxi/" + d + "/1",
		"/dashboard/../dashboard/photo/chengxi/" + d + "/1",
		"/dashboard/photo/nosuch/" + d + "/1",
		"/dashboard/photo/chengxi/" + esc("大辛社区") + "/1",
		"/dashboard/photo/chengxi/" + esc("太平") + "/1", // ../secret.jpg
		"/dashboard/photo/chengxi/" + esc("太平") + "/2", // absolute path
		"/dashboard/photo/chengxi/" + esc("太平") + "/3", // symlink out of the archive
		"/dashboard/photo/chengxi/" + esc("太平") + "/4", // a folder
		"/dashboard/photo/chengxi/" + esc("太平") + "/5", // no such photo
	} {
		// Thumbnails are found the same way as photos.
		for _, target := range []string{target, strings.Replace(target, "/photo/", "/thumb/", 1)} {
			t.Run(target, func(t *testing.T) {
				w := fx.do(t, "GET", target, cookie)
				if w.Code != 404 {
					t.Fatalf("status %d, want 404", w.Code)
				}
				if strings.Contains(w.Body.String(), "TOP-SECRET") || w.Header().Get("Content-Type") == "image/jpeg" {
					t.Fatalf("served a file: %.100q", w.Body.String())
				}
			})
		}
	}
	if _, err := os.Stat(filepath.Join(fx.archive, ".thumbs")); err == nil {
		t.Errorf("a thumbnail was made of a file outside the archive")
	}
	fx.srv.ArchiveDir = ""
	for _, kind := range []string{"photo", "thumb"} {
		if w := fx.do(t, "GET", "/dashboard/"+kind+"/chengxi/"+d+"/1", cookie); w.Code != 404 {
			t.Fatalf("no archive folder: %s %d", kind, w.Code)
		}
	}
}

func TestZip(t *testing.T) {
	fx := newFixture(t)
	cookie := fx.login(t)
	target := "/dashboard/zip/chengxi/" + esc("大辛")
	w := fx.do(t, "GET", target, cookie)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	if calls := fx.zipCalls(); len(calls) != 1 || calls[0] != (zipCall{"chengxi", "城西街道", "大辛"}) {
		t.Fatalf("Zip calls: %+v", calls)
	}
	h := w.Header()
	wantCD := `attachment; filename="chengxi-photos.zip"; filename*=UTF-8''` + esc("城西街道_大辛社区_换届照片.zip")
	if h.Get("Content-Type") != "application/zip" || h.Get("Content-Disposition") != wantCD || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("headers: %v", h)
	}
	kind, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	if err != nil || kind != "attachment" || params["filename"] != "城西街道_大辛社区_换届照片.zip" {
		t.Fatalf("a browser would name it %q (%s, %v)", params["filename"], kind, err)
	}
	zr, err := zip.NewReader(bytes.NewReader(w.Body.Bytes()), int64(w.Body.Len()))
	if err != nil || len(zr.File) != 1 || zr.File[0].Name != "大辛社区_说明.txt" {
		t.Fatalf("body is not the zip Zip wrote: %v", err)
	}

	if w := fx.do(t, "HEAD", target, cookie); w.Code != 200 || w.Header().Get("Content-Disposition") != wantCD || len(fx.zipCalls()) != 0 {
		t.Fatalf("HEAD: %d, or it built the zip", w.Code)
	}
	for _, bad := range []string{"/dashboard/zip/chengxi/" + esc("不存在"), "/dashboard/zip/nosuch/" + esc("大辛"),
		"/dashboard/zip/chengxi/..%2F" + esc("大辛"), "/dashboard/zip/chengxi/" + esc("大辛") + "/1"} {
		if w := fx.do(t, "GET", bad, cookie); w.Code != 404 || len(fx.zipCalls()) != 0 {
			t.Errorf("%s: %d", bad, w.Code)
		}
	}
	if w := fx.do(t, "GET", target); w.Code != 401 || len(fx.zipCalls()) != 0 {
		t.Errorf("without a cookie: %d", w.Code)
	}

	fx.zipFail = "before"
	w = fx.do(t, "GET", target, cookie)
	if w.Code != 500 || w.Header().Get("Content-Disposition") != "" || !strings.Contains(w.Body.String(), "暂时无法读取数据") {
		t.Errorf("Zip failing at once: %d %v", w.Code, w.Header())
	}

	// Failing midway breaks the connection: the phone must not keep a truncated zip.
	fx.zipFail = "midway"
	srv := httptest.NewServer(fx.srv)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+target, nil)
	req.AddCookie(cookie)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Errorf("a zip that failed midway arrived as if complete")
	}

	fx.srv.Zip = nil
	if w := fx.do(t, "GET", target, cookie); w.Code != 404 {
		t.Errorf("no Zip: %d", w.Code)
	}
}

func TestPrefix(t *testing.T) {
	fx := newFixture(t)
	fx.srv.Prefix = "/leaders/board/"
	w := fx.do(t, "GET", "/leaders/board/?token="+url.QueryEscape(testToken))
	if w.Code != 200 || !strings.Contains(w.Body.String(), `href="/leaders/board/c/chengxi/`+esc("大辛")+`"`) {
		t.Fatalf("links under the prefix: %d", w.Code)
	}
	var c *http.Cookie
	for _, k := range w.Result().Cookies() {
		c = k
	}
	if c == nil || c.Path != "/leaders/board/" {
		t.Fatalf("cookie path: %+v", c)
	}
	if w := fx.do(t, "GET", "/dashboard/", c); w.Code != 404 {
		t.Fatalf("old prefix: %d", w.Code)
	}
}

type failingFilings struct{ inner Records }

var errDown = errors.New("redis down")

func (failingFilings) Record(context.Context, string, string) (*campaign.Record, error) {
	return nil, errDown
}

func (failingFilings) Records(context.Context, string) (map[string]*campaign.Record, error) {
	return nil, errDown
}

func TestStoreDown(t *testing.T) {
	fx := newFixture(t)
	cookie := fx.login(t)
	fx.srv.Filings = failingFilings{inner: fx.filings}
	for _, target := range []string{"/dashboard/", "/dashboard/c/chengxi/" + esc("大辛")} {
		w := fx.do(t, "GET", target, cookie)
		if w.Code != 500 || !strings.Contains(w.Body.String(), "暂时无法读取数据，请稍后刷新重试。") || strings.Contains(w.Body.String(), "redis") {
			t.Errorf("%s: %d %.200s", target, w.Code, w.Body.String())
		}
	}
}

func TestGzip(t *testing.T) {
	fx := newFixture(t)
	cookie := fx.login(t)
	plainBody := fx.do(t, "GET", "/dashboard/", cookie).Body.Bytes()
	for _, tc := range []struct {
		accept string
		gzip   bool
	}{
		{"", false}, {"gzip, deflate, br", true}, {"br;q=1.0, gzip;q=0.8", true}, {"gzip;q=0", false},
		{"*", true}, {"*;q=0, gzip", true}, {"gzip;q=0, *", false}, {"br", false}, {"GZIP", true}, {"gzip;q=x", false},
	} {
		r := httptest.NewRequest("GET", "/dashboard/", nil)
		r.AddCookie(cookie)
		if tc.accept != "" {
			r.Header.Set("Accept-Encoding", tc.accept)
		}
		w := httptest.NewRecorder()
		fx.srv.ServeHTTP(w, r)
		h := w.Header()
		if got := h.Get("Content-Encoding") == "gzip"; got != tc.gzip {
			t.Errorf("Accept-Encoding %q: gzip %v, want %v", tc.accept, got, tc.gzip)
			continue
		}
		if h.Get("Vary") != "Accept-Encoding" || h.Get("Content-Length") != itoa(w.Body.Len()) {
			t.Errorf("Accept-Encoding %q: Vary %q, Content-Length %q for %d bytes", tc.accept, h.Get("Vary"), h.Get("Content-Length"), w.Body.Len())
		}
		body := w.Body.Bytes()
		if tc.gzip {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
			if tc.accept == "gzip, deflate, br" {
				t.Logf("overview of 15 communities: %d bytes, %d gzipped (%.0f%%)", len(body), w.Body.Len(), 100*float64(w.Body.Len())/float64(len(body)))
			}
		}
		if !bytes.Equal(body, plainBody) {
			t.Errorf("Accept-Encoding %q: not the same page", tc.accept)
		}
	}
}
