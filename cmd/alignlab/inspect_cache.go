package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/alignlab/alignlab/ckpt"
	"github.com/alignlab/alignlab/internal/outpath"
	"github.com/alignlab/alignlab/internal/rundir"
	"github.com/alignlab/alignlab/interp"
	"github.com/spf13/cobra"
)

// cacheData is `inspect cache --json`'s output.
type cacheData struct {
	Model   string    `json:"model"`
	Prompts []string  `json:"prompts"`
	Tokens  [][]int32 `json:"tokens"`
	// Positions are the cached positions per prompt (all when empty in
	// the command, resolved here).
	Positions [][]int `json:"positions"`
	// File is the safetensors file holding the activations ("" without
	// --out or --save).
	File    string       `json:"file,omitempty"`
	Tensors []cacheEntry `json:"tensors"`
	// Metric is logit(--grad-correct) − logit(--grad-wrong) at the last
	// position per prompt, when gradients were asked for.
	Metric []float64 `json:"metric,omitempty"`
}

// cacheEntry is one saved tensor with a summary of its values.
type cacheEntry struct {
	Name  string  `json:"name"`
	Hook  string  `json:"hook"`
	Grad  bool    `json:"grad,omitempty"`
	Shape []int   `json:"shape"`
	RMS   float64 `json:"rms"`
	Max   float64 `json:"max_abs"`
	// NonFinite counts the ±Inf and NaN values RMS and Max leave out (the
	// masked future keys of attn.hook_attn_scores).
	NonFinite int `json:"non_finite,omitempty"`
}

func newInspectCacheCmd() *cobra.Command {
	var (
		modelDir, layers, positions, out, save, gradCorrect, gradWrong string
		prompts, names                                                 []string
		chat, asJSON                                                   bool
	)
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Run prompts and save the activations at chosen hook points (safetensors)",
		Long: `cache runs each --prompt through the model and keeps the activations at the hook points
named by --names (exact TransformerLens names, globs such as 'blocks.*.hook_resid_post', or
regular expressions written re:PATTERN; default every hook point), restricted to --layers and
--positions. They are saved as runs/<id>/activations.safetensors (or --save FILE), one tensor
per hook named as the hook ("<i>/<hook>" for prompt i when there are several), shaped
[1, positions, ...] ([1, heads, positions, T] for attn.hook_attn_scores and attn.hook_pattern),
for SAE training and probes. With --grad-correct and --grad-wrong it also saves "grad/<hook>":
the gradient of logit(correct) − logit(wrong) at the last position with respect to each cached
activation (every hook point but attn.hook_attn_scores and attn.hook_pattern).`,
		Example: `  alignlab inspect cache --model gpt2/ --prompt "The Eiffel Tower is in" --names 'blocks.*.hook_resid_post'
  alignlab inspect cache --model runs/lab-.../checkpoints/clean-seed1000 --prompt "what is 3 plus 4" \
      --names 're:blocks\.[01]\.hook_(attn|mlp)_out' --positions -1 --grad-correct 7 --grad-wrong 8 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			usage := func(err error) error { return &exitError{code: 2, err: err} }
			if modelDir == "" || len(prompts) == 0 {
				return usage(fmt.Errorf("inspect cache needs --model DIR and at least one --prompt TEXT"))
			}
			if (gradCorrect == "") != (gradWrong == "") {
				return usage(fmt.Errorf("--grad-correct and --grad-wrong go together"))
			}
			if save != "" {
				if err := outpath.File("--save", save, outpath.ModelDir(modelDir)...); err != nil {
					return usage(err)
				}
			}
			im, err := loadInspectModel(modelDir, chat)
			if err != nil {
				return usage(err)
			}
			cfg := im.Model.Config
			filter := interp.NamesFilter{Names: names}
			if layers != "" {
				if filter.Layers, err = parseLayers(layers, cfg.NumLayers); err != nil {
					return usage(err)
				}
			}
			if filter.Positions, err = parseInts("--positions", positions); err != nil {
				return usage(err)
			}
			if _, err := filter.Match(cfg); err != nil {
				return usage(fmt.Errorf("--names: %w", err))
			}
			var correct, wrong int32
			if gradCorrect != "" {
				if correct, err = im.TokenID(gradCorrect); err != nil {
					return usage(fmt.Errorf("--grad-correct: %w", err))
				}
				if wrong, err = im.TokenID(gradWrong); err != nil {
					return usage(fmt.Errorf("--grad-wrong: %w", err))
				}
			}
			data := cacheData{Model: modelDir, Prompts: prompts}
			var tensors []ckpt.Tensor
			for i, p := range prompts {
				ids, err := encodePrompt(im, p)
				if err != nil {
					return usage(err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "caching prompt %d of %d (%d tokens)\n", i+1, len(prompts), len(ids))
				opts := interp.CacheOptions{Filter: filter}
				if gradCorrect != "" {
					opts.Metric = interp.LogitDiffMetric(-1, correct, wrong)
				}
				c, err := interp.RunWithCache(im.Model, ids, 1, len(ids), opts)
				if err != nil {
					return usage(fmt.Errorf("--prompt %q: %w", p, err))
				}
				data.Tokens = append(data.Tokens, ids)
				data.Positions = append(data.Positions, c.Positions)
				if gradCorrect != "" {
					data.Metric = append(data.Metric, c.Metric)
				}
				prefix := ""
				if len(prompts) > 1 {
					prefix = strconv.Itoa(i) + "/"
				}
				for _, n := range c.Names {
					a := c.Get(n)
					tensors = append(tensors, ckpt.Tensor{Name: prefix + n, Shape: a.Shape, Data: a.Data})
					data.Tensors = append(data.Tensors, summarize(prefix+n, n, false, a))
					if g := c.Grads[n]; g != nil {
						tensors = append(tensors, ckpt.Tensor{Name: prefix + "grad/" + n, Shape: g.Shape, Data: g.Data})
						data.Tensors = append(data.Tensors, summarize(prefix+"grad/"+n, n, true, g))
					}
				}
			}
			var rd string
			if out != "" {
				if rd, _, err = rundir.Create(out, "inspect-cache", os.Args, nil, version); err != nil {
					return usage(err)
				}
				if save == "" {
					save = filepath.Join(rd, "activations.safetensors")
				}
			}
			if save != "" {
				tok, _ := json.Marshal(data.Tokens)
				meta := map[string]string{"format": "alignlab activation cache", "model": modelDir, "tokens": string(tok)}
				if err := ckpt.Write(save, tensors, meta); err != nil {
					return fmt.Errorf("save activations: %w", err)
				}
				data.File = save
				fmt.Fprintln(cmd.ErrOrStderr(), "wrote", save)
			}
			if rd != "" {
				if err := finishInspect(cmd.ErrOrStderr(), rd, cacheResult(&data)); err != nil {
					return err
				}
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), data)
			}
			fmt.Fprint(cmd.OutOrStdout(), cacheText(&data))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&modelDir, "model", "", "model directory (a lab policy, or weights with tokenizer.json)")
	f.StringArrayVar(&prompts, "prompt", nil, "prompt text (repeat for several)")
	f.StringArrayVar(&names, "names", nil, "hook names, globs or re:REGEXP to keep (repeat; default every hook point)")
	f.StringVar(&layers, "layers", "", "layers whose blocks.{i}.* hooks to keep, e.g. 0,2 or 1-3 (default all)")
	f.StringVar(&positions, "positions", "", "token positions to keep, e.g. -1 or 0,3,-1 (negative counts from the end; default all)")
	f.StringVar(&gradCorrect, "grad-correct", "", "also save gradients of logit(this token) − logit(--grad-wrong) at the last position")
	f.StringVar(&gradWrong, "grad-wrong", "", "the token subtracted in the gradient's metric")
	f.StringVar(&save, "save", "", "safetensors file for the activations (default runs/<id>/activations.safetensors)")
	f.BoolVar(&chat, "chat", false, "wrap each prompt in the tokenizer's chat template as a user turn (lab policies always are)")
	f.StringVar(&out, "out", "runs", "directory for runs/<id>/ (empty: write nothing)")
	f.BoolVar(&asJSON, "json", false, "print the results as JSON")
	return cmd
}

// summarize describes one cached tensor by the RMS and largest magnitude
// of its finite values, counting the others apart: attn.hook_attn_scores
// holds -Inf for every future key, and JSON has no infinities.
func summarize(name, hook string, grad bool, a *interp.Activation) cacheEntry {
	var ss, mx float64
	n, nonFinite := 0, 0
	for _, v := range a.Data {
		x := float64(v)
		if math.IsInf(x, 0) || math.IsNaN(x) {
			nonFinite++
			continue
		}
		ss += x * x
		mx = math.Max(mx, math.Abs(x))
		n++
	}
	rms := 0.0
	if n > 0 {
		rms = math.Sqrt(ss / float64(n))
	}
	return cacheEntry{Name: name, Hook: hook, Grad: grad, Shape: a.Shape, RMS: rms, Max: mx, NonFinite: nonFinite}
}

func cacheResult(d *cacheData) *interp.Result {
	t := &interp.Table{Title: "Cached activations", Columns: []string{"tensor", "shape", "rms", "max |x|"},
		Note: "saved in " + d.File + "; grad/ tensors are gradients of the logit difference; rms and max |x| leave out the -Inf of the attention scores' masked future keys"}
	for _, e := range d.Tensors {
		t.Rows = append(t.Rows, []string{e.Name, fmt.Sprint(e.Shape), fmt.Sprintf("%.4g", e.RMS), fmt.Sprintf("%.4g", e.Max)})
	}
	return &interp.Result{Kind: "cache", Model: d.Model, Tables: []*interp.Table{t}, Data: d,
		Summary: fmt.Sprintf("cached %d tensors over %d prompt(s)", len(d.Tensors), len(d.Prompts))}
}

func cacheText(d *cacheData) string {
	var b strings.Builder
	fmt.Fprintf(&b, "cached %d tensors over %d prompt(s)\n", len(d.Tensors), len(d.Prompts))
	for _, e := range d.Tensors {
		fmt.Fprintf(&b, "  %-40s %v rms %.4g\n", e.Name, e.Shape, e.RMS)
	}
	if d.File != "" {
		fmt.Fprintln(&b, "saved", d.File)
	}
	return b.String()
}

// encodePrompt encodes a prompt, which must give at least one token.
func encodePrompt(im *inspectModel, p string) ([]int32, error) {
	ids, err := im.Encode(p)
	if err != nil {
		return nil, fmt.Errorf("prompt %q: %w", p, err)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("prompt %q encodes to no tokens", p)
	}
	if max := im.Model.Config.MaxSeqLen; len(ids) > max {
		return nil, fmt.Errorf("prompt %q is %d tokens, over the model's %d", p, len(ids), max)
	}
	return ids, nil
}

// parseInts reads "3,-1,0" (empty: none).
func parseInts(flag, s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []int
	for _, part := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("%s %q: %q is not an integer", flag, s, part)
		}
		out = append(out, v)
	}
	return out, nil
}

// finishInspect writes res as dir's inspect.json and its report, and says
// where on w.
func finishInspect(w io.Writer, dir string, res *interp.Result) error {
	if err := writeResultFile(dir, res); err != nil {
		return err
	}
	fmt.Fprintln(w, "wrote", dir)
	inspectReport(w, dir)
	return nil
}

// writeInspectRun makes runs/<id>/ under out for an inspect command of
// kind (e.g. "inspect-lens"), writes res there with its report, and
// returns the directory. extra, when not nil, writes the command's own
// files into the directory first (a direction, activations).
func writeInspectRun(w io.Writer, out, kind string, seed *uint64, res *interp.Result, extra func(dir string) error) (string, error) {
	dir, _, err := rundir.Create(out, kind, os.Args, seed, version)
	if err != nil {
		return "", err
	}
	if extra != nil {
		if err := extra(dir); err != nil {
			return "", err
		}
	}
	return dir, finishInspect(w, dir, res)
}

// printJSON writes v indented.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
