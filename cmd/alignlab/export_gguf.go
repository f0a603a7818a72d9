package main

import (
	"errors"
	"fmt"

	"github.com/alignlab/alignlab/ckpt/gguf"
	"github.com/alignlab/alignlab/ckpt/hf"
	"github.com/alignlab/alignlab/internal/modeldir"
	"github.com/alignlab/alignlab/internal/outpath"
	"github.com/spf13/cobra"
)

func newExportGGUFCmd() *cobra.Command {
	var (
		dir, out, typ, name, pre string
		asJSON                   bool
	)
	cmd := &cobra.Command{
		Use:   "gguf --model DIR --out FILE",
		Short: "Write a Llama-family model and its tokenizer as GGUF for llama.cpp",
		Long: `gguf writes GGUF v3 that llama.cpp loads (architecture "llama"): the weights in f32 or
f16 (norms stay f32), the hyperparameters and the tokenizer. On a given prompt,
llama.cpp's greedy tokens equal alignlab's.`,
		Example: `  alignlab export gguf --model runs/sft/model --out model-f16.gguf --type f16
  llama-cli -m model-f16.gguf -p "Hello" --temp 0`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" || out == "" {
				return &exitError{code: 2, err: errors.New("export gguf: --model and --out are required")}
			}
			opts := hf.GGUFOptions{Name: name, Pre: pre}
			switch typ {
			case "f32":
				opts.Type = gguf.F32
			case "f16":
				opts.Type = gguf.F16
			default:
				return &exitError{code: 2, err: fmt.Errorf("export gguf: --type %q: use f32 or f16", typ)}
			}
			if err := outpath.File("--out", out, outpath.ModelDir(dir)...); err != nil {
				return &exitError{code: 2, err: err}
			}
			m, tok, err := modeldir.Load(dir)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if tok == nil {
				return &exitError{code: 2, err: fmt.Errorf("export gguf: %s has no tokenizer.json; llama.cpp needs the vocabulary", dir)}
			}
			if err := hf.ExportGGUF(out, m, tok, opts); err != nil {
				return &exitError{code: 2, err: err}
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"out": out, "type": typ, "layers": m.Config.NumLayers, "vocab": m.Config.VocabSize})
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "export gguf: wrote %s (%s, %d layers, vocab %d)\n", out, typ, m.Config.NumLayers, m.Config.VocabSize)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&dir, "model", "", "model directory (Hugging Face or alignlab checkpoint with tokenizer.json)")
	fl.StringVar(&out, "out", "", "GGUF file to write")
	fl.StringVar(&typ, "type", "f16", "tensor type of the matrices: f32 or f16")
	fl.StringVar(&name, "name", "", "general.name recorded in the file (default alignlab)")
	fl.BoolVar(&asJSON, "json", false, `print {"out", "type", "layers", "vocab"} as JSON on stdout`)
	fl.StringVar(&pre, "pre", "", "llama.cpp pre-tokenizer name (default: recognised from tokenizer.json)")
	return cmd
}
