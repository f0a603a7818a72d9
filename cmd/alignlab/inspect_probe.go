package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/alignlab/alignlab/interp"
	"github.com/alignlab/alignlab/interp/probe"
	"github.com/spf13/cobra"
)

// probeData is `inspect probe --json`'s output.
type probeData struct {
	Model        string              `json:"model"`
	Data         string              `json:"data"`
	Examples     int                 `json:"examples"`
	Positives    int                 `json:"positives"`
	Hook         string              `json:"hook"`
	Position     string              `json:"position"`
	Folds        int                 `json:"folds"`
	AUROCByLayer []probe.LayerResult `json:"auroc_by_layer"`
	BestLayer    int                 `json:"best_layer"`
	BestHook     string              `json:"best_hook"`
	BestAUROC    float64             `json:"best_auroc"`
	// Direction is the file the best layer's difference-of-means direction
	// was saved to ("" when nothing was written).
	Direction string `json:"direction,omitempty"`
}

func newInspectProbeCmd() *cobra.Command {
	var (
		modelDir, data, hook, layers, position, out string
		folds                                       int
		seed                                        uint64
		lambda                                      float64
		chat, asJSON                                bool
	)
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "Train a logistic probe per layer on labelled texts; report cross-validated accuracy and AUROC",
		Long: `probe runs the model on each text of --data (JSONL, one {"text": "...", "label": 0 or 1} per
line), caches one hook's activation per layer (--hook, default hook_resid_post, at the last
token or the mean over tokens), and fits an L2-regularised logistic regression per layer on
standardised activations, scored by stratified k-fold cross-validation (accuracy and AUROC
with 95% intervals). The best layer's difference-of-means direction (label 1 minus label 0)
is saved as runs/<id>/direction.json, ready for steering or ablation.`,
		Example: `  alignlab inspect probe --model runs/lab-.../checkpoints/mirage-seed1000 --data frames.jsonl
  alignlab inspect probe --model gpt2/ --data truth.jsonl --hook hook_resid_mid --layers 4-8 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if modelDir == "" || data == "" {
				return &exitError{code: 2, err: fmt.Errorf("inspect probe needs --model DIR and --data FILE.jsonl")}
			}
			if lambda < 0 { // NaN and infinities are refused for every float flag (checkFiniteFlags)
				return &exitError{code: 2, err: fmt.Errorf("--lambda %v: want a finite number >= 0", lambda)}
			}
			pos := probe.Position(position)
			if pos != probe.PosLast && pos != probe.PosMean {
				return &exitError{code: 2, err: fmt.Errorf("--position %q: want last or mean", position)}
			}
			ex, err := probe.ReadExamples(data)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			im, err := loadInspectModel(modelDir, chat)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			ls, err := parseLayers(layers, im.Model.Config.NumLayers)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			hooks := make([]string, len(ls))
			for i, l := range ls {
				hooks[i] = fmt.Sprintf("blocks.%d.%s", l, strings.TrimPrefix(hook, "."))
			}
			seqs := make([][]int32, len(ex))
			y := make([]int, len(ex))
			pos1 := 0
			for i, e := range ex {
				ids, err := im.Encode(e.Text)
				if err != nil {
					return &exitError{code: 2, err: fmt.Errorf("%s:%d: encode: %w", data, e.Line, err)}
				}
				if len(ids) == 0 || len(ids) > im.Model.Config.MaxSeqLen {
					return &exitError{code: 2, err: fmt.Errorf("%s:%d: %d tokens; the model takes 1 to %d", data, e.Line, len(ids), im.Model.Config.MaxSeqLen)}
				}
				seqs[i], y[i] = ids, e.Label
				pos1 += e.Label
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "caching %s at %d layers for %d texts (%d labelled 1)\n", hook, len(hooks), len(ex), pos1)
			acts, widths, err := probe.Activations(im.Model, seqs, hooks, pos)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			res, best, err := probe.Sweep(acts, widths, hooks, ls, y, probe.CVConfig{Folds: folds, Seed: seed, Probe: probe.Config{Lambda: lambda}})
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			for _, r := range res {
				fmt.Fprintf(cmd.ErrOrStderr(), "layer %d: accuracy %.3f, AUROC %.3f [%.3f, %.3f]\n", r.Layer, r.Accuracy.Estimate, r.AUROC.Estimate, r.AUROC.CILow, r.AUROC.CIHigh)
			}
			d := probeData{Model: modelDir, Data: data, Examples: len(ex), Positives: pos1, Hook: hook, Position: position,
				Folds: folds, AUROCByLayer: res, BestLayer: res[best].Layer, BestHook: res[best].Hook, BestAUROC: res[best].AUROC.Estimate}
			dir, err := probe.ContrastDirection(hooks[best], acts[best], len(ex), widths[best], y, "label 1", "label 0")
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if out != "" {
				// The result names the direction's file, so it is filled in
				// once the file is written.
				res := new(interp.Result)
				_, err := writeInspectRun(cmd.ErrOrStderr(), out, "inspect-probe", &seed, res, func(rd string) error {
					d.Direction = filepath.Join(rd, "direction.json")
					*res = *probeResult(&d)
					return dir.Save(d.Direction)
				})
				if err != nil {
					return &exitError{code: 2, err: err}
				}
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(d)
			}
			fmt.Fprintln(cmd.OutOrStdout(), probeSummary(&d))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&modelDir, "model", "", "model directory (a lab policy, or weights with tokenizer.json)")
	f.StringVar(&data, "data", "", `labelled texts, JSONL: {"text": "...", "label": 0 or 1} per line`)
	f.StringVar(&hook, "hook", "hook_resid_post", "per-layer hook point, the part after blocks.{i}. (e.g. hook_resid_pre, hook_mlp_out, mlp.hook_post)")
	f.StringVar(&layers, "layers", "", "layers to probe, e.g. 0,2,4-6 (default all)")
	f.StringVar(&position, "position", "last", "token position each text is read at: last or mean")
	f.IntVar(&folds, "folds", 5, "cross-validation folds")
	f.Uint64Var(&seed, "seed", 1, "seed of the fold assignment")
	f.Float64Var(&lambda, "lambda", probe.DefaultLambda, "L2 penalty on standardised weights (objective: mean log-loss + lambda/2·|w|²)")
	f.BoolVar(&chat, "chat", false, "wrap each text in the tokenizer's chat template as a user turn (lab policies always are)")
	f.StringVar(&out, "out", "runs", "directory for runs/<id>/ (empty: write nothing)")
	f.BoolVar(&asJSON, "json", false, "print the results as JSON")
	return cmd
}

// parseLayers reads "0,2,4-6" (empty: every layer) for a model of n layers.
func parseLayers(s string, n int) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	var out []int
	seen := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a > b {
			return nil, fmt.Errorf("--layers %q: %q is not a layer or a range like 2-5", s, part)
		}
		for l := a; l <= b; l++ {
			if l < 0 || l >= n {
				return nil, fmt.Errorf("--layers %q: layer %d outside this model's 0-%d", s, l, n-1)
			}
			if !seen[l] {
				seen[l] = true
				out = append(out, l)
			}
		}
	}
	return out, nil
}

// probeResult renders probe results as inspect.json.
func probeResult(d *probeData) *interp.Result {
	ser := &interp.Series{Title: "Probe AUROC by layer (" + d.Hook + ")", XLabel: "layer", YLabel: "cross-validated AUROC",
		Note: fmt.Sprintf("logistic probe at the %s token, %d-fold stratified CV over %d texts; band: 95%% interval", d.Position, d.Folds, d.Examples)}
	auc := interp.Line{Name: "AUROC"}
	acc := interp.Line{Name: "accuracy"}
	t := &interp.Table{Title: "Probe by layer", Columns: []string{"layer", "hook", "accuracy", "AUROC", "AUROC 95% CI"}}
	for _, r := range d.AUROCByLayer {
		ser.X = append(ser.X, float64(r.Layer))
		auc.Y, auc.CILow, auc.CIHigh = append(auc.Y, r.AUROC.Estimate), append(auc.CILow, r.AUROC.CILow), append(auc.CIHigh, r.AUROC.CIHigh)
		acc.Y, acc.CILow, acc.CIHigh = append(acc.Y, r.Accuracy.Estimate), append(acc.CILow, r.Accuracy.CILow), append(acc.CIHigh, r.Accuracy.CIHigh)
		t.Rows = append(t.Rows, []string{strconv.Itoa(r.Layer), r.Hook, fmt.Sprintf("%.3f", r.Accuracy.Estimate),
			fmt.Sprintf("%.3f", r.AUROC.Estimate), fmt.Sprintf("[%.3f, %.3f]", r.AUROC.CILow, r.AUROC.CIHigh)})
	}
	ser.Lines = []interp.Line{auc, acc}
	return &interp.Result{Kind: "probe", Model: d.Model, Summary: probeSummary(d), Series: []*interp.Series{ser},
		Tables: []*interp.Table{t}, Data: d}
}

func probeSummary(d *probeData) string {
	return fmt.Sprintf("The probe reads the label best at layer %d (%s) with cross-validated AUROC %.3f over %d texts (%d labelled 1).",
		d.BestLayer, d.BestHook, d.BestAUROC, d.Examples, d.Positives)
}
