package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

var _ Photos = (*Redis)(nil)

// KEYS photos, seq, changed
// ARGV hash, photo JSON, max, community
// Returns -1 if a photo with the hash is held, -2 if max photos are held, else the new
// count. The very record held already (same file, same time) is this call's own earlier
// run, re-sent by go-redis after a stall: its place is returned, as the first run did,
// so the caller keeps the file the record points to.
var addPhotoScript = redis.NewScript(changedLua + `
local held = redis.call('LRANGE', KEYS[1], 0, -1)
for i, v in ipairs(held) do
  if v == ARGV[2] then
    return i
  end
  local ok, p = pcall(cjson.decode, v)
  if ok and type(p) == 'table' and p.hash == ARGV[1] then
    return -1
  end
end
if #held >= tonumber(ARGV[3]) then
  return -2
end
local n = redis.call('RPUSH', KEYS[1], ARGV[2])
changed(KEYS[2], KEYS[3], ARGV[4])
return n
`)

// KEYS photos, seq, changed
// ARGV index (0-based), community
// Returns the removed photo JSON, or false if there is no such element.
var deletePhotoScript = redis.NewScript(changedLua + `
local v = redis.call('LINDEX', KEYS[1], ARGV[1])
if not v then
  return false
end
redis.call('LSET', KEYS[1], ARGV[1], '` + deletedPhoto + `')
redis.call('LREM', KEYS[1], 1, '` + deletedPhoto + `')
changed(KEYS[2], KEYS[3], ARGV[2])
return v
`)

// KEYS photos, seq, changed, deleted (P{st}:photodel:<c>:<hash>)
// ARGV hash, community, ms the deletion is remembered
// Returns the removed photo JSON, or false if no photo has the hash. The removed JSON is
// kept under the deleted key for a while, so the same call re-sent by go-redis after a
// stall answers what the first run did instead of "no such photo".
var deleteHashScript = redis.NewScript(changedLua + `
for _, v in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local ok, p = pcall(cjson.decode, v)
  if ok and type(p) == 'table' and p.hash == ARGV[1] then
    redis.call('LREM', KEYS[1], 1, v)
    changed(KEYS[2], KEYS[3], ARGV[2])
    redis.call('SET', KEYS[4], v, 'PX', ARGV[3])
    return v
  end
end
return redis.call('GET', KEYS[4])
`)

// photoDeletedTTL is how long DeletePhotoHash remembers a deletion (for its re-sent copy).
const photoDeletedTTL = 10 * time.Minute

// DeletePhotoHash removes the photo with the content hash (ErrNoSuchPhoto if none), in one
// Lua step: unlike a position, a hash cannot come to mean another photo in between.
func (r *Redis) DeletePhotoHash(ctx context.Context, street, community, hash string) (Photo, error) {
	js, err := deleteHashScript.Run(ctx, r.c,
		[]string{r.k.photos(street, community), r.k.seq(street), r.k.changed(street), r.k.photoDeleted(street, community, hash)},
		hash, community, photoDeletedTTL.Milliseconds()).Text()
	if errors.Is(err, redis.Nil) {
		return Photo{}, ErrNoSuchPhoto
	}
	if err != nil {
		return Photo{}, fmt.Errorf("storage: delete photo %s of %s/%s: %w", hash, street, community, err)
	}
	var p Photo
	if err := json.Unmarshal([]byte(js), &p); err != nil {
		return Photo{}, fmt.Errorf("storage: delete photo of %s/%s: decode: %w", street, community, err)
	}
	return p, nil
}

// deletedPhoto marks the element DeletePhoto is removing; no Photo JSON looks like it.
const deletedPhoto = "__deleted__"

// AddPhoto implements Photos with one Lua script: duplicates are checked before the cap,
// so a photo sent again to a full community is reported as a duplicate.
func (r *Redis) AddPhoto(ctx context.Context, street, community string, p Photo, max int) (int, error) {
	wrap := func(err error) error { return fmt.Errorf("storage: add photo %s/%s: %w", street, community, err) }
	if err := errors.Join(checkName("street", street), checkName("community", community)); err != nil {
		return 0, wrap(err)
	}
	if err := checkName("hash", p.Hash); err != nil {
		return 0, wrap(err)
	}
	if max < 1 {
		return 0, wrap(fmt.Errorf("max %d is not positive", max))
	}
	js, err := json.Marshal(p)
	if err != nil {
		return 0, wrap(err)
	}
	n, err := addPhotoScript.Run(ctx, r.c, []string{r.k.photos(street, community), r.k.seq(street), r.k.changed(street)}, p.Hash, js, max, community).Int()
	switch {
	case err != nil:
		return 0, wrap(err)
	case n == -1:
		return 0, ErrDuplicatePhoto
	case n == -2:
		return 0, ErrPhotosFull
	}
	return n, nil
}

// PhotoList implements Photos.
func (r *Redis) PhotoList(ctx context.Context, street, community string) ([]Photo, error) {
	l, err := r.c.LRange(ctx, r.k.photos(street, community), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("storage: photos of %s/%s: %w", street, community, err)
	}
	out := make([]Photo, len(l))
	for i, js := range l {
		if err := json.Unmarshal([]byte(js), &out[i]); err != nil {
			return nil, fmt.Errorf("storage: photos of %s/%s: decode #%d: %w", street, community, i+1, err)
		}
	}
	return out, nil
}

// DeletePhoto implements Photos with one Lua script; the photos after n move up by one.
func (r *Redis) DeletePhoto(ctx context.Context, street, community string, n int) (Photo, error) {
	wrap := func(err error) error {
		return fmt.Errorf("storage: delete photo %d of %s/%s: %w", n, street, community, err)
	}
	if n < 1 {
		return Photo{}, ErrNoSuchPhoto
	}
	js, err := deletePhotoScript.Run(ctx, r.c, []string{r.k.photos(street, community), r.k.seq(street), r.k.changed(street)}, n-1, community).Text()
	if errors.Is(err, redis.Nil) {
		return Photo{}, ErrNoSuchPhoto
	}
	if err != nil {
		return Photo{}, wrap(err)
	}
	var p Photo
	if err := json.Unmarshal([]byte(js), &p); err != nil {
		return Photo{}, wrap(fmt.Errorf("decode: %w", err))
	}
	return p, nil
}

// PhotoCounts implements Photos with one pipeline of LLEN. Every requested community is
// in the result, with 0 if it has no photos.
func (r *Redis) PhotoCounts(ctx context.Context, street string, communities []string) (map[string]int, error) {
	out := make(map[string]int, len(communities))
	if len(communities) == 0 {
		return out, nil
	}
	cmds := make([]*redis.IntCmd, len(communities))
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range communities {
			cmds[i] = p.LLen(ctx, r.k.photos(street, c))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: photo counts of %d communities of %s: %w", len(communities), street, err)
	}
	for i, c := range communities {
		out[c] = int(cmds[i].Val())
	}
	return out, nil
}
