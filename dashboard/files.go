package dashboard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"huanjie/storage"
)

// photo serves the n-th photo (1-based, as PhotoList numbers them) of a community. The
// file is found only through the photo record and opened inside ArchiveDir with os.Root,
// so neither the URL nor a bad record can reach a file outside the archive.
func (s *Server) photo(w http.ResponseWriter, r *http.Request, street, community, num string) {
	p, n, ok := s.photoRecord(w, r, street, community, num)
	if !ok {
		return
	}
	f, info, err := s.openPhoto(p)
	if err != nil {
		s.photoError(w, r, street, community, n, p, err)
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", "image/jpeg")
	h.Set("Content-Disposition", disposition("inline", p.Name, fmt.Sprintf("photo-%d.jpg", n)))
	cacheHeaders(h, r, p.Hash, "")
	http.ServeContent(w, r, "", info.ModTime(), f)
}

// photoRecord finds the n-th photo's record, answering 404 or 500 itself when it cannot.
func (s *Server) photoRecord(w http.ResponseWriter, r *http.Request, street, community, num string) (storage.Photo, int, bool) {
	st, ok := s.lookup(street, community)
	if !ok || s.ArchiveDir == "" {
		s.notFound(w, r)
		return storage.Photo{}, 0, false
	}
	n, ok := photoNumber(num)
	if !ok {
		s.notFound(w, r)
		return storage.Photo{}, 0, false
	}
	list, err := s.Photos.PhotoList(r.Context(), st.ID, community)
	if err != nil {
		s.serverError(w, r, "photos of "+st.ID+"/"+community, err)
		return storage.Photo{}, 0, false
	}
	if n > len(list) {
		s.notFound(w, r)
		return storage.Photo{}, 0, false
	}
	return list[n-1], n, true
}

// Why a photo's file cannot be served.
var (
	errOutsideArchive = errors.New("dashboard: photo record points outside the archive")
	errNoArchive      = errors.New("dashboard: archive folder unreadable")
)

// openPhoto opens a photo record's regular file inside ArchiveDir.
func (s *Server) openPhoto(p storage.Photo) (*os.File, fs.FileInfo, error) {
	rel := filepath.FromSlash(p.Path)
	if p.Path == "" || filepath.IsAbs(rel) || !filepath.IsLocal(rel) {
		return nil, nil, errOutsideArchive
	}
	root, err := os.OpenRoot(s.ArchiveDir)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errNoArchive, err)
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, info, nil
}

// photoError answers a photo or thumbnail that cannot be served: 500 when the archive
// folder cannot be read, else 404 (logged unless the file is simply gone).
func (s *Server) photoError(w http.ResponseWriter, r *http.Request, street, community string, n int, p storage.Photo, err error) {
	switch {
	case errors.Is(err, errNoArchive):
		s.serverError(w, r, "archive folder", err)
		return
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		s.log().Warn("dashboard: photo work gave up", "street", street, "community", community, "n", n, "err", err)
		s.serverError(w, r, "thumbnail", err)
		return
	case !errors.Is(err, fs.ErrNotExist):
		s.log().Warn("dashboard: photo file", "street", street, "community", community, "n", n, "path", p.Path, "err", err)
	}
	s.notFound(w, r)
}

// cacheHeaders sets the ETag and Cache-Control of a photo or its thumbnail (kind "" or
// "thumb-"). Numbers shift when a photo is deleted, so only a URL that names the
// content (?v=<hash>) may be cached for good; a bare number is revalidated each time.
func cacheHeaders(h http.Header, r *http.Request, hash, kind string) {
	if hash != "" {
		h.Set("ETag", `"`+kind+hash+`"`)
	}
	if v := version(hash); v != "" && r.URL.Query().Get("v") == v {
		h.Set("Cache-Control", "private, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "private, no-cache")
	}
}

// thumb serves the n-th photo's thumbnail, made the first time and kept on disk.
// Requests for a thumbnail being made wait for it rather than make it again.
func (s *Server) thumb(w http.ResponseWriter, r *http.Request, street, community, num string) {
	p, n, ok := s.photoRecord(w, r, street, community, num)
	if !ok {
		return
	}
	cached := thumbPath(s.thumbnailDir(), p.Hash)
	if s.serveCached(w, r, cached, p.Hash) {
		return
	}
	key := cached
	if key == "" {
		key = "path:" + p.Path
	}
	// The work goes on for whoever else waits if this phone goes away.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), thumbTimeout)
	defer cancel()
	v, err, _ := thumbWork.Do(key, func() (any, error) {
		f, _, err := s.openPhoto(p)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		data, err := makeThumbnail(ctx, f)
		if err == nil && cached != "" {
			if err := writeFileAtomic(cached, data); err != nil {
				s.log().Warn("dashboard: keep thumbnail", "path", cached, "err", err)
			}
		}
		return data, err
	})
	if err != nil {
		s.photoError(w, r, street, community, n, p, err)
		return
	}
	thumbHeaders(w.Header(), r, p.Hash)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(v.([]byte)))
}

func thumbHeaders(h http.Header, r *http.Request, hash string) {
	h.Set("Content-Type", "image/jpeg")
	cacheHeaders(h, r, hash, "thumb-")
}

// serveCached serves a kept thumbnail if there is one.
func (s *Server) serveCached(w http.ResponseWriter, r *http.Request, path, hash string) bool {
	if path == "" {
		return false
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		return false
	}
	thumbHeaders(w.Header(), r, hash)
	http.ServeContent(w, r, "", info.ModTime(), f)
	return true
}

// photoNumber reads a photo number: 1 to 999999, digits only.
func photoNumber(s string) (int, bool) {
	if s == "" || len(s) > 6 || s[0] == '0' {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n > 0
}

// zip streams a community's photos as one zip archive, produced by Zip.
func (s *Server) zip(w http.ResponseWriter, r *http.Request, street, community string) {
	st, ok := s.lookup(street, community)
	if !ok || s.Zip == nil {
		s.notFound(w, r)
		return
	}
	// A community without photos gets a page that says so, not an error: the zip
	// would be empty and Zip refuses to make it.
	list, err := s.Photos.PhotoList(r.Context(), st.ID, community)
	if err != nil {
		s.serverError(w, r, "photos of "+st.ID+"/"+community, err)
		return
	}
	if len(list) == 0 {
		title := fmt.Sprintf(fmtCommunity, community)
		s.render(w, r, http.StatusNotFound, "message", &page{Title: title, Heading: title, Message: ui.NoPhotos, Link: s.prefix()})
		return
	}
	name := fmt.Sprintf(fmtZipName, st.Name, community)
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", disposition("attachment", name, st.ID+"-photos.zip"))
	h.Set("Cache-Control", "no-store")
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	// Up to 10 photos of 10 MB to a phone on a slow network: longer than the server's
	// write timeout allows an ordinary page.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(30 * time.Minute))
	cw := &countingWriter{w: w}
	if err := s.Zip(r.Context(), st.ID, st.Name, community, cw); err != nil {
		if !cw.committed {
			h.Del("Content-Disposition")
			s.serverError(w, r, "zip of "+st.ID+"/"+community, err)
			return
		}
		// Part of the archive is out: break the connection so the phone sees a failed
		// download rather than a truncated zip that looks complete.
		s.log().Error("dashboard: zip failed midway", "street", st.ID, "community", community, "bytes", cw.n, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// countingWriter notes whether the response was committed (anything written or
// flushed), after which an error can no longer become an error page.
type countingWriter struct {
	w         http.ResponseWriter
	n         int64
	committed bool
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.committed = true
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Flush lets a Zip that flushes reach the client early.
func (c *countingWriter) Flush() {
	if f, ok := c.w.(http.Flusher); ok {
		c.committed = true
		f.Flush()
	}
}

// disposition builds a Content-Disposition with an ASCII fallback filename and the
// UTF-8 name in filename* (RFC 6266, RFC 5987).
func disposition(kind, name, fallback string) string {
	if name == "" {
		name = fallback
	}
	return fmt.Sprintf(`%s; filename="%s"; filename*=UTF-8''%s`, kind, fallback, rfc5987(name))
}

// rfc5987 percent-encodes every byte that is not an attr-char.
func rfc5987(s string) string {
	const attr = "!#$&+-.^_`|~"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(attr, c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
