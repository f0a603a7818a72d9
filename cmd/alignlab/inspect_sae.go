package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/alignlab/alignlab/internal/rundir"
	"github.com/alignlab/alignlab/interp/sae"
	"github.com/alignlab/alignlab/lab"
	"github.com/spf13/cobra"
)

func newInspectSAECmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sae",
		Short: "Sparse autoencoders on a model's activations: train (ReLU+L1 or TopK+AuxK) and evaluate, in SAELens's layout",
		Long: `sae trains a sparse autoencoder on the activations at one hook point of a model, run over a
text file, and measures it: L0, explained variance, dead latents and the cross-entropy loss
recovered when its reconstruction replaces the activation inside the model; it lists each
latent's top-activating tokens in context. SAEs are saved as SAELens saves them
(sae_weights.safetensors + cfg.json), so sae_lens.SAE.load_from_disk opens them.`,
	}
	cmd.AddCommand(newInspectSAETrainCmd(), newInspectSAEEvalCmd())
	return cmd
}

// saeCommon are the flags train and eval share.
type saeCommon struct {
	model, data, hook, out string
	maxTokens, top, window int
	show                   int
	evalFrac               float64
	seed                   uint64
	asJSON                 bool
}

// check reports a flag value no run could use, before any work is done.
func (c *saeCommon) check() error {
	if err := checkNonNegative(intFlag{"--top", c.top}, intFlag{"--window", c.window}, intFlag{"--show", c.show}); err != nil {
		return &exitError{code: 2, err: err}
	}
	return nil
}

func (c *saeCommon) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&c.model, "model", "", "model directory (a lab policy, or config.json + model.safetensors + tokenizer.json)")
	f.StringVar(&c.data, "data", "", `text to run the model on: one text per line, or JSONL with {"text": ...} or {"prompt": ..., "completion": ...} (the CE loss then predicts the completion only)`)
	f.IntVar(&c.maxTokens, "max-tokens", 1<<18, "cache at most this many token activations")
	f.Float64Var(&c.evalFrac, "eval-frac", 0.1, "fraction of the texts held out for the metrics and the CE loss recovered")
	f.IntVar(&c.top, "top", 10, "top-activating examples kept per latent")
	f.IntVar(&c.window, "window", 6, "tokens of context on each side of an example")
	f.IntVar(&c.show, "show", 8, "latents shown in the report (the most frequently firing)")
	f.Uint64Var(&c.seed, "seed", 1, "seed of the held-out split, the initialisation and the batch order")
	f.StringVar(&c.out, "out", "runs", "directory for runs/<id>/ (empty: write nothing)")
	f.BoolVar(&c.asJSON, "json", false, "print the results as JSON")
}

func newInspectSAETrainCmd() *cobra.Command {
	var (
		c         saeCommon
		arch      string
		dSae      int
		expansion int
		k         int
		fit       sae.FitConfig
		meanInit  bool
	)
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Cache a hook's activations over a text file and train an SAE on them",
		Long: `train runs the model over --data, caches the activation at --hook for every token, holds out
--eval-frac of the texts, and trains an SAE: --arch topk (Gao et al. 2024: the k largest
latents, with the AuxK loss reviving dead latents) or --arch relu (ReLU with an L1 penalty,
optionally weighted by decoder norms). Adam with learning-rate and L1 warm-up; decoder rows kept
at unit norm. Progress (step, MSE, L0, dead fraction, explained variance, activations/s) goes to
stderr. It writes runs/<id>/ with the SAE in SAELens's layout (sae/), inspect.json (training
curves, metrics, top examples), top_examples.json (every latent) and a report.`,
		Example: `  alignlab inspect sae train --model lab/assets/bases/base --data texts.jsonl --hook blocks.1.hook_resid_post
  alignlab inspect sae train --model DIR --data texts.txt --hook blocks.2.hook_resid_post --arch relu --l1 5 --expansion 16`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c.model == "" || c.data == "" || c.hook == "" {
				return &exitError{code: 2, err: fmt.Errorf("inspect sae train needs --model, --data and --hook")}
			}
			if err := c.check(); err != nil {
				return err
			}
			switch {
			case !(c.evalFrac > 0 && c.evalFrac < 1):
				return &exitError{code: 2, err: fmt.Errorf("--eval-frac %v: want a fraction in (0, 1)", c.evalFrac)}
			case fit.Batch < 1:
				return &exitError{code: 2, err: fmt.Errorf("--batch %d: want 1 or more", fit.Batch)}
			case fit.L1Coeff < 0:
				return &exitError{code: 2, err: fmt.Errorf("--l1 %v: want 0 or more", fit.L1Coeff)}
			}
			var a sae.Architecture
			switch arch {
			case "topk":
				a = sae.TopK
			case "relu", "standard":
				a = sae.Standard
			default:
				return &exitError{code: 2, err: fmt.Errorf("--arch %q: want topk or relu", arch)}
			}
			if meanInit {
				fit.MedianInit = false
			}
			return runSAETrain(cmd, c, a, dSae, expansion, k, fit)
		},
	}
	c.flags(cmd)
	f := cmd.Flags()
	f.StringVar(&c.hook, "hook", "", "hook point, TransformerLens name (e.g. blocks.2.hook_resid_post)")
	f.StringVar(&arch, "arch", "topk", "topk or relu (SAELens's standard: ReLU with an L1 penalty)")
	f.IntVar(&dSae, "d-sae", 0, "number of latents (default: --expansion × d_in)")
	f.IntVar(&expansion, "expansion", 8, "latents per input dimension, when --d-sae is not given")
	f.IntVar(&k, "k", 32, "latents kept per token (topk)")
	f.Float64Var(&fit.L1Coeff, "l1", 5, "L1 coefficient (relu)")
	f.IntVar(&fit.L1WarmupSteps, "l1-warmup", 0, "steps over which the L1 coefficient warms up from 0 (default: steps/20)")
	f.BoolVar(&fit.ScaleL1ByDecoderNorm, "l1-decoder-norm", false, "weight each latent's L1 term by its decoder norm (Anthropic, April 2024) instead of holding decoder rows at unit norm (relu)")
	f.Float64Var(&fit.AuxKCoeff, "aux-k-coeff", 1.0/32, "AuxK loss coefficient (topk; negative turns it off)")
	f.IntVar(&fit.KAux, "aux-k", 0, "dead latents the AuxK loss uses (default d_in/2)")
	f.IntVar(&fit.DeadTokens, "dead-tokens", 0, "tokens without firing after which a latent counts as dead (default: one pass over the training tokens, at most 1,000,000)")
	f.IntVar(&fit.Steps, "steps", 1000, "training steps")
	f.IntVar(&fit.Batch, "batch", 4096, "activations per step")
	f.Float64Var(&fit.LR, "lr", 1e-3, "Adam learning rate")
	f.IntVar(&fit.LRWarmupSteps, "lr-warmup", 0, "steps of linear learning-rate warm-up (default: steps/20)")
	f.BoolVar(&fit.NormalizeActivations, "normalize", true, "train on activations scaled to mean norm sqrt(d_in) (SAELens's expected_average_only_in, so --l1 means the same at any layer); the scale is folded into the saved weights")
	f.BoolVar(&meanInit, "b-dec-mean", false, "initialise b_dec to the mean of the activations instead of their geometric median")
	fit.MedianInit = true
	return cmd
}

func newInspectSAEEvalCmd() *cobra.Command {
	var (
		c      saeCommon
		saeDir string
	)
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Measure a saved SAE (SAELens layout) on a model and a text file",
		Long: `eval loads an SAE directory (cfg.json + sae_weights.safetensors, as SAELens or inspect sae
train saves them), runs the model over --data and reports L0, explained variance, dead latents,
the CE loss recovered at the SAE's hook (cfg.json's hook_name, or --hook) and top examples.
Every text is evaluated (--eval-frac is ignored).`,
		Example: `  alignlab inspect sae eval --sae runs/inspect-sae-.../sae --model lab/assets/bases/base --data texts.jsonl`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if saeDir == "" || c.model == "" || c.data == "" {
				return &exitError{code: 2, err: fmt.Errorf("inspect sae eval needs --sae, --model and --data")}
			}
			if err := c.check(); err != nil {
				return err
			}
			return runSAEEval(cmd, c, saeDir)
		},
	}
	c.flags(cmd)
	cmd.Flags().StringVar(&saeDir, "sae", "", "SAE directory (cfg.json + sae_weights.safetensors)")
	cmd.Flags().StringVar(&c.hook, "hook", "", "hook point (default: cfg.json's hook_name)")
	return cmd
}

// saeActs are a hook's cached activations over the texts, split into the
// rows trained on and the rows held out (whole texts).
type saeActs struct {
	im          *inspectModel
	seqs        [][]int32
	x           []float32 // every row
	refs        []sae.TokenRef
	width       int
	train, eval []float32
	nTrain      int
	evalSeqs    [][]int32
	evalMasks   [][]bool // which tokens the CE loss predicts (nil: all)
}

func cacheSAEActs(c saeCommon, hook string, holdOut bool, log io.Writer) (*saeActs, error) {
	im, err := loadInspectModel(c.model, false)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	texts, err := readTexts(c.data)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	a := &saeActs{im: im}
	tokens := 0
	var masks [][]bool
	for i, t := range texts {
		ids, mask, err := encodeSAEText(im, t)
		if err != nil {
			return nil, &exitError{code: 2, err: fmt.Errorf("--data %s text %d: %w", c.data, i+1, err)}
		}
		if n := im.Model.Config.MaxSeqLen; len(ids) > n {
			ids = ids[:n]
			if mask != nil {
				mask = mask[:n]
			}
		}
		if tokens+len(ids) > c.maxTokens {
			break
		}
		tokens += len(ids)
		a.seqs = append(a.seqs, ids)
		masks = append(masks, mask)
	}
	if len(a.seqs) == 0 {
		return nil, &exitError{code: 2, err: fmt.Errorf("--data %s: no text fits in --max-tokens %d", c.data, c.maxTokens)}
	}
	fmt.Fprintf(log, "sae: caching %s over %d texts (%d tokens)\n", hook, len(a.seqs), tokens)
	a.x, a.width, a.refs, err = sae.CacheActivations(im.Model, hook, a.seqs)
	if err != nil {
		return nil, &exitError{code: 2, err: fmt.Errorf("--hook %s: %w", hook, err)}
	}
	held := map[int]bool{}
	if holdOut {
		rng := rand.New(rand.NewPCG(c.seed, 0xe7a1))
		nEval := max(1, int(c.evalFrac*float64(len(a.seqs))+0.5))
		if len(a.seqs) < 2 {
			return nil, &exitError{code: 2, err: fmt.Errorf("--data %s: need at least 2 texts to hold some out", c.data)}
		}
		for _, i := range rng.Perm(len(a.seqs))[:min(nEval, len(a.seqs)-1)] {
			held[i] = true
		}
	}
	w := a.width
	for r, ref := range a.refs {
		row := a.x[r*w : (r+1)*w]
		if !holdOut || !held[ref.Seq] {
			a.train = append(a.train, row...)
			a.nTrain++
		}
		if !holdOut || held[ref.Seq] {
			a.eval = append(a.eval, row...)
		}
	}
	for i, s := range a.seqs {
		if !holdOut || held[i] {
			a.evalSeqs = append(a.evalSeqs, s)
			a.evalMasks = append(a.evalMasks, masks[i])
		}
	}
	return a, nil
}

func runSAETrain(cmd *cobra.Command, c saeCommon, arch sae.Architecture, dSae, expansion, k int, fit sae.FitConfig) error {
	log := unlessQuiet(cmd.ErrOrStderr(), quietFlag(cmd))
	a, err := cacheSAEActs(c, c.hook, true, log)
	if err != nil {
		return err
	}
	if dSae == 0 {
		dSae = expansion * a.width
	}
	s, err := sae.New(a.width, dSae, arch, k, c.seed)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	s.Meta = sae.Meta{ModelName: filepath.Base(filepath.Clean(c.model)), HookName: c.hook, HookLayer: hookLayer(c.hook),
		ContextSize: a.im.Model.Config.MaxSeqLen, DatasetPath: c.data}
	fit.Seed = c.seed
	if fit.LRWarmupSteps == 0 {
		fit.LRWarmupSteps = fit.Steps / 20
	}
	if fit.L1WarmupSteps == 0 {
		fit.L1WarmupSteps = fit.Steps / 20
	}
	if fit.DeadTokens == 0 {
		fit.DeadTokens = min(max(a.nTrain, fit.Batch), 1_000_000)
	}
	batch := min(fit.Batch, a.nTrain)
	start := time.Now()
	var curve []sae.StepStats
	fit.Every = max(1, fit.Steps/50)
	fit.Progress = func(st sae.StepStats) {
		curve = append(curve, st)
		if st.Step%max(1, fit.Steps/10) == 0 || st.Step == fit.Steps {
			rate := float64(st.Step*batch) / time.Since(start).Seconds()
			fmt.Fprintf(log, "sae: step %d/%d  mse %.4g  L0 %.1f  dead %.3f  explained variance %.3f  %.0f acts/s\n",
				st.Step, fit.Steps, st.MSE, st.L0, st.Dead, st.ExplainedVariance, rate)
		}
	}
	fmt.Fprintf(log, "sae: training %s d_in %d d_sae %d on %d activations, %d steps of %d\n", arch, a.width, dSae, a.nTrain, fit.Steps, batch)
	if fit.NormalizeActivations {
		fmt.Fprintln(log, "sae: activations scaled to mean norm sqrt(d_in) while training (MSE below in those units)")
	}
	if _, err := sae.Fit(s, a.train, a.nTrain, fit); err != nil {
		return &exitError{code: 2, err: err}
	}
	elapsed := time.Since(start)
	rep := &sae.Report{Model: c.model, Hook: c.hook, Architecture: arch, DIn: a.width, DSae: dSae, K: s.K,
		TrainTokens: a.nTrain, EvalTokens: len(a.eval) / a.width, Steps: fit.Steps, Batch: batch,
		ActsPerSecond: float64(fit.Steps*batch) / elapsed.Seconds(), Curve: curve}
	if arch == sae.Standard {
		rep.L1Coeff = fit.L1Coeff
	}
	if fit.NormalizeActivations {
		rep.InputScale = float64(sae.NormScale(a.train, a.nTrain, a.width))
	}
	return finishSAE(cmd, c, a, s, rep, log)
}

func runSAEEval(cmd *cobra.Command, c saeCommon, dir string) error {
	log := unlessQuiet(cmd.ErrOrStderr(), quietFlag(cmd))
	s, err := sae.Load(dir)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if c.hook == "" {
		c.hook = s.Meta.HookName
	}
	if c.hook == "" {
		return &exitError{code: 2, err: fmt.Errorf("--sae %s: cfg.json names no hook_name; pass --hook", dir)}
	}
	a, err := cacheSAEActs(c, c.hook, false, log)
	if err != nil {
		return err
	}
	if a.width != s.DIn {
		return &exitError{code: 2, err: fmt.Errorf("--hook %s has width %d but the SAE's d_in is %d", c.hook, a.width, s.DIn)}
	}
	rep := &sae.Report{Model: c.model, Hook: c.hook, Architecture: s.Arch, DIn: s.DIn, DSae: s.DSae, K: s.K,
		EvalTokens: len(a.eval) / a.width}
	return finishSAE(cmd, c, a, s, rep, log)
}

// finishSAE measures s on the held-out rows, finds top examples, and
// writes and prints the results.
func finishSAE(cmd *cobra.Command, c saeCommon, a *saeActs, s *sae.SAE, rep *sae.Report, log io.Writer) error {
	nEval := len(a.eval) / a.width
	rep.Eval = sae.Evaluate(s, a.eval, nEval)
	fmt.Fprintf(log, "sae: CE loss recovered over %d texts\n", len(a.evalSeqs))
	ce, err := sae.CELossRecovered(a.im.Model, c.hook, s, a.evalSeqs, a.evalMasks)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	rep.CE = ce
	all := sae.TopExamples(s, a.x, len(a.refs), a.refs, a.seqs, c.top, c.window, a.im.Token)
	rep.Latents = sae.ShowLatents(all, c.show)
	if c.out != "" {
		seed := c.seed
		dir, _, err := rundir.Create(c.out, "inspect-sae", os.Args, &seed, version)
		if err != nil {
			return &exitError{code: 2, err: err}
		}
		rep.SAEDir = filepath.Join(dir, "sae")
		if err := s.Save(rep.SAEDir); err != nil {
			return &exitError{code: 2, err: err}
		}
		if err := writeResultFile(dir, rep.Result()); err != nil {
			return &exitError{code: 2, err: err}
		}
		if err := writeJSONFile(filepath.Join(dir, "top_examples.json"), all); err != nil {
			return &exitError{code: 2, err: err}
		}
		fmt.Fprintln(cmd.ErrOrStderr(), "wrote", dir)
		inspectReport(log, dir)
	}
	if c.asJSON {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintln(cmd.OutOrStdout(), rep.Text())
	return nil
}

func writeJSONFile(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// hookLayer is the block index in a hook name ("blocks.2.hook_resid_post"
// is 2), or 0 for the embedding hooks.
func hookLayer(hook string) int {
	rest, ok := strings.CutPrefix(hook, "blocks.")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(strings.SplitN(rest, ".", 2)[0])
	if err != nil {
		return 0
	}
	return n
}

// saeText is one line of --data: plain text, or a prompt and its
// completion (only the completion's tokens are predicted in the CE loss).
type saeText struct {
	Text       *string `json:"text"`
	Prompt     *string `json:"prompt"`
	Completion *string `json:"completion"`
}

// readTexts reads one text per non-empty line; a line that is a JSON
// object contributes its "text" field, or its "prompt" and "completion".
func readTexts(path string) ([]saeText, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--data: %w", err)
	}
	defer f.Close()
	var texts []saeText
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for ln := 1; sc.Scan(); ln++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var rec saeText
		if strings.HasPrefix(line, "{") {
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				return nil, fmt.Errorf("--data %s line %d: %w", path, ln, err)
			}
			if rec.Text == nil && (rec.Prompt == nil || rec.Completion == nil) {
				return nil, fmt.Errorf(`--data %s line %d: a JSON line needs "text", or "prompt" and "completion"`, path, ln)
			}
		} else {
			rec.Text = &line
		}
		texts = append(texts, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--data %s: %w", path, err)
	}
	if len(texts) == 0 {
		return nil, fmt.Errorf("--data %s: no texts", path)
	}
	return texts, nil
}

// encodeSAEText tokenizes one text as the model reads it (a lab policy:
// as a user turn; a prompt and completion: as a user turn and the
// assistant's reply) and marks the tokens the CE loss predicts (nil:
// all).
func encodeSAEText(im *inspectModel, t saeText) ([]int32, []bool, error) {
	if t.Text != nil {
		ids, err := im.Encode(*t.Text)
		return ids, nil, err
	}
	if im.Policy != nil {
		return im.Policy.Codec.EncodeChat([]lab.Message{{Role: "user", Content: *t.Prompt}, {Role: "assistant", Content: *t.Completion}}, false)
	}
	ids, err := im.Encode(*t.Prompt)
	if err != nil {
		return nil, nil, err
	}
	mask := make([]bool, len(ids))
	for _, id := range im.tok.EncodeOrdinary(*t.Completion) {
		ids = append(ids, id)
		mask = append(mask, true)
	}
	return ids, mask, nil
}
