package imappoll

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func seedMail(f *testing.F) {
	f.Add([]byte("Return-Path: <a@b.test>\r\n\r\nbody"))
	f.Add([]byte("Return-Path:\r\n <>\r\n\r\n"))
	files, _ := filepath.Glob("testdata/*.eml")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
}

// peekHeader + the rest of the stream is always the original message.
func FuzzPeekHeader(f *testing.F) {
	seedMail(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(b), 16)
		head, err := peekHeader(br)
		if err != nil {
			t.Fatal(err)
		}
		var rest bytes.Buffer
		rest.ReadFrom(br)
		if !bytes.Equal(append(head, rest.Bytes()...), b) {
			t.Fatalf("bytes lost or changed")
		}
	})
}
