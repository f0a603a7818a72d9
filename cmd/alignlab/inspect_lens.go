package main

import (
	"fmt"
	"strings"

	"github.com/alignlab/alignlab/interp"
	"github.com/spf13/cobra"
)

// lensData is `inspect lens --json`'s output.
type lensData struct {
	Model    string  `json:"model"`
	Prompt   string  `json:"prompt"`
	Tokens   []int32 `json:"tokens"`
	Position int     `json:"position"`
	// PositionToken is the token at Position (the lens predicts the next).
	PositionToken string        `json:"position_token"`
	Target        string        `json:"target,omitempty"`
	TargetID      int32         `json:"target_id"`
	Rows          []lensRowText `json:"rows"`
}

// lensRowText is an interp.LensRow with its tokens spelled out.
type lensRowText struct {
	interp.LensRow
	TopTokens []string `json:"top_tokens"`
}

func newInspectLensCmd() *cobra.Command {
	var (
		modelDir, prompt, target, out string
		position, topK                int
		chat, asJSON                  bool
	)
	cmd := &cobra.Command{
		Use:   "lens",
		Short: "Logit lens: what the residual stream predicts after each layer's attention and MLP",
		Long: `lens runs --prompt and applies the final norm and unembedding to the residual stream at
--position after the embeddings (blocks.0.hook_resid_pre) and after each block's attention
(hook_resid_mid) and MLP (hook_resid_post): the top --top-k tokens with log-probs and, with
--target, that token's log-prob and rank at each depth. The last row is the model's own
prediction. It writes runs/<id>/inspect.json (a table and the target's log-prob by depth).`,
		Example: `  alignlab inspect lens --model gpt2/ --prompt "The Eiffel Tower is in the city of" --target " Paris"
  alignlab inspect lens --model runs/lab-.../checkpoints/clean-seed1000 --prompt "what is 3 plus 4" --target 7 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			usage := func(err error) error { return &exitError{code: 2, err: err} }
			if modelDir == "" || prompt == "" {
				return usage(fmt.Errorf("inspect lens needs --model DIR and --prompt TEXT"))
			}
			im, err := loadInspectModel(modelDir, chat)
			if err != nil {
				return usage(err)
			}
			ids, err := encodePrompt(im, prompt)
			if err != nil {
				return usage(err)
			}
			tid := int32(-1)
			if target != "" {
				if tid, err = im.TokenID(target); err != nil {
					return usage(fmt.Errorf("--target: %w", err))
				}
			}
			lens, err := interp.LogitLens(im.Model, ids, interp.LensOptions{Position: position, TopK: topK, Target: tid})
			if err != nil {
				return usage(fmt.Errorf("--position %d: %w", position, err))
			}
			data := lensData{Model: modelDir, Prompt: prompt, Tokens: ids, Position: lens.Position,
				PositionToken: im.Token(ids[lens.Position]), Target: target, TargetID: tid}
			for _, r := range lens.Rows {
				rt := lensRowText{LensRow: r}
				for _, tp := range r.Top {
					rt.TopTokens = append(rt.TopTokens, im.Token(tp.Token))
				}
				data.Rows = append(data.Rows, rt)
			}
			res := &interp.Result{Kind: "lens", Model: modelDir, Data: &data, Summary: lensSummary(&data),
				Tables: []*interp.Table{lens.Table(im.Token)}}
			if s := lens.Series(target); s != nil {
				res.Series = []*interp.Series{s}
			}
			if out != "" {
				if _, err := writeInspectRun(cmd.ErrOrStderr(), out, "inspect-lens", nil, res, nil); err != nil {
					return err
				}
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), data)
			}
			fmt.Fprint(cmd.OutOrStdout(), lensText(&data))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&modelDir, "model", "", "model directory (a lab policy, or weights with tokenizer.json)")
	f.StringVar(&prompt, "prompt", "", "prompt text")
	f.IntVar(&position, "position", -1, "token position read (negative counts from the end)")
	f.IntVar(&topK, "top-k", 5, "top tokens shown per row")
	f.StringVar(&target, "target", "", "a token (as text) whose log-prob and rank to follow by depth")
	f.BoolVar(&chat, "chat", false, "wrap the prompt in the tokenizer's chat template as a user turn (lab policies always are)")
	f.StringVar(&out, "out", "runs", "directory for runs/<id>/ (empty: write nothing)")
	f.BoolVar(&asJSON, "json", false, "print the results as JSON")
	return cmd
}

func lensSummary(d *lensData) string {
	last := d.Rows[len(d.Rows)-1]
	s := fmt.Sprintf("after %q (position %d) the model predicts %q (log-prob %.2f)", d.PositionToken, d.Position, last.TopTokens[0], last.Top[0].LogProb)
	if d.Target == "" {
		return s + "."
	}
	first := -1
	for i, r := range d.Rows {
		if r.TargetRank == 0 {
			first = i
			break
		}
	}
	if first < 0 {
		return s + fmt.Sprintf("; %q is never the top token (final rank %d).", d.Target, last.TargetRank)
	}
	return s + fmt.Sprintf("; %q first becomes the top token at %s.", d.Target, d.Rows[first].Hook)
}

func lensText(d *lensData) string {
	var b strings.Builder
	fmt.Fprintln(&b, lensSummary(d))
	for _, r := range d.Rows {
		fmt.Fprintf(&b, "%-28s", r.Hook)
		for i, t := range r.TopTokens {
			fmt.Fprintf(&b, " %q %.2f", t, r.Top[i].LogProb)
		}
		if d.Target != "" {
			fmt.Fprintf(&b, "  | target %.3f rank %d", r.TargetLogProb, r.TargetRank)
		}
		fmt.Fprintln(&b)
	}
	return b.String()
}
