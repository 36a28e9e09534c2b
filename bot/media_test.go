package bot

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func mediaKey(t *testing.T) []byte {
	t.Helper()
	c, err := NewCrypto(vectorToken, vectorKey, "")
	if err != nil {
		t.Fatal(err)
	}
	k := c.MediaKey()
	if len(k) != 32 {
		t.Fatalf("MediaKey is %d bytes", len(k))
	}
	return k
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// The official test vector's echostr is encrypted the way media is (AES-256-CBC, IV =
// key[:16], PKCS#7 to 32): DecryptMedia must open it to random16 ‖ len ‖ msg ‖ receiveid.
func TestDecryptMediaOfficialVector(t *testing.T) {
	raw, _ := base64.StdEncoding.DecodeString("P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==")
	plain, err := DecryptMedia(mediaKey(t), raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(plain[20:]); got != "1616140317555161061wx5823bf96d3bd56c7" {
		t.Fatalf("decrypted tail %q", got)
	}
}

func TestMediaRoundTrip(t *testing.T) {
	key := mediaKey(t)
	for _, n := range []int{0, 1, 15, 16, 31, 32, 33, 64, 1000, 100003} {
		plain := randomBytes(t, n)
		enc, err := EncryptMedia(key, plain)
		if err != nil {
			t.Fatal(err)
		}
		if len(enc)%32 != 0 || len(enc) <= n {
			t.Fatalf("%d bytes encrypt to %d", n, len(enc))
		}
		got, err := DecryptMedia(key, enc)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("%d bytes: round trip failed: %v", n, err)
		}
	}
}

func TestDecryptMediaRejects(t *testing.T) {
	key := mediaKey(t)
	enc, _ := EncryptMedia(key, []byte("一张照片的内容，足够长以便截断测试…………"))
	other := bytes.Clone(key)
	other[0] ^= 1
	for name, tc := range map[string]struct{ key, data []byte }{
		"empty":         {key, nil},
		"truncated":     {key, enc[:len(enc)-5]},
		"cut at block":  {key, enc[:16]},
		"garbage":       {key, bytes.Repeat([]byte{0x5a}, 64)},
		"wrong key":     {other, enc},
		"short key":     {key[:16], enc},
		"plain jpeg in": {key, append([]byte{0xff, 0xd8, 0xff, 0xe0}, make([]byte, 60)...)},
	} {
		_, err := DecryptMedia(tc.key, tc.data)
		var me *MediaError
		if !errors.As(err, &me) {
			t.Errorf("%s: error %v is not a *MediaError", name, err)
		}
	}
}

func TestMediaKeyFor(t *testing.T) {
	fallback := mediaKey(t)
	own := randomBytes(t, 32)
	for _, s := range []string{base64.StdEncoding.EncodeToString(own), base64.RawStdEncoding.EncodeToString(own)} {
		k, err := MediaKeyFor(Image{URL: "https://x", AESKey: s}, fallback)
		if err != nil || !bytes.Equal(k, own) {
			t.Fatalf("aeskey %q: %x, %v", s, k, err)
		}
	}
	k, err := MediaKeyFor(Image{URL: "https://x"}, fallback)
	if err != nil || !bytes.Equal(k, fallback) {
		t.Fatalf("fallback: %x, %v", k, err)
	}
	var me *MediaError
	for _, tc := range []struct {
		img Image
		fb  []byte
	}{
		{Image{AESKey: "not base64!!"}, fallback},
		{Image{AESKey: base64.StdEncoding.EncodeToString(own[:16])}, fallback},
		{Image{}, nil},
	} {
		if _, err := MediaKeyFor(tc.img, tc.fb); !errors.As(err, &me) {
			t.Errorf("%+v: error %v", tc.img, err)
		}
	}
}

func fastFetcher() *MediaFetcher {
	return &MediaFetcher{HTTP: &http.Client{Timeout: 5 * time.Second}, Backoff: time.Millisecond}
}

func TestFetchRoundTrip(t *testing.T) {
	key := mediaKey(t)
	plain := randomBytes(t, 50000)
	enc, _ := EncryptMedia(key, plain)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(enc)
	}))
	defer srv.Close()
	got, err := (&MediaFetcher{}).Fetch(t.Context(), srv.URL+"/media/1", key)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("fetch: %d bytes, %v", len(got), err)
	}
}

func TestFetchRetriesServerErrors(t *testing.T) {
	key := mediaKey(t)
	plain := []byte("jpeg bytes")
	enc, _ := EncryptMedia(key, plain)
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			http.Error(w, "busy", http.StatusBadGateway)
			return
		}
		_, _ = w.Write(enc)
	}))
	defer srv.Close()
	got, err := fastFetcher().Fetch(t.Context(), srv.URL, key)
	if err != nil || !bytes.Equal(got, plain) || calls.Load() != 3 {
		t.Fatalf("got %q, %v after %d calls", got, err, calls.Load())
	}

	// Always failing: 1 try + 3 retries, then the last error.
	calls.Store(-100)
	_, err = fastFetcher().Fetch(t.Context(), srv.URL, key)
	if err == nil || !strings.Contains(err.Error(), "HTTP 502") || calls.Load() != -96 {
		t.Fatalf("always 502: %v after %d calls", err, calls.Load()+100)
	}
}

func TestFetchBackoffDoubles(t *testing.T) {
	var (
		mu    sync.Mutex
		times []time.Time
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	f := &MediaFetcher{Retries: 2, Backoff: 40 * time.Millisecond}
	if _, err := f.Fetch(t.Context(), srv.URL, mediaKey(t)); err == nil {
		t.Fatal("no error")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(times) != 3 {
		t.Fatalf("%d calls, want 3", len(times))
	}
	if d1, d2 := times[1].Sub(times[0]), times[2].Sub(times[1]); d1 < 40*time.Millisecond || d2 < 80*time.Millisecond {
		t.Fatalf("pauses %v, %v; want ≥ 40 ms, ≥ 80 ms", d1, d2)
	}
}

func TestFetchDoesNotRetryClientErrors(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.NotFound(w, r)
	}))
	defer srv.Close()
	_, err := fastFetcher().Fetch(t.Context(), srv.URL, mediaKey(t))
	if err == nil || calls.Load() != 1 {
		t.Fatalf("%v after %d calls", err, calls.Load())
	}
}

func TestFetchBadBodies(t *testing.T) {
	key := mediaKey(t)
	enc, _ := EncryptMedia(key, randomBytes(t, 1000))
	for name, body := range map[string][]byte{
		"truncated": enc[:len(enc)-7],
		"garbage":   []byte("<html>error page</html>"),
		"empty":     nil,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) }))
		_, err := fastFetcher().Fetch(t.Context(), srv.URL, key)
		srv.Close()
		var me *MediaError
		if !errors.As(err, &me) {
			t.Errorf("%s: error %v is not a *MediaError", name, err)
		}
	}
}

func TestFetchOversized(t *testing.T) {
	key := mediaKey(t)
	enc, _ := EncryptMedia(key, randomBytes(t, 4096))
	for _, chunked := range []bool{false, true} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !chunked {
				_, _ = w.Write(enc) // one write: Content-Length is set and refused up front
				return
			}
			for i := 0; i < len(enc); i += 512 {
				_, _ = w.Write(enc[i:min(i+512, len(enc))])
				w.(http.Flusher).Flush() // no Content-Length: the limit is found while reading
			}
		}))
		f := fastFetcher()
		f.MaxBytes = 1024
		_, err := f.Fetch(t.Context(), srv.URL, key)
		srv.Close()
		if !errors.Is(err, ErrMediaTooLarge) {
			t.Errorf("chunked=%v: error %v, want ErrMediaTooLarge", chunked, err)
		}
	}
}

func TestFetchRefusesOtherSchemes(t *testing.T) {
	for _, u := range []string{"file:///etc/passwd", "ftp://x/y", "/relative", "http://"} {
		if _, err := fastFetcher().Fetch(context.Background(), u, mediaKey(t)); err == nil {
			t.Errorf("%s: no error", u)
		}
	}
}

func TestFetchStopsOnCancel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	f := &MediaFetcher{Retries: 10, Backoff: time.Second}
	if _, err := f.Fetch(ctx, srv.URL, mediaKey(t)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("did not stop on cancel")
	}
}
