// Activation patching: run a corrupted input with activations taken from
// a clean run of the same length, one (layer, position) or (layer, head)
// at a time, and measure how much of the clean behaviour each restores.

package interp

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/alignlab/alignlab/model"
)

// Metric scores the logits [T·V] of one sequence of T tokens.
type Metric func(logits []float32, T, V int) float64

// LogitDiff is logit(correct) − logit(wrong) at pos (negative counts from
// the end): the default patching metric, at the last position. It is NaN
// when pos or a token is out of range.
func LogitDiff(pos int, correct, wrong int32) Metric {
	return func(logits []float32, T, V int) float64 {
		p := pos
		if p < 0 {
			p += T
		}
		if p < 0 || p >= T || !inVocab(correct, V) || !inVocab(wrong, V) {
			return math.NaN()
		}
		row := logits[p*V : (p+1)*V]
		return float64(row[correct]) - float64(row[wrong])
	}
}

// Patch replaces part of one hook's activation with the same part of
// Source (the activation of the same hook on another run of the same
// shape, e.g. a clean Cache's).
type Patch struct {
	Hook   string
	Source *Activation
	// Positions are the token positions patched (nil: all; negative counts
	// from the end); for attn.hook_attn_scores and attn.hook_pattern, the
	// query positions.
	Positions []int
	// Heads are the heads patched (nil: all), for the points with a head
	// axis: attn.hook_q/rot_q/z and the attention scores and pattern count
	// query heads, attn.hook_k/rot_k/v the KV heads.
	Heads []int
}

// apply overwrites act (shape [B, T, ...], or [B, nH, T, T] for an
// attention map) with the patch's part of the source.
func (p *Patch) apply(act []float32, shape []int) {
	if model.IsAttentionMap(p.Hook) {
		p.applyAttnMap(act, shape)
		return
	}
	B, T := shape[0], shape[1]
	row := len(act) / (B * T)
	hd, nH := row, 1
	if len(shape) == 4 {
		nH, hd = shape[2], shape[3]
	}
	src := p.Source.Data
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			if p.Positions != nil && !slices.Contains(p.Positions, t) {
				continue
			}
			off := (b*T + t) * row
			if p.Heads == nil {
				copy(act[off:off+row], src[off:off+row])
				continue
			}
			for _, h := range p.Heads {
				if h >= 0 && h < nH {
					copy(act[off+h*hd:off+(h+1)*hd], src[off+h*hd:off+(h+1)*hd])
				}
			}
		}
	}
}

// applyAttnMap overwrites the patched (head, query position) rows of an
// attention map [B, nH, T, T], each row a query's scores or weights over
// every key.
func (p *Patch) applyAttnMap(act []float32, shape []int) {
	B, nH, T := shape[0], shape[1], shape[2]
	src := p.Source.Data
	for b := 0; b < B; b++ {
		for h := 0; h < nH; h++ {
			if p.Heads != nil && !slices.Contains(p.Heads, h) {
				continue
			}
			for t := 0; t < T; t++ {
				if p.Positions != nil && !slices.Contains(p.Positions, t) {
					continue
				}
				off := ((b*nH+h)*T + t) * T
				copy(act[off:off+T], src[off:off+T])
			}
		}
	}
}

// RunPatched runs B sequences of T tokens with the patches applied at
// their hooks and returns the logits (a view valid until the next call on
// m, as Forward's).
func RunPatched(m *model.Model, tokens []int32, B, T int, patches []Patch) ([]float32, error) {
	h := model.NewHooks()
	for i := range patches {
		p, err := patches[i].resolve(m.Config, B, T)
		if err != nil {
			return nil, err
		}
		h.Add(p.Hook, func(_ string, act []float32, shape []int) { p.apply(act, shape) })
	}
	return m.Forward(tokens, B, T, h)
}

// resolve checks p against a run of B sequences of T tokens and returns a
// copy with its positions in [0, T): one hook point of the model, a source
// of the shape that point fires, positions inside the sequence and heads
// that the point has.
func (p *Patch) resolve(cfg model.Config, B, T int) (*Patch, error) {
	if p.Hook == "*" || !slices.Contains(model.HookNames(cfg), p.Hook) {
		return nil, fmt.Errorf("patch %q: name one hook point of this model (see model.HookNames)", p.Hook)
	}
	if p.Source == nil {
		return nil, fmt.Errorf("patch %s: no source activation", p.Hook)
	}
	want := hookShape(cfg, p.Hook, B, T)
	if !slices.Equal(want, p.Source.Shape) {
		return nil, fmt.Errorf("patch %s: source shape %v, the run fires %v (cache the source without a positions filter)", p.Hook, p.Source.Shape, want)
	}
	r := *p
	if p.Positions != nil {
		pos, err := resolvePositions(p.Positions, T)
		if err != nil {
			return nil, fmt.Errorf("patch %s: %w", p.Hook, err)
		}
		r.Positions = pos
	}
	if p.Heads != nil {
		heads := 0 // the head axis, if the point has one
		switch {
		case model.IsAttentionMap(p.Hook):
			heads = want[1]
		case len(want) == 4:
			heads = want[2]
		}
		for _, h := range p.Heads {
			if h < 0 || h >= heads {
				return nil, fmt.Errorf("patch %s: head %d, but the point has %d heads", p.Hook, h, heads)
			}
		}
	}
	return &r, nil
}

// patchBatchTokens bounds the tokens of one batched patching pass (its
// logits are patchBatchTokens·VocabSize floats: 100 MB at GPT-2's vocabulary).
const patchBatchTokens = 512

// PatchOptions configures ActivationPatching.
type PatchOptions struct {
	// Metric scores a run (default LogitDiff(-1, Correct, Wrong)).
	Metric Metric
	// Correct and Wrong are the default metric's tokens.
	Correct, Wrong int32
	// Hooks are the per-layer points patched per (layer, position), as
	// suffixes after "blocks.{l}.": default hook_resid_pre, hook_attn_out
	// and hook_mlp_out. For attn.hook_attn_scores and attn.hook_pattern a
	// position is a query: its row of every head is patched.
	Hooks []string
	// NoHeads skips patching attn.hook_z per (layer, head) (over all
	// positions), which is done by default.
	NoHeads bool
	// Labels name the positions in the matrices (default "0", "1", ...).
	Labels []string
	// Progress, when set, is called after each patched run.
	Progress func(done, total int)
}

// Patching is the result of ActivationPatching.
type Patching struct {
	// Clean and Corrupt are the metric on the unpatched runs.
	Clean   float64 `json:"clean"`
	Corrupt float64 `json:"corrupt"`
	// Matrices hold the normalized metric (m − Corrupt)/(Clean − Corrupt):
	// one layer x position matrix per hook, then layer x head for hook_z.
	Matrices []*Matrix `json:"matrices"`
}

// ActivationPatching patches each hook of opts.Hooks per (layer,
// position), and each head's output (attn.hook_z) per (layer, head), from
// the clean run into the corrupted one, and reports the normalized metric:
// 0 = the corrupted run's value, 1 = the clean run's. The patched runs of
// one hook and layer are batched (up to 512 tokens a pass); a cell then
// differs from its own RunPatched only by the matmuls' rounding (~1e-6).
func ActivationPatching(m *model.Model, clean, corrupt []int32, opts PatchOptions) (*Patching, error) {
	cfg := m.Config
	T := len(clean)
	if T == 0 || len(corrupt) != T {
		return nil, fmt.Errorf("patching: clean has %d tokens and corrupted %d; they must have the same positive length", T, len(corrupt))
	}
	metric := opts.Metric
	if metric == nil {
		V := int32(cfg.VocabSize)
		if opts.Correct < 0 || opts.Correct >= V || opts.Wrong < 0 || opts.Wrong >= V {
			return nil, fmt.Errorf("patching: tokens %d and %d must lie in the vocabulary [0, %d)", opts.Correct, opts.Wrong, V)
		}
		metric = LogitDiff(-1, opts.Correct, opts.Wrong)
	}
	hooks := opts.Hooks
	if hooks == nil {
		hooks = []string{"hook_resid_pre", "hook_attn_out", "hook_mlp_out"}
	}
	labels := opts.Labels
	if labels == nil {
		labels = make([]string, T)
		for i := range labels {
			labels[i] = strconv.Itoa(i)
		}
	}
	if len(labels) != T {
		return nil, fmt.Errorf("patching: %d position labels for %d positions", len(labels), T)
	}
	var names []string
	for _, hk := range hooks {
		names = append(names, "blocks.*."+hk)
	}
	if !opts.NoHeads {
		names = append(names, "blocks.*.attn.hook_z")
	}
	cc, err := RunWithCache(m, clean, 1, T, CacheOptions{Filter: NamesFilter{Names: names}})
	if err != nil {
		return nil, fmt.Errorf("patching: clean run: %w", err)
	}
	V := cfg.VocabSize
	res := &Patching{Clean: metric(cc.Logits, T, V)}
	if math.IsNaN(res.Clean) {
		return nil, fmt.Errorf("patching: the metric is NaN on the clean run: is its position or a token out of range?")
	}
	logits, err := m.Forward(corrupt, 1, T, nil)
	if err != nil {
		return nil, fmt.Errorf("patching: corrupted run: %w", err)
	}
	res.Corrupt = metric(logits, T, V)
	span := res.Clean - res.Corrupt
	if span == 0 || math.IsNaN(span) {
		return nil, fmt.Errorf("patching: the metric is %g on both runs, so there is nothing to restore; pick inputs or tokens that differ", res.Clean)
	}
	const metricName = "normalized metric (0 = corrupted, 1 = clean)"
	layers := make([]string, cfg.NumLayers)
	for l := range layers {
		layers[l] = strconv.Itoa(l)
	}
	total := len(hooks) * cfg.NumLayers * T
	if !opts.NoHeads {
		total += cfg.NumLayers * cfg.NumHeads
	}
	done := 0
	// Each job is one patched run; the jobs of one hook and layer run as
	// the rows of batched forward passes, which keeps the matmuls wide.
	batch := max(1, patchBatchTokens/T)
	tokens := make([]int32, 0, batch*T)
	runJobs := func(name string, jobs []Patch) ([]float64, error) {
		out := make([]float64, 0, len(jobs))
		for lo := 0; lo < len(jobs); lo += batch {
			part := jobs[lo:min(lo+batch, len(jobs))]
			B := len(part)
			tokens = tokens[:0]
			for range part {
				tokens = append(tokens, corrupt...)
			}
			h := model.NewHooks()
			h.Add(name, func(_ string, act []float32, shape []int) {
				n := len(act) / B
				one := append([]int{1}, shape[1:]...)
				for b := range part {
					part[b].apply(act[b*n:(b+1)*n], one)
				}
			})
			logits, err := m.Forward(tokens, B, T, h)
			if err != nil {
				return nil, fmt.Errorf("patching %s: %w", name, err)
			}
			for b := range part {
				v := (metric(logits[b*T*V:(b+1)*T*V], T, V) - res.Corrupt) / span
				if v == 0 {
					v = 0 // not -0 (a negative span), which prints as "-0.000"
				}
				out = append(out, v)
			}
			done += B
			if opts.Progress != nil {
				opts.Progress(done, total)
			}
		}
		return out, nil
	}
	for _, hk := range hooks {
		mat := NewMatrix("Patching blocks.{layer}."+hk+" per position", "layer", "position", metricName, layers, slices.Clone(labels))
		for l := 0; l < cfg.NumLayers; l++ {
			name := "blocks." + strconv.Itoa(l) + "." + hk
			src := cc.Get(name)
			if src == nil {
				return nil, fmt.Errorf("patching: %s is no hook point of this model", name)
			}
			jobs := make([]Patch, T)
			for t := range jobs {
				jobs[t] = Patch{Hook: name, Source: src, Positions: []int{t}}
			}
			if mat.Values[l], err = runJobs(name, jobs); err != nil {
				return nil, err
			}
		}
		res.Matrices = append(res.Matrices, mat)
	}
	if !opts.NoHeads {
		heads := make([]string, cfg.NumHeads)
		for h := range heads {
			heads[h] = strconv.Itoa(h)
		}
		mat := NewMatrix("Patching head outputs (attn.hook_z, all positions)", "layer", "head", metricName, layers, heads)
		for l := 0; l < cfg.NumLayers; l++ {
			name := "blocks." + strconv.Itoa(l) + ".attn.hook_z"
			jobs := make([]Patch, cfg.NumHeads)
			for h := range jobs {
				jobs[h] = Patch{Hook: name, Source: cc.Get(name), Heads: []int{h}}
			}
			if mat.Values[l], err = runJobs(name, jobs); err != nil {
				return nil, err
			}
		}
		res.Matrices = append(res.Matrices, mat)
	}
	return res, nil
}
