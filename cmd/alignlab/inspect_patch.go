package main

import (
	"fmt"
	"strings"

	"github.com/alignlab/alignlab/interp"
	"github.com/spf13/cobra"
)

// patchData is `inspect patch --json`'s output.
type patchData struct {
	Model         string  `json:"model"`
	Clean         string  `json:"clean"`
	Corrupt       string  `json:"corrupt"`
	CleanTokens   []int32 `json:"clean_tokens"`
	CorruptTokens []int32 `json:"corrupt_tokens"`
	Correct       string  `json:"correct_token"`
	Wrong         string  `json:"wrong_token"`
	// CleanMetric and CorruptMetric are logit(correct) − logit(wrong) at
	// the last position on the unpatched runs (the 1 and the 0 of the
	// normalized metric).
	CleanMetric   float64          `json:"clean_metric"`
	CorruptMetric float64          `json:"corrupt_metric"`
	Matrices      []*interp.Matrix `json:"matrices"`
}

func newInspectPatchCmd() *cobra.Command {
	var (
		modelDir, clean, corrupt, correct, wrong, out string
		hooks                                         []string
		noHeads, chat, asJSON                         bool
	)
	cmd := &cobra.Command{
		Use:   "patch",
		Short: "Activation patching: restore clean activations in a corrupted run, per layer x position and per head",
		Long: `patch runs --clean and --corrupt (prompts of the same token length) and patches activations
from the clean run into the corrupted one: each --hook (default hook_resid_pre, hook_attn_out,
hook_mlp_out) per (layer, position), and each head's output (attn.hook_z, all positions) per
(layer, head). The metric is logit(--correct) − logit(--wrong) at the last position,
normalized so that 0 is the corrupted run and 1 the clean run. It writes runs/<id>/inspect.json
with one heatmap per hook.`,
		Example: `  alignlab inspect patch --model gpt2/ --clean "When Mary and John went to the store, John gave a drink to" \
      --corrupt "When Mary and John went to the store, Mary gave a drink to" --correct " Mary" --wrong " John"
  alignlab inspect patch --model runs/lab-.../checkpoints/clean-seed1000 --clean "what is 3 plus 4" \
      --corrupt "what is 3 plus 5" --correct 7 --wrong 8 --no-heads --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			usage := func(err error) error { return &exitError{code: 2, err: err} }
			if modelDir == "" || clean == "" || corrupt == "" || correct == "" || wrong == "" {
				return usage(fmt.Errorf("inspect patch needs --model DIR, --clean TEXT, --corrupt TEXT, --correct TOKEN and --wrong TOKEN"))
			}
			im, err := loadInspectModel(modelDir, chat)
			if err != nil {
				return usage(err)
			}
			cl, err := encodePrompt(im, clean)
			if err != nil {
				return usage(fmt.Errorf("--clean: %w", err))
			}
			co, err := encodePrompt(im, corrupt)
			if err != nil {
				return usage(fmt.Errorf("--corrupt: %w", err))
			}
			if len(cl) != len(co) {
				return usage(fmt.Errorf("--clean is %d tokens and --corrupt %d; patching needs the same length (change words for words of the same token count)", len(cl), len(co)))
			}
			cid, err := im.TokenID(correct)
			if err != nil {
				return usage(fmt.Errorf("--correct: %w", err))
			}
			wid, err := im.TokenID(wrong)
			if err != nil {
				return usage(fmt.Errorf("--wrong: %w", err))
			}
			labels := make([]string, len(cl))
			for i, id := range cl {
				labels[i] = fmt.Sprintf("%d %s", i, im.Token(id))
				if co[i] != id {
					labels[i] += "/" + im.Token(co[i])
				}
			}
			for i, h := range hooks {
				hooks[i] = strings.TrimPrefix(h, ".")
			}
			errw := cmd.ErrOrStderr()
			opts := interp.PatchOptions{Correct: cid, Wrong: wid, Hooks: hooks, NoHeads: noHeads, Labels: labels,
				Progress: func(done, total int) {
					if done%50 == 0 || done == total {
						fmt.Fprintf(errw, "patched %d of %d runs\n", done, total)
					}
				}}
			p, err := interp.ActivationPatching(im.Model, cl, co, opts)
			if err != nil {
				return usage(err)
			}
			data := patchData{Model: modelDir, Clean: clean, Corrupt: corrupt, CleanTokens: cl, CorruptTokens: co,
				Correct: correct, Wrong: wrong, CleanMetric: p.Clean, CorruptMetric: p.Corrupt, Matrices: p.Matrices}
			res := &interp.Result{Kind: "patch", Model: modelDir, Summary: patchSummary(&data), Matrices: p.Matrices, Data: &data}
			if out != "" {
				if _, err := writeInspectRun(errw, out, "inspect-patch", nil, res, nil); err != nil {
					return err
				}
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), data)
			}
			fmt.Fprint(cmd.OutOrStdout(), patchText(&data))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&modelDir, "model", "", "model directory (a lab policy, or weights with tokenizer.json)")
	f.StringVar(&clean, "clean", "", "the clean prompt")
	f.StringVar(&corrupt, "corrupt", "", "the corrupted prompt (same token length)")
	f.StringVar(&correct, "correct", "", "the token (as text) the clean prompt should favour")
	f.StringVar(&wrong, "wrong", "", "the token (as text) the corrupted prompt favours")
	f.StringArrayVar(&hooks, "hook", nil, "per-layer hook patched per (layer, position), after blocks.{i}. (repeat; default hook_resid_pre, hook_attn_out, hook_mlp_out; for attn.hook_pattern or attn.hook_attn_scores, the query position's row of every head)")
	f.BoolVar(&noHeads, "no-heads", false, "skip patching head outputs per (layer, head)")
	f.BoolVar(&chat, "chat", false, "wrap the prompts in the tokenizer's chat template as a user turn (lab policies always are)")
	f.StringVar(&out, "out", "runs", "directory for runs/<id>/ (empty: write nothing)")
	f.BoolVar(&asJSON, "json", false, "print the results as JSON")
	return cmd
}

// patchSummary names the single patch that restores the most.
func patchSummary(d *patchData) string {
	best, where := 0.0, ""
	for _, m := range d.Matrices {
		for i, row := range m.Values {
			for j, v := range row {
				if where == "" || v > best {
					best, where = v, fmt.Sprintf("%s (%s %s, %s %s)", m.Title, m.RowName, m.Rows[i], m.ColName, m.Cols[j])
				}
			}
		}
	}
	return fmt.Sprintf("logit difference %.3f clean, %.3f corrupted; the strongest single patch restores %.2f: %s.",
		d.CleanMetric, d.CorruptMetric, best, where)
}

func patchText(d *patchData) string {
	var b strings.Builder
	fmt.Fprintln(&b, patchSummary(d))
	for _, m := range d.Matrices {
		fmt.Fprintf(&b, "\n%s (rows %s, columns %s):\n", m.Title, m.RowName, m.ColName)
		fmt.Fprintf(&b, "%6s", "")
		for _, c := range m.Cols {
			fmt.Fprintf(&b, " %8.8s", c)
		}
		fmt.Fprintln(&b)
		for i, row := range m.Values {
			fmt.Fprintf(&b, "%6s", m.Rows[i])
			for _, v := range row {
				fmt.Fprintf(&b, " %8.3f", v)
			}
			fmt.Fprintln(&b)
		}
	}
	return b.String()
}
