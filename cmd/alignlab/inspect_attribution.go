package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/alignlab/alignlab/interp"
	"github.com/spf13/cobra"
)

// attributionData is `inspect attribution --json`'s output.
type attributionData struct {
	Model   string  `json:"model"`
	Prompt  string  `json:"prompt"`
	Tokens  []int32 `json:"tokens"`
	Correct string  `json:"correct_token"`
	Wrong   string  `json:"wrong_token"`
	*interp.Attribution
	// SumOfParts is the parts' sum, equal to Total up to rounding.
	SumOfParts float64 `json:"sum_of_parts"`
}

func newInspectAttributionCmd() *cobra.Command {
	var (
		modelDir, prompt, correct, wrong, out string
		position                              int
		chat, asJSON                          bool
	)
	cmd := &cobra.Command{
		Use:   "attribution",
		Short: "Direct logit attribution of logit(correct) − logit(wrong) to the embeddings, each layer and each head",
		Long: `attribution runs --prompt and splits logit(--correct) − logit(--wrong) at --position into
what the embeddings, each layer's attention (and each head: its hook_z times its slice of W_O)
and MLP write into the residual stream, read through the final norm with its scale frozen at
the final residual (TransformerLens's apply_ln_to_stack); the parts, plus the final norm's
bias, sum to the model's logit difference. It writes runs/<id>/inspect.json with heatmaps
layer x head and layer x {attention, MLP} and a table of the parts.`,
		Example: `  alignlab inspect attribution --model gpt2/ --prompt "When Mary and John went to the store, John gave a drink to" \
      --correct " Mary" --wrong " John"
  alignlab inspect attribution --model runs/lab-.../checkpoints/clean-seed1000 --prompt "what is 3 plus 4" --correct 7 --wrong 8 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			usage := func(err error) error { return &exitError{code: 2, err: err} }
			if modelDir == "" || prompt == "" || correct == "" || wrong == "" {
				return usage(fmt.Errorf("inspect attribution needs --model DIR, --prompt TEXT, --correct TOKEN and --wrong TOKEN"))
			}
			im, err := loadInspectModel(modelDir, chat)
			if err != nil {
				return usage(err)
			}
			ids, err := encodePrompt(im, prompt)
			if err != nil {
				return usage(err)
			}
			cid, err := im.TokenID(correct)
			if err != nil {
				return usage(fmt.Errorf("--correct: %w", err))
			}
			wid, err := im.TokenID(wrong)
			if err != nil {
				return usage(fmt.Errorf("--wrong: %w", err))
			}
			a, err := interp.DirectLogitAttribution(im.Model, ids, position, cid, wid)
			if err != nil {
				return usage(fmt.Errorf("--position %d: %w", position, err))
			}
			data := attributionData{Model: modelDir, Prompt: prompt, Tokens: ids, Correct: correct, Wrong: wrong, Attribution: a, SumOfParts: a.Sum()}
			res := &interp.Result{Kind: "attribution", Model: modelDir, Data: &data, Summary: attributionSummary(&data),
				Matrices: a.Matrices(correct, wrong), Tables: []*interp.Table{a.Table()}}
			if out != "" {
				if _, err := writeInspectRun(cmd.ErrOrStderr(), out, "inspect-attribution", nil, res, nil); err != nil {
					return err
				}
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), data)
			}
			fmt.Fprint(cmd.OutOrStdout(), attributionText(&data))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&modelDir, "model", "", "model directory (a lab policy, or weights with tokenizer.json)")
	f.StringVar(&prompt, "prompt", "", "prompt text")
	f.StringVar(&correct, "correct", "", "the token (as text) whose logit counts positively")
	f.StringVar(&wrong, "wrong", "", "the token (as text) whose logit is subtracted")
	f.IntVar(&position, "position", -1, "token position read (negative counts from the end)")
	f.BoolVar(&chat, "chat", false, "wrap the prompt in the tokenizer's chat template as a user turn (lab policies always are)")
	f.StringVar(&out, "out", "runs", "directory for runs/<id>/ (empty: write nothing)")
	f.BoolVar(&asJSON, "json", false, "print the results as JSON")
	return cmd
}

func attributionSummary(d *attributionData) string {
	best, bl, bh := 0.0, -1, -1
	for l, hs := range d.Heads {
		for h, v := range hs {
			if bl < 0 || math.Abs(v) > math.Abs(best) {
				best, bl, bh = v, l, h
			}
		}
	}
	return fmt.Sprintf("logit(%q) − logit(%q) = %.3f at position %d; the largest head is %d.%d (%+.3f).",
		d.Correct, d.Wrong, d.Total, d.Position, bl, bh, best)
}

func attributionText(d *attributionData) string {
	var b strings.Builder
	fmt.Fprintln(&b, attributionSummary(d))
	for _, r := range d.Table().Rows {
		fmt.Fprintf(&b, "  %-24s %s\n", r[0], r[1])
	}
	fmt.Fprintln(&b, "heads (layer: head 0, 1, ...):")
	for l, hs := range d.Heads {
		fmt.Fprintf(&b, "  %2d:", l)
		for _, v := range hs {
			fmt.Fprintf(&b, " %+.3f", v)
		}
		fmt.Fprintln(&b)
	}
	return b.String()
}
