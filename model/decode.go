// Inference forward with a KV cache: prompts (many tokens per sequence, one
// matrix multiply per projection) and decode steps (one token per active
// sequence, again one matrix multiply per projection across the batch, so
// the weights are read once per step however many sequences run).
//
// The math follows ENGINE_API.md exactly, as the training forward does: the
// cache only avoids recomputing the keys and values of earlier tokens.
//
// Hook points (KVCache.SetHooks) fire here under Forward's names; see
// SetHooks for the shapes. Without hooks each check is one nil comparison.

package model

import (
	"errors"
	"fmt"
	"math"

	"github.com/alignlab/alignlab/tensor"
)

// DecodeStep feeds one token to each active sequence of cache, in increasing
// sequence order (tokens[i] goes to the i-th active sequence), and returns
// their next-token logits, row-major [NumActive, VocabSize]. The logits are a
// view into the cache, valid until its next use. DecodeStep allocates nothing.
func (m *Model) DecodeStep(cache *KVCache, tokens []int32) ([]float32, error) {
	if cache == nil {
		return nil, errors.New("decode step: nil cache")
	}
	seqs := cache.activeSeqs()
	if len(tokens) != len(seqs) {
		return nil, fmt.Errorf("decode step: %d tokens for %d active sequences", len(tokens), len(seqs))
	}
	for i, t := range tokens {
		cache.tokOne[i] = t
	}
	return m.extendCache(cache, seqs, cache.tokBuf[:len(seqs)], false, "decode step")
}

// Prefill feeds prompts[i] (one or more tokens) to the i-th active sequence
// of cache, processing all their tokens together, and returns each
// sequence's next-token logits (after its last prompt token), row-major
// [NumActive, VocabSize], a view valid until the cache's next use. Prompts
// may differ in length.
func (m *Model) Prefill(cache *KVCache, prompts [][]int32) ([]float32, error) {
	if cache == nil {
		return nil, errors.New("prefill: nil cache")
	}
	seqs := cache.activeSeqs()
	if len(prompts) != len(seqs) {
		return nil, fmt.Errorf("prefill: %d prompts for %d active sequences", len(prompts), len(seqs))
	}
	return m.extendCache(cache, seqs, prompts, false, "prefill")
}

// Extend appends tokens[i] to sequence seqs[i] of cache (any sequences,
// active or not, each at most once) and returns logits: with all, for every
// fed token in order (sequence by sequence), [sum len(tokens[i]), VocabSize];
// otherwise only after each sequence's last token, [len(seqs), VocabSize].
// The logits are a view into the cache, valid until its next use. On error
// the cache is unchanged.
func (m *Model) Extend(cache *KVCache, seqs []int, tokens [][]int32, all bool) ([]float32, error) {
	if cache == nil {
		return nil, errors.New("extend: nil cache")
	}
	return m.extendCache(cache, seqs, tokens, all, "extend")
}

// activeSeqs lists the active sequences into the cache's own buffer.
func (c *KVCache) activeSeqs() []int {
	s := c.seqBuf[:0]
	for i, a := range c.active {
		if a {
			s = append(s, i)
		}
	}
	return s
}

// extendCache checks its input fully before it touches the cache, then runs the
// token rows through the model in chunks of at most cache.rows rows.
func (m *Model) extendCache(c *KVCache, seqs []int, tokens [][]int32, all bool, op string) ([]float32, error) {
	cfg := m.Config
	if c.cfg != cfg {
		return nil, fmt.Errorf("%s: cache was made for a different model config", op)
	}
	if len(seqs) != len(tokens) {
		return nil, fmt.Errorf("%s: %d sequences but %d token lists", op, len(seqs), len(tokens))
	}
	if len(seqs) == 0 {
		return nil, fmt.Errorf("%s: no sequences to feed", op)
	}
	total, err := c.checkFeed(seqs, tokens, cfg.VocabSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	h := c.hooks
	if h != nil {
		if err := checkDecodeHooks(h, cfg); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
	V, C := cfg.VocabSize, cfg.Dim
	nOut := len(seqs)
	if all {
		nOut = total
	}
	if len(c.logits) < nOut*V {
		c.logits = make([]float32, nOut*V)
	}
	p := m.Params
	n, outIdx := 0, 0 // rows in the current chunk; logits rows written so far
	flush := func() {
		if h != nil {
			c.hookSegments(n)
			m.hookEmbed(c, n)
		}
		for l := range cfg.NumLayers {
			m.decodeLayer(c, l, n)
		}
		if h != nil && h.wants(hookLnFinalName) {
			// Norm every row so the hook sees each position, then gather.
			m.decNorm(c.xn, c.x, p.FinalNormW, p.FinalNormB, n)
			c.fire(hookLnFinalName, c.xn, C, 0)
			for i, r := range c.outRows {
				copy(c.att[i*C:(i+1)*C], c.xn[r*C:(r+1)*C])
			}
			if k := len(c.outRows); k > 0 {
				tensor.Gemm(false, true, k, V, C, 1, c.att, C, p.LMHead, C, 0, c.logits[outIdx*V:], V)
				outIdx += k
			}
		} else if k := len(c.outRows); k > 0 {
			// Gather the wanted rows (att is free now) and norm them at once.
			for i, r := range c.outRows {
				copy(c.att[i*C:(i+1)*C], c.x[r*C:(r+1)*C])
			}
			m.decNorm(c.xn, c.att, p.FinalNormW, p.FinalNormB, k)
			tensor.Gemm(false, true, k, V, C, 1, c.xn, C, p.LMHead, C, 0, c.logits[outIdx*V:], V)
			outIdx += k
		}
		n, c.outRows = 0, c.outRows[:0]
	}
	for i, s := range seqs {
		toks := tokens[i]
		for j, tok := range toks {
			pos := c.lens[s] + j
			c.rowSeq[n], c.rowPos[n] = s, pos
			x := c.x[n*C : (n+1)*C]
			copy(x, p.TokEmb[int(tok)*C:(int(tok)+1)*C])
			if cfg.Family == GPT2 && h == nil { // hooked: hookEmbed adds them
				pe := p.PosEmb[pos*C : (pos+1)*C]
				for d := range x {
					x[d] += pe[d]
				}
			}
			if all || j == len(toks)-1 {
				c.outRows = append(c.outRows, n)
			}
			n++
			if n == c.rows {
				flush()
			}
		}
	}
	if n > 0 {
		flush()
	}
	for i, s := range seqs {
		c.lens[s] += len(tokens[i])
	}
	return c.logits[:nOut*V], nil
}

// checkFeed validates a feed against the cache and returns its token count.
func (c *KVCache) checkFeed(seqs []int, tokens [][]int32, vocab int) (int, error) {
	defer func() {
		for _, s := range seqs {
			if s >= 0 && s < c.batch {
				c.seen[s] = false
			}
		}
	}()
	total := 0
	for i, s := range seqs {
		if s < 0 || s >= c.batch {
			return 0, fmt.Errorf("sequence %d out of range [0, %d)", s, c.batch)
		}
		if c.seen[s] {
			return 0, fmt.Errorf("sequence %d fed twice in one call", s)
		}
		c.seen[s] = true
		if len(tokens[i]) == 0 {
			return 0, fmt.Errorf("sequence %d: no tokens", s)
		}
		if c.lens[s]+len(tokens[i]) > c.maxLen {
			return 0, fmt.Errorf("sequence %d: %d cached + %d new tokens exceed the cache length %d",
				s, c.lens[s], len(tokens[i]), c.maxLen)
		}
		for j, t := range tokens[i] {
			if t < 0 || int(t) >= vocab {
				return 0, fmt.Errorf("sequence %d token %d: id %d out of range [0, %d)", s, j, t, vocab)
			}
		}
		total += len(tokens[i])
	}
	return total, nil
}

// decodeLayer runs block l on the first n rows of the cache's residual
// stream, storing their keys and values in the cache first so that each
// row attends to every earlier position of its sequence, including rows of
// the same chunk.
func (m *Model) decodeLayer(c *KVCache, l, n int) {
	cfg := m.Config
	lp := &m.Params.Layers[l]
	C, H, QKV := cfg.Dim, cfg.HiddenDim, cfg.QKVDim()
	hd, nH, nKV := cfg.HeadDim(), cfg.NumHeads, cfg.NumKVHeads
	AD := nH * hd
	hk := c.hooks
	var names *[numLayerHooks]string
	if hk != nil {
		names = &hk.names[l]
		c.fire(names[hookResidPre], c.x, C, 0)
	}

	m.decNorm(c.xn, c.x, lp.AttnNormW, lp.AttnNormB, n)
	if hk != nil {
		c.fire(names[hookLn1], c.xn, C, 0)
	}
	decLinear(c.qkv, c.xn, lp.QKVW, lp.QKVB, n, QKV, C, false)
	if hk != nil {
		c.fireCols(names[hookQ], c.qkv, n, QKV, 0, nH, hd)
		c.fireCols(names[hookK], c.qkv, n, QKV, nH*hd, nKV, hd)
		c.fireCols(names[hookV], c.qkv, n, QKV, (nH+nKV)*hd, nKV, hd)
	}
	// With one row per sequence (a decode step) and no hooks, each
	// attention task rotates and stores its own row and kv head first: the
	// stores into cold cache lines then overlap the other tasks' work
	// instead of running one after another here. Rows of one sequence in a
	// chunk attend to each other, so there every row is stored first.
	c.attnFold = hk == nil && c.oneRowPerSeq(n)
	if !c.attnFold {
		for r := 0; r < n; r++ {
			for h := 0; h < nH+nKV; h++ { // query heads, then key heads
				c.rope(r, h)
			}
			if hk == nil {
				c.storeKV(l, r)
			}
		}
	}
	if hk != nil {
		// Hooks may change the keys and values: store them afterwards.
		if cfg.Family == Llama {
			c.fireCols(names[hookRotQ], c.qkv, n, QKV, 0, nH, hd)
			c.fireCols(names[hookRotK], c.qkv, n, QKV, nH*hd, nKV, hd)
		}
		for r := 0; r < n; r++ {
			c.storeKV(l, r)
		}
	}
	c.attention(l, n)
	if hk != nil {
		c.fire(names[hookZ], c.att, nH, hd)
	}
	if hk != nil && hk.wants(names[hookAttnOut]) {
		// The branch needs its own buffer (xn is free) to be hooked.
		decLinear(c.xn, c.att, lp.AttnOutW, lp.AttnOutB, n, C, AD, false)
		c.fire(names[hookAttnOut], c.xn, C, 0)
		residualForward(c.x[:n*C], c.x[:n*C], c.xn[:n*C])
	} else {
		decLinear(c.x, c.att, lp.AttnOutW, lp.AttnOutB, n, C, AD, true)
	}
	if hk != nil {
		c.fire(names[hookResidMid], c.x, C, 0)
	}

	m.decNorm(c.xn, c.x, lp.MLPNormW, lp.MLPNormB, n)
	if hk != nil {
		c.fire(names[hookLn2], c.xn, C, 0)
	}
	if cfg.Gated() {
		// One product over all of FCW, a single longer stream of weights
		// and one hand-off to the threads: each row comes out as
		// [gate | up]. Hooks see gate and up as [n, H] blocks, as Forward
		// fires them, gathered from the rows and written back.
		decLinear(c.fc[:2*n*H], c.xn, lp.FCW, lp.FCB, n, 2*H, C, false)
		if hk != nil {
			c.fireBlock(names[hookPre], c.fc, n, 2*H, 0, H, 0)
			c.fireBlock(names[hookPreLinear], c.fc, n, 2*H, H, H, 0)
		}
		for r := 0; r < n; r++ {
			row := c.fc[2*r*H : 2*(r+1)*H]
			tensor.SwiGLUForward(c.hid[r*H:(r+1)*H], row[:H], row[H:])
		}
	} else {
		decLinear(c.fc, c.xn, lp.FCW, lp.FCB, n, H, C, false)
		if hk != nil {
			c.fire(names[hookPre], c.fc, H, 0)
		}
		tensor.GELUForward(c.hid[:n*H], c.fc[:n*H])
	}
	if hk != nil {
		c.fire(names[hookPost], c.hid, H, 0)
	}
	if hk != nil && hk.wants(names[hookMLPOut]) {
		decLinear(c.xn, c.hid, lp.ProjW, lp.ProjB, n, C, H, false)
		c.fire(names[hookMLPOut], c.xn, C, 0)
		residualForward(c.x[:n*C], c.x[:n*C], c.xn[:n*C])
	} else {
		decLinear(c.x, c.hid, lp.ProjW, lp.ProjB, n, C, H, true)
	}
	if hk != nil {
		c.fire(names[hookResidPost], c.x, C, 0)
	}
}

// rope rotates head h of row r's q, k, v (query heads first, then key
// heads) by its position, for Llama; GPT-2 has no rotation.
func (c *KVCache) rope(r, h int) {
	cfg := c.cfg
	if cfg.Family != Llama {
		return
	}
	hd := cfg.HeadDim()
	half := hd / 2
	pos := c.rowPos[r]
	x := c.qkv[r*cfg.QKVDim()+h*hd : r*cfg.QKVDim()+(h+1)*hd]
	ropeRotateHead(x, c.cos[pos*half:(pos+1)*half], c.sin[pos*half:(pos+1)*half])
}

// oneRowPerSeq reports whether the chunk's first n rows are of n different
// sequences (a sequence's rows are contiguous).
func (c *KVCache) oneRowPerSeq(n int) bool {
	for r := 1; r < n; r++ {
		if c.rowSeq[r] == c.rowSeq[r-1] {
			return false
		}
	}
	return true
}

// storeKV copies row r's keys and values (after RoPE) into the cache at its
// sequence and position, for layer l.
func (c *KVCache) storeKV(l, r int) {
	for h := 0; h < c.cfg.NumKVHeads; h++ {
		c.storeKVHead(l, r, h)
	}
}

// storeKVHead is storeKV for kv head h alone.
func (c *KVCache) storeKVHead(l, r, h int) {
	cfg := c.cfg
	hd, nH, nKV := cfg.HeadDim(), cfg.NumHeads, cfg.NumKVHeads
	row := c.qkv[r*cfg.QKVDim() : (r+1)*cfg.QKVDim()]
	off := c.kvOffset(l, c.rowSeq[r], h) + c.rowPos[r]*hd
	if c.half {
		tensor.FloatsToHalves(c.kh[off:off+hd], row[(nH+h)*hd:(nH+h+1)*hd])
		tensor.FloatsToHalves(c.vh[off:off+hd], row[(nH+nKV+h)*hd:(nH+nKV+h+1)*hd])
		return
	}
	copy(c.k[off:off+hd], row[(nH+h)*hd:(nH+h+1)*hd])
	copy(c.v[off:off+hd], row[(nH+nKV+h)*hd:(nH+nKV+h+1)*hd])
}

// decNorm applies the family's normalisation to rows rows of width Dim.
func (m *Model) decNorm(out, in, w, b []float32, rows int) {
	cfg := m.Config
	if cfg.Family == GPT2 {
		tensor.LayerNormForward(out, nil, nil, in, w, b, rows, cfg.Dim, cfg.NormEps)
	} else {
		tensor.RMSNormForward(out, nil, in, w, rows, cfg.Dim, cfg.NormEps)
	}
}

// decLinear computes out = in·Wᵀ + b for rows rows (W is [outDim, inDim]), or
// adds it to out when accumulate is set (the residual connections). One
// Gemm with m = rows keeps the weights read once per call.
func decLinear(out, in, w, b []float32, rows, outDim, inDim int, accumulate bool) {
	var beta float32
	if accumulate {
		beta = 1
	}
	tensor.Gemm(false, true, rows, outDim, inDim, 1, in, inDim, w, inDim, beta, out, outDim)
	if b != nil {
		for r := 0; r < rows; r++ {
			o := out[r*outDim : (r+1)*outDim]
			for j, v := range b {
				o[j] += v
			}
		}
	}
}

// attention runs causal attention for the first n rows of the current
// chunk at layer l. A task is one (row, kv head) pair: the NumHeads/NumKVHeads
// query heads sharing that kv head are scored together against each cached
// key, and weight each cached value together, so grouped-query attention
// reads the cache once per group. Threads() workers take tasks from a
// shared counter, each with its own score buffer (two passes and an exact softmax
// in between, rather than an online one, so the exponentials run as one
// loop).
func (c *KVCache) attention(l, n int) {
	cfg := c.cfg
	tasks := n * cfg.NumKVHeads
	workers := min(tensor.Threads(), tasks)
	group := cfg.NumHeads / cfg.NumKVHeads
	if need := workers * group * c.maxLen; len(c.scores) < need {
		c.scores = make([]float32, need) // only when the thread count grows
	}
	c.attnLayer, c.attnRows = l, n
	c.attnNext.Store(0)
	tensor.Parallel(workers, c.attnFn)
}

// attnWorkers runs the tasks of workers lo..hi-1.
func (c *KVCache) attnWorkers(lo, hi int) {
	cfg := c.cfg
	hd, nH, nKV := cfg.HeadDim(), cfg.NumHeads, cfg.NumKVHeads
	QKV, AD := cfg.QKVDim(), nH*hd
	group := nH / nKV
	scale := float32(1 / math.Sqrt(float64(hd)))
	tasks := c.attnRows * nKV
	for w := lo; w < hi; w++ {
		sc := c.scores[w*group*c.maxLen : (w+1)*group*c.maxLen]
		for {
			// Tasks are taken from a shared counter rather than dealt in
			// advance: on a busy machine one worker may lose its core for
			// a while, and the other then does the rest.
			task := int(c.attnNext.Add(1) - 1)
			if task >= tasks {
				break
			}
			r, g := task/nKV, task%nKV
			if c.attnFold {
				for h := g * group; h < (g+1)*group; h++ {
					c.rope(r, h)
				}
				c.rope(r, nH+g)
				c.storeKVHead(c.attnLayer, r, g)
			}
			L := c.rowPos[r] + 1 // causal: positions 0..pos
			base := c.kvOffset(c.attnLayer, c.rowSeq[r], g)
			q := c.qkv[r*QKV+g*group*hd : r*QKV+(g+1)*group*hd]
			out := c.att[r*AD+g*group*hd : r*AD+(g+1)*group*hd]
			// Per query head of the group: scores[t] = q·k_t / sqrt(hd),
			// softmax, then out = Σ_t scores[t]·v_t. The group's keys and
			// values (L·hd floats each) stay in cache across its heads.
			if c.half {
				keys, vals := c.kh[base:base+L*hd], c.vh[base:base+L*hd]
				for i := 0; i < group; i++ {
					s := sc[i*L : (i+1)*L]
					if i == 0 { // the values are read next: fetch them meanwhile
						tensor.MatVecHalfPrefetch(q[:hd], keys, hd, s, vals)
					} else {
						tensor.MatVecHalf(q[i*hd:(i+1)*hd], keys, hd, s)
					}
					tensor.Scale(scale, s)
					tensor.Softmax(s)
					tensor.VecMatHalf(s, vals, hd, out[i*hd:(i+1)*hd])
				}
				continue
			}
			keys := c.k[base : base+L*hd]
			vals := c.v[base : base+L*hd]
			for i := 0; i < group; i++ {
				s := sc[i*L : (i+1)*L]
				tensor.MatVec(q[i*hd:(i+1)*hd], keys, hd, s)
				tensor.Scale(scale, s)
				tensor.Softmax(s)
				tensor.VecMat(s, vals, hd, out[i*hd:(i+1)*hd])
			}
		}
	}
}

// checkDecodeHooks reports a hook the KV-cache path cannot serve: a name
// that is no hook point of cfg, or an attention map (decode attends row by
// row over different lengths and never forms the [T, T] scores or pattern).
func checkDecodeHooks(h *Hooks, cfg Config) error {
	if err := h.check(cfg); err != nil {
		return err
	}
	for _, e := range h.entries {
		if IsAttentionMap(e.name) {
			return fmt.Errorf("model: hook %q is not fired during KV-cache decoding; use Forward for attention scores and patterns", e.name)
		}
	}
	return nil
}

// hookSeg is a group of rows of the current chunk fired as one activation:
// k sequences (runs run..run+k-1 of the chunk) with t new tokens each.
type hookSeg struct{ row, run, k, t int }

// hookRows maps the rows of the activation being fired to sequences and
// positions while the KV-cache path fires; both nil in Forward.
type hookRows struct{ seqs, starts []int }

// Sequence is the sequence that row b of the activation being fired belongs
// to: b itself in Forward; in Prefill, Extend and DecodeStep the cache's
// sequence slot, which in Generate is the prompt's index. Valid only inside
// a callback.
func (h *Hooks) Sequence(b int) int {
	if h.rows.seqs == nil {
		return b
	}
	return h.rows.seqs[b]
}

// Position is the position within its sequence of token t of row b of the
// activation being fired (0 is the sequence's first token): t in Forward,
// and in the KV-cache path the position of row b's first token in this
// activation plus t (a prompt cut across chunks fires in pieces, each
// starting where the last ended). Valid only inside a callback.
func (h *Hooks) Position(b, t int) int {
	if h.rows.starts == nil {
		return t
	}
	return h.rows.starts[b] + t
}

// hookSegments groups the chunk's n rows for firing: each sequence's rows
// are contiguous with consecutive positions, and neighbouring sequences
// that feed as many tokens share one activation [k, t, ...].
func (c *KVCache) hookSegments(n int) {
	c.segs, c.segSeq, c.segStart = c.segs[:0], c.segSeq[:0], c.segStart[:0]
	for r := 0; r < n; {
		e := r + 1
		for e < n && c.rowSeq[e] == c.rowSeq[r] {
			e++
		}
		if k := len(c.segs); k > 0 && c.segs[k-1].t == e-r {
			c.segs[k-1].k++
		} else {
			c.segs = append(c.segs, hookSeg{row: r, run: len(c.segSeq), k: 1, t: e - r})
		}
		c.segSeq = append(c.segSeq, c.rowSeq[r])
		c.segStart = append(c.segStart, c.rowPos[r])
		r = e
	}
}

// fire calls the hooks for name on buf, the chunk's rows of d2 (times d3
// when d3 > 0) floats each, once per segment with shape [k, t, d2(, d3)].
func (c *KVCache) fire(name string, buf []float32, d2, d3 int) {
	h := c.hooks
	w := d2
	if d3 > 0 {
		w *= d3
	}
	for _, sg := range c.segs {
		h.rows = hookRows{seqs: c.segSeq[sg.run : sg.run+sg.k], starts: c.segStart[sg.run : sg.run+sg.k]}
		h.fire(name, buf[sg.row*w:(sg.row+sg.k*sg.t)*w], sg.k, sg.t, d2, d3)
	}
	h.rows = hookRows{}
}

// fireCols fires name on the heads·hd columns at off of each of the n
// rows of buf (row stride floats apart), as [n, heads, hd]; see fireBlock.
func (c *KVCache) fireCols(name string, buf []float32, n, stride, off, heads, hd int) {
	c.fireBlock(name, buf, n, stride, off, heads, hd)
}

// fireBlock fires name on d2 (times d3 when d3 > 0) columns at off of
// each of the n rows of buf (row stride floats apart): they are gathered
// into a contiguous [n, d2(, d3)] buffer and scattered back, so a callback
// may overwrite them as in Forward.
func (c *KVCache) fireBlock(name string, buf []float32, n, stride, off, d2, d3 int) {
	if !c.hooks.wants(name) {
		return
	}
	w := d2
	if d3 > 0 {
		w *= d3
	}
	if len(c.hookBuf) < n*w {
		c.hookBuf = make([]float32, c.rows*w)
	}
	g := c.hookBuf[:n*w]
	for r := 0; r < n; r++ {
		copy(g[r*w:(r+1)*w], buf[r*stride+off:])
	}
	c.fire(name, g, d2, d3)
	for r := 0; r < n; r++ {
		copy(buf[r*stride+off:r*stride+off+w], g[r*w:(r+1)*w])
	}
}

// hookEmbed fires hook_embed on the chunk's token embeddings, then adds the
// learned positions (GPT-2), through hook_pos_embed when it is listened to,
// as Forward does.
func (m *Model) hookEmbed(c *KVCache, n int) {
	cfg, C := m.Config, m.Config.Dim
	c.fire(hookEmbedName, c.x, C, 0)
	if cfg.Family != GPT2 {
		return
	}
	pe := c.xn[:n*C]
	for r := 0; r < n; r++ {
		pos := c.rowPos[r]
		copy(pe[r*C:(r+1)*C], m.Params.PosEmb[pos*C:(pos+1)*C])
	}
	if c.hooks.wants(hookPosEmbedName) {
		c.fire(hookPosEmbedName, pe, C, 0)
	}
	residualForward(c.x[:n*C], c.x[:n*C], pe)
}
