package outpath

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/ckpt/hf"
	"github.com/alignlab/alignlab/internal/modeldir"
	"github.com/alignlab/alignlab/model"
)

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFile: an output is refused when it is an input however spelled
// (relative, ./, through a symlink or a hard link, through a symlinked
// directory when it does not exist yet), and allowed otherwise.
func TestFile(t *testing.T) {
	root := t.TempDir()
	t.Chdir(root) // for relative spellings
	write(t, "data/in.jsonl", "x\n")
	write(t, "data/other.jsonl", "y\n")
	if err := os.Symlink("in.jsonl", "data/link.jsonl"); err != nil {
		t.Fatal(err)
	}
	if err := os.Link("data/in.jsonl", "data/hard.jsonl"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("data", "alias"); err != nil {
		t.Fatal(err)
	}
	ins := []Input{{Path: "data/in.jsonl", What: "an audited file"}, {Path: "data/new.json", What: "a file read later"}}
	for _, c := range []struct {
		out     string
		refused bool
	}{
		{"data/in.jsonl", true},
		{"./data/../data/in.jsonl", true},
		{filepath.Join(root, "data/in.jsonl"), true},
		{"data/link.jsonl", true},
		{"data/hard.jsonl", true},
		{"alias/in.jsonl", true},
		{"alias/new.json", true}, // neither exists: compared as resolved paths
		{"data/other.jsonl", false},
		{"data/clean.jsonl", false},
		{"data", false},
	} {
		err := File("--out", c.out, ins...)
		if (err != nil) != c.refused {
			t.Errorf("File(%q): %v, want refused %v", c.out, err, c.refused)
		}
		if err != nil && !strings.Contains(err.Error(), "is one of the inputs") {
			t.Errorf("File(%q): %q does not say why", c.out, err)
		}
	}
	err := File("--out", "data/in.jsonl", ins...)
	if want := "--out data/in.jsonl is one of the inputs (an audited file); choose another path"; err == nil || err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	err = File("--out", "data/link.jsonl", ins...)
	if err == nil || !strings.Contains(err.Error(), "(an audited file, data/in.jsonl)") {
		t.Errorf("a clash spelled otherwise should name the input: %v", err)
	}
}

// TestFilesNamesTheDerivedPath: a second file written because of the flag
// (an export's manifest) is checked too, and the message says which.
func TestFilesNamesTheDerivedPath(t *testing.T) {
	root := t.TempDir()
	in := filepath.Join(root, "c.manifest.json")
	write(t, in, "{}")
	out := filepath.Join(root, "c.jsonl")
	err := Files("--export-clean", out, []string{out, in}, Input{Path: in, What: "an audited file"})
	if err == nil || !strings.Contains(err.Error(), "would write "+in) {
		t.Fatalf("%v, want a refusal naming %s", err, in)
	}
}

// TestDir: an output directory is refused when it is the model directory
// (also through a symlink) or when a file written into it is one the load
// reads; a fresh directory, or one that merely holds the model, is fine.
func TestDir(t *testing.T) {
	root := t.TempDir()
	m := filepath.Join(root, "m")
	write(t, filepath.Join(m, "config.json"), "{}")
	write(t, filepath.Join(m, "model.safetensors.index.json"), `{"weight_map": {"a": "part-1.safetensors", "b": "part-2.safetensors"}}`)
	if err := os.Symlink(m, filepath.Join(root, "alias")); err != nil {
		t.Fatal(err)
	}
	names := []string{"model.safetensors", "config.json", "tokenizer.json"}
	for _, c := range []struct {
		out     string
		refused string
	}{
		{m, "is one of the inputs (the model directory)"},
		{filepath.Join(root, "alias"), "is one of the inputs (the model directory, " + m + ")"},
		{filepath.Join(m, "config.json"), "is one of the inputs (the model's config"},
		{filepath.Join(root, "out"), ""},
		{root, ""},
		{filepath.Join(m, "hf"), ""},
	} {
		err := Dir("--out", c.out, names, ModelDir(m)...)
		if (err != nil) != (c.refused != "") || err != nil && !strings.Contains(err.Error(), c.refused) {
			t.Errorf("Dir(%q): %v, want %q", c.out, err, c.refused)
		}
	}
	// The shards the index names are inputs; other files in the directory
	// (an earlier GGUF export) are not.
	for out, refused := range map[string]bool{
		filepath.Join(m, "part-2.safetensors"):    true,
		filepath.Join(m, "tokenizer_config.json"): true,
		filepath.Join(m, "model.gguf"):            false,
	} {
		if err := File("--out", out, ModelDir(m)...); (err != nil) != refused {
			t.Errorf("File(%q): %v, want refused %v", out, err, refused)
		}
	}
}

// TestTree: every existing file under a tree input is an input; new files
// and the directory's neighbours are not.
func TestTree(t *testing.T) {
	root := t.TempDir()
	run := filepath.Join(root, "run")
	write(t, filepath.Join(run, "run.json"), "{}")
	write(t, filepath.Join(run, "sub", "metrics.jsonl"), "{}")
	write(t, filepath.Join(root, "run2", "x.html"), "")
	in := Input{Path: run, What: "a file of run " + run, Tree: true}
	for out, refused := range map[string]bool{
		filepath.Join(run, "run.json"):             true,
		filepath.Join(run, "sub", "metrics.jsonl"): true,
		filepath.Join(run, "new.html"):             false,
		filepath.Join(root, "run2", "x.html"):      false,
		filepath.Join(root, "elsewhere.html"):      false,
	} {
		if err := File("--out", out, in); (err != nil) != refused {
			t.Errorf("File(%q): %v, want refused %v", out, err, refused)
		}
	}
}

// TestModelFileNames keeps the list in step with the loaders' constants.
func TestModelFileNames(t *testing.T) {
	names := map[string]bool{}
	for _, f := range modelFiles {
		names[f.name] = true
	}
	for _, n := range []string{model.ConfigFile, model.WeightsFile, hf.ConfigFile, hf.GenerationConfigFile, modeldir.TokenizerFile} {
		if !names[n] {
			t.Errorf("%s, which a model load reads, is not in modelFiles", n)
		}
	}
}
