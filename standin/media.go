package standin

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"

	"huanjie/bot"
)

// Images people send in the 单聊: WeCom does not put an image into the callback; it
// serves the file, encrypted with the bot's EncodingAESKey (AES-256-CBC, IV = key[:16],
// PKCS#7 to 32), at a URL the callback carries in image.url. The stand-in does the same:
// POST /api/send-image keeps each file encrypted in memory under a random id, serves it
// at GET /media/<id>, and sends an image callback pointing there.

const (
	maxImageBytes   = 20 << 20 // one file
	maxImageRequest = 60 << 20 // one request
	maxImagesPerReq = 9        // WeCom sends at most 9 images at once
	keptMediaFiles  = 200
	keptMediaBytes  = 256 << 20
	mediaPath       = "/media/"
	// pageHeader must be on POST /api/send-image: a cross-site form cannot set it, and a
	// cross-site fetch that sets it needs a preflight the stand-in does not answer.
	pageHeader = "X-Standin-Page"
)

// mediaStore keeps the newest encrypted files, by count and total size.
type mediaStore struct {
	mu    sync.Mutex
	files map[string][]byte
	order []string
	bytes int
}

func newMediaStore() *mediaStore { return &mediaStore{files: map[string][]byte{}} }

func (m *mediaStore) put(data []byte) string {
	id := randomHex(16)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.files[id] = data
	m.order = append(m.order, id)
	m.bytes += len(data)
	for len(m.order) > 1 && (len(m.order) > keptMediaFiles || m.bytes > keptMediaBytes) {
		old := m.order[0]
		m.order = m.order[1:]
		m.bytes -= len(m.files[old])
		delete(m.files, old)
	}
	return id
}

func (m *mediaStore) get(id string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.files[id]
	return b, ok
}

// handleMedia serves a kept file the way WeCom serves media: the encrypted bytes as
// application/octet-stream.
func (s *Server) handleMedia(w http.ResponseWriter, r *http.Request) {
	data, ok := s.media.get(r.PathValue("id"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(data)
}

// imageResponse answers POST /api/send-image: the fields of the last image's answer (or
// of the first that failed) and, per image in the order sent, each answer.
type imageResponse struct {
	sendResponse
	Results []sendResponse `json:"results,omitempty"`
}

// handleSendImage takes multipart fields userid and file (one or more) and sends each
// file to the bot as an image message in the 1:1 chat, one after another, as WeCom does
// when someone sends several photos.
func (s *Server) handleSendImage(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, msg string) {
		writeJSON(w, code, imageResponse{sendResponse: sendResponse{Error: msg}})
	}
	if r.Header.Get(pageHeader) == "" {
		fail(http.StatusForbidden, fmt.Sprintf(msgNeedPageHeader, pageHeader))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxImageRequest)
	mr, err := r.MultipartReader()
	if err != nil {
		fail(http.StatusBadRequest, fmt.Sprintf(msgBadUpload, err))
		return
	}
	var (
		userID, chatID string
		images         [][]byte
	)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fail(http.StatusBadRequest, fmt.Sprintf(msgBadUpload, err))
			return
		}
		switch name := part.FormName(); {
		case name == "userid" || name == "chatid":
			v, err := io.ReadAll(io.LimitReader(part, 1024))
			if err != nil {
				fail(http.StatusBadRequest, fmt.Sprintf(msgBadUpload, err))
				return
			}
			if name == "userid" {
				userID = strings.TrimSpace(string(v))
			} else {
				chatID = strings.TrimSpace(string(v))
			}
		case name == "file" || name == "files":
			data, err := readFile(part)
			if err != nil {
				fail(http.StatusBadRequest, err.Error())
				return
			}
			if len(images) == maxImagesPerReq {
				fail(http.StatusBadRequest, fmt.Sprintf(msgTooManyImages, maxImagesPerReq))
				return
			}
			images = append(images, data)
		}
		part.Close()
	}
	switch {
	case userID == "":
		fail(http.StatusBadRequest, msgNoUser)
		return
	case len(s.byUser) > 0 && s.byUser[userID].UserID == "":
		fail(http.StatusBadRequest, fmt.Sprintf(msgUnknownUser, userID))
		return
	case chatID != "":
		fail(http.StatusBadRequest, msgImageInGroup)
		return
	case len(images) == 0:
		fail(http.StatusBadRequest, msgNoImage)
		return
	}
	base := s.mediaBase(r)
	var out imageResponse
	for _, data := range images {
		// URL callback: the file is encrypted with the bot's EncodingAESKey; long
		// connection: with a key of its own, sent along as image.aeskey.
		key, aesKey := []byte(nil), ""
		if s.o.Gateway != nil {
			key = make([]byte, 32)
			_, _ = rand.Read(key)
			aesKey = base64.StdEncoding.EncodeToString(key)
		} else {
			key = s.o.Crypto.MediaKey()
		}
		enc, err := bot.EncryptMedia(key, data)
		if err != nil {
			fail(http.StatusInternalServerError, fmt.Sprintf(msgSealFailed, err))
			return
		}
		m := bot.Message{
			MsgID:    randomHex(16),
			AIBotID:  aibotID,
			ChatType: "single",
			From:     bot.From{UserID: userID},
			MsgType:  "image",
			Image:    &bot.Image{URL: base + mediaPath + s.media.put(enc), AESKey: aesKey},
		}
		res := s.exchange(r, m)
		out.Results = append(out.Results, res)
		out.sendResponse = res
		if res.Error != "" {
			break
		}
	}
	code := http.StatusOK
	if out.Error != "" {
		code = http.StatusBadGateway
	}
	writeJSON(w, code, out)
}

// readFile reads one uploaded file, at most maxImageBytes.
func readFile(part *multipart.Part) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(part, maxImageBytes+1))
	if err != nil {
		return nil, fmt.Errorf(msgBadUpload, err)
	}
	if len(data) > maxImageBytes {
		return nil, fmt.Errorf(msgImageTooLarge, part.FileName(), maxImageBytes>>20)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf(msgEmptyImage, part.FileName())
	}
	return data, nil
}

// mediaBase is the scheme and host the bot fetches media from: Options.MediaBaseURL,
// else the host the page was loaded from.
func (s *Server) mediaBase(r *http.Request) string {
	if s.o.MediaBaseURL != "" {
		return strings.TrimRight(s.o.MediaBaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
