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
	store   *storage.Redis
	filings Records
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
		store:   store,
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
		Bindings:   store,
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

// filed is one filing of the fixture and the office's review of it.
type filed struct {
	community string
	item      campaign.Item
	value     campaign.Value
	review    string // approved | returned | ""
	reason    string
}

func d(m, day int) campaign.Date { return campaign.Date{Year: 2021, Month: time.Month(m), Day: day} }

func roster(president, vice, secretary string) campaign.Roster {
	r := campaign.Roster{President: []string{president}, SecretaryGeneral: []string{secretary}}
	if vice != "" {
		r.VicePresidents = []string{vice}
	}
	return r
}

// seedFilings is what the communities have filed by 7月12日.
var seedFilings = []filed{
	{community: "大辛", item: campaign.ItemLeadingGroup, value: campaign.Value{Leader: "崔宏"}},
	{community: "大辛", item: campaign.ItemMembers, value: campaign.Value{Members: 320, Population: 6200}},
	{community: "大辛", item: campaign.ItemTraining, value: campaign.Value{Date: d(7, 8)}},
	{community: "大辛", item: campaign.ItemRepresentatives, value: campaign.Value{Count: 50}},
	{community: "大辛", item: campaign.ItemPublicity, value: campaign.Value{Start: d(7, 2)}},
	{community: "大辛", item: campaign.ItemCandidates, value: campaign.Value{Roster: roster("崔宏", "王丽", "刘芳")}, review: "approved"},
	{community: "大辛", item: campaign.ItemElection, value: campaign.Value{Date: d(7, 9), Roster: func() campaign.Roster {
		r := roster("崔宏", "王丽", "刘芳")
		r.CouncilSize = 11
		return r
	}()}},
	{community: "李家窑", item: campaign.ItemLeadingGroup, value: campaign.Value{Leader: "杨曰珩"}},
	{community: "李家窑", item: campaign.ItemMembers, value: campaign.Value{Members: 230, Population: 4800}},
	{community: "李家窑", item: campaign.ItemCandidates, value: campaign.Value{Roster: roster("杨曰珩", "", "赵敏")},
		review: "returned", reason: "缺少副会长候选人，请补报"},
	{community: "柳杭", item: campaign.ItemLeadingGroup, value: campaign.Value{Leader: "朱训岩"}},
	{community: "柳杭", item: campaign.ItemMembers, value: campaign.Value{Members: 170, Population: 3200}},
	{community: "柳杭", item: campaign.ItemCandidates, value: campaign.Value{Roster: roster("朱训岩", "陈静", "李娜")}},
	{community: "凤凰园", item: campaign.ItemLeadingGroup, value: campaign.Value{Leader: "徐海峰"}},
	{community: "凤凰园", item: campaign.ItemRepresentatives, value: campaign.Value{Assembly: true}},
}

// summaryOf is how the dashboard describes seed filing i.
func (fx *fixture) summaryOf(i int) string {
	f := seedFilings[i]
	return fx.cfg.Streets[0].Describe(campaign.Filing{Item: f.item, Value: f.value})
}

// seedPhotos is how many JPEGs each community sent.
var seedPhotos = map[string]int{"大辛": 3, "李家窑": 7, "柳杭": 1}

func (fx *fixture) seed(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	at := testNow.Add(-72 * time.Hour)
	for i, f := range seedFilings {
		fl := campaign.Filing{Street: "chengxi", Community: f.community, Item: f.item, Value: f.value,
			By: "cuihong", At: at.Add(time.Duration(i) * time.Minute), Raw: "seed"}
		if err := fx.store.Save(ctx, fl); err != nil {
			t.Fatal(err)
		}
		if f.review == "" {
			continue
		}
		rv := campaign.Review{Item: f.item, Of: fl.Stamp(), Status: f.review, Reason: f.reason, By: "luolimei", At: fl.At.Add(time.Hour)}
		if err := fx.store.SaveReview(ctx, "chengxi", f.community, rv, "seed"); err != nil {
			t.Fatal(err)
		}
	}
	// A secretary bound in chat, beside 西冶街's configured 书记.
	code, _, err := fx.store.RequestBinding(ctx, campaign.Binding{UserID: "lili01", Street: "chengxi", Role: campaign.RoleSecretary,
		Community: "西冶街", Title: "秘书长", Name: "李丽", At: at}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fx.store.ApproveBinding(ctx, "chengxi", code, "luolimei", at); err != nil {
		t.Fatal(err)
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
	fx.addPhoto(t, community, testJPEG(t, 320, 240, len(fx.jpegs[community])+i+len(community)), 320, 240)
}

// addPhoto writes data into the archive as the community's next photo and records it.
func (fx *fixture) addPhoto(t testing.TB, community string, data []byte, width, height int) storage.Photo {
	t.Helper()
	sum := sha256.Sum256(data)
	n := len(fx.jpegs[community])
	name := fmt.Sprintf("%s社区_20210715_%02d.jpg", community, n+1)
	rel := filepath.ToSlash(filepath.Join("chengxi", community, name))
	full := filepath.Join(fx.archive, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, data, 0o644); err != nil {
		t.Fatal(err)
	}
	p := storage.Photo{Hash: hex.EncodeToString(sum[:]), Path: rel, Name: name, Size: int64(len(data)),
		Width: width, Height: height, By: "cuihong", At: testNow.Add(-time.Duration(n) * time.Hour)}
	if _, err := fx.photos.AddPhoto(context.Background(), "chengxi", community, p, fx.cfg.Streets[0].Rules.Photos.Max); err != nil {
		t.Fatal(err)
	}
	fx.jpegs[community] = append(fx.jpegs[community], data)
	return p
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
