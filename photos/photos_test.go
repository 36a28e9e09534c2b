package photos

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"huanjie/bot"
	"huanjie/campaign"
	"huanjie/internal/testjpeg"
	"huanjie/internal/testredis"
	"huanjie/storage"
)

const (
	street     = "chengxi"
	streetName = "城西街道"
	comm       = "大辛"
)

var rule = campaign.PhotoRule{Min: 6, Max: 10, Format: "jpg"}

// received is 2021-07-15 01:00 in Shanghai (still the 14th in UTC).
var received = time.Date(2021, 7, 14, 17, 0, 0, 0, time.UTC)

func newService(t *testing.T) *Service {
	t.Helper()
	c, prefix := testredis.Client(t)
	return &Service{
		Store: storage.NewRedis(c, prefix),
		Dir:   t.TempDir(),
		Clock: func() time.Time { return received },
		Log:   slog.New(slog.DiscardHandler),
	}
}

// photo is a real JPEG whose pixels depend on seed, so different seeds differ.
func photo(t *testing.T, seed int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{uint8(x*4 + seed*37), uint8(y*5 + seed*11), uint8(seed * 53), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pngImage(t *testing.T) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gifImage(t *testing.T) []byte {
	var b bytes.Buffer
	if err := gif.Encode(&b, image.NewPaletted(image.Rect(0, 0, 8, 8), []color.Color{color.Black, color.White}), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// files lists the regular files under dir, relative, slash-separated.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func receive(t *testing.T, s *Service, data []byte) Result {
	t.Helper()
	res, err := s.Receive(t.Context(), street, streetName, comm, "cuihong", data, rule)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func nameN(n string) string { return "城西街道大辛社区_20210715_" + n + ".jpg" }

func TestReceiveFilesAndRecords(t *testing.T) {
	s := newService(t)
	var sent [][]byte
	for i := 1; i <= 3; i++ {
		data := photo(t, i)
		sent = append(sent, data)
		res := receive(t, s, data)
		want := Result{N: i, Count: i, Min: 6, Max: 10, Name: nameN("0" + string(rune('0'+i)))}
		if res != want {
			t.Fatalf("photo %d: %+v, want %+v", i, res, want)
		}
	}
	wantFiles := []string{"chengxi/大辛/" + nameN("01"), "chengxi/大辛/" + nameN("02"), "chengxi/大辛/" + nameN("03")}
	if got := files(t, s.Dir); !slices.Equal(got, wantFiles) {
		t.Fatalf("files %v, want %v", got, wantFiles)
	}
	list, err := s.List(t.Context(), street, comm)
	if err != nil || len(list) != 3 {
		t.Fatalf("list %v, %v", list, err)
	}
	for i, p := range list {
		disk, err := os.ReadFile(filepath.Join(s.Dir, filepath.FromSlash(p.Path)))
		if err != nil || !bytes.Equal(disk, sent[i]) {
			t.Fatalf("#%d file %s: %v", i+1, p.Path, err)
		}
		if p.Path != wantFiles[i] || p.Name != filepath.Base(wantFiles[i]) || p.Size != int64(len(sent[i])) ||
			p.Width != 64 || p.Height != 48 || p.By != "cuihong" || !p.At.Equal(received) || len(p.Hash) != 64 {
			t.Fatalf("#%d record %+v", i+1, p)
		}
	}
}

func TestRefusals(t *testing.T) {
	jpg := photo(t, 1)
	heic := append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), bytes.Repeat([]byte{0x42}, 200)...)
	// Valid headers up to the scan, then garbage or an early end: only a full decode
	// notices (DecodeConfig succeeds on both, checked below).
	sos := bytes.Index(jpg, []byte{0xff, 0xda})
	corrupt := append(slices.Clone(jpg[:sos+40]), bytes.Repeat([]byte("\xffgarbage"), 100)...)
	truncated := jpg[:sos+(len(jpg)-sos)/2]
	for _, b := range [][]byte{corrupt, truncated} {
		if _, err := jpeg.DecodeConfig(bytes.NewReader(b)); err != nil {
			t.Fatalf("the damaged JPEG's headers do not parse: %v", err)
		}
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"png", pngImage(t), "这是 PNG 图片，请发送 JPG 格式的照片"},
		{"heic", heic, `这是 HEIC 格式（苹果手机默认格式），请在手机设置里改为"兼容性最佳"或转成 JPG 再发`},
		{"heif mif1", append([]byte("\x00\x00\x00\x10ftypmif1\x00\x00\x00\x00"), make([]byte, 50)...), ReasonHEIC},
		{"avif", append([]byte("\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf"), make([]byte, 50)...), "这是 AVIF 图片，请发送 JPG 格式的照片"},
		{"mp4", append([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"), make([]byte, 50)...), "这是视频文件，请发送 JPG 格式的照片"},
		{"gif", gifImage(t), "这是 GIF 图片，请发送 JPG 格式的照片"},
		{"webp", append([]byte("RIFF\x24\x00\x00\x00WEBPVP8 "), make([]byte, 40)...), "这是 WebP 图片，请发送 JPG 格式的照片"},
		{"corrupt jpeg", corrupt, "照片已损坏，无法打开"},
		{"truncated jpeg", truncated, "照片已损坏，无法打开"},
		{"headers cut", jpg[:sos/2], "照片已损坏，无法打开"},
		{"header only", []byte("\xff\xd8\xff\xe0"), "照片已损坏，无法打开"},
		{"text renamed .jpg", []byte("大辛社区换届选举会议记录\n到会 35 人。\n"), "这不是图片文件"},
		{"empty", nil, "这不是图片文件"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newService(t)
			_, err := s.Receive(t.Context(), street, streetName, comm, "cuihong", tc.data, rule)
			var r *Refusal
			if !errors.As(err, &r) || r.Reason != tc.want {
				t.Fatalf("error %v, want refusal %q", err, tc.want)
			}
			if got := files(t, s.Dir); len(got) != 0 {
				t.Fatalf("files left: %v", got)
			}
			if l, _ := s.List(t.Context(), street, comm); len(l) != 0 {
				t.Fatalf("recorded %+v", l)
			}
		})
	}
}

// A JPEG without its end-of-image marker (some cameras write them) is taken.
func TestMissingEndMarkerIsAccepted(t *testing.T) {
	s := newService(t)
	jpg := photo(t, 1)
	if !bytes.HasSuffix(jpg, []byte{0xff, 0xd9}) {
		t.Fatal("encoder wrote no EOI")
	}
	if res := receive(t, s, jpg[:len(jpg)-2]); res.N != 1 {
		t.Fatalf("%+v", res)
	}
}

func TestDuplicate(t *testing.T) {
	s := newService(t)
	receive(t, s, photo(t, 1))
	receive(t, s, photo(t, 2))
	res := receive(t, s, photo(t, 1))
	if want := (Result{N: 1, Count: 2, Min: 6, Max: 10, Duplicate: true}); res != want {
		t.Fatalf("duplicate: %+v, want %+v", res, want)
	}
	if got := files(t, s.Dir); len(got) != 2 {
		t.Fatalf("files %v", got)
	}
	// The next photo continues the numbering without a gap.
	if res := receive(t, s, photo(t, 3)); res.Name != nameN("03") {
		t.Fatalf("after duplicate: %+v", res)
	}
}

func TestFull(t *testing.T) {
	s := newService(t)
	for i := 1; i <= 10; i++ {
		receive(t, s, photo(t, i))
	}
	res := receive(t, s, photo(t, 11))
	if want := (Result{N: 0, Count: 10, Min: 6, Max: 10, Full: true}); res != want {
		t.Fatalf("11th: %+v, want %+v", res, want)
	}
	if got := files(t, s.Dir); len(got) != 10 || got[9] != "chengxi/大辛/"+nameN("10") {
		t.Fatalf("files %v", got)
	}
	// A duplicate of a held photo is reported as such even when full.
	if res := receive(t, s, photo(t, 4)); !res.Duplicate || res.N != 4 {
		t.Fatalf("duplicate when full: %+v", res)
	}
}

func TestDelete(t *testing.T) {
	s := newService(t)
	for i := 1; i <= 4; i++ {
		receive(t, s, photo(t, i))
	}
	p, err := s.Delete(t.Context(), street, comm, 2)
	if err != nil || p.Name != nameN("02") {
		t.Fatalf("delete: %+v, %v", p, err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, street, comm, nameN("02"))); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("file still there: %v", err)
	}
	list, _ := s.List(t.Context(), street, comm)
	var got []string
	for _, q := range list {
		got = append(got, q.Name)
	}
	if want := []string{nameN("01"), nameN("03"), nameN("04")}; !slices.Equal(got, want) {
		t.Fatalf("list %v, want %v", got, want)
	}
	// Names are not reused: the next photo is 05, number 4 in the list.
	if res := receive(t, s, photo(t, 5)); res.Name != nameN("05") || res.N != 4 {
		t.Fatalf("after delete: %+v", res)
	}
	if _, err := s.Delete(t.Context(), street, comm, 9); !errors.Is(err, storage.ErrNoSuchPhoto) {
		t.Fatalf("delete 9: %v", err)
	}
	// The photo deleted may be sent again.
	if res := receive(t, s, photo(t, 2)); res.Duplicate || res.Name != nameN("06") {
		t.Fatalf("resend deleted: %+v", res)
	}
}

func TestZip(t *testing.T) {
	s := newService(t)
	var sent [][]byte
	for i := 1; i <= 3; i++ {
		sent = append(sent, photo(t, i))
		receive(t, s, sent[i-1])
	}
	var buf bytes.Buffer
	if err := s.Zip(t.Context(), street, streetName, comm, &buf); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	const folder = "城西街道_大辛社区_换届照片/"
	want := []string{folder, folder + nameN("01"), folder + nameN("02"), folder + nameN("03")}
	var got []string
	for i, f := range zr.File {
		got = append(got, f.Name)
		if f.NonUTF8 || f.Flags&0x800 == 0 {
			t.Errorf("%s: UTF-8 flag not set (flags %#x)", f.Name, f.Flags)
		}
		if i == 0 {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		_, err = b.ReadFrom(rc)
		rc.Close()
		if err != nil || !bytes.Equal(b.Bytes(), sent[i-1]) {
			t.Errorf("%s: content differs (%v)", f.Name, err)
		}
		if y, m, d := f.Modified.Date(); y != 2021 || m != 7 || d != 15 {
			t.Errorf("%s: modified %v", f.Name, f.Modified)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("entries %v, want %v", got, want)
	}

	if err := s.Zip(t.Context(), street, streetName, "小辛", &buf); !errors.Is(err, ErrNoPhotos) {
		t.Fatalf("empty community: %v", err)
	}
	os.Remove(filepath.Join(s.Dir, street, comm, nameN("02")))
	var out bytes.Buffer
	if err := s.Zip(t.Context(), street, streetName, comm, &out); !errors.Is(err, ErrFileMissing) ||
		!strings.Contains(err.Error(), nameN("02")) || out.Len() != 0 {
		t.Fatalf("missing file: %v, %d bytes written", err, out.Len())
	}
}

// failingStore refuses every record the way a broken Redis would.
type failingStore struct{ storage.Photos }

func (failingStore) AddPhoto(context.Context, string, string, storage.Photo, int) (int, error) {
	return 0, errors.New("redis: connection refused")
}

func (failingStore) PhotoList(context.Context, string, string) ([]storage.Photo, error) {
	return nil, nil
}

func TestRecordFailureLeavesNoFile(t *testing.T) {
	s := newService(t)
	s.Store = failingStore{s.Store}
	_, err := s.Receive(t.Context(), street, streetName, comm, "cuihong", photo(t, 1), rule)
	var r *Refusal
	if err == nil || errors.As(err, &r) {
		t.Fatalf("error %v", err)
	}
	if got := files(t, s.Dir); len(got) != 0 {
		t.Fatalf("files left: %v", got)
	}
}

// Nine photos sent at once (WeCom delivers each as its own callback) and three more:
// with max 10, ten are held, each with its own file, and no file is left over.
func TestConcurrentReceive(t *testing.T) {
	s := newService(t)
	var (
		wg          sync.WaitGroup
		mu          sync.Mutex
		added, full int
	)
	for i := range 12 {
		data := photo(t, i+1)
		wg.Go(func() {
			res, err := s.Receive(context.Background(), street, streetName, comm, "cuihong", data, rule)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Error(err)
			case res.Full:
				full++
			default:
				added++
			}
		})
	}
	wg.Wait()
	if added != 10 || full != 2 {
		t.Fatalf("added %d, full %d", added, full)
	}
	list, _ := s.List(t.Context(), street, comm)
	got := files(t, s.Dir)
	if len(list) != 10 || len(got) != 10 {
		t.Fatalf("%d records, files %v", len(list), got)
	}
	for _, p := range list {
		if !slices.Contains(got, p.Path) {
			t.Errorf("record %s has no file", p.Path)
		}
	}
}

func TestBadArguments(t *testing.T) {
	s := newService(t)
	for _, tc := range []struct{ street, streetName, community string }{
		{"../x", streetName, comm}, {street, streetName, ".."}, {street, streetName, "a/b"}, {"", streetName, comm},
		{street, "", comm},
	} {
		if _, err := s.Receive(t.Context(), tc.street, tc.streetName, tc.community, "u", photo(t, 1), rule); err == nil {
			t.Errorf("%+v: no error", tc)
		}
	}
	if _, err := s.Receive(t.Context(), street, streetName, comm, "u", photo(t, 1), campaign.PhotoRule{}); err == nil {
		t.Error("max 0: no error")
	}
	if got := files(t, s.Dir); len(got) != 0 {
		t.Fatalf("files %v", got)
	}
}

func TestDownload(t *testing.T) {
	c, err := bot.NewCrypto("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "")
	if err != nil {
		t.Fatal(err)
	}
	plain := photo(t, 1)
	own := bytes.Repeat([]byte{7}, 32)
	viaCallback, _ := bot.EncryptMedia(c.MediaKey(), plain)
	viaLongConn, _ := bot.EncryptMedia(own, plain)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		switch r.URL.Path {
		case "/cb":
			w.Write(viaCallback)
		case "/lc":
			w.Write(viaLongConn)
		default:
			w.Write(bytes.Repeat([]byte{1}, 4096))
		}
	}))
	defer srv.Close()
	s := &Service{Fetcher: &bot.MediaFetcher{MaxBytes: 2048}}
	got, err := s.Download(t.Context(), bot.Image{URL: srv.URL + "/cb"}, c.MediaKey())
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("callback image: %v", err)
	}
	got, err = s.Download(t.Context(), bot.Image{URL: srv.URL + "/lc", AESKey: base64.StdEncoding.EncodeToString(own)}, c.MediaKey())
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("long-connection image: %v", err)
	}
	s.Fetcher.MaxBytes = 1 << 20 // 1 MB, for the message
	srvBig := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, 2<<20))
	}))
	defer srvBig.Close()
	_, err = s.Download(t.Context(), bot.Image{URL: srvBig.URL}, c.MediaKey())
	var r *Refusal
	if !errors.As(err, &r) || r.Reason != "照片太大（超过 1 MB），请压缩后再发" {
		t.Fatalf("oversized: %v", err)
	}
}

func TestImages(t *testing.T) {
	m := bot.Message{MsgType: "mixed", Mixed: &bot.Mixed{Items: []bot.MixedItem{
		{MsgType: "text", Text: &bot.Text{Content: "照片"}},
		{MsgType: "image", Image: &bot.Image{URL: "https://a"}},
		{MsgType: "image", Image: &bot.Image{URL: "https://b", AESKey: "k"}},
	}}}
	if got := Images(m); len(got) != 2 || got[0].URL != "https://a" || got[1].AESKey != "k" {
		t.Fatalf("mixed: %+v", got)
	}
	if got := Images(bot.Message{MsgType: "image", Image: &bot.Image{URL: "https://c"}}); len(got) != 1 {
		t.Fatalf("image: %+v", got)
	}
	if got := Images(bot.Message{MsgType: "text", Text: &bot.Text{Content: "x"}}); len(got) != 0 {
		t.Fatalf("text: %+v", got)
	}
}

func TestCommunityLabel(t *testing.T) {
	for in, want := range map[string]string{"大辛": "城西街道_大辛社区_换届照片", "西关社区": "城西街道_西关社区_换届照片", "王家村": "城西街道_王家村_换届照片"} {
		if got := ZipFolder("城西街道", in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

// TestBombsRefusedByHeader: a few hundred bytes that declare a huge progressive image
// are refused from the header alone, before anything is decoded; one that fits the
// limits is still taken. (Decoding the 12240×12240 one takes ~700 MB and seconds.)
func TestBombsRefusedByHeader(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want string // refusal, or "" for taken
	}{
		{"the 12240×12240 bomb", testjpeg.Bomb(12240, 12240), "照片像素太多（12240×12240），请压缩后再发"},
		{"over the pixel limit", testjpeg.Bomb(9000, 6000), "照片像素太多（9000×6000），请压缩后再发"},
		{"under the pixel limit, over the decode budget", testjpeg.Bomb(7000, 7000), "照片像素太多（7000×7000），请压缩后再发"},
		{"a progressive image within the limits", testjpeg.Bomb(3000, 2000), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newService(t)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := s.Receive(t.Context(), street, streetName, comm, "cuihong", tc.data, rule)
			runtime.ReadMemStats(&after)
			var r *Refusal
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (!errors.As(err, &r) || r.Reason != tc.want):
				t.Fatalf("error %v, want refusal %q", err, tc.want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; tc.want != "" && alloc > 4<<20 {
				t.Errorf("refusing it allocated %d MB: it was decoded", alloc>>20)
			}
		})
	}
}

// TestDecodeCostEstimate: the header's estimate covers what image/jpeg allocates.
func TestDecodeCostEstimate(t *testing.T) {
	for _, data := range [][]byte{testjpeg.Bomb(2000, 1500), testjpeg.Photo(1600, 1200, 1)} {
		h, err := readJPEGHeader(data)
		if err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, _, err := decodeJPEG(data); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		alloc := int64(after.TotalAlloc - before.TotalAlloc)
		if est := h.decodeBytes(); est < alloc*9/10 || est > alloc*3 {
			t.Errorf("%dx%d progressive=%v: estimated %d bytes, decoding allocated %d", h.width, h.height, h.progressive, est, alloc)
		}
	}
}

// TestPhotoWorkIsLimited: with every worker busy, a photo waits, and is refused as
// "too busy" (nothing kept) before the caller's deadline rather than piling up.
func TestPhotoWorkIsLimited(t *testing.T) {
	s := newService(t)
	s.Workers = 1
	release, err := s.acquireWorker(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	_, err = s.Receive(ctx, street, streetName, comm, "cuihong", photo(t, 1), rule)
	var r *Refusal
	if !errors.As(err, &r) || r.Reason != ReasonBusy {
		t.Fatalf("with the worker busy: %v, want the busy refusal", err)
	}
	if ctx.Err() != nil {
		t.Error("answered only after the caller's deadline: too late for the person to see it")
	}
	release()
	if res := receive(t, s, photo(t, 1)); res.N != 1 {
		t.Fatalf("after the worker is free: %+v", res)
	}
}

// resendingStore runs every AddPhoto twice, as go-redis does when it re-sends the script
// after a stall: the caller gets the second run's answer.
type resendingStore struct{ storage.Photos }

func (r resendingStore) AddPhoto(ctx context.Context, street, community string, p storage.Photo, max int) (int, error) {
	if _, err := r.Photos.AddPhoto(ctx, street, community, p, max); err != nil {
		return 0, err
	}
	return r.Photos.AddPhoto(ctx, street, community, p, max)
}

// TestPhotoThroughAStallKeepsItsFile: a photo whose record was re-sent after a stall is
// received once, and its file stays where the record points, so 照片打包 finds it.
func TestPhotoThroughAStallKeepsItsFile(t *testing.T) {
	s := newService(t)
	s.Store = resendingStore{s.Store}
	res := receive(t, s, photo(t, 1))
	if want := (Result{N: 1, Count: 1, Min: 6, Max: 10, Name: nameN("01")}); res != want {
		t.Fatalf("a photo recorded through a stall: %+v, want %+v", res, want)
	}
	if err := s.Zip(t.Context(), street, streetName, comm, io.Discard); err != nil {
		t.Fatalf("照片打包 after a photo recorded through a stall: %v", err)
	}
}
