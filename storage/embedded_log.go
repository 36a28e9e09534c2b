package storage

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"time"
)

// The embedded store's append-only log (the file beside the snapshot, "<snapshot>.aof").
// Every command that can change data is appended and synced to disk before its answer
// reaches the caller, so an acknowledged write survives kill -9 and power loss.
//
//	file    = magic record*
//	magic   = "HJAOF01\n"
//	record  = length:uint32be crc:uint32be payload   (crc32-C of payload)
//	payload = seq:uvarint at:varint(unix ns) ncmds:uvarint cmd*
//	cmd     = nargs:uvarint (len:uvarint bytes)*
//
// seq counts records from 1 over the store's life; the snapshot names the last seq it
// contains, so records already in the snapshot are skipped on replay. A record cut
// short at the end of the file (a crash mid-write: never acknowledged) is dropped; a
// damaged record followed by more data is corruption, and the store refuses to start.

const (
	logMagic     = "HJAOF01\n"
	maxLogRecord = 1 << 30 // a sanity bound on one record's payload
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// logRecord is one atomic step: the commands of one call (or pipeline), run at at.
type logRecord struct {
	seq  uint64
	at   time.Time
	cmds [][]string
}

func encodeLogRecord(rec logRecord) []byte {
	p := make([]byte, 8, 64)
	p = binary.AppendUvarint(p, rec.seq)
	p = binary.AppendVarint(p, rec.at.UnixNano())
	p = binary.AppendUvarint(p, uint64(len(rec.cmds)))
	for _, c := range rec.cmds {
		p = binary.AppendUvarint(p, uint64(len(c)))
		for _, a := range c {
			p = binary.AppendUvarint(p, uint64(len(a)))
			p = append(p, a...)
		}
	}
	binary.BigEndian.PutUint32(p[0:4], uint32(len(p)-8))
	binary.BigEndian.PutUint32(p[4:8], crc32.Checksum(p[8:], crcTable))
	return p
}

var errBadPayload = errors.New("malformed record")

func decodeLogRecord(p []byte) (logRecord, error) {
	var rec logRecord
	uv := func() (uint64, error) {
		v, n := binary.Uvarint(p)
		if n <= 0 {
			return 0, errBadPayload
		}
		p = p[n:]
		return v, nil
	}
	var err error
	if rec.seq, err = uv(); err != nil {
		return rec, err
	}
	ns, n := binary.Varint(p)
	if n <= 0 {
		return rec, errBadPayload
	}
	p = p[n:]
	rec.at = time.Unix(0, ns).UTC()
	ncmds, err := uv()
	if err != nil || ncmds > uint64(len(p)) {
		return rec, errBadPayload
	}
	rec.cmds = make([][]string, ncmds)
	for i := range rec.cmds {
		nargs, err := uv()
		if err != nil || nargs == 0 || nargs > uint64(len(p)) {
			return rec, errBadPayload
		}
		args := make([]string, nargs)
		for j := range args {
			l, err := uv()
			if err != nil || l > uint64(len(p)) {
				return rec, errBadPayload
			}
			args[j] = string(p[:l])
			p = p[l:]
		}
		rec.cmds[i] = args
	}
	if len(p) != 0 {
		return rec, errBadPayload
	}
	return rec, nil
}

// appendLog is the open log file.
type appendLog struct {
	f    *os.File
	path string
	size int64  // bytes of whole records (where the next one goes)
	seq  uint64 // of the last record written or replayed
}

// openLog opens (creating) the log at path, takes an exclusive lock on it so that a
// second process cannot share the store, and calls fn for each whole record in order.
// It returns the log positioned after the last whole record and how many bytes of a
// torn tail it will overwrite.
func openLog(path string, fn func(logRecord) error) (*appendLog, int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, 0, err
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("%s is in use by another process (%w)", path, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	l := &appendLog{f: f, path: path}
	end, err := readLog(bufio.NewReaderSize(f, 1<<16), info.Size(), func(rec logRecord) error {
		l.seq = rec.seq
		return fn(rec)
	})
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	l.size = end
	return l, info.Size() - end, nil
}

// readLog reads records from r (a file of size bytes) and returns the offset after the
// last whole record.
func readLog(r io.Reader, size int64, fn func(logRecord) error) (int64, error) {
	if size == 0 {
		return 0, nil
	}
	magic := make([]byte, len(logMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != logMagic {
		if size < int64(len(logMagic)) && err != nil && logMagic[:size] == string(magic[:size]) {
			return 0, nil // the header itself was torn: an empty log
		}
		return 0, errors.New("not an append-only log of this program (bad header)")
	}
	end := int64(len(logMagic))
	head := make([]byte, 8)
	var buf []byte
	for {
		if _, err := io.ReadFull(r, head); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return end, nil
			}
			return end, err
		}
		n := int64(binary.BigEndian.Uint32(head[0:4]))
		last := end+8+n >= size
		if n > maxLogRecord || end+8+n > size {
			if last {
				return end, nil // cut short by a crash
			}
			return end, fmt.Errorf("damaged record at offset %d", end)
		}
		if int64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return end, err
		}
		if crc32.Checksum(buf, crcTable) != binary.BigEndian.Uint32(head[4:8]) {
			if last {
				return end, nil
			}
			return end, fmt.Errorf("damaged record at offset %d (checksum)", end)
		}
		rec, err := decodeLogRecord(buf)
		if err != nil {
			return end, fmt.Errorf("record at offset %d: %w", end, err)
		}
		if err := fn(rec); err != nil {
			return end, fmt.Errorf("record %d at offset %d: %w", rec.seq, end, err)
		}
		end += 8 + n
	}
}

// append writes rec and syncs it to disk. On failure the file is cut back to its last
// whole record, so a later append does not follow garbage.
func (l *appendLog) append(rec logRecord) error {
	if l.size == 0 {
		if err := l.reset(); err != nil {
			return err
		}
	}
	b := encodeLogRecord(rec)
	if _, err := l.f.WriteAt(b, l.size); err != nil {
		_ = l.f.Truncate(l.size)
		return err
	}
	if err := l.f.Sync(); err != nil {
		_ = l.f.Truncate(l.size)
		return err
	}
	l.size += int64(len(b))
	l.seq = rec.seq
	return nil
}

// reset empties the log (its records are in a snapshot now) and syncs that.
func (l *appendLog) reset() error {
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	if _, err := l.f.WriteAt([]byte(logMagic), 0); err != nil {
		return err
	}
	if err := l.f.Sync(); err != nil {
		return err
	}
	l.size = int64(len(logMagic))
	return nil
}

func (l *appendLog) close() error { return l.f.Close() }
