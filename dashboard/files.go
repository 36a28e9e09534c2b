package dashboard

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// photo serves the n-th photo (1-based, as PhotoList numbers them) of a community. The
// file is found only through the photo record and opened inside ArchiveDir with os.Root,
// so neither the URL nor a bad record can reach a file outside the archive.
func (s *Server) photo(w http.ResponseWriter, r *http.Request, street, community, num string) {
	st, ok := s.lookup(street, community)
	if !ok || s.ArchiveDir == "" {
		s.notFound(w, r)
		return
	}
	n, ok := photoNumber(num)
	if !ok {
		s.notFound(w, r)
		return
	}
	list, err := s.Photos.PhotoList(r.Context(), st.ID, community)
	if err != nil {
		s.serverError(w, r, "photos of "+st.ID+"/"+community, err)
		return
	}
	if n > len(list) {
		s.notFound(w, r)
		return
	}
	p := list[n-1]
	rel := filepath.FromSlash(p.Path)
	if p.Path == "" || filepath.IsAbs(rel) || !filepath.IsLocal(rel) {
		s.log().Warn("dashboard: photo record points outside the archive", "street", st.ID, "community", community, "n", n, "path", p.Path)
		s.notFound(w, r)
		return
	}
	root, err := os.OpenRoot(s.ArchiveDir)
	if err != nil {
		s.serverError(w, r, "archive folder", err)
		return
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.log().Warn("dashboard: photo file", "street", st.ID, "community", community, "n", n, "path", p.Path, "err", err)
		}
		s.notFound(w, r)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		s.notFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/jpeg")
	h.Set("Content-Disposition", disposition("inline", p.Name, fmt.Sprintf("photo-%d.jpg", n)))
	if p.Hash != "" {
		h.Set("ETag", `"`+p.Hash+`"`)
	}
	// Numbers shift when a photo is deleted, so only a URL that names the content
	// (?v=<hash>) may be cached for good; a bare number is revalidated each time.
	if v := version(p.Hash); v != "" && r.URL.Query().Get("v") == v {
		h.Set("Cache-Control", "private, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "private, no-cache")
	}
	http.ServeContent(w, r, "", info.ModTime(), f)
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
	name := fmt.Sprintf(fmtZipName, st.Name, community)
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", disposition("attachment", name, st.ID+"-photos.zip"))
	h.Set("Cache-Control", "no-store")
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
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
