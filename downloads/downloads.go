// Package downloads serves files the bot generates (a workbook, a chart, a zip of
// photos) at short-lived, unguessable links, for local mode or a deployment with a
// public URL.
//
// The files live on disk, never in memory: each at Dir/<token>/<name>, its modification
// time the moment it was made. A file is served (streamed from disk, with ranges) for
// TTL after that; the folder holds at most MaxBytes, the oldest files going first when
// a new one needs room, and expired files are removed by Sweep (run by Run, and by
// every Keep). Replicas that share Dir serve each other's links.
package downloads

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
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

// Defaults of Store's fields.
const (
	DefaultTTL      = time.Hour
	DefaultMaxBytes = 1 << 30
)

// ErrTooLarge is returned by Keep for a file larger than the whole folder may hold.
var ErrTooLarge = errors.New("downloads: the file is larger than the download folder may hold")

// Store keeps generated files in Dir and serves them under Prefix.
type Store struct {
	Dir      string        // required: the folder (created if missing)
	Base     string        // public URL of the bot, e.g. http://127.0.0.1:8080
	Prefix   string        // default "/files/"
	TTL      time.Duration // default DefaultTTL
	MaxBytes int64         // the folder's cap; default DefaultMaxBytes
	Now      func() time.Time
	Log      *slog.Logger

	mu sync.Mutex // serialises making room and sweeping
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

func (s *Store) ttl() time.Duration {
	if s.TTL > 0 {
		return s.TTL
	}
	return DefaultTTL
}

func (s *Store) maxBytes() int64 {
	if s.MaxBytes > 0 {
		return s.MaxBytes
	}
	return DefaultMaxBytes
}

func (s *Store) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Keep writes the file that write produces into the folder and returns the absolute
// link that downloads it as name, and its size. The file is written to a temporary
// name first (a link never shows half a file); write's error is returned as it is.
func (s *Store) Keep(name string, write func(io.Writer) error) (link string, size int64, err error) {
	if s.Dir == "" {
		return "", 0, errors.New("downloads: no folder")
	}
	if err := os.MkdirAll(s.Dir, 0o750); err != nil {
		return "", 0, fmt.Errorf("downloads: %w", err)
	}
	s.Sweep()
	tmp, err := os.CreateTemp(s.Dir, ".incoming-*")
	if err != nil {
		return "", 0, fmt.Errorf("downloads: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	lw := &limitedWriter{w: tmp, left: s.maxBytes()}
	werr := write(lw)
	if cerr := tmp.Close(); werr == nil && cerr != nil {
		werr = fmt.Errorf("downloads: %w", cerr)
	}
	if lw.over {
		return "", 0, ErrTooLarge
	}
	if werr != nil {
		return "", 0, werr
	}
	size = lw.n
	token := randomToken()
	dir := filepath.Join(s.Dir, token)
	file := filepath.Join(dir, fileName(name))
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.makeRoomLocked(size); err != nil {
		return "", 0, err
	}
	if err := os.Mkdir(dir, 0o750); err != nil {
		return "", 0, fmt.Errorf("downloads: %w", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		os.Remove(dir)
		return "", 0, fmt.Errorf("downloads: %w", err)
	}
	made := s.now()
	if err := os.Chtimes(file, made, made); err != nil {
		os.RemoveAll(dir)
		return "", 0, fmt.Errorf("downloads: %w", err)
	}
	return strings.TrimRight(s.Base, "/") + s.prefix() + token + "/" + url.PathEscape(name), size, nil
}

// fileName makes name safe as one path element.
func fileName(name string) string {
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 {
			return '_'
		}
		return r
	}, name)
	if name == "" || name == "." || name == ".." {
		return "file"
	}
	return name
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// kept is one file in the folder.
type kept struct {
	dir  string // Dir/<token>
	size int64
	made time.Time
}

// list reads the folder: every Dir/<token>/<file>.
func (s *Store) list() ([]kept, error) {
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []kept
	for _, e := range entries {
		if !e.IsDir() || !validToken(e.Name()) {
			continue
		}
		dir := filepath.Join(s.Dir, e.Name())
		files, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		k := kept{dir: dir}
		for _, f := range files {
			if info, err := f.Info(); err == nil && info.Mode().IsRegular() {
				k.size += info.Size()
				k.made = info.ModTime()
			}
		}
		out = append(out, k)
	}
	return out, nil
}

// makeRoomLocked removes the oldest files until size more bytes fit under the cap.
func (s *Store) makeRoomLocked(size int64) error {
	if size > s.maxBytes() {
		return ErrTooLarge
	}
	all, err := s.list()
	if err != nil {
		return fmt.Errorf("downloads: %w", err)
	}
	var used int64
	for _, k := range all {
		used += k.size
	}
	slices.SortFunc(all, func(a, b kept) int { return a.made.Compare(b.made) })
	for _, k := range all {
		if used+size <= s.maxBytes() {
			break
		}
		if err := os.RemoveAll(k.dir); err != nil {
			return fmt.Errorf("downloads: make room: %w", err)
		}
		used -= k.size
		s.log().Warn("downloads: the folder is full; an unexpired file was removed early", "file", k.dir, "bytes", k.size)
	}
	return nil
}

// Sweep removes expired files, and temporary files left by a crash.
func (s *Store) Sweep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := s.list()
	if err != nil {
		s.log().Error("downloads: sweep", "err", err)
		return
	}
	now := s.now()
	for _, k := range all {
		if !now.Before(k.made.Add(s.ttl())) {
			if err := os.RemoveAll(k.dir); err != nil {
				s.log().Error("downloads: remove an expired file", "file", k.dir, "err", err)
			}
		}
	}
	stale, _ := filepath.Glob(filepath.Join(s.Dir, ".incoming-*"))
	for _, f := range stale {
		if info, err := os.Stat(f); err == nil && time.Since(info.ModTime()) > time.Hour {
			os.Remove(f)
		}
	}
}

// Run sweeps every interval until stop is closed.
func (s *Store) Run(stop <-chan struct{}, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			s.Sweep()
		}
	}
}

func validToken(t string) bool {
	if len(t) != 32 {
		return false
	}
	_, err := hex.DecodeString(t)
	return err == nil
}

// ServeHTTP serves GET Prefix<token>/<name>, streamed from disk.
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	token, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, s.prefix()), "/")
	f, info, name, ok := s.open(token)
	if !ok {
		http.Error(w, "链接已过期，请在群里重新获取。", http.StatusNotFound)
		return
	}
	defer f.Close()
	ctype := types[path.Ext(name)]
	if ctype == "" {
		ctype = mime.TypeByExtension(path.Ext(name))
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(name))
	w.Header().Set("Cache-Control", "private, no-store")
	// A zip of photos to a phone on a slow network takes longer than the server's
	// write timeout allows an ordinary answer.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(30 * time.Minute))
	http.ServeContent(w, r, "", info.ModTime(), f)
}

// open finds the unexpired file of token.
func (s *Store) open(token string) (*os.File, fs.FileInfo, string, bool) {
	if !validToken(token) || s.Dir == "" {
		return nil, nil, "", false
	}
	root, err := os.OpenRoot(filepath.Join(s.Dir, token))
	if err != nil {
		return nil, nil, "", false
	}
	defer root.Close()
	d, err := root.Open(".")
	if err != nil {
		return nil, nil, "", false
	}
	names, _ := d.Readdirnames(2)
	d.Close()
	if len(names) != 1 {
		return nil, nil, "", false
	}
	f, err := root.Open(names[0])
	if err != nil {
		return nil, nil, "", false
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() || !s.now().Before(info.ModTime().Add(s.ttl())) {
		f.Close()
		return nil, nil, "", false
	}
	return f, info, names[0], true
}

// limitedWriter fails once more than left bytes are written.
type limitedWriter struct {
	w    io.Writer
	left int64
	n    int64
	over bool
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		l.over = true
		return 0, ErrTooLarge
	}
	n, err := l.w.Write(p)
	l.n += int64(n)
	l.left -= int64(n)
	return n, err
}
