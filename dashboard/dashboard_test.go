package dashboard

import (
	"archive/zip"
	"bytes"
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
	"regexp"
	"strings"
	"testing"

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

// cell is one table cell as rendered.
type cell struct{ class, title, text, flags string }

var (
	tdRE    = regexp.MustCompile(`(?s)<td class="([^"]*)"(?: title="([^"]*)")?>(.*?)</td>`)
	flagRE  = regexp.MustCompile(`(?s)<span class="flag"[^>]*>(.*?)</span>`)
	tagRE   = regexp.MustCompile(`<[^>]*>`)
	spaceRE = regexp.MustCompile(`\s+`)
)

func plain(s string) string {
	return strings.TrimSpace(spaceRE.ReplaceAllString(html.UnescapeString(tagRE.ReplaceAllString(s, "")), " "))
}

// rowCells finds a community's row in the overview and returns its cells.
func rowCells(t *testing.T, body, street, community string) []cell {
	t.Helper()
	start := strings.Index(body, `<th class="name" scope="row"><a href="/dashboard/c/`+street+"/"+esc(community)+`">`+community+`</a></th>`)
	if start < 0 {
		t.Fatalf("no row of %s/%s", street, community)
	}
	row := body[start:]
	row = row[:strings.Index(row, "</tr>")]
	var out []cell
	for _, m := range tdRE.FindAllStringSubmatch(row, -1) {
		c := cell{class: m[1], title: html.UnescapeString(m[2])}
		if f := flagRE.FindStringSubmatch(m[3]); f != nil {
			c.flags = plain(f[1])
			m[3] = strings.Replace(m[3], f[0], "", 1)
		}
		c.text = plain(m[3])
		out = append(out, c)
	}
	return out
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
		`<div class="stat"><b>15</b>社区总数</div>`,
		`<div class="stat ok"><b>0</b>全部报齐</div>`,
		`<div class="stat warn"><b>1</b>有问题</div>`,
		`<div class="stat late"><b>14</b>有逾期</div>`,
		`成立领导小组<span class="due">截止 6月20日</span>`,
		`换届总结<span class="due">截止 7月20日</span>`,
		`<th scope="col">初审</th><th scope="col">批复</th><th scope="col">照片<span class="due">要求 6–10 张</span></th>`,
		`<div class="scroll">`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	// Rows in config order.
	last := -1
	for _, c := range fx.cfg.Streets[0].CommunityNames() {
		i := strings.Index(body, ">"+c+"</a></th>")
		if i < last {
			t.Errorf("%s is out of config order", c)
		}
		last = i
	}
	const (
		lg, members, training, reps, publicity, candidates, election, summary, duties = 0, 1, 2, 3, 4, 5, 6, 7, 8
		selfcheck, review1, review2, photos                                           = 11, 12, 13, 14
	)
	for _, tc := range []struct {
		community string
		col       int
		want      cell
	}{
		{"大辛", lg, cell{class: "ok", text: "✅成立领导小组已成立（6月15日）"}},
		{"大辛", members, cell{class: "ok", text: "✅会员 320 人，总人口 6200…", title: "会员 320 人，总人口 6200 人，占 5.2%（要求不低于 5%）"}},
		{"大辛", election, cell{class: "ok", text: "✅7月9日召开会员代表大会，选出 会…", title: seedFilings[6].summary}},
		{"大辛", summary, cell{class: "open", text: "⏳还有 8 天", title: "未报，还有 8 天"}},
		{"大辛", duties, cell{class: "idle", text: "▫️7月16日开始"}},
		{"大辛", selfcheck, cell{class: "idle", text: "▫️7月21日开始"}},
		{"大辛", review1, cell{class: "ok", text: "✅初审已通过"}},
		{"大辛", review2, cell{class: "open", text: "⏳待批复"}},
		{"大辛", photos, cell{class: "open", text: "⏳3/6–10 张"}},
		{"李家窑", members, cell{class: "warn", text: "⚠️会员 230 人，总人口 4800…", title: seedFilings[8].summary,
			flags: "会员占总人口 4.8%，低于要求的…"}},
		{"李家窑", training, cell{class: "late", text: "⏰逾期 4 天", title: "未报，已逾期 4 天"}},
		{"李家窑", reps, cell{class: "late", text: "⏰逾期 6 天", title: "未报，已逾期 6 天"}},
		{"李家窑", publicity, cell{class: "late", text: "⏰逾期 3 天", title: "未报，已逾期 3 天"}},
		{"李家窑", candidates, cell{class: "warn", text: "⚠️候选人：会长 杨曰珩，秘书长 赵敏", flags: "缺少副会长候选人"}},
		{"李家窑", election, cell{class: "open", text: "⏳还有 3 天", title: "未报，还有 3 天"}},
		{"李家窑", review1, cell{class: "warn", text: "⚠️初审被退回", title: "初审被退回，原因：缺少副会长候选人，请补报"}},
		{"李家窑", review2, cell{class: "idle", text: "—"}},
		{"李家窑", photos, cell{class: "ok", text: "✅7/6–10 张"}},
		{"太平", lg, cell{class: "late", text: "⏰逾期 22 天", title: "未报，已逾期 22 天"}},
		{"太平", photos, cell{class: "open", text: "⏳0/6–10 张"}},
		{"柳杭", review1, cell{class: "open", text: "⏳待初审"}},
		{"柳杭", photos, cell{class: "open", text: "⏳1/6–10 张"}},
		{"北山", candidates, cell{class: "late", text: "⏰逾期 2 天", title: "未报，已逾期 2 天"}},
	} {
		cells := rowCells(t, body, "chengxi", tc.community)
		if len(cells) != len(fx.cfg.Streets[0].FilingSteps())+3 {
			t.Fatalf("%s: %d cells, want %d", tc.community, len(cells), len(fx.cfg.Streets[0].FilingSteps())+3)
		}
		if got := cells[tc.col]; got != tc.want {
			t.Errorf("%s column %d:\n got %+v\nwant %+v", tc.community, tc.col, got, tc.want)
		}
	}
	if !strings.Contains(body, `<span class="flag" title="会员占总人口 4.8%，低于要求的 5%（至少需要 240 名会员）">`) {
		t.Errorf("a truncated flag keeps its full text in the title")
	}
}

func TestSeveralStreets(t *testing.T) {
	fx := newFixture(t)
	east := fx.cfg.Streets[0]
	east.ID, east.Name, east.Communities = "dongcheng", "东城街道", east.Communities[:2]
	fx.cfg.Streets = append(fx.cfg.Streets, east)
	body := fx.do(t, "GET", "/dashboard/", fx.login(t)).Body.String()
	for _, want := range []string{`<a href="#street-chengxi">城西街道</a>`, `<a href="#street-dongcheng">东城街道</a>`,
		`<section class="street" id="street-dongcheng">`, `<div class="stat"><b>2</b>社区总数</div>`} {
		if !strings.Contains(body, want) {
			t.Errorf("lacks %q", want)
		}
	}
	if c := rowCells(t, body, "dongcheng", "大辛"); c[0].class != "late" {
		t.Errorf("东城 大辛 has filed nothing, its first cell is %+v", c[0])
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
			"↳ ✅ 初审已通过", "↳ ⏳ 待批复", "⏳ 换届总结", "未报，还有 8 天", "▫️ 自查", "7月21日开始，7月31日截止",
			"已收 3 张", "要求 6–10 张",
			`<img src="/dashboard/photo/chengxi/` + esc("大辛") + `/1?v=` + list[0].Hash[:16] + `" alt="第 1 张：大辛社区_20210715_01.jpg" loading="lazy" width="320" height="240">`,
			`/dashboard/photo/chengxi/` + esc("大辛") + `/3?v=` + list[2].Hash[:16],
			`<a class="button" href="/dashboard/zip/chengxi/` + esc("大辛") + `" download>下载全部照片（zip）</a>`,
			`<a class="back" href="/dashboard/">`,
		}, []string{"/4?v="}},
		{"李家窑", 200, []string{"⚠️ 会员数和总人口", "<li>会员占总人口 4.8%，低于要求的 5%（至少需要 240 名会员）</li>",
			"<li>缺少副会长候选人</li>", "↳ ⚠️ 初审被退回，原因：缺少副会长候选人，请补报", "⏰ 换届知识培训", "未报，已逾期 4 天"}, nil},
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
	fx.srv.ArchiveDir = ""
	if w := fx.do(t, "GET", "/dashboard/photo/chengxi/"+d+"/1", cookie); w.Code != 404 {
		t.Fatalf("no archive folder: %d", w.Code)
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

type failingFilings struct{ storage.Filings }

var errDown = errors.New("redis down")

func (failingFilings) Current(context.Context, string, string) (map[campaign.Item]campaign.Filing, error) {
	return nil, errDown
}

func (failingFilings) CurrentAll(context.Context, string, []string) (map[string]map[campaign.Item]campaign.Filing, error) {
	return nil, errDown
}

func TestStoreDown(t *testing.T) {
	fx := newFixture(t)
	cookie := fx.login(t)
	fx.srv.Filings = failingFilings{fx.filings}
	for _, target := range []string{"/dashboard/", "/dashboard/c/chengxi/" + esc("大辛")} {
		w := fx.do(t, "GET", target, cookie)
		if w.Code != 500 || !strings.Contains(w.Body.String(), "暂时无法读取数据，请稍后刷新重试。") || strings.Contains(w.Body.String(), "redis") {
			t.Errorf("%s: %d %.200s", target, w.Code, w.Body.String())
		}
	}
}
