// Package dashboard is a read-only web view of the campaign for the leaders' phones:
// one table of every community's progress per street, a card per community with its
// photos, and the photos as a zip. It is an http.Handler meant to be mounted under
// Prefix ("/dashboard/"); every request needs the configured token, given once as
// ?token= and then remembered in a cookie.
package dashboard

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"huanjie/campaign"
	"huanjie/config"
	"huanjie/storage"
)

// DefaultPrefix is where the dashboard is mounted when Prefix is empty.
const DefaultPrefix = "/dashboard/"

// CookieName is the cookie that remembers a valid token.
const CookieName = "huanjie_dashboard"

// cookieMaxAge is how long a phone stays signed in after opening the link once.
const cookieMaxAge = 30 * 24 * time.Hour

// Server serves the dashboard. Config, Filings and Photos are required; ArchiveDir is
// the folder Photo.Path is relative to; ThumbDir keeps the photo tiles' thumbnails, named
// by content hash (empty: ArchiveDir/.thumbs); Zip (optional) writes a community's photos
// as a zip archive. An empty Token disables the dashboard: every request gets 404.
type Server struct {
	Config     *config.Config
	Filings    Records
	Photos     storage.Photos
	Bindings   Bindings
	ArchiveDir string
	ThumbDir   string
	Token      string
	Zip        func(ctx context.Context, street, streetName, community string, w io.Writer) error
	Clock      func() time.Time
	Log        *slog.Logger
	// Prefix is the path the dashboard is mounted at, with a trailing slash
	// (DefaultPrefix if empty). Requests must carry it; links are built from it.
	Prefix string
	// Memo keeps the last judgement of each street; share the bot's so a street is judged
	// once for the chat and the dashboard (nil: the dashboard's own).
	Memo *campaign.Memo

	own campaign.Memo
}

// memo is the shared memo, or the dashboard's own.
func (s *Server) memo() *campaign.Memo {
	if s.Memo != nil {
		return s.Memo
	}
	return &s.own
}

// Records is what the dashboard reads of the campaign's state.
type Records interface {
	Record(ctx context.Context, street, community string) (*campaign.Record, error)
	Records(ctx context.Context, street string) (map[string]*campaign.Record, error)
}

// Bindings lists the people bound in chat, to name who filed.
type Bindings interface {
	Bound(ctx context.Context, street string) ([]campaign.Binding, error)
}

//go:embed *.html
var files embed.FS

var pages = template.Must(template.New("").ParseFS(files, "*.html"))

func (s *Server) prefix() string {
	p := s.Prefix
	if p == "" {
		p = DefaultPrefix
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

func (s *Server) now() time.Time {
	if s.Clock != nil {
		return s.Clock()
	}
	return time.Now()
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer") // the first URL carries the token
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	if s.Token == "" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, ui.ReadOnly, http.StatusMethodNotAllowed)
		return
	}
	prefix := s.prefix()
	path := r.URL.EscapedPath()
	if path == strings.TrimSuffix(prefix, "/") {
		target := prefix
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
		return
	}
	if !strings.HasPrefix(path, prefix) {
		s.notFound(w, r)
		return
	}
	if !s.authorize(w, r) {
		s.render(w, r, http.StatusUnauthorized, "message", &page{Title: ui.Unauthorized, Heading: ui.Unauthorized, Message: ui.UnauthorizedHint})
		return
	}
	seg, ok := segments(strings.TrimPrefix(path, prefix))
	if !ok {
		s.notFound(w, r)
		return
	}
	switch {
	case len(seg) == 0:
		s.index(w, r)
	case len(seg) == 3 && seg[0] == "c":
		s.community(w, r, seg[1], seg[2])
	case len(seg) == 4 && seg[0] == "photo":
		s.photo(w, r, seg[1], seg[2], seg[3])
	case len(seg) == 4 && seg[0] == "thumb":
		s.thumb(w, r, seg[1], seg[2], seg[3])
	case len(seg) == 3 && seg[0] == "zip":
		s.zip(w, r, seg[1], seg[2])
	default:
		s.notFound(w, r)
	}
}

// segments splits an escaped path into unescaped segments. It refuses empty segments,
// dot segments and anything that unescapes to a separator or a control character, so a
// segment is always a plain name ("" is the root).
func segments(escaped string) ([]string, bool) {
	if escaped == "" {
		return nil, true
	}
	var out []string
	for _, e := range strings.Split(escaped, "/") {
		seg, err := url.PathUnescape(e)
		if err != nil || seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, "/\\") {
			return nil, false
		}
		for _, c := range seg {
			if c < 0x20 || c == 0x7f {
				return nil, false
			}
		}
		out = append(out, seg)
	}
	return out, true
}

// authorize checks ?token= (and then remembers it in a cookie) or the cookie. A token in
// the URL decides on its own: a wrong one is refused even with a valid cookie.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	if q := r.URL.Query(); q.Has("token") {
		if !sameSecret(q.Get("token"), s.Token) {
			return false
		}
		http.SetCookie(w, &http.Cookie{
			Name:     CookieName,
			Value:    s.cookieValue(),
			Path:     s.prefix(),
			MaxAge:   int(cookieMaxAge / time.Second),
			HttpOnly: true,
			Secure:   r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"),
			SameSite: http.SameSiteStrictMode,
		})
		return true
	}
	c, err := r.Cookie(CookieName)
	return err == nil && sameSecret(c.Value, s.cookieValue())
}

// cookieValue is derived from the token, so the cookie never holds the token itself
// and changing the token signs every phone out.
func (s *Server) cookieValue() string {
	m := hmac.New(sha256.New, []byte(s.Token))
	m.Write([]byte("huanjie dashboard cookie v1"))
	return hex.EncodeToString(m.Sum(nil))
}

// sameSecret compares in constant time, whatever the lengths.
func sameSecret(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusNotFound, "message", &page{Title: ui.NotFoundTitle, Heading: ui.NotFoundTitle, Message: ui.NotFound, Link: s.prefix()})
}

func (s *Server) serverError(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log().Error("dashboard: "+what, "path", r.URL.Path, "err", err)
	s.render(w, r, http.StatusInternalServerError, "message", &page{Title: ui.Title, Heading: ui.Title, Message: ui.ServerError, Link: s.prefix()})
}

// render executes a template into a buffer first, so a template error becomes a 500
// rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	p.T = &ui
	if p.Home == "" {
		p.Home = s.prefix()
	}
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, p); err != nil {
		s.log().Error("dashboard: template", "template", name, "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "Accept-Encoding")
	body := buf.Bytes()
	if acceptsGzip(r.Header.Values("Accept-Encoding")) {
		// Pages are mostly repeated markup: gzip makes an overview of 15 communities
		// about a seventh of its size on a phone's mobile data.
		var z bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
		_, _ = zw.Write(body)
		if zw.Close() == nil {
			h.Set("Content-Encoding", "gzip")
			body = z.Bytes()
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// acceptsGzip reads Accept-Encoding: gzip listed with a q above 0, or else * so.
func acceptsGzip(values []string) bool {
	gz, star := -1.0, -1.0
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(part, ";")
			q := 1.0
			if k, val, ok := strings.Cut(params, "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
				if err != nil {
					continue
				}
				q = f
			}
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "gzip":
				gz = q
			case "*":
				star = q
			}
		}
	}
	if gz >= 0 {
		return gz > 0
	}
	return star > 0
}

// lookup finds a configured street and one of its communities by exact name.
func (s *Server) lookup(street, community string) (*config.Street, bool) {
	st, ok := s.Config.Street(street)
	if !ok {
		return nil, false
	}
	for _, c := range st.Communities {
		if c.Name == community {
			return st, true
		}
	}
	return nil, false
}

// communityURL, photoURL and zipURL build links under the prefix.
func (s *Server) communityURL(street, community string) string {
	return s.prefix() + "c/" + url.PathEscape(street) + "/" + url.PathEscape(community)
}

func (s *Server) photoURL(street, community string, n int, hash string) string {
	return s.photoPath("photo/", street, community, n, hash)
}

func (s *Server) thumbURL(street, community string, n int, hash string) string {
	return s.photoPath("thumb/", street, community, n, hash)
}

func (s *Server) photoPath(kind, street, community string, n int, hash string) string {
	u := s.prefix() + kind + url.PathEscape(street) + "/" + url.PathEscape(community) + "/" + itoa(n)
	if v := version(hash); v != "" {
		u += "?v=" + v
	}
	return u
}

func (s *Server) zipURL(street, community string) string {
	return s.prefix() + "zip/" + url.PathEscape(street) + "/" + url.PathEscape(community)
}
