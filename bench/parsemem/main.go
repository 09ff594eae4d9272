// Command parsemem measures the peak memory of one message.Parse: it
// parses one mail file once (or the built-in 30 MB mail, a 22 MB
// attachment) and prints its size, what Parse found and the process's peak
// RSS (VmHWM from /proc/self/status, Linux). With -write FILE it only writes
// that 30 MB mail, for other tools (swaks --data, bench/memory.sh).
//
//	go run ./bench/parsemem -write /tmp/30mb.eml # write the 30 MB mail, then
//	go run ./bench/parsemem /tmp/30mb.eml        # parse it (or any mail file)
//	go run ./bench/parsemem                      # build and parse in one go
//
// Building the mail in-process costs more memory than parsing it, so the
// figure of Parse alone is the one from a file.
//
// It replaces two tests that always skipped unless an environment
// variable was set (TestHelperParseFile, TestWriteLargeMail in message).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/casemail/casemail/internal/testmail"
	"github.com/casemail/casemail/message"
)

// largeAttach is the attachment of the built-in mail: 22 MiB, about 30 MB
// once base64-encoded, just under the 25 MiB attachment cap used below.
const largeAttach = 22 << 20

func main() {
	write := flag.String("write", "", "write the built-in 30 MB mail to this file and exit")
	maxAttach := flag.Int64("max-attachment", 25<<20, "message.Options.MaxAttachmentBytes")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: parsemem [-max-attachment N] [FILE] | parsemem -write FILE")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*write, *maxAttach, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "parsemem:", err)
		os.Exit(1)
	}
}

func run(write string, maxAttach int64, args []string) error {
	if write != "" {
		if err := os.WriteFile(write, testmail.Multipart(largeAttach), 0o644); err != nil {
			return fmt.Errorf("write the large mail: %w", err)
		}
		return nil
	}
	var raw []byte
	switch len(args) {
	case 0:
		raw = testmail.Multipart(largeAttach)
	case 1:
		b, err := os.ReadFile(args[0])
		if err != nil {
			return fmt.Errorf("read the mail: %w", err)
		}
		raw = b
	default:
		return fmt.Errorf("one mail file at most, got %d", len(args))
	}
	hwmBefore := peakRSS()
	p, err := message.Parse(raw, message.Options{MaxAttachmentBytes: maxAttach})
	if err != nil {
		return fmt.Errorf("parse: %w", err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("%d bytes, %d attachments, %d problems\n", len(raw), len(p.Attachments), len(p.Problems))
	fmt.Printf("peak RSS %s (%s before Parse, the mail itself included); heap allocated by the process %d MB\n",
		peakRSS(), hwmBefore, ms.TotalAlloc>>20)
	return nil
}

// peakRSS reads VmHWM, the high-water mark of the resident set, or "?" where
// /proc is missing.
func peakRSS() string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
