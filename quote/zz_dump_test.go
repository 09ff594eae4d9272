package quote

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestZZDump(t *testing.T) {
	dir := os.Getenv("DUMPDIR")
	if dir == "" {
		t.Skip()
	}
	files, _ := filepath.Glob(dir + "/*.txt")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		fmt.Printf("=================== %s\n%s\n", filepath.Base(f), Reply(string(b)))
	}
}
