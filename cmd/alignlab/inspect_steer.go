package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/alignlab/alignlab/interp"
	"github.com/alignlab/alignlab/interp/steer"
	"github.com/alignlab/alignlab/model"
	"github.com/spf13/cobra"
)

// steerData is `inspect steer --json`'s output.
type steerData struct {
	Model         string   `json:"model"`
	Direction     string   `json:"direction"`
	DirectionHook string   `json:"direction_hook"`
	Hooks         []string `json:"hooks"`
	// Mode is "add" (Scale times the direction) or "ablate" (projected out).
	Mode         string  `json:"mode"`
	Scale        float32 `json:"scale,omitempty"`
	Unit         bool    `json:"unit,omitempty"`
	MaxNewTokens int     `json:"max_new_tokens"`
	Temperature  float32 `json:"temperature"`
	Seed         uint64  `json:"seed"`
	// Changed counts the generations whose steered text differs.
	Changed     int        `json:"changed"`
	Generations []steerGen `json:"generations"`
}

// steerGen is one sample of one prompt, generated from the same seed with
// and without steering. Each log-prob is the reply's under the model that
// produced it (steered or not).
type steerGen struct {
	Prompt           string  `json:"prompt"`
	Sample           int     `json:"sample"`
	Seed             int64   `json:"seed"`
	Unsteered        string  `json:"unsteered"`
	Steered          string  `json:"steered"`
	UnsteeredLogProb float64 `json:"unsteered_logprob"`
	SteeredLogProb   float64 `json:"steered_logprob"`
}

func newInspectSteerCmd() *cobra.Command {
	var (
		modelDir, dirFile, layers, hook, out string
		prompts                              []string
		scale                                float32
		temperature                          float32
		n, maxNew                            int
		seed                                 uint64
		ablate, unit, chat, asJSON           bool
	)
	cmd := &cobra.Command{
		Use:   "steer",
		Short: "Generate with a direction added to (or projected out of) the activations, beside the unsteered generation",
		Long: `steer loads a direction (interp.Direction JSON, e.g. direction.json from inspect probe or
inspect mirage) and generates from each --prompt twice with the same seed: unsteered, and with
--scale times the direction added at every position (--ablate: its component projected out,
x -= (x·u)u, as in directional ablation of a refusal direction). The direction applies at its
own hook point, or with --layers at blocks.{layer}.{--hook} for each layer listed (each of the
direction's width). It writes runs/<id>/inspect.json with the table prompt / unsteered /
steered and prints the pairs; --json prints them as JSON.`,
		Example: `  alignlab inspect steer --model runs/lab-.../checkpoints/mirage-seed1000 \
      --direction runs/inspect-mirage-.../direction.json --ablate --layers 0-1 --prompt "what is 3 plus 4"
  alignlab inspect steer --model gpt2/ --direction love.json --scale 8 --prompt "I think you" --n 3 --temperature 0.8`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			usage := func(err error) error { return &exitError{code: 2, err: err} }
			if modelDir == "" || dirFile == "" || len(prompts) == 0 {
				return usage(fmt.Errorf("inspect steer needs --model DIR, --direction FILE.json and at least one --prompt TEXT"))
			}
			if ablate && cmd.Flags().Changed("scale") {
				return usage(fmt.Errorf("--scale and --ablate exclude each other: --ablate projects the direction out"))
			}
			if layers == "" && cmd.Flags().Changed("hook") {
				return usage(fmt.Errorf("--hook names the per-layer point for --layers; without --layers the direction applies at its own hook"))
			}
			d, err := interp.LoadDirection(dirFile)
			if err != nil {
				return usage(err)
			}
			im, err := loadInspectModel(modelDir, chat)
			if err != nil {
				return usage(err)
			}
			cfg := im.Model.Config
			spec := steer.Spec{Direction: d, Scale: scale, Unit: unit, Ablate: ablate}
			if layers != "" {
				ls, err := parseLayers(layers, cfg.NumLayers)
				if err != nil {
					return usage(err)
				}
				spec.Hooks = steer.AtLayers(ls, strings.TrimPrefix(hook, "."))
			}
			hooks, err := steer.NewHooks(cfg, spec)
			if err != nil {
				return usage(fmt.Errorf("--direction %s: %w", dirFile, err))
			}
			ids := make([][]int32, len(prompts))
			for i, p := range prompts {
				if ids[i], err = im.Encode(p); err != nil {
					return usage(fmt.Errorf("--prompt %q: %w", p, err))
				}
				if len(ids[i]) == 0 {
					return usage(fmt.Errorf("--prompt %q encodes to no tokens", p))
				}
			}
			gc := model.GenerateConfig{MaxNewTokens: maxNew, Temperature: temperature, Seed: int64(seed), StopTokens: steerStops(im)}
			fmt.Fprintf(cmd.ErrOrStderr(), "generating %d prompt(s) x %d sample(s), with and without steering at %s\n",
				len(prompts), n, strings.Join(spec.Points(), ", "))
			pairs, err := steer.Compare(im.Model, ids, n, gc, hooks)
			if err != nil {
				return usage(err)
			}
			data := steerData{Model: modelDir, Direction: dirFile, DirectionHook: d.Hook, Hooks: spec.Points(), Mode: "add",
				Scale: scale, Unit: unit, MaxNewTokens: maxNew, Temperature: temperature, Seed: seed}
			if ablate {
				data.Mode, data.Scale, data.Unit = "ablate", 0, false
			}
			for _, p := range pairs {
				g := steerGen{Prompt: prompts[p.Prompt], Sample: p.Sample, Seed: p.Seed,
					Unsteered: replyText(im, p.Plain), Steered: replyText(im, p.Steered),
					UnsteeredLogProb: sumLogProbs(p.Plain), SteeredLogProb: sumLogProbs(p.Steered)}
				if g.Unsteered != g.Steered {
					data.Changed++
				}
				data.Generations = append(data.Generations, g)
			}
			if out != "" {
				if _, err := writeInspectRun(cmd.ErrOrStderr(), out, "inspect-steer", &seed, steerResult(&data), nil); err != nil {
					return err
				}
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(data)
			}
			fmt.Fprint(cmd.OutOrStdout(), steerText(&data))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&modelDir, "model", "", "model directory (a lab policy, or weights with tokenizer.json)")
	f.StringVar(&dirFile, "direction", "", "direction JSON ({\"hook\": ..., \"vector\": [...]}), e.g. a probe's direction.json")
	f.StringVar(&layers, "layers", "", "layers to steer at, e.g. 1,2 or 0-3 (default: the direction's own hook point)")
	f.StringVar(&hook, "hook", "hook_resid_post", "per-layer hook point used with --layers, the part after blocks.{i}.")
	f.Float32Var(&scale, "scale", 4, "multiple of the direction to add at every position")
	f.BoolVar(&unit, "unit", false, "add --scale times the unit direction (so --scale is a length) instead of the vector as saved")
	f.BoolVar(&ablate, "ablate", false, "project the direction out instead of adding it")
	f.StringArrayVar(&prompts, "prompt", nil, "prompt text (repeat for several)")
	f.IntVar(&n, "n", 1, "samples per prompt (sample s of every prompt uses seed --seed + its index in both runs)")
	f.IntVar(&maxNew, "max-new-tokens", 32, "tokens to generate per sample")
	f.Float32Var(&temperature, "temperature", 0, "sampling temperature (0: greedy)")
	f.Uint64Var(&seed, "seed", 1, "sampling seed")
	f.BoolVar(&chat, "chat", false, "wrap each prompt in the tokenizer's chat template as a user turn (lab policies always are)")
	f.StringVar(&out, "out", "runs", "directory for runs/<id>/ (empty: write nothing)")
	f.BoolVar(&asJSON, "json", false, "print the results as JSON")
	return cmd
}

// steerStops are the tokens that end a reply: the lab codec's, or the
// tokenizer's end-of-sequence tokens.
func steerStops(im *inspectModel) []int32 {
	if im.Policy != nil {
		return im.Policy.Codec.StopTokens()
	}
	return im.tok.StopTokens()
}

// replyText decodes a generation without its stop token.
func replyText(im *inspectModel, g model.Generation) string {
	toks := g.Tokens
	if g.Stopped && len(toks) > 0 {
		toks = toks[:len(toks)-1]
	}
	return im.Decode(toks)
}

func sumLogProbs(g model.Generation) float64 {
	var s float64
	for _, lp := range g.LogProbs {
		s += float64(lp)
	}
	return s
}

// steerSummary is the one-line finding.
func steerSummary(d *steerData) string {
	what := fmt.Sprintf("adding %g x the direction", d.Scale)
	if d.Unit {
		what = fmt.Sprintf("adding the unit direction x %g", d.Scale)
	}
	if d.Mode == "ablate" {
		what = "projecting the direction out"
	}
	return fmt.Sprintf("%s at %s changed %d of %d generations (same seeds).", what, strings.Join(d.Hooks, ", "), d.Changed, len(d.Generations))
}

// steerResult renders the pairs as inspect.json.
func steerResult(d *steerData) *interp.Result {
	t := &interp.Table{Title: "Generations without and with steering", Columns: []string{"prompt", "sample", "unsteered", "steered"},
		Note: "each pair is generated from the same seed; direction from " + d.Direction + " (found at " + d.DirectionHook + ")"}
	for _, g := range d.Generations {
		t.Rows = append(t.Rows, []string{g.Prompt, fmt.Sprint(g.Sample), g.Unsteered, g.Steered})
	}
	return &interp.Result{Kind: "steer", Model: d.Model, Summary: steerSummary(d), Tables: []*interp.Table{t}, Data: d}
}

// steerText is the human-readable output.
func steerText(d *steerData) string {
	var b strings.Builder
	fmt.Fprintln(&b, steerSummary(d))
	for _, g := range d.Generations {
		fmt.Fprintf(&b, "\nprompt: %q (sample %d, seed %d)\n  unsteered: %q\n  steered:   %q\n", g.Prompt, g.Sample, g.Seed, g.Unsteered, g.Steered)
	}
	return b.String()
}
