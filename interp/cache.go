// The activation cache: run a model once and keep copies of the activations
// a filter names, as TransformerLens's run_with_cache(names_filter=...)
// does, optionally with the gradients of a scalar metric of the logits.

package interp

import (
	"fmt"
	"math"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/alignlab/alignlab/model"
)

// NamesFilter selects hook points and positions to keep. The zero value
// keeps every hook point at every position.
type NamesFilter struct {
	// Names are exact hook names ("blocks.3.hook_resid_post"), glob
	// patterns matched by path.Match ("blocks.*.hook_attn_out", "*resid*"),
	// or regular expressions written "re:" + pattern
	// ("re:^blocks\.[0-3]\.attn\.hook_(q|k)$"). Empty keeps every name.
	Names []string
	// Func, when set, must also accept a name (TransformerLens's callable
	// names_filter).
	Func func(name string) bool
	// Layers restricts per-layer hooks (blocks.{i}.*) to these layers;
	// whole-model hooks (hook_embed, ln_final) are kept if the names
	// match. Empty keeps every layer.
	Layers []int
	// Positions keeps only these token positions (negative counts from the
	// end, -1 = last), in this order: a [B, T, ...] activation is cached
	// as [B, len(Positions), ...], and attn.hook_attn_scores and
	// attn.hook_pattern [B, nH, T, T] keep those query rows,
	// [B, nH, len(Positions), T]. Empty keeps all.
	Positions []int
}

// matcher is a compiled NamesFilter.
type matcher struct {
	exact  map[string]bool
	globs  []string
	res    []*regexp.Regexp
	fn     func(string) bool
	layers map[int]bool
	all    bool
}

func (f NamesFilter) compile() (*matcher, error) {
	mt := &matcher{exact: map[string]bool{}, fn: f.Func, all: len(f.Names) == 0}
	for _, n := range f.Names {
		switch {
		case strings.HasPrefix(n, "re:"):
			re, err := regexp.Compile(n[3:])
			if err != nil {
				return nil, fmt.Errorf("names filter %q: %w", n, err)
			}
			mt.res = append(mt.res, re)
		case strings.ContainsAny(n, "*?["):
			if _, err := path.Match(n, ""); err != nil {
				return nil, fmt.Errorf("names filter %q: %w", n, err)
			}
			mt.globs = append(mt.globs, n)
		default:
			mt.exact[n] = true
		}
	}
	if len(f.Layers) > 0 {
		mt.layers = map[int]bool{}
		for _, l := range f.Layers {
			mt.layers[l] = true
		}
	}
	return mt, nil
}

func (mt *matcher) match(name string) bool {
	if mt.layers != nil {
		if l, ok := HookLayer(name); ok && !mt.layers[l] {
			return false
		}
	}
	if mt.fn != nil && !mt.fn(name) {
		return false
	}
	if mt.all || mt.exact[name] {
		return true
	}
	for _, g := range mt.globs {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	for _, re := range mt.res {
		if re.MatchString(name) {
			return true
		}
	}
	return false
}

// HookLayer returns the layer of a per-layer hook name ("blocks.3.x" -> 3)
// and false for a whole-model hook.
func HookLayer(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "blocks.")
	if !ok {
		return 0, false
	}
	idx, _, _ := strings.Cut(rest, ".")
	l, err := strconv.Atoi(idx)
	return l, err == nil
}

// Match returns the hook points of cfg the filter keeps, in firing order.
// Unknown exact names are an error (a typo would otherwise cache nothing).
func (f NamesFilter) Match(cfg model.Config) ([]string, error) {
	mt, err := f.compile()
	if err != nil {
		return nil, err
	}
	all := model.HookNames(cfg)
	for n := range mt.exact {
		if !slices.Contains(all, n) {
			return nil, fmt.Errorf("names filter: %q is no hook point of this %s model; see model.HookNames", n, cfg.Family)
		}
	}
	for _, l := range f.Layers {
		if l < 0 || l >= cfg.NumLayers {
			return nil, fmt.Errorf("names filter: layer %d outside [0, %d)", l, cfg.NumLayers)
		}
	}
	var out []string
	for _, n := range all {
		if mt.match(n) {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("names filter %v (layers %v) matches no hook point", f.Names, f.Layers)
	}
	return out, nil
}

// Activation is a cached tensor: row-major Data of the given Shape.
type Activation struct {
	Shape []int
	Data  []float32
}

// Cache holds the activations (and, when asked for, the gradients) of one
// run, keyed by hook name, with the run's logits.
type Cache struct {
	// B and T are the batch shape of the run; Positions are the kept
	// positions, resolved to 0..T-1 (all of them when the filter has none).
	B, T      int
	Positions []int
	// Names lists the cached hooks in firing order.
	Names []string
	Acts  map[string]*Activation
	// Grads holds ∂metric/∂activation for the cached names that have a
	// gradient (model.GradNames), when CacheOptions.Metric was set.
	Grads map[string]*Activation
	// Logits are the full logits [B·T·VocabSize] (every position).
	Logits []float32
	// Metric is the metric's value when CacheOptions.Metric was set.
	Metric float64

	buf []float32 // backing store of every Acts and Grads tensor
}

// Get returns the cached activation called name, or nil.
func (c *Cache) Get(name string) *Activation { return c.Acts[name] }

// MetricFunc is a scalar function of the logits [B·T·V] that also returns
// its gradient with respect to them (same length).
type MetricFunc func(logits []float32, B, T, V int) (value float64, grad []float32)

// LogitDiffMetric is logits[b, pos, correct] − logits[b, pos, wrong]
// summed over the batch (pos < 0 counts from the end), with its gradient;
// NaN and no gradient when pos or a token is out of range (RunWithCache
// then reports it).
func LogitDiffMetric(pos int, correct, wrong int32) MetricFunc {
	return func(logits []float32, B, T, V int) (float64, []float32) {
		p := pos
		if p < 0 {
			p += T
		}
		if p < 0 || p >= T || !inVocab(correct, V) || !inVocab(wrong, V) {
			return math.NaN(), nil
		}
		grad := make([]float32, len(logits))
		var v float64
		for b := 0; b < B; b++ {
			row := (b*T + p) * V
			v += float64(logits[row+int(correct)]) - float64(logits[row+int(wrong)])
			grad[row+int(correct)] += 1
			grad[row+int(wrong)] -= 1
		}
		return v, grad
	}
}

// CacheOptions configures RunWithCache.
type CacheOptions struct {
	Filter NamesFilter
	// Metric, when set, makes RunWithCache also differentiate the metric of
	// the logits and keep the gradients at the cached names that have one.
	// This runs a backward pass, which adds to m.Grads (see
	// model.BackwardLogits).
	Metric MetricFunc
	// Reuse, when set, lends its memory to the new cache (when it is big
	// enough), so a loop over many inputs allocates once; Reuse's contents
	// are overwritten and must not be used afterwards.
	Reuse *Cache
}

// resolvePositions turns the filter's positions into indices in [0, T).
func resolvePositions(pos []int, T int) ([]int, error) {
	if len(pos) == 0 {
		out := make([]int, T)
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	out := make([]int, len(pos))
	for i, p := range pos {
		q := p
		if q < 0 {
			q += T
		}
		if q < 0 || q >= T {
			return nil, fmt.Errorf("position %d outside a sequence of %d tokens", p, T)
		}
		out[i] = q
	}
	return out, nil
}

// hookShape is the shape model fires name with for batch shape (B, T).
func hookShape(cfg model.Config, name string, B, T int) []int {
	hd := cfg.HeadDim()
	switch {
	case model.IsAttentionMap(name):
		return []int{B, cfg.NumHeads, T, T}
	case strings.HasSuffix(name, "attn.hook_q"), strings.HasSuffix(name, "attn.hook_rot_q"), strings.HasSuffix(name, "attn.hook_z"):
		return []int{B, T, cfg.NumHeads, hd}
	case strings.HasSuffix(name, "attn.hook_k"), strings.HasSuffix(name, "attn.hook_v"), strings.HasSuffix(name, "attn.hook_rot_k"):
		return []int{B, T, cfg.NumKVHeads, hd}
	case strings.HasPrefix(name, "blocks.") && strings.Contains(name, ".mlp.hook_"):
		return []int{B, T, cfg.HiddenDim}
	}
	return []int{B, T, cfg.Dim}
}

// keptShape is the cached shape: the position axis cut to nPos.
func keptShape(shape []int, attnMap bool, nPos int) []int {
	s := slices.Clone(shape)
	if attnMap {
		s[2] = nPos
	} else {
		s[1] = nPos
	}
	return s
}

// copyKept copies the kept positions of act (forward shape) into dst.
// all means every position in order, a plain copy.
func copyKept(dst, act []float32, shape []int, attnMap bool, pos []int, all bool) {
	if all {
		copy(dst, act)
		return
	}
	if attnMap { // [B, nH, T, T]: keep query rows
		T := shape[3]
		n := 0
		for bh := 0; bh < shape[0]*shape[1]; bh++ {
			for _, p := range pos {
				copy(dst[n:n+T], act[(bh*T+p)*T:(bh*T+p+1)*T])
				n += T
			}
		}
		return
	}
	B, T := shape[0], shape[1]
	row := len(act) / (B * T)
	n := 0
	for b := 0; b < B; b++ {
		for _, p := range pos {
			copy(dst[n:n+row], act[(b*T+p)*row:(b*T+p+1)*row])
			n += row
		}
	}
}

// RunWithCache runs B sequences of T tokens (row-major) through m and
// returns the activations the filter keeps, copied into one preallocated
// block, and the logits (a copy). With opts.Metric it also returns the
// metric and its gradients at the kept names that have one.
func RunWithCache(m *model.Model, tokens []int32, B, T int, opts CacheOptions) (*Cache, error) {
	cfg := m.Config
	names, err := opts.Filter.Match(cfg)
	if err != nil {
		return nil, err
	}
	pos, err := resolvePositions(opts.Filter.Positions, T)
	if err != nil {
		return nil, err
	}
	all := len(opts.Filter.Positions) == 0
	c := &Cache{B: B, T: T, Positions: pos, Names: names, Acts: make(map[string]*Activation, len(names))}

	// Size everything first so the copies land in one allocation.
	type slot struct {
		shape   []int
		attnMap bool
		act     *Activation
		grad    *Activation
	}
	slots := make(map[string]*slot, len(names))
	total := 0
	var gradNames []string
	for _, n := range names {
		s := &slot{shape: hookShape(cfg, n, B, T), attnMap: model.IsAttentionMap(n)}
		s.act = &Activation{Shape: keptShape(s.shape, s.attnMap, len(pos))}
		total += numel(s.act.Shape)
		if opts.Metric != nil && model.IsGradName(cfg, n) {
			s.grad = &Activation{Shape: slices.Clone(s.act.Shape)}
			total += numel(s.act.Shape)
			gradNames = append(gradNames, n)
		}
		slots[n] = s
	}
	var buf, logitsBuf []float32
	if r := opts.Reuse; r != nil {
		if cap(r.buf) >= total {
			buf = r.buf[:total]
		}
		logitsBuf = r.Logits[:0]
		*r = Cache{} // a stale Reuse must not alias the new cache
	}
	if buf == nil {
		buf = make([]float32, total)
	}
	c.buf = buf
	off := 0
	for _, n := range names {
		s := slots[n]
		k := numel(s.act.Shape)
		s.act.Data = buf[off : off+k : off+k]
		off += k
		c.Acts[n] = s.act
		if s.grad != nil {
			s.grad.Data = buf[off : off+k : off+k]
			off += k
		}
	}

	// A few names get a callback each; many share one "*" callback with a
	// map lookup, as the hooks match each callback's name at every point.
	hooks := model.NewHooks()
	if len(names) <= 8 {
		for _, n := range names {
			s := slots[n]
			hooks.Add(n, func(_ string, act []float32, _ []int) {
				copyKept(s.act.Data, act, s.shape, s.attnMap, pos, all)
			})
		}
	} else {
		hooks.Add("*", func(name string, act []float32, _ []int) {
			if s := slots[name]; s != nil {
				copyKept(s.act.Data, act, s.shape, s.attnMap, pos, all)
			}
		})
	}
	var logits []float32
	if opts.Metric == nil {
		logits, err = m.Forward(tokens, B, T, hooks)
	} else {
		logits, err = m.ForwardForGrad(tokens, B, T, hooks)
	}
	if err != nil {
		return nil, err
	}
	c.Logits = append(logitsBuf, logits...)
	if opts.Metric == nil {
		return c, nil
	}
	value, dlogits := opts.Metric(c.Logits, B, T, cfg.VocabSize)
	if dlogits == nil && math.IsNaN(value) {
		return nil, fmt.Errorf("the metric is undefined on these logits (%d positions, vocabulary %d): is its position or a token out of range?", T, cfg.VocabSize)
	}
	if len(dlogits) != len(c.Logits) {
		return nil, fmt.Errorf("metric returned %d gradients for %d logits", len(dlogits), len(c.Logits))
	}
	c.Metric = value
	gh := model.NewGradHooks()
	c.Grads = make(map[string]*Activation, len(gradNames))
	for _, n := range gradNames {
		c.Grads[n] = slots[n].grad
	}
	gh.Add("*", func(name string, g []float32, _ []int) {
		if s := slots[name]; s != nil && s.grad != nil {
			copyKept(s.grad.Data, g, s.shape, false, pos, all)
		}
	})
	if err := m.BackwardLogits(dlogits, gh); err != nil {
		return nil, err
	}
	return c, nil
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// inVocab reports whether token id lies in [0, V).
func inVocab(id int32, V int) bool { return id >= 0 && int(id) < V }
