// Package downloads serves files the bot generates (a workbook, a zip of photos) at
// short-lived, unguessable links, for local mode or a deployment with a public URL.
package downloads

import (
	"crypto/rand"
	"encoding/hex"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"
)

// types the system's mime table may lack (minimal images have none).
var types = map[string]string{
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".zip":  "application/zip",
	".png":  "image/png",
}

// Store keeps files in memory for TTL and serves them under Prefix.
type Store struct {
	Base   string        // public URL of the bot, e.g. http://127.0.0.1:8080
	Prefix string        // default "/files/"
	TTL    time.Duration // default 1 hour
	Now    func() time.Time

	mu    sync.Mutex
	files map[string]file
}

type file struct {
	name    string
	data    []byte
	expires time.Time
}

func (s *Store) prefix() string {
	if s.Prefix == "" {
		return "/files/"
	}
	return s.Prefix
}

func (s *Store) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Put keeps data and returns the absolute link that downloads it as name.
func (s *Store) Put(name string, data []byte) string {
	ttl := s.TTL
	if ttl == 0 {
		ttl = time.Hour
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.files == nil {
		s.files = map[string]file{}
	}
	now := s.now()
	for k, f := range s.files {
		if now.After(f.expires) {
			delete(s.files, k)
		}
	}
	s.files[token] = file{name: name, data: data, expires: now.Add(ttl)}
	return strings.TrimRight(s.Base, "/") + s.prefix() + token + "/" + url.PathEscape(name)
}

// ServeHTTP serves GET Prefix<token>/<name>.
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	token, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, s.prefix()), "/")
	s.mu.Lock()
	f, ok := s.files[token]
	s.mu.Unlock()
	if !ok || s.now().After(f.expires) {
		http.Error(w, "链接已过期，请在群里重新获取。", http.StatusNotFound)
		return
	}
	ctype := types[path.Ext(f.name)]
	if ctype == "" {
		ctype = mime.TypeByExtension(path.Ext(f.name))
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(f.name))
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = w.Write(f.data)
}
