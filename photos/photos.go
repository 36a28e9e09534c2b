// Package photos takes the JPG photos secretaries send for their community's summary
// (000 §六(三): 6–10 photos by 7月20日): it checks each is a JPEG that opens, files it in
// the archive folder, records it in storage.Photos, and lists, deletes and zips them.
//
// Files live at Dir/<street>/<community>/<streetName><community>社区_<YYYYMMDD>_<NN>.jpg,
// the date being the day received in Shanghai and NN one more than the highest number
// in the folder, so names follow the order received and are never reused.
package photos

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"huanjie/bot"
	"huanjie/campaign"
	"huanjie/storage"
)

// Service receives and keeps the photos. Store and Dir are required; the rest have defaults.
//
// Memory: at most Workers photos are downloaded and checked at once (each at most the
// fetcher's MaxBytes, twice: encrypted and plain), and all the decodes running at once
// fit in DecodeBudget; a photo whose header declares more than MaxPixels, or whose
// decode alone would exceed DecodeBudget, is refused before anything is decoded.
type Service struct {
	Store   storage.Photos
	Fetcher *bot.MediaFetcher // nil: a default MediaFetcher
	Dir     string            // the archive folder
	Clock   func() time.Time  // nil: time.Now; names carry the Shanghai date of it
	Log     *slog.Logger      // nil: slog.Default()

	Workers      int   // photos in work at once; default 2
	MaxPixels    int64 // default DefaultMaxPixels
	DecodeBudget int64 // bytes; default DefaultDecodeBudget

	limitsOnce sync.Once
	workers    chan struct{}
	decodes    *semaphore.Weighted
}

// Result is what became of one received photo.
type Result struct {
	// N is the photo's number as List and Delete count (1-based): for a new photo its
	// place in the list, for a duplicate the place of the photo already held; 0 when Full.
	N int
	// Count is how many photos the community holds now; Min and Max are the rule's.
	Count, Min, Max int
	// Duplicate: the same photo (same content) was received before; nothing was added.
	// Full: the community already holds Max photos; nothing was added.
	Duplicate, Full bool
	// Name is the new file's name (e.g. 城西街道大辛社区_20210715_03.jpg); "" unless added.
	Name string
}

// ErrDownload wraps a failure to fetch or decrypt an image from WeCom (Accept).
var ErrDownload = errors.New("photos: the image could not be downloaded")

// ErrNoPhotos is returned by Zip when the community has no photos.
var ErrNoPhotos = errors.New("photos: the community has no photos")

// ErrFileMissing is returned (wrapped, naming the photos) by Zip when a recorded photo's
// file is not in the archive folder.
var ErrFileMissing = errors.New("photos: a photo's file is missing from the archive folder")

func (s *Service) now() time.Time {
	if s.Clock != nil {
		return s.Clock()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Service) limits() {
	s.limitsOnce.Do(func() {
		n := s.Workers
		if n <= 0 {
			n = 2
		}
		s.workers = make(chan struct{}, n)
		s.decodes = semaphore.NewWeighted(s.decodeBudget())
	})
}

func (s *Service) decodeBudget() int64 {
	if s.DecodeBudget > 0 {
		return s.DecodeBudget
	}
	return DefaultDecodeBudget
}

func (s *Service) maxPixels() int64 {
	if s.MaxPixels > 0 {
		return s.MaxPixels
	}
	return DefaultMaxPixels
}

// busyMargin is left of a caller's deadline when waiting for a worker gives up, so that
// the "too busy" answer still reaches the person.
const busyMargin = 500 * time.Millisecond

// acquireWorker waits for one of the Workers slots; a *Refusal (ReasonBusy) when none
// frees up before ctx's deadline (less busyMargin).
func (s *Service) acquireWorker(ctx context.Context) (release func(), err error) {
	s.limits()
	wait := ctx
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		wait, cancel = context.WithDeadline(ctx, dl.Add(-busyMargin))
		defer cancel()
	}
	select {
	case s.workers <- struct{}{}:
		return func() { <-s.workers }, nil
	case <-wait.Done():
		return nil, &Refusal{Reason: ReasonBusy}
	}
}

// checkSegment accepts a street id or community name as one path element.
func checkSegment(what, v string) error {
	if v == "" || v == "." || v == ".." || strings.ContainsAny(v, "/\\\x00\n:") || !filepath.IsLocal(v) {
		return fmt.Errorf("photos: %s %q cannot be used as a folder name", what, v)
	}
	return nil
}

// communityLabel is how a community is named in files: 大辛 → 大辛社区 (a name already
// ending in 社区, 村 or 居委会 is kept).
func communityLabel(c string) string {
	for _, suffix := range []string{"社区", "村", "居委会"} {
		if strings.HasSuffix(c, suffix) {
			return c
		}
	}
	return c + "社区"
}

// ZipFolder is the folder inside Zip's archive, e.g. 城西街道_大辛社区_换届照片.
func ZipFolder(streetName, community string) string {
	return streetName + "_" + communityLabel(community) + "_换届照片"
}

// numbered matches the names Receive gives and captures NN.
var numbered = regexp.MustCompile(`_\d{8}_(\d+)\.jpg$`)

// nextNumber is one more than the highest NN among dir's photo files.
func nextNumber(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	high := 0
	for _, e := range entries {
		if m := numbered.FindStringSubmatch(e.Name()); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil && n > high {
				high = n
			}
		}
	}
	return high + 1, nil
}

// Accept downloads an image a secretary of community sent (see Download) and receives
// it (see Receive), holding one of the Workers slots throughout. A download that fails
// is an error wrapping ErrDownload.
func (s *Service) Accept(ctx context.Context, img bot.Image, fallbackKey []byte, street, streetName, community, by string, rule campaign.PhotoRule) (Result, error) {
	release, err := s.acquireWorker(ctx)
	if err != nil {
		return Result{Min: rule.Min, Max: rule.Max}, err
	}
	defer release()
	data, err := s.Download(ctx, img, fallbackKey)
	if err != nil {
		var r *Refusal
		if errors.As(err, &r) {
			return Result{Min: rule.Min, Max: rule.Max}, err
		}
		return Result{Min: rule.Min, Max: rule.Max}, fmt.Errorf("%w: %w", ErrDownload, err)
	}
	return s.receive(ctx, street, streetName, community, by, data, rule)
}

// Receive takes one decrypted image a secretary of community sent. A file that is not a
// JPEG which opens is refused with a *Refusal (nothing is kept): by its header first
// (format, declared pixels, the memory its decode needs), then by decoding it in full.
// Otherwise the file is written atomically into the archive folder, then recorded with
// rule.Max as the cap; a duplicate or a photo beyond the cap is not an error but a
// Result with Duplicate or Full set, and its file is removed again. On any error
// nothing is left behind.
func (s *Service) Receive(ctx context.Context, street, streetName, community, by string, data []byte, rule campaign.PhotoRule) (Result, error) {
	release, err := s.acquireWorker(ctx)
	if err != nil {
		return Result{Min: rule.Min, Max: rule.Max}, err
	}
	defer release()
	return s.receive(ctx, street, streetName, community, by, data, rule)
}

// check refuses data by its header, then decodes it within the decode budget.
func (s *Service) check(ctx context.Context, data []byte) (width, height int, err error) {
	s.limits()
	cost, err := checkHeader(data, s.maxPixels(), s.decodeBudget())
	if err != nil {
		return 0, 0, err
	}
	if err := s.decodes.Acquire(ctx, cost); err != nil {
		return 0, 0, &Refusal{Reason: ReasonBusy}
	}
	defer s.decodes.Release(cost)
	return decodeJPEG(data)
}

func (s *Service) receive(ctx context.Context, street, streetName, community, by string, data []byte, rule campaign.PhotoRule) (Result, error) {
	res := Result{Min: rule.Min, Max: rule.Max}
	if err := errors.Join(checkSegment("street", street), checkSegment("community", community)); err != nil {
		return res, err
	}
	if streetName == "" || strings.ContainsAny(streetName, "/\\\x00") {
		return res, fmt.Errorf("photos: street name %q cannot be used in a file name", streetName)
	}
	if rule.Max < 1 {
		return res, fmt.Errorf("photos: the photo rule's max is %d", rule.Max)
	}
	if s.Store == nil || s.Dir == "" {
		return res, errors.New("photos: the service has no store or no archive folder")
	}
	width, height, err := s.check(ctx, data)
	if err != nil {
		return res, err
	}
	sum := sha256.Sum256(data)
	at := s.now()
	p := storage.Photo{Hash: hex.EncodeToString(sum[:]), Size: int64(len(data)), Width: width, Height: height, By: by, At: at}

	file, err := s.write(street, streetName, community, at, data)
	if err != nil {
		return res, err
	}
	p.Name = filepath.Base(file)
	p.Path = path.Join(street, community, p.Name)

	n, err := s.Store.AddPhoto(ctx, street, community, p, rule.Max)
	switch {
	case err == nil:
		res.N, res.Count, res.Name = n, n, p.Name
		s.log().Info("photos: received", "street", street, "community", community, "by", by, "name", p.Name,
			"n", n, "bytes", p.Size, "size", fmt.Sprintf("%dx%d", width, height))
		return res, nil
	case errors.Is(err, storage.ErrDuplicatePhoto), errors.Is(err, storage.ErrPhotosFull):
		res.Duplicate = errors.Is(err, storage.ErrDuplicatePhoto)
		res.Full = !res.Duplicate
		list, lerr := s.Store.PhotoList(ctx, street, community)
		if lerr != nil {
			// Whether a record points to the new file cannot be told: keep it.
			return res, fmt.Errorf("photos: list %s/%s: %w", street, community, lerr)
		}
		res.Count = len(list)
		for i, q := range list {
			if res.Duplicate && q.Hash == p.Hash {
				res.N = i + 1
				if q.Path == p.Path {
					// The record held is this very file (a store that ran the add twice):
					// received, and the file stays.
					res.Duplicate, res.Name = false, p.Name
					return res, nil
				}
			}
		}
		s.remove(file)
		return res, nil
	}
	// The record failed. If the failure came after Redis ran the script (a timeout on the
	// answer), the record may be there: keep the file then, so no record lacks its file.
	if s.recorded(ctx, street, community, p) {
		list, _ := s.Store.PhotoList(context.WithoutCancel(ctx), street, community)
		for i, q := range list {
			if q.Hash == p.Hash {
				res.N = i + 1
			}
		}
		res.Count, res.Name = len(list), p.Name
		s.log().Warn("photos: recorded although AddPhoto failed", "name", p.Name, "err", err)
		return res, nil
	}
	s.remove(file)
	return res, fmt.Errorf("photos: record %s/%s: %w", street, community, err)
}

// recorded reports whether p's record is in the store, or true when that cannot be told
// (then the file is kept: an orphan file is harmless, a record without a file is not).
func (s *Service) recorded(ctx context.Context, street, community string, p storage.Photo) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	list, err := s.Store.PhotoList(ctx, street, community)
	if err != nil {
		s.log().Error("photos: cannot tell whether a photo was recorded; keeping its file",
			"street", street, "community", community, "name", p.Name, "err", err)
		return true
	}
	for _, q := range list {
		if q.Hash == p.Hash && q.Name == p.Name {
			return true
		}
	}
	return false
}

// write puts data into the community's folder under the next free name: it writes and
// syncs a temporary file, reserves the name with O_EXCL (so concurrent receivers, even
// in other processes, never take the same number) and renames the temporary file onto it.
func (s *Service) write(street, streetName, community string, at time.Time, data []byte) (string, error) {
	dir := filepath.Join(s.Dir, street, community)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("photos: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".incoming-*.tmp")
	if err != nil {
		return "", fmt.Errorf("photos: %w", err)
	}
	tmpName := tmp.Name()
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmpName)
		return "", fmt.Errorf("photos: write %s: %w", tmpName, err)
	}
	prefix := streetName + communityLabel(community) + "_" + at.In(campaign.Shanghai).Format("20060102") + "_"
	n, err := nextNumber(dir)
	if err != nil {
		os.Remove(tmpName)
		return "", fmt.Errorf("photos: %w", err)
	}
	for tries := 0; tries < 1000; tries, n = tries+1, n+1 {
		final := filepath.Join(dir, fmt.Sprintf("%s%02d.jpg", prefix, n))
		f, err := os.OpenFile(final, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			os.Remove(tmpName)
			return "", fmt.Errorf("photos: %w", err)
		}
		f.Close()
		if err := os.Rename(tmpName, final); err != nil {
			os.Remove(final)
			os.Remove(tmpName)
			return "", fmt.Errorf("photos: %w", err)
		}
		syncDir(dir)
		return final, nil
	}
	os.Remove(tmpName)
	return "", fmt.Errorf("photos: no free file name in %s", dir)
}

// syncDir makes a rename durable where the OS allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

func (s *Service) remove(file string) {
	if err := os.Remove(file); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log().Error("photos: cannot remove a file", "file", file, "err", err)
	}
}

// Download fetches and decrypts an image a person sent the bot: with its own aeskey
// when it has one (long connection), else with fallbackKey (the callback's MediaKey).
// A file over the fetcher's size limit is a *Refusal.
func (s *Service) Download(ctx context.Context, img bot.Image, fallbackKey []byte) ([]byte, error) {
	key, err := bot.MediaKeyFor(img, fallbackKey)
	if err != nil {
		return nil, err
	}
	f := s.Fetcher
	if f == nil {
		f = &bot.MediaFetcher{}
	}
	data, err := f.Fetch(ctx, img.URL, key)
	if errors.Is(err, bot.ErrMediaTooLarge) {
		max := f.MaxBytes
		if max <= 0 {
			max = 10 << 20
		}
		return nil, &Refusal{Reason: fmt.Sprintf(reasonTooLarge, max>>20)}
	}
	return data, err
}

// Images lists the images of a message: its image, or the images among its mixed items.
func Images(m bot.Message) []bot.Image {
	var out []bot.Image
	if m.Image != nil && m.Image.URL != "" {
		out = append(out, *m.Image)
	}
	if m.Mixed != nil {
		for _, it := range m.Mixed.Items {
			if it.Image != nil && it.Image.URL != "" {
				out = append(out, *it.Image)
			}
		}
	}
	return out
}

// List returns the community's photos in the order received (numbered from 1).
func (s *Service) List(ctx context.Context, street, community string) ([]storage.Photo, error) {
	return s.Store.PhotoList(ctx, street, community)
}

// Delete removes the n-th photo (1-based, as List numbers them): its record, then its
// file. The other photos keep their file names; those after it move up in the list.
// A file that cannot be removed is logged, not an error: the record is gone already.
func (s *Service) Delete(ctx context.Context, street, community string, n int) (storage.Photo, error) {
	p, err := s.Store.DeletePhoto(ctx, street, community, n)
	if err != nil {
		return p, err
	}
	return s.deleted(street, community, p), nil
}

// DeleteHash deletes the community's photo with the content hash, record and file.
func (s *Service) DeleteHash(ctx context.Context, street, community, hash string) (storage.Photo, error) {
	p, err := s.Store.DeletePhotoHash(ctx, street, community, hash)
	if err != nil {
		return p, err
	}
	return s.deleted(street, community, p), nil
}

// deleted removes a deleted photo's file.
func (s *Service) deleted(street, community string, p storage.Photo) storage.Photo {
	if file, ok := s.file(p); ok {
		s.remove(file)
	} else {
		s.log().Error("photos: a deleted photo's path leaves the archive folder", "path", p.Path)
	}
	s.log().Info("photos: deleted", "street", street, "community", community, "name", p.Name)
	return p
}

// file is p's file in the archive folder; false if p.Path would lead outside it.
func (s *Service) file(p storage.Photo) (string, bool) {
	rel := filepath.FromSlash(p.Path)
	if !filepath.IsLocal(rel) {
		return "", false
	}
	return filepath.Join(s.Dir, rel), true
}

// Zip writes a zip archive of the community's photos to w: a folder named like
// 城西街道_大辛社区_换届照片 holding each photo under its file name (UTF-8 names, flagged
// as such), stored uncompressed (JPEGs do not shrink). It checks every file is there
// before writing anything: ErrNoPhotos, or ErrFileMissing naming the photos missing.
func (s *Service) Zip(ctx context.Context, street, streetName, community string, w io.Writer) error {
	list, err := s.Store.PhotoList(ctx, street, community)
	if err != nil {
		return fmt.Errorf("photos: list %s/%s: %w", street, community, err)
	}
	if len(list) == 0 {
		return ErrNoPhotos
	}
	files := make([]*os.File, len(list))
	defer func() {
		for _, f := range files {
			if f != nil {
				f.Close()
			}
		}
	}()
	var missing []string
	for i, p := range list {
		name, ok := s.file(p)
		if !ok {
			missing = append(missing, p.Name)
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			missing = append(missing, p.Name)
			continue
		}
		files[i] = f
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", ErrFileMissing, strings.Join(missing, "、"))
	}
	folder := ZipFolder(streetName, community) + "/"
	zw := zip.NewWriter(w)
	if _, err := zw.CreateHeader(&zip.FileHeader{Name: folder, Method: zip.Store, Modified: s.now().In(campaign.Shanghai), NonUTF8: false}); err != nil {
		return fmt.Errorf("photos: zip: %w", err)
	}
	for i, p := range list {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr := &zip.FileHeader{Name: folder + p.Name, Method: zip.Store, Modified: p.At.In(campaign.Shanghai), NonUTF8: false}
		hdr.SetMode(0o644)
		ew, err := zw.CreateHeader(hdr)
		if err != nil {
			return fmt.Errorf("photos: zip: %w", err)
		}
		if _, err := io.Copy(ew, files[i]); err != nil {
			return fmt.Errorf("photos: zip %s: %w", p.Name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("photos: zip: %w", err)
	}
	return nil
}
