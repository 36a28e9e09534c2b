package dashboard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/image/draw"
	"golang.org/x/sync/semaphore"
	"golang.org/x/sync/singleflight"
)

// Thumbnails: a photo tile shows a small square JPEG made on the server the first time
// it is asked for, kept on disk under the photo's content hash, so a page of ten photos
// costs a few hundred kilobytes of mobile data instead of the originals' 30–80 MB. The
// original is only sent when someone taps a tile.
const (
	thumbSide     = 360       // pixels: a ~120 px tile sharp on a 3× phone screen
	thumbMaxBytes = 40 << 10  // the most a thumbnail may weigh
	thumbQuality  = 78        // the first JPEG quality tried; lowered until it fits
	thumbMinQ     = 30        // below this the side is halved instead
	thumbDirName  = ".thumbs" // under ArchiveDir when ThumbDir is empty
	// thumbMaxPixels bounds what is decoded, as the photo intake does
	// (photos.DefaultMaxPixels): a small file declaring a huge image is never decoded.
	thumbMaxPixels = 50_000_000
	// thumbDecodeBudget bounds the memory all thumbnail decodes hold at once; a
	// decode's cost is estimated from the header (decodeCost). The largest photo the
	// intake takes (50 MP, 3 bytes a pixel) fits on its own.
	thumbDecodeBudget = 256 << 20
	// thumbHeaderBytes is how much of a file is read for its markers (EXIF sits in the
	// first segments).
	thumbHeaderBytes = 256 << 10
	// thumbTimeout bounds making one thumbnail, waiting for the budget included.
	thumbTimeout = time.Minute
)

var (
	thumbBudget = semaphore.NewWeighted(thumbDecodeBudget)
	thumbWork   singleflight.Group // by cache path: one making per photo at a time
)

// errNotThumbnailable is a file that is not a JPEG which decodes within the bounds.
var errNotThumbnailable = errors.New("dashboard: photo cannot be made into a thumbnail")

// thumbnailDir is where thumbnails are kept ("" when there is nowhere to keep them).
func (s *Server) thumbnailDir() string {
	switch {
	case s.ThumbDir != "":
		return s.ThumbDir
	case s.ArchiveDir != "":
		return filepath.Join(s.ArchiveDir, thumbDirName)
	}
	return ""
}

// thumbPath is a thumbnail's file, named by the photo's content hash (64 hex digits);
// "" when the hash is not one, so nothing is cached under a name a record could forge.
func thumbPath(dir, hash string) string {
	if dir == "" || !isHash(hash) {
		return ""
	}
	return filepath.Join(dir, hash[:2], hash+".jpg")
}

func isHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for _, c := range h {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// makeThumbnail reads a JPEG and returns a square thumbnail of its centre, turned the
// way its EXIF orientation says, of at most thumbMaxBytes. Images larger than
// thumbMaxPixels are refused before anything is decoded, and the decode waits until its
// cost fits in the budget.
func makeThumbnail(ctx context.Context, f io.ReadSeeker) ([]byte, error) {
	head := make([]byte, thumbHeaderBytes)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("dashboard: read photo: %w", err)
	}
	head = head[:n]
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(head))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%w: %v", errNotThumbnailable, err)
	}
	orientation, progressive := jpegMeta(head)
	cost := decodeCost(cfg, progressive)
	if int64(cfg.Width)*int64(cfg.Height) > thumbMaxPixels || cost > thumbDecodeBudget {
		return nil, fmt.Errorf("%w: declares %d×%d pixels, %d MB to decode", errNotThumbnailable, cfg.Width, cfg.Height, cost>>20)
	}
	if err := thumbBudget.Acquire(ctx, cost); err != nil {
		return nil, err
	}
	defer thumbBudget.Release(cost)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("dashboard: read photo: %w", err)
	}
	src, err := jpeg.Decode(f)
	if err != nil {
		// The intake accepts a JPEG without its end-of-image marker (some cameras
		// leave it out): decode such a file with the marker added.
		if _, serr := f.Seek(0, io.SeekStart); serr == nil {
			src, err = jpeg.Decode(io.MultiReader(f, bytes.NewReader([]byte{0xff, 0xd9})))
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errNotThumbnailable, err)
		}
	}
	// The centre square, scaled: cropping to a centred square commutes with every
	// EXIF turn and flip, so the small image is turned afterwards.
	b := src.Bounds()
	side := min(b.Dx(), b.Dy())
	crop := image.Rect(0, 0, side, side).Add(b.Min).Add(image.Pt((b.Dx()-side)/2, (b.Dy()-side)/2))
	out := min(thumbSide, side)
	for {
		small := image.NewRGBA(image.Rect(0, 0, out, out))
		draw.BiLinear.Scale(small, small.Bounds(), src, crop, draw.Src, nil)
		turned := orient(small, orientation)
		for q := thumbQuality; q >= thumbMinQ; q -= 12 {
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, turned, &jpeg.Options{Quality: q}); err != nil {
				return nil, fmt.Errorf("dashboard: encode thumbnail: %w", err)
			}
			if buf.Len() <= thumbMaxBytes {
				return buf.Bytes(), nil
			}
		}
		out /= 2 // only noise weighs that much at this size
	}
}

// writeFileAtomic writes data to path through a temporary file in the same folder, so a
// reader never sees half a thumbnail.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// orient turns and flips a square image as EXIF orientation o (1–8) says.
func orient(img *image.RGBA, o int) *image.RGBA {
	if o < 2 || o > 8 {
		return img
	}
	n := img.Bounds().Dx()
	out := image.NewRGBA(img.Bounds())
	for y := range n {
		for x := range n {
			sx, sy := x, y
			switch o {
			case 2: // mirrored
				sx = n - 1 - x
			case 3: // upside down
				sx, sy = n-1-x, n-1-y
			case 4: // mirrored upside down
				sy = n - 1 - y
			case 5: // transposed
				sx, sy = y, x
			case 6: // to be turned a quarter clockwise
				sx, sy = y, n-1-x
			case 7: // transverse
				sx, sy = n-1-y, n-1-x
			case 8: // to be turned a quarter anticlockwise
				sx, sy = n-1-y, x
			}
			si, di := img.PixOffset(sx, sy), out.PixOffset(x, y)
			copy(out.Pix[di:di+4], img.Pix[si:si+4])
		}
	}
	return out
}

// decodeCost estimates the bytes image/jpeg holds to decode an image: its pixels at
// full resolution for every component, and for a progressive JPEG the coefficients
// too (4 bytes each), plus the scaled copy's RGBA.
func decodeCost(cfg image.Config, progressive bool) int64 {
	comps := int64(3)
	switch cfg.ColorModel {
	case color.GrayModel, color.Gray16Model:
		comps = 1
	case color.CMYKModel:
		comps = 4
	}
	perPixel := comps
	if progressive {
		perPixel += 4 * comps
	}
	return int64(cfg.Width)*int64(cfg.Height)*perPixel + 4*thumbSide*thumbSide
}

// jpegMeta reads, from the start of a JPEG, its EXIF orientation (1–8; 1 when there is
// none or it cannot be read) and whether it is progressive. Phones store portrait
// photos sideways with the orientation tag, and browsers turn them, so a thumbnail
// must too.
func jpegMeta(b []byte) (orientation int, progressive bool) {
	orientation = 1
	if len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 {
		return orientation, false
	}
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xff {
			break
		}
		marker := b[i+1]
		if marker == 0xff { // fill byte
			i++
			continue
		}
		if marker == 0xda || marker == 0xd9 { // image data: no more metadata
			break
		}
		size := int(b[i+2])<<8 | int(b[i+3])
		if size < 2 || i+2+size > len(b) {
			break
		}
		seg := b[i+4 : i+2+size]
		switch {
		case marker == 0xc2: // the frame header of a progressive JPEG
			progressive = true
		case marker == 0xe1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00":
			orientation = tiffOrientation(seg[6:])
		}
		i += 2 + size
	}
	return orientation, progressive
}

// tiffOrientation finds tag 0x0112 in IFD0 of a TIFF structure.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var u16 func([]byte) int
	var u32 func([]byte) int
	switch string(t[:2]) {
	case "II":
		u16 = func(p []byte) int { return int(p[0]) | int(p[1])<<8 }
		u32 = func(p []byte) int { return int(p[0]) | int(p[1])<<8 | int(p[2])<<16 | int(p[3])<<24 }
	case "MM":
		u16 = func(p []byte) int { return int(p[1]) | int(p[0])<<8 }
		u32 = func(p []byte) int { return int(p[3]) | int(p[2])<<8 | int(p[1])<<16 | int(p[0])<<24 }
	default:
		return 1
	}
	if u16(t[2:4]) != 42 {
		return 1
	}
	ifd := u32(t[4:8])
	if ifd < 8 || ifd+2 > len(t) {
		return 1
	}
	count := u16(t[ifd : ifd+2])
	for k := range count {
		e := ifd + 2 + 12*k
		if e+12 > len(t) {
			return 1
		}
		if u16(t[e:e+2]) == 0x0112 && u16(t[e+2:e+4]) == 3 { // orientation, SHORT
			if o := u16(t[e+8 : e+10]); o >= 1 && o <= 8 {
				return o
			}
			return 1
		}
	}
	return 1
}
