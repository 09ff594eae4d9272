package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/message"
)

// inMemoryMax is the largest message Receive keeps in memory and parses
// with message.Parse. enmime holds the message and its decoded parts, about
// three times the message; above this size the message is read back from
// the casebook once stored and parsed as a stream (message.ParseLarge), so
// memory stays bounded whatever the size (issue 6: a 25 MB attachment
// received in <= 64 MB RSS). 4 MiB covers ordinary mail with a few
// attachments, which keep the exact enmime reading.
const inMemoryMax = 4 << 20

// readStored reads a message too big for memory from the casebook: parsed
// as a stream, then hashed as a stream for its fingerprint (I2), which
// needs the Message-ID first. An error is a storage error (temporary).
func (g *Gateway) readStored(ctx context.Context, ref casebook.RawRef, env Envelope) (*inbound, error) {
	var p *message.Parsed
	var perr error
	err := g.withRaw(ctx, ref.SHA256, func(r io.Reader) error {
		p, perr = ParseLarge(r, g.parseOptions(env))
		return nil
	})
	if err != nil {
		return nil, err
	}
	in := g.newInbound(p, perr, env)
	err = g.withRaw(ctx, ref.SHA256, func(r io.Reader) error {
		fp := newFingerprinter(in.parsed.MessageID)
		if _, err := io.Copy(fp, r); err != nil {
			return err
		}
		in.msg.Fingerprint = fp.Sum()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return in, nil
}

// errDone stops the raw message writer when the reader is done early.
var errDone = errors.New("reader done")

// withRaw runs fn over a stored raw message streamed from the casebook
// chunk by chunk, through a pipe.
func (g *Gateway) withRaw(ctx context.Context, sha string, fn func(io.Reader) error) error {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := g.book.WriteRaw(ctx, sha, pw)
		pw.CloseWithError(err)
		done <- err
	}()
	ferr := fn(pr)
	pr.CloseWithError(errDone)
	werr := <-done
	if werr != nil && !errors.Is(werr, errDone) {
		return fmt.Errorf("read back raw message %s: %w", sha, werr)
	}
	if ferr != nil {
		return fmt.Errorf("read back raw message %s: %w", sha, ferr)
	}
	return nil
}

// ParseLarge is Parse for a message read as a stream (message.ParseLarge),
// with the new text of a reply extracted (R9).
func ParseLarge(r io.Reader, opt message.Options) (*message.Parsed, error) {
	p, err := message.ParseLarge(r, opt)
	if err != nil {
		return nil, err
	}
	replyText(p)
	return p, nil
}

// fingerprinter computes Fingerprint over a stream, for messages never
// held whole. It must give exactly what Fingerprint gives for the same
// bytes: the body is what follows the first "\r\n\r\n" if there is one
// anywhere, else the first "\n\n", else the whole message, with every CRLF
// made LF. Since which separator counts is known only at the end, the
// candidates are hashed side by side until it is.
type fingerprinter struct {
	raw     hash.Hash // "raw\n" + the bytes, when there is no Message-ID
	all     *lfHash   // no separator (yet)
	lf      *lfHash   // after the first "\n\n"
	crlf    *lfHash   // after the first "\r\n\r\n"
	prefix  []byte
	tail    []byte // the last bytes seen, for separators across writes
	foundLF bool
	foundCR bool
}

func newFingerprinter(messageID string) *fingerprinter {
	f := &fingerprinter{}
	id := normID(messageID)
	if id == "" {
		f.raw = sha256.New()
		f.raw.Write([]byte("raw\n"))
		return f
	}
	f.prefix = []byte("id\n" + id + "\n")
	f.all = newLFHash(f.prefix)
	return f
}

func (f *fingerprinter) Write(p []byte) (int, error) {
	if f.raw != nil {
		return f.raw.Write(p)
	}
	if f.all != nil {
		f.all.Write(p)
	}
	if f.lf != nil {
		f.lf.Write(p)
	}
	if f.crlf != nil {
		f.crlf.Write(p)
	}
	if !f.foundCR {
		// Look at the tail and p together: a separator may straddle writes.
		w := append(append([]byte{}, f.tail...), p...)
		if !f.foundLF {
			if i := bytes.Index(w, []byte("\n\n")); i >= 0 {
				f.foundLF, f.all = true, nil
				f.lf = newLFHash(f.prefix)
				f.lf.Write(w[i+2:])
			}
		}
		if i := bytes.Index(w, []byte("\r\n\r\n")); i >= 0 {
			f.foundCR, f.all, f.lf = true, nil, nil
			f.crlf = newLFHash(f.prefix)
			f.crlf.Write(w[i+4:])
		}
		if len(w) > 3 {
			w = w[len(w)-3:]
		}
		f.tail = append(f.tail[:0], w...)
	}
	return len(p), nil
}

// Sum returns the fingerprint.
func (f *fingerprinter) Sum() string {
	switch {
	case f.raw != nil:
		return hex.EncodeToString(f.raw.Sum(nil))
	case f.crlf != nil:
		return f.crlf.Sum()
	case f.lf != nil:
		return f.lf.Sum()
	default:
		return f.all.Sum()
	}
}

// lfHash hashes what is written with every "\r\n" made "\n", across writes.
type lfHash struct {
	h         hash.Hash
	pendingCR bool
}

func newLFHash(prefix []byte) *lfHash {
	l := &lfHash{h: sha256.New()}
	l.h.Write(prefix)
	return l
}

func (l *lfHash) Write(p []byte) {
	if len(p) == 0 {
		return
	}
	if l.pendingCR {
		l.pendingCR = false
		if p[0] != '\n' {
			l.h.Write([]byte{'\r'})
		}
	}
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\r')
		if i < 0 {
			l.h.Write(p)
			return
		}
		l.h.Write(p[:i])
		switch {
		case i+1 == len(p):
			l.pendingCR = true // decided by the next write
			return
		case p[i+1] != '\n':
			l.h.Write([]byte{'\r'})
		}
		p = p[i+1:]
	}
}

func (l *lfHash) Sum() string {
	if l.pendingCR {
		l.h.Write([]byte{'\r'})
		l.pendingCR = false
	}
	return hex.EncodeToString(l.h.Sum(nil))
}
