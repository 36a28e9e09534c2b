package storage

import (
	"context"
	"errors"
	"time"
)

// Photo is one JPEG a secretary sent for a community's summary (000 §六(三)): the
// file lives in the archive folder, Redis keeps the record.
type Photo struct {
	Hash   string    `json:"hash"`   // sha256 of the content, hex: duplicates are dropped by it
	Path   string    `json:"path"`   // relative to the archive folder: <street>/<community>/<name>
	Name   string    `json:"name"`   // file name shown to people, e.g. 大辛社区_20210715_01.jpg
	Size   int64     `json:"size"`   // bytes
	Width  int       `json:"width"`  // pixels
	Height int       `json:"height"` // pixels
	By     string    `json:"by"`     // userid
	At     time.Time `json:"at"`
}

// ErrDuplicatePhoto and ErrPhotosFull are returned by AddPhoto.
var (
	ErrDuplicatePhoto = errors.New("storage: the same photo was already received")
	ErrPhotosFull     = errors.New("storage: the community already has the most photos allowed")
	ErrNoSuchPhoto    = errors.New("storage: no such photo")
)

// Photos keeps the photo records of each community, in the order received.
type Photos interface {
	// AddPhoto appends p unless a photo with the same hash is there (ErrDuplicatePhoto) or
	// the community already has max photos (ErrPhotosFull), atomically; it returns the
	// number of photos now held.
	AddPhoto(ctx context.Context, street, community string, p Photo, max int) (int, error)
	// PhotoList returns a community's photos in the order received.
	PhotoList(ctx context.Context, street, community string) ([]Photo, error)
	// DeletePhoto removes the n-th photo (1-based, as PhotoList numbers them) and returns it.
	DeletePhoto(ctx context.Context, street, community string, n int) (Photo, error)
	// DeletePhotoHash removes the photo with the content hash and returns it.
	DeletePhotoHash(ctx context.Context, street, community, hash string) (Photo, error)
	// PhotoCounts returns how many photos each of the communities has, in one round trip.
	PhotoCounts(ctx context.Context, street string, communities []string) (map[string]int, error)
}
