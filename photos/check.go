package photos

import (
	"bytes"
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
)

// ReasonOtherType is the reason given for an image of another format, e.g. "PNG".
func ReasonOtherType(format string) string { return fmt.Sprintf(reasonOtherType, format) }

// Refusal is a photo the bot cannot take, with the reason to tell the person who sent it.
type Refusal struct {
	Reason string
}

func (r *Refusal) Error() string { return "photos: refused: " + r.Reason }

// maxPixels bounds the images decoded (a 108 MP phone photo is 12000×9000): decoding
// takes about 1.5 bytes a pixel, and a small file can declare a huge image.
const maxPixels = 150_000_000

// checkJPEG sniffs data's format and decodes it as a JPEG, returning its size in pixels
// or a *Refusal.
func checkJPEG(data []byte) (width, height int, err error) {
	if f := sniff(data); f != "jpeg" {
		switch f {
		case "heic":
			return 0, 0, &Refusal{Reason: ReasonHEIC}
		case "video":
			return 0, 0, &Refusal{Reason: ReasonVideo}
		case "":
			return 0, 0, &Refusal{Reason: ReasonNotImage}
		default:
			return 0, 0, &Refusal{Reason: ReasonOtherType(f)}
		}
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return 0, 0, &Refusal{Reason: ReasonCorrupt}
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return 0, 0, &Refusal{Reason: fmt.Sprintf(reasonTooMany, cfg.Width, cfg.Height)}
	}
	// Decode it all: a truncated upload or garbage after a valid header fails here.
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
