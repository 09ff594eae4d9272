package outbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"time"
)

// Maildir is the embedded default transport: every notification becomes a
// file in a Maildir (tmp/new/cur, https://cr.yp.to/proto/maildir.html) that
// mutt -f PATH opens. Nothing leaves the machine.
type Maildir struct {
	dir  string
	host string
	seq  atomic.Uint64
}

// NewMaildir creates dir/{tmp,new,cur} if needed, private to its owner
// (0700: notifications carry reply tokens), and removes what a crash left
// in tmp/ (see cleanTmp).
func NewMaildir(dir string) (*Maildir, error) {
	if dir == "" {
		return nil, fmt.Errorf("maildir: empty path")
	}
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("maildir: %w", err)
		}
	}
	host, _ := os.Hostname()
	// "/" and ":" have a meaning in Maildir names.
	host = strings.NewReplacer("/", `\057`, ":", `\072`).Replace(host)
	if host == "" {
		host = "localhost"
	}
	m := &Maildir{dir: dir, host: host}
	if _, err := m.cleanTmp(time.Now(), staleTmp); err != nil {
		return nil, fmt.Errorf("maildir: %w", err)
	}
	return m, nil
}

// staleTmp is how old a file in tmp/ must be to be a crash's leftover:
// Send renames its file within a moment of creating it.
const staleTmp = time.Minute

// ourName matches the names Send gives its files (before the host part).
var ourName = regexp.MustCompile(`^[0-9]+\.M[0-9]+P[0-9]+Q[0-9]+\.`)

// cleanTmp removes the files in tmp/ that Send wrote on this host and that
// are older than age: a crash between writing and renaming leaves them.
// Other programs' files are left alone, and so are fresh ones, which may
// still be on their way to new/. It returns the names removed.
func (m *Maildir) cleanTmp(now time.Time, age time.Duration) ([]string, error) {
	tmp := filepath.Join(m.dir, "tmp")
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !ourName.MatchString(name) || !strings.HasSuffix(name, "."+m.host) {
			continue
		}
		info, err := e.Info()
		if err != nil || now.Sub(info.ModTime()) < age {
			continue
		}
		if err := os.Remove(filepath.Join(tmp, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, err
		}
		removed = append(removed, name)
	}
	return removed, nil
}

// Send writes msg to tmp/, fsyncs it, then renames it into new/ and fsyncs
// the folder, so a reader never sees half a message and a crash loses
// nothing that was reported sent. Lines end in LF, as Maildir readers
// expect; a Return-Path header records the envelope sender.
func (m *Maildir) Send(_ context.Context, from string, to []string, msg []byte) error {
	now := time.Now()
	name := fmt.Sprintf("%d.M%dP%dQ%d.%s", now.Unix(), now.Nanosecond()/1000, os.Getpid(), m.seq.Add(1), m.host)
	tmp := filepath.Join(m.dir, "tmp", name)
	var b bytes.Buffer
	b.Grow(len(msg) + 64)
	b.WriteString("Return-Path: <" + from + ">\n")
	if len(to) > 0 {
		b.WriteString("Delivered-To: " + strings.Join(to, ", ") + "\n")
	}
	b.Write(bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n")))
	if err := writeSync(tmp, b.Bytes()); err != nil {
		os.Remove(tmp)
		return &SendError{Message: "maildir: " + err.Error(), Err: err}
	}
	if err := os.Rename(tmp, filepath.Join(m.dir, "new", name)); err != nil {
		os.Remove(tmp)
		return &SendError{Message: "maildir: " + err.Error(), Err: err}
	}
	if err := syncDir(filepath.Join(m.dir, "new")); err != nil {
		return &SendError{Message: "maildir: " + err.Error(), Err: err}
	}
	return nil
}

// Close does nothing: files are complete when Send returns.
func (m *Maildir) Close() error { return nil }

// String names the Maildir in logs.
func (m *Maildir) String() string { return "maildir:" + m.dir }

func writeSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
