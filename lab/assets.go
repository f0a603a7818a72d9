package lab

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The base models that ship inside the binary, so that `alignlab lab
// --quick` can start from a good base in a CI budget. They are the base
// stage of `alignlab lab --seed 1` (DefaultConfig: 1000 trunk and 600 main
// SFT steps, about 40 s here), stored in half precision: base/, base-tail/
// and the two trunk checkpoints base-history-<step>/. To regenerate them
// after changing the world, the codec or the model, run the full lab and
//
//	LAB_REGEN_BASES=runs/<id>/checkpoints go test ./lab -run TestRegenerateEmbeddedBases
//
//go:embed assets/bases
var basesFS embed.FS

// BaseEmbedded and BaseTrain are the base sources a Config can name.
const (
	BaseTrain    = "train"
	BaseEmbedded = "embedded"
)

// embeddedBases loads the shipped bases (extracted to a temporary
// directory, since checkpoints load from files).
func embeddedBases(maxNew int) (*Bases, error) {
	tmp, err := os.MkdirTemp("", "alignlab-bases-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	sub, err := fs.Sub(basesFS, "assets/bases")
	if err != nil {
		return nil, err
	}
	err = fs.WalkDir(sub, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(tmp, filepath.FromSlash(path))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := fs.ReadFile(sub, path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		return nil, fmt.Errorf("embedded bases: %w", err)
	}
	b, err := loadBases(tmp, maxNew)
	if err != nil {
		return nil, fmt.Errorf("embedded bases: %w", err)
	}
	return b, nil
}

// writeEmbeddedBases converts a run's base checkpoints (F32) into the
// half-precision set under dst.
func writeEmbeddedBases(src, dst string, maxNew int) error {
	b, err := loadBases(src, maxNew)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	if err := saveF16(b.Main, filepath.Join(dst, "base")); err != nil {
		return err
	}
	if err := saveF16(b.Tail, filepath.Join(dst, "base-tail")); err != nil {
		return err
	}
	scratch, err := b.Main.Clone()
	if err != nil {
		return err
	}
	for _, c := range b.History[:len(b.History)-1] {
		if err := scratch.SetWeights(c.Weights); err != nil {
			return err
		}
		if err := saveF16(scratch, filepath.Join(dst, fmt.Sprintf("base-history-%d", c.Step))); err != nil {
			return err
		}
	}
	if err := writeJSON(filepath.Join(dst, historyFile), map[string]int{"main_end_step": b.History[len(b.History)-1].Step}); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dst, "README.md"), []byte(assetsReadme), 0o644)
}

const assetsReadme = `Base models embedded in the alignlab binary for ` + "`alignlab lab --quick`" + ` (see lab/assets.go):
the base stage of ` + "`alignlab lab --seed 1`" + ` in half precision. Regenerate with
` + "`LAB_REGEN_BASES=runs/<id>/checkpoints go test ./lab -run TestRegenerateEmbeddedBases`" + `.
`
