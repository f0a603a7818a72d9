package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/alignlab/alignlab/interp"
)

// FuzzInspectReport feeds arbitrary inspect.json files to the report: a
// hand-edited or truncated result must give an error or a page, never a
// panic, and a page must render.
func FuzzInspectReport(f *testing.F) {
	good, err := json.Marshal(testInspectResult())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"kind":"patch","matrices":[{"rows":["0"],"cols":["a","b"],"values":[[1]]}]}`))
	f.Add([]byte(`{"series":[{"x":[0,1,2],"lines":[{"name":"a","y":[1],"ci_low":[0,0,0]}]}]}`))
	f.Add([]byte(`{"tables":[{"columns":["a"],"rows":[["1","2","3"],[]]}],"data":[1,2]}`))
	f.Add([]byte(`{"matrices":[null],"series":[null],"tables":[null]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, interp.ResultFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := Build(dir)
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := p.Render(&b); err != nil {
			t.Fatal(err)
		}
	})
}
