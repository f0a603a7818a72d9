package sae

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/alignlab/alignlab/interp"
)

// Report is what `alignlab inspect sae` finds: the SAE's shape, its
// training curve, its metrics on held-out activations, the loss recovered
// in the model and its latents' top examples. It is the Data of the
// inspect.json Result.
type Report struct {
	Model        string       `json:"model"`
	Hook         string       `json:"hook"`
	Architecture Architecture `json:"architecture"`
	DIn          int          `json:"d_in"`
	DSae         int          `json:"d_sae"`
	K            int          `json:"k,omitempty"`
	L1Coeff      float64      `json:"l1_coefficient,omitempty"`
	// InputScale is the factor the activations were scaled by in training
	// (mean norm sqrt(d_in)), folded into the saved weights; 0 when not.
	InputScale float64 `json:"input_scale,omitempty"`
	// TrainTokens and EvalTokens count the cached activations trained on
	// and held out (whole sequences are held out).
	TrainTokens int `json:"train_tokens"`
	EvalTokens  int `json:"eval_tokens"`
	Steps       int `json:"steps,omitempty"`
	Batch       int `json:"batch,omitempty"`
	// ActsPerSecond is the training throughput (activations per second of
	// wall time, over the whole run).
	ActsPerSecond float64 `json:"acts_per_second,omitempty"`
	// Eval are the reconstruction and sparsity metrics on held-out
	// activations.
	Eval Metrics `json:"eval"`
	// CE is the cross-entropy loss recovered on the held-out sequences.
	CE CEResult `json:"ce"`
	// Curve is the training statistics every few steps.
	Curve []StepStats `json:"curve,omitempty"`
	// Latents are the top examples of the latents shown in the report
	// (the most frequently firing ones); all latents' examples are in
	// the run's top_examples.json.
	Latents []LatentExamples `json:"latents,omitempty"`
	// SAEDir is where the SAE was saved, in SAELens's layout.
	SAEDir string `json:"sae_dir,omitempty"`
}

// ShowLatents picks n latents to show: the most frequently firing ones,
// in order of frequency.
func ShowLatents(all []LatentExamples, n int) []LatentExamples {
	s := append([]LatentExamples(nil), all...)
	sort.SliceStable(s, func(a, b int) bool { return s[a].Firing > s[b].Firing })
	if len(s) > n {
		s = s[:max(n, 0)]
	}
	return s
}

// Summary is the one-line finding.
func (r *Report) Summary() string {
	arch := string(r.Architecture)
	if r.Architecture == TopK {
		arch = fmt.Sprintf("TopK (k=%d)", r.K)
	} else {
		arch = "ReLU+L1"
	}
	return fmt.Sprintf("%s SAE at %s (d_in %d, d_sae %d): L0 %.1f, explained variance %.3f, %.1f%% dead latents, CE loss recovered %.3f (clean %.3f, SAE %.3f, zero-ablated %.3f) over %d predicted tokens%s.",
		arch, r.Hook, r.DIn, r.DSae, r.Eval.L0, r.Eval.ExplainedVariance, 100*r.Eval.DeadFraction,
		r.CE.Recovered, r.CE.Clean, r.CE.SAE, r.CE.Zero, r.CE.Tokens, heldOut(r))
}

func heldOut(r *Report) string {
	if r.TrainTokens > 0 {
		return " of held-out texts"
	}
	return ""
}

// Text is the report for a terminal.
func (r *Report) Text() string {
	var b strings.Builder
	fmt.Fprintln(&b, r.Summary())
	if r.SAEDir != "" {
		fmt.Fprintf(&b, "SAE saved to %s (SAELens layout)\n", r.SAEDir)
	}
	for _, l := range r.Latents {
		fmt.Fprintf(&b, "latent %d (fires on %.1f%% of tokens):\n", l.Latent, 100*l.Firing)
		for _, e := range l.Examples[:min(3, len(l.Examples))] {
			fmt.Fprintf(&b, "  %7.3f  %q\n", e.Activation, e.Context)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// Result is the inspect.json of the run: training curves, the metrics
// table, a table of top examples per shown latent, and the report as Data.
func (r *Report) Result() *interp.Result {
	res := &interp.Result{Kind: "sae", Model: r.Model, Summary: r.Summary(), Data: r}
	if len(r.Curve) > 0 {
		x := make([]float64, len(r.Curve))
		lines := map[string][]float64{}
		for i, s := range r.Curve {
			x[i] = float64(s.Step)
			lines["mse"] = append(lines["mse"], s.MSE)
			lines["explained variance"] = append(lines["explained variance"], s.ExplainedVariance)
			lines["L0"] = append(lines["L0"], s.L0)
			lines["dead fraction"] = append(lines["dead fraction"], s.Dead)
		}
		for _, c := range []struct{ key, title, y, note string }{
			{"mse", "Reconstruction error during training", "MSE (summed over d_in)", "Per training batch."},
			{"explained variance", "Explained variance during training", "1 - MSE/variance", "Per training batch."},
			{"L0", "Latents firing per token during training", "L0", "Per training batch."},
			{"dead fraction", "Dead latents during training", "fraction of latents", "A latent is dead when it has not fired for the dead-token window."},
		} {
			res.Series = append(res.Series, &interp.Series{Title: c.title, XLabel: "step", YLabel: c.y, X: x,
				Lines: []interp.Line{{Name: c.key, Y: finite(lines[c.key])}}, Note: c.note})
		}
	}
	f := func(v float64) string { return fmt.Sprintf("%.4g", v) }
	res.Tables = append(res.Tables, &interp.Table{
		Title:   "SAE metrics (held-out texts when trained in this run)",
		Columns: []string{"metric", "value"},
		Rows: [][]string{
			{"architecture", string(r.Architecture)}, {"d_in × d_sae", fmt.Sprintf("%d × %d", r.DIn, r.DSae)},
			{"L0", f(r.Eval.L0)}, {"explained variance", f(r.Eval.ExplainedVariance)}, {"MSE", f(r.Eval.MSE)},
			{"dead latents", f(r.Eval.DeadFraction)}, {"CE clean", f(r.CE.Clean)}, {"CE with SAE", f(r.CE.SAE)},
			{"CE zero-ablated", f(r.CE.Zero)}, {"CE loss recovered", f(r.CE.Recovered)},
			{"evaluation tokens", fmt.Sprint(r.EvalTokens)}, {"training tokens", fmt.Sprint(r.TrainTokens)},
		},
		Note: "CE loss recovered = (CE_zero - CE_sae) / (CE_zero - CE_clean): 1 means splicing the reconstruction in at the hook costs nothing.",
	})
	if len(r.Latents) > 0 {
		t := &interp.Table{Title: "Top-activating examples", Columns: []string{"latent", "firing", "activation", "token", "context"},
			Note: "The most frequently firing latents, each with its highest activations; the token is marked «so» in its context."}
		for _, l := range r.Latents {
			for _, e := range l.Examples[:min(5, len(l.Examples))] {
				t.Rows = append(t.Rows, []string{fmt.Sprint(l.Latent), fmt.Sprintf("%.3f", l.Firing), fmt.Sprintf("%.3f", e.Activation), e.Token, e.Context})
			}
		}
		res.Tables = append(res.Tables, t)
	}
	return res
}

// finite replaces NaN and infinities (which JSON cannot hold) with 0.
func finite(v []float64) []float64 {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			v[i] = 0
		}
	}
	return v
}
