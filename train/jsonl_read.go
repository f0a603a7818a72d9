// Reading JSONL training files line by line (SFT rows, RL prompts,
// pretokenized preference pairs): a byte order mark opening a file is
// skipped, and an over-long line is an error that names it.

package train

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/alignlab/alignlab/internal/textfile"
)

// maxDataLine bounds one line of a JSONL training file (a variable so
// that tests need not write 256 MiB).
var maxDataLine = 256 << 20

// scanJSONL calls row with each non-blank line of path (".gz"
// decompressed) and its 1-based number.
func scanJSONL(path string, row func(line int, raw []byte)) error {
	return eachLine(path, func(n int, raw []byte) {
		if len(bytes.TrimSpace(raw)) > 0 {
			row(n, raw)
		}
	})
}

// scanLines calls fn with every line of r (the contents of file) and its
// 1-based number. A byte order mark opening the file is skipped; a line
// over maxDataLine stops the read with an error naming it.
func scanLines(file string, r io.Reader, fn func(line int, raw []byte)) error {
	sc := textfile.NewScanner(r, maxDataLine)
	for sc.Scan() {
		fn(sc.Line(), sc.Bytes())
	}
	return sc.FileErr(file)
}

// eachLine calls fn with every line of file (1-based numbers), ".gz"
// decompressed; see scanLines.
func eachLine(file string, fn func(line int, raw []byte)) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(file, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		defer gz.Close()
		r = gz
	}
	return scanLines(file, r, fn)
}
