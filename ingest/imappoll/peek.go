package imappoll

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
)

// maxHeaderPeek bounds how much of a message's header is buffered to look
// for Return-Path (message.ReturnPath); past it the rest streams through
// unexamined.
const maxHeaderPeek = 256 << 10

// peekHeader reads the header block (up to and including the empty line that
// ends it, RFC 5322 section 2.1) from br, at most maxHeaderPeek bytes. The
// bytes read are returned and must be put back in front of the stream.
func peekHeader(br *bufio.Reader) ([]byte, error) {
	var buf bytes.Buffer
	partial := false // the previous read ended mid-line
	for buf.Len() < maxHeaderPeek {
		line, err := br.ReadSlice('\n')
		buf.Write(line)
		if err == bufio.ErrBufferFull {
			partial = true // a very long line: keep reading it
			continue
		}
		wasPartial := partial
		partial = false
		if err != nil {
			if errors.Is(err, io.EOF) {
				return buf.Bytes(), nil
			}
			return buf.Bytes(), err
		}
		if !wasPartial && len(line) <= 2 && strings.TrimRight(string(line), "\r\n") == "" {
			break
		}
	}
	return buf.Bytes(), nil
}
