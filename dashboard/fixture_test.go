package dashboard

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"huanjie/campaign"
	"huanjie/config"
	"huanjie/internal/testredis"
	"huanjie/storage"
)

const testToken = "s3cret-令牌-2021"

// testNow is a Monday in the middle of the 2021 campaign: the early steps are overdue,
// the election is open, the last steps have not started.
var testNow = time.Date(2021, 7, 12, 10, 30, 0, 0, campaign.Shanghai)

// fixture is a dashboard over the 城西 2021 example with filings and photos in a real
// Redis and real JPEG files in a temporary archive folder.
type fixture struct {
	srv     *Server
	cfg     *config.Config
	filings storage.Filings
	photos  storage.Photos
	archive string              // the archive folder, inside dir
	dir     string              // holds the archive and secret.jpg beside it
	jpegs   map[string][][]byte // community → the files' bytes, in PhotoList order
	zipMu   sync.Mutex
	zips    []zipCall
	zipFail string // "", "before" (fails before writing) or "midway"
}

type zipCall struct{ street, streetName, community string }

// fakeZip records its arguments and writes a small real zip, or fails as told.
func (fx *fixture) fakeZip(ctx context.Context, street, streetName, community string, w io.Writer) error {
	fx.zipMu.Lock()
	fx.zips = append(fx.zips, zipCall{street, streetName, community})
	fx.zipMu.Unlock()
	if fx.zipFail == "before" {
		return errors.New("archive folder unreadable")
	}
	zw := zip.NewWriter(w)
	f, err := zw.Create(community + "社区_说明.txt")
	if err != nil {
		return err
	}
	if _, err := io.WriteString(f, strings.Repeat("换届照片 ", 2000)); err != nil {
		return err
	}
	if fx.zipFail == "midway" {
		if err := zw.Flush(); err != nil {
			return err
		}
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		return errors.New("disk read failed midway")
	}
	return zw.Close()
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	cfg, err := config.Default(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	store := storage.NewRedis(testredis.Client(t))
	fx := &fixture{
		cfg:     cfg,
		filings: store,
		photos:  store,
		dir:     t.TempDir(),
		jpegs:   map[string][][]byte{},
	}
	fx.archive = filepath.Join(fx.dir, "archive")
	if err := os.WriteFile(filepath.Join(fx.dir, "secret.jpg"), []byte("TOP-SECRET-NOT-A-PHOTO"), 0o644); err != nil {
		t.Fatal(err)
	}
	fx.srv = &Server{
		Config:     cfg,
		Filings:    fx.filings,
		Photos:     fx.photos,
		ArchiveDir: fx.archive,
		Token:      testToken,
		Clock:      func() time.Time { return testNow },
		Zip:        fx.fakeZip,
		Log:        slog.New(slog.DiscardHandler),
	}
	fx.seed(t)
	return fx
}

// zipCalls returns and forgets the calls of Zip so far.
func (fx *fixture) zipCalls() []zipCall {
	fx.zipMu.Lock()
	defer fx.zipMu.Unlock()
	calls := fx.zips
	fx.zips = nil
	return calls
}

// filed is one filing of the fixture: days before testNow, flags, and a review.
type filed struct {
	community string
	item      campaign.Item
	summary   string
	flags     []string
	review    string // approved | returned | ""
	reason    string
}

// seedFilings is what the communities have filed by 7月12日.
var seedFilings = []filed{
	{community: "大辛", item: campaign.ItemLeadingGroup, summary: "成立领导小组已成立（6月15日）"},
	{community: "大辛", item: campaign.ItemMembers, summary: "会员 320 人，总人口 6200 人，占 5.2%（要求不低于 5%）"},
	{community: "大辛", item: campaign.ItemTraining, summary: "换届知识培训已参加（7月8日）"},
	{community: "大辛", item: campaign.ItemRepresentatives, summary: "会员代表 50 名"},
	{community: "大辛", item: campaign.ItemPublicity, summary: "代表名单公示 7月2日至7月4日（3 天）"},
	{community: "大辛", item: campaign.ItemCandidates, summary: "候选人：会长 崔宏，副会长 王丽，秘书长 刘芳", review: "approved"},
	{community: "大辛", item: campaign.ItemElection, summary: "7月9日召开会员代表大会，选出 会长 崔宏，副会长 王丽，秘书长 刘芳，理事 11 人"},
	{community: "李家窑", item: campaign.ItemLeadingGroup, summary: "成立领导小组已成立（6月18日）"},
	{community: "李家窑", item: campaign.ItemMembers, summary: "会员 230 人，总人口 4800 人，占 4.8%（要求不低于 5%）",
		flags: []string{"会员占总人口 4.8%，低于要求的 5%（至少需要 240 名会员）"}},
	{community: "李家窑", item: campaign.ItemCandidates, summary: "候选人：会长 杨曰珩，秘书长 赵敏",
		flags: []string{"缺少副会长候选人"}, review: "returned", reason: "缺少副会长候选人，请补报"},
	{community: "柳杭", item: campaign.ItemLeadingGroup, summary: "成立领导小组已成立（6月16日）"},
	{community: "柳杭", item: campaign.ItemMembers, summary: "会员 170 人，总人口 3200 人，占 5.3%（要求不低于 5%）"},
	{community: "柳杭", item: campaign.ItemCandidates, summary: "候选人：会长 朱训岩，副会长 陈静，秘书长 李娜"},
	{community: "凤凰园", item: campaign.ItemLeadingGroup, summary: "成立领导小组已成立（6月19日）"},
	{community: "凤凰园", item: campaign.ItemRepresentatives, summary: "会员人数较少，召开会员大会（不推选代表）"},
}

// seedPhotos is how many JPEGs each community sent.
var seedPhotos = map[string]int{"大辛": 3, "李家窑": 7, "柳杭": 1}

func (fx *fixture) seed(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	at := testNow.Add(-72 * time.Hour)
	for i, f := range seedFilings {
		fl := campaign.Filing{Street: "chengxi", Community: f.community, Item: f.item, Summary: f.summary,
			Flags: f.flags, By: "cuihong", At: at.Add(time.Duration(i) * time.Minute), Raw: f.summary}
		if err := fx.filings.Save(ctx, fl, true); err != nil {
			t.Fatal(err)
		}
		if f.review == "" {
			continue
		}
		rv := campaign.Filing{Street: "chengxi", Community: f.community, Item: f.item.Review(),
			Fields:  map[string]string{"of": fl.At.UTC().Format(time.RFC3339Nano), "status": f.review, "reason": f.reason},
			Summary: "reviewed", By: "luolimei", At: fl.At.Add(time.Hour)}
		if err := fx.filings.Save(ctx, rv, false); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range slices.Sorted(maps.Keys(seedPhotos)) {
		for i := range seedPhotos[c] {
			fx.addJPEG(t, c, i)
		}
	}
}

// addJPEG writes a generated JPEG into the archive and records it with AddPhoto.
func (fx *fixture) addJPEG(t *testing.T, community string, i int) {
	t.Helper()
	data := testJPEG(t, 320, 240, len(fx.jpegs[community])+i+len(community))
	sum := sha256.Sum256(data)
	name := fmt.Sprintf("%s社区_20210715_%02d.jpg", community, i+1)
	rel := filepath.ToSlash(filepath.Join("chengxi", community, name))
	full := filepath.Join(fx.archive, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, data, 0o644); err != nil {
		t.Fatal(err)
	}
	p := storage.Photo{Hash: hex.EncodeToString(sum[:]), Path: rel, Name: name, Size: int64(len(data)),
		Width: 320, Height: 240, By: "cuihong", At: testNow.Add(-time.Duration(i) * time.Hour)}
	if _, err := fx.photos.AddPhoto(context.Background(), "chengxi", community, p, fx.cfg.Streets[0].Rules.Photos.Max); err != nil {
		t.Fatal(err)
	}
	fx.jpegs[community] = append(fx.jpegs[community], data)
}

// testJPEG draws a sky, a building and a red banner, different for every seed.
func testJPEG(t testing.TB, w, h, seed int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{uint8(90 + y*100/h), uint8(140 + y*80/h), 230, 255}
			switch {
			case y > h*2/3:
				c = color.RGBA{uint8(70 + (x*7+seed*40)%60), 120, 70, 255}
			case x > w/5 && x < w*4/5 && y > h/3:
				c = color.RGBA{uint8(200 - seed*13%80), 190, 170, 255}
				if (x/12+y/12)%3 == 0 {
					c = color.RGBA{60, 80, 110, 255}
				}
			case y > h/6 && y < h/4 && x > w/8 && x < w*7/8:
				c = color.RGBA{200, 20, 30, 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
