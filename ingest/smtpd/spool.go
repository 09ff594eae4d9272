package smtpd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// spool holds one message while it arrives: the first memLimit bytes in
// memory, the rest in a temporary file. The receiver is only called once
// the whole message is here, so an oversized or interrupted transfer never
// reaches it, and a slow client never holds the receiver's resources.
type spool struct {
	dir      string
	memLimit int

	mem  bytes.Buffer
	file *os.File
	size int64
}

// fill copies r into the spool until EOF. An error (the client vanished,
// go-smtp's size limit, the disk) leaves the spool to be closed.
func (sp *spool) fill(r io.Reader) error {
	if sp.memLimit > 0 {
		n, err := sp.mem.ReadFrom(io.LimitReader(r, int64(sp.memLimit)))
		sp.size += n
		if err != nil {
			return err
		}
		if sp.mem.Len() < sp.memLimit {
			return nil // EOF reached within the memory part
		}
	}
	// Probe for one more byte before creating a file: most messages end
	// exactly where they seem to.
	var one [1]byte
	n, err := io.ReadFull(r, one[:])
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(sp.dir, "casemail-smtp-*.eml")
	if err != nil {
		return fmt.Errorf("create spool file: %w", err)
	}
	sp.file = f
	if _, err := f.Write(one[:n]); err != nil {
		return fmt.Errorf("write spool file: %w", err)
	}
	sp.size += int64(n)
	m, err := io.Copy(f, r)
	sp.size += m
	if err != nil {
		return err
	}
	return nil
}

// reader returns the spooled message from its first byte.
func (sp *spool) reader() (io.Reader, error) {
	mem := bytes.NewReader(sp.mem.Bytes())
	if sp.file == nil {
		return mem, nil
	}
	if _, err := sp.file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewind spool file: %w", err)
	}
	return io.MultiReader(mem, sp.file), nil
}

// close removes the temporary file, if any.
func (sp *spool) close() {
	if sp.file != nil {
		sp.file.Close()
		os.Remove(sp.file.Name())
		sp.file = nil
	}
	sp.mem = bytes.Buffer{}
}
