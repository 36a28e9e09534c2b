// Package testjpeg makes JPEG files for tests: a decompression bomb (a few hundred bytes
// that declare a huge progressive image) and ordinary photos.
package testjpeg

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
)

// Bomb returns a valid progressive grayscale JPEG of width×height whose only scan is
// a run of end-of-band codes, so it is a few hundred bytes however large it declares
// itself. Decoding it with image/jpeg allocates about 5 bytes a pixel.
func Bomb(width, height int) []byte {
	var b bytes.Buffer
	seg := func(marker byte, payload ...byte) {
		b.Write([]byte{0xff, marker, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)})
		b.Write(payload)
	}
	b.Write([]byte{0xff, 0xd8}) // SOI
	dqt := make([]byte, 65)     // table 0, 8-bit, all ones
	for i := 1; i < 65; i++ {
		dqt[i] = 1
	}
	seg(0xdb, dqt...)
	// SOF2: 8-bit, height, width, one component (id 1, sampling 1×1, table 0).
	seg(0xc2, 8, byte(height>>8), byte(height), byte(width>>8), byte(width), 1, 1, 0x11, 0)
	// DHT: AC table 0 with one 1-bit code for symbol 0xE0 (EOB run of 2^14 + 14 bits).
	counts := make([]byte, 16)
	counts[0] = 1
	seg(0xc4, append(append([]byte{0x10}, counts...), 0xe0)...)
	// SOS: component 1 with AC table 0, spectral band 1–63, no approximation.
	seg(0xda, 1, 1, 0x00, 1, 63, 0)
	blocks := ((width + 7) / 8) * ((height + 7) / 8)
	var w bitWriter
	for left := blocks; left > 0; left -= 32767 {
		w.bits(0, 1)        // the code of 0xE0
		w.bits(1<<14-1, 14) // run = 2^14 + 16383 = 32767 blocks
	}
	b.Write(w.flush())
	b.Write([]byte{0xff, 0xd9}) // EOI
	return b.Bytes()
}

// bitWriter packs entropy-coded bits MSB first, stuffing 0x00 after each 0xFF.
type bitWriter struct {
	out  []byte
	acc  uint32
	nacc uint
}

func (w *bitWriter) bits(v uint32, n uint) {
	for i := int(n) - 1; i >= 0; i-- {
		w.acc = w.acc<<1 | (v>>uint(i))&1
		w.nacc++
		if w.nacc == 8 {
			w.emit(byte(w.acc))
			w.acc, w.nacc = 0, 0
		}
	}
}

func (w *bitWriter) emit(c byte) {
	w.out = append(w.out, c)
	if c == 0xff {
		w.out = append(w.out, 0)
	}
}

func (w *bitWriter) flush() []byte {
	if w.nacc > 0 { // pad with ones
		w.emit(byte(w.acc<<(8-w.nacc) | (1<<(8-w.nacc) - 1)))
		w.acc, w.nacc = 0, 0
	}
	return w.out
}

// Photo returns a real baseline JPEG of width×height whose pixels depend on seed.
func Photo(width, height, seed int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	for y := 0; y < height; y++ {
		for x := 0; x < width; x++ {
			img.Set(x, y, color.RGBA{uint8(x*4 + seed*37), uint8(y*5 + seed*11), uint8(seed*53 + x*y), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		panic(err)
	}
	return b.Bytes()
}
