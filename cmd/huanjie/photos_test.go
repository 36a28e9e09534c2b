package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"huanjie/internal/testredis"
)

// photo makes a real JPEG (or PNG) whose pixels depend on seed, so each is distinct.
func photo(t *testing.T, seed int, asPNG bool) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.RGBA{uint8(x*4 + seed*37), uint8(y*5 + seed*11), uint8(seed * 53), 255})
		}
	}
	var b bytes.Buffer
	var err error
	if asPNG {
		err = png.Encode(&b, img)
	} else {
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 85})
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// sendPhotos sends files as userid in the 1:1 chat through the stand-in, which serves
// them encrypted like WeCom and posts signed image callbacks; it returns each reply.
func sendPhotos(t *testing.T, base, userid string, files ...[]byte) []string {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("userid", userid)
	for i, f := range files {
		w, _ := mw.CreateFormFile("file", fmt.Sprintf("IMG_%d.jpg", i))
		_, _ = w.Write(f)
	}
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/send-image", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-Standin-Page", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Results []struct {
			Reply  string `json:"reply"`
			Status int    `json:"status"`
		} `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("send-image: HTTP %d %v", resp.StatusCode, err)
	}
	var replies []string
	for _, r := range out.Results {
		replies = append(replies, r.Reply)
	}
	return replies
}

var link = regexp.MustCompile(`(http://[^\s（)]+)`)

// download fetches the first link in a reply.
func download(t *testing.T, reply string) []byte {
	t.Helper()
	m := link.FindString(reply)
	if m == "" {
		t.Fatalf("no link in %q", reply)
	}
	resp, err := http.Get(m)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: HTTP %d", m, resp.StatusCode)
	}
	return data
}

func TestPhotosAndExportsThroughTheEndpoint(t *testing.T) {
	_, prefix := testredis.Client(t)
	base := startBot(t, prefix, "DASHBOARD_TOKEN", "dash-secret")

	for i, s := range []struct {
		files [][]byte
		want  []string
	}{
		{[][]byte{photo(t, 1, false)}, []string{"已收到第 1 张（还需 5 张）"}},
		{[][]byte{photo(t, 2, true)}, []string{"这是 PNG 图片，请发送 JPG 格式的照片。这张没有保存。"}},
		{[][]byte{append(photo(t, 3, false)[:200:200], bytes.Repeat([]byte{0x42}, 500)...)}, []string{"照片已损坏，无法打开。这张没有保存。"}},
		{[][]byte{[]byte("这不是照片，只是改了扩展名的文字")}, []string{"这不是图片文件。这张没有保存。"}},
		{[][]byte{photo(t, 1, false)}, []string{"这张照片已经收到过了（第 1 张），没有重复保存。"}},
		{[][]byte{photo(t, 4, false), photo(t, 5, false), photo(t, 6, false), photo(t, 7, false), photo(t, 8, false)},
			[]string{"已收到第 2 张（还需 4 张）", "已收到第 3 张（还需 3 张）", "已收到第 4 张（还需 2 张）", "已收到第 5 张（还需 1 张）", "已收到第 6 张（已够数，最多还可以发 4 张）"}},
		{[][]byte{photo(t, 9, false), photo(t, 10, false), photo(t, 11, false), photo(t, 12, false), photo(t, 13, false)},
			[]string{"已收到第 7 张", "已收到第 8 张", "已收到第 9 张", "已收到第 10 张（已满 10 张）", "已经有 10 张照片，达到上限，这张没有保存"}},
	} {
		got := sendPhotos(t, base, "cuihong", s.files...)
		if len(got) != len(s.want) {
			t.Fatalf("step %d: %d replies for %d photos: %q", i, len(got), len(s.want), got)
		}
		for j, w := range s.want {
			if !strings.Contains(got[j], w) {
				t.Errorf("step %d photo %d: reply %q lacks %q", i, j+1, got[j], w)
			}
		}
	}
	if got := sendPhotos(t, base, "newcomer01", photo(t, 20, false)); !strings.Contains(got[0], "我还不认识您") {
		t.Errorf("an unknown sender's photo: %q", got)
	}

	for i, s := range []struct {
		who, text string
		want      []string
	}{
		{"cuihong", "照片", []string{"**大辛社区照片**：已收到 10 张（需要 6-10 张 JPG）", "在与我（换届助手）的单聊里直接发送照片即可", "1. 城西街道大辛社区_"}},
		{"cuihong", "删除照片 3", []string{"已删除第 3 张（城西街道大辛社区_", "_03.jpg", "现在还有 9 张"}},
		{"cuihong", "删除照片 3", []string{"没有第 3 张照片"}}, // numbers do not shift: 3 is gone
		{"cuihong", "照片", []string{"\n2. 城西街道大辛社区_", "_02.jpg", "\n4. 城西街道大辛社区_", "_04.jpg"}},
		{"cuihong", "删除照片 30", []string{"没有第 30 张照片"}},
		{"quxin", "哪些社区还没报 照片", []string{"还没报「换届照片」的社区", "7月10日开始", "李家窑", "共 14 个"}},
		{"quxin", "大辛", []string{"✅ **换届照片**：照片 9 张"}},
	} {
		got := page(t, base, s.who, s.text)
		for _, w := range s.want {
			if !strings.Contains(got, w) {
				t.Errorf("step %d %s「%s」: reply lacks %q:\n%s", i, s.who, s.text, w, got)
			}
		}
	}

	// 照片打包: a zip of the 9 photos named for the street office.
	reply := page(t, base, "quxin", "照片打包 大辛")
	if !strings.Contains(reply, "下载：[城西街道_大辛社区_换届照片.zip](") {
		t.Fatalf("照片打包: %s", reply)
	}
	archive := download(t, reply)
	z, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range z.File {
		if !f.FileInfo().IsDir() {
			names = append(names, f.Name)
		}
	}
	if len(names) != 9 || !strings.HasPrefix(names[0], "城西街道_大辛社区_换届照片/城西街道大辛社区_") {
		t.Errorf("zip holds %d photos: %q", len(names), names)
	}

	// 导出: the workbook opens and shows 大辛's photos.
	reply = page(t, base, "quxin", "导出")
	if !strings.Contains(reply, "已生成城西街道换届进度表") || !strings.Contains(reply, "已发到群里") {
		t.Fatalf("导出: %s", reply)
	}
	book, err := excelize.OpenReader(bytes.NewReader(download(t, reply)))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := book.GetRows("城西街道")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, row := range rows {
		if len(row) > 1 && row[1] == "大辛" { // after 序号
			found = strings.Contains(strings.Join(row, "|"), "9 张")
		}
	}
	if !found {
		t.Errorf("the workbook's 大辛 row lacks its 9 photos: %q", rows)
	}

	// 图表: the PNG is pushed into the group.
	if reply := page(t, base, "cuihong", "图表"); !strings.Contains(reply, "进度图_20210705_0900.png」已发到群里") {
		t.Fatalf("图表: %s", reply)
	}

	// The dashboard shows the same, behind its token.
	for token, wantCode := range map[string]int{"": 401, "wrong": 401, "dash-secret": 200} {
		resp, err := http.Get(base + "/dashboard/?token=" + token)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != wantCode || (wantCode == 200 && !strings.Contains(string(body), "大辛")) {
			t.Errorf("dashboard with token %q: HTTP %d", token, resp.StatusCode)
		}
	}
}
