package photos

import (
	"bytes"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"strings"
)

// What people are told when a photo is refused (a *Refusal's Reason).
const (
	ReasonNotImage  = "这不是图片文件"
	ReasonCorrupt   = "照片已损坏，无法打开"
	ReasonHEIC      = `这是 HEIC 格式（苹果手机默认格式），请在手机设置里改为"兼容性最佳"或转成 JPG 再发`
	ReasonVideo     = "这是视频文件，请发送 JPG 格式的照片"
	reasonOtherType = "这是 %s 图片，请发送 JPG 格式的照片"
	reasonTooLarge  = "照片太大（超过 %d MB），请压缩后再发"
	reasonTooMany   = "照片像素太多（%d×%d），请压缩后再发"
	// ReasonBusy is given when too many photos arrive at once to check this one in time.
	ReasonBusy = "现在同时收到的照片太多，来不及检查这张，请过一分钟再发"
)

// ReasonOtherType is the reason given for an image of another format, e.g. "PNG".
func ReasonOtherType(format string) string { return fmt.Sprintf(reasonOtherType, format) }

// Refusal is a photo the bot cannot take, with the reason to tell the person who sent it.
type Refusal struct {
	Reason string
}

func (r *Refusal) Error() string { return "photos: refused: " + r.Reason }

// Limits of the photo check (the defaults of Service's fields).
const (
	// DefaultMaxPixels bounds a photo's declared size: 50 million pixels takes a 48 MP
	// phone camera's 8000×6000 and refuses a 108 MP one (ask to compress).
	DefaultMaxPixels = 50_000_000
	// DefaultDecodeBudget bounds the memory all photo decodes use at once. A photo whose
	// decode alone would need more is refused before it is decoded.
	DefaultDecodeBudget = 192 << 20
)

// jpegHeader is what a JPEG declares before its first scan.
type jpegHeader struct {
	width, height int
	progressive   bool
	comps         []samplingFactor
}

type samplingFactor struct{ h, v int }

// readJPEGHeader walks data's markers from SOI to the frame header (SOF0, SOF1 or SOF2,
// the kinds image/jpeg decodes) and reads it, without decoding anything.
func readJPEGHeader(data []byte) (jpegHeader, error) {
	bad := errors.New("photos: not a JPEG image/jpeg can decode")
	if len(data) < 4 || data[0] != 0xff || data[1] != 0xd8 {
		return jpegHeader{}, bad
	}
	for i := 2; ; {
		for i < len(data) && data[i] == 0xff { // fill bytes before a marker
			i++
		}
		if i >= len(data) || data[i-1] != 0xff {
			return jpegHeader{}, bad
		}
		marker := data[i]
		i++
		if marker == 0x01 || (marker >= 0xd0 && marker <= 0xd8) { // no length
			continue
		}
		if marker == 0xd9 || marker == 0xda || i+2 > len(data) { // EOI or SOS before a frame
			return jpegHeader{}, bad
		}
		n := int(data[i])<<8 | int(data[i+1])
		if n < 2 || i+n > len(data) {
			return jpegHeader{}, bad
		}
		seg := data[i+2 : i+n]
		i += n
		switch marker {
		case 0xc0, 0xc1, 0xc2:
			if len(seg) < 6 {
				return jpegHeader{}, bad
			}
			h := jpegHeader{height: int(seg[1])<<8 | int(seg[2]), width: int(seg[3])<<8 | int(seg[4]), progressive: marker == 0xc2}
			nc := int(seg[5])
			if nc < 1 || nc > 4 || len(seg) < 6+3*nc || h.width == 0 || h.height == 0 {
				return jpegHeader{}, bad
			}
			for c := range nc {
				f := seg[6+3*c+1]
				sf := samplingFactor{int(f >> 4), int(f & 0x0f)}
				if sf.h < 1 || sf.h > 4 || sf.v < 1 || sf.v > 4 {
					return jpegHeader{}, bad
				}
				h.comps = append(h.comps, sf)
			}
			return h, nil
		case 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf: // lossless, hierarchical, arithmetic
			return jpegHeader{}, bad
		}
	}
}

// decodeBytes estimates what image/jpeg allocates to decode the image: each component's
// plane (one byte a sample, in whole blocks of its sampling), and for a progressive
// image the coefficients of every block as well (64 int32s, 4 bytes a sample).
func (h jpegHeader) decodeBytes() int64 {
	hmax, vmax := 1, 1
	for _, c := range h.comps {
		hmax, vmax = max(hmax, c.h), max(vmax, c.v)
	}
	mcuX := int64((h.width + 8*hmax - 1) / (8 * hmax))
	mcuY := int64((h.height + 8*vmax - 1) / (8 * vmax))
	var n int64
	for _, c := range h.comps {
		samples := mcuX * int64(c.h) * 8 * mcuY * int64(c.v) * 8
		n += samples
		if h.progressive {
			n += 4 * samples
		}
	}
	return n
}

// checkHeader refuses, from the header alone, a photo that is no JPEG image/jpeg can
// decode, declares more than maxPixels, or would need more than maxDecode bytes to
// decode. It returns what decoding will cost.
func checkHeader(data []byte, maxPixels, maxDecode int64) (int64, error) {
	if f := sniff(data); f != "jpeg" {
		switch f {
		case "heic":
			return 0, &Refusal{Reason: ReasonHEIC}
		case "video":
			return 0, &Refusal{Reason: ReasonVideo}
		case "":
			return 0, &Refusal{Reason: ReasonNotImage}
		default:
			return 0, &Refusal{Reason: ReasonOtherType(f)}
		}
	}
	h, err := readJPEGHeader(data)
	if err != nil {
		return 0, &Refusal{Reason: ReasonCorrupt}
	}
	cost := h.decodeBytes()
	if int64(h.width)*int64(h.height) > maxPixels || cost > maxDecode {
		return 0, &Refusal{Reason: fmt.Sprintf(reasonTooMany, h.width, h.height)}
	}
	return cost, nil
}

// decodeJPEG decodes data in full, returning its size in pixels or a *Refusal: a
// truncated upload or garbage after a valid header fails here. Call it only after
// checkHeader, with the decode's cost reserved.
func decodeJPEG(data []byte) (width, height int, err error) {
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil && !bytes.HasSuffix(data, []byte{0xff, 0xd9}) {
		// Some cameras and editors leave out the end-of-image marker; viewers open such
		// files, so accept them if they decode with it added.
		img, err = jpeg.Decode(io.MultiReader(bytes.NewReader(data), bytes.NewReader([]byte{0xff, 0xd9})))
	}
	if err != nil {
		return 0, 0, &Refusal{Reason: ReasonCorrupt}
	}
	b := img.Bounds()
	return b.Dx(), b.Dy(), nil
}

// sniff names data's format by its first bytes: "jpeg", "heic", "video", another image
// format's display name (PNG, GIF, WebP, BMP, TIFF, AVIF), or "" when it is no image.
func sniff(data []byte) string {
	has := func(off int, s string) bool {
		return len(data) >= off+len(s) && string(data[off:off+len(s)]) == s
	}
	switch {
	case has(0, "\xff\xd8\xff"):
		return "jpeg"
	case has(0, "\x89PNG\r\n\x1a\n"):
		return "PNG"
	case has(0, "GIF87a"), has(0, "GIF89a"):
		return "GIF"
	case has(0, "RIFF") && has(8, "WEBP"):
		return "WebP"
	case has(0, "II*\x00"), has(0, "MM\x00*"):
		return "TIFF"
	case has(0, "BM") && len(data) >= 26 && bytes.IndexByte([]byte{12, 40, 52, 56, 64, 108, 124}, data[14]) >= 0 &&
		data[15] == 0 && data[16] == 0 && data[17] == 0:
		return "BMP"
	case has(4, "ftyp"):
		return ftypFormat(data)
	}
	return ""
}

// ftypFormat reads an ISO base media file's ftyp box: its major brand and compatible
// brands tell HEIC/HEIF (iPhone photos), AVIF and videos (mp4, mov, 3gp) apart.
func ftypFormat(data []byte) string {
	size := int(data[0])<<24 | int(data[1])<<16 | int(data[2])<<8 | int(data[3])
	if size < 16 || size > len(data) {
		size = min(len(data), 64)
	}
	var heif, avif, video bool
	for off := 8; off+4 <= size; off += 4 {
		if off == 12 {
			continue // minor version
		}
		switch b := string(data[off : off+4]); {
		case b == "avif" || b == "avis":
			avif = true
		case b == "heic" || b == "heix" || b == "hevc" || b == "hevx" || b == "heim" || b == "heis" ||
			b == "hevm" || b == "hevs" || b == "mif1" || b == "msf1" || b == "mif2":
			heif = true
		case b == "isom" || b == "iso2" || b == "mp41" || b == "mp42" || b == "qt  " || b == "M4V " ||
			b == "avc1" || b == "dash" || strings.HasPrefix(b, "3gp") || strings.HasPrefix(b, "3g2"):
			video = true
		}
	}
	switch {
	case avif:
		return "AVIF"
	case heif:
		return "heic"
	case video:
		return "video"
	}
	return ""
}
