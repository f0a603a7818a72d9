// KV cache for inference: the keys and values of every token already fed,
// per layer and sequence, plus every scratch buffer a decode step needs, so
// that decoding allocates nothing per token.

package model

import (
	"fmt"
	"sync/atomic"

	"github.com/alignlab/alignlab/tensor"
)

// defaultChunkRows bounds how many token rows one pass of Extend pushes
// through the layers at once: large enough that a prompt is a real matrix
// multiply, small enough that the scratch stays a few megabytes.
const defaultChunkRows = 128

// KVCache holds the attention keys and values of up to Batch() sequences of
// up to MaxLen() tokens each, and tracks per sequence how many tokens are
// cached and whether it is still active. Keys and values are stored only for
// the NumKVHeads key/value heads (grouped-query attention shares them).
//
// A cache belongs to the model that made it. Several caches may decode
// concurrently on one model (decoding only reads the weights); one cache is
// not safe for concurrent use.
type KVCache struct {
	cfg           Config
	batch, maxLen int
	// k and v are [layer][seq][kvHead][position][headDim]: head-major so
	// that one head's attention reads contiguous memory. A half cache
	// keeps them as fp16 in kh and vh instead (k and v nil).
	k, v   []float32
	kh, vh []uint16
	half   bool
	lens   []int
	active []bool
	seen   []bool // Extend's duplicate-sequence check

	// Rotary tables [maxLen][headDim/2] (Llama family only).
	cos, sin []float32

	// Per-pass scratch for up to rows token rows.
	rows    int
	x       []float32 // residual stream [rows, Dim]
	xn      []float32 // normalised input [rows, Dim]
	qkv     []float32 // [rows, QKVDim]
	att     []float32 // attention output, heads concatenated [rows, Dim]
	fc      []float32 // MLP input projection [rows, HiddenDim or 2*HiddenDim]
	hid     []float32 // MLP activation [rows, HiddenDim]
	rowSeq  []int     // sequence of each row
	rowPos  []int     // position of each row
	outRows []int     // rows of the current chunk whose logits are wanted
	logits  []float32 // returned logits, grown on demand
	seqBuf  []int     // active sequence list for DecodeStep
	tokBuf  [][]int32 // one-token views for DecodeStep
	tokOne  []int32   // backing array of tokBuf

	// Attention work for one layer of one chunk, read by attnWorkers. The
	// method value is bound once so tensor.Parallel gets no new closure.
	attnLayer, attnRows int
	// attnFold makes each attention task rotate and store its row's kv
	// head first (decodeLayer sets it).
	attnFold bool
	attnNext atomic.Int64 // next task to take
	attnFn   func(lo, hi int)
	// scores is per-worker scratch for one (row, kv head) task's attention
	// scores: NumHeads/NumKVHeads rows of up to maxLen.
	scores []float32

	// Hook points (nil: none) and their per-chunk scratch (decode.go).
	hooks            *Hooks
	segs             []hookSeg
	segSeq, segStart []int
	hookBuf          []float32 // gathered query/key/value heads
}

// NewKVCache returns an empty cache for batch sequences of up to maxLen
// tokens each, with every sequence active. batch < 1 is taken as 1, and
// maxLen outside [1, Config.MaxSeqLen] as Config.MaxSeqLen. Memory is
// 2·NumLayers·batch·maxLen·NumKVHeads·HeadDim floats for keys and values
// plus a few megabytes of scratch, so size maxLen to the longest prompt plus
// the tokens to generate rather than to MaxSeqLen.
func (m *Model) NewKVCache(batch, maxLen int) *KVCache {
	return m.newKVCache(batch, maxLen, false)
}

// NewHalfKVCache is NewKVCache with the keys and values stored in IEEE
// half precision (fp16): half the memory, and half the bytes each decode
// step reads, which is most of what batched decoding reads besides the
// weights. Keys and values are rounded to 11 significant bits when stored
// (the arithmetic stays float32), so logits differ from a float32 cache's
// by about 1e-3 of their spread; values beyond ±65504 become infinite.
func (m *Model) NewHalfKVCache(batch, maxLen int) *KVCache {
	return m.newKVCache(batch, maxLen, true)
}

func (m *Model) newKVCache(batch, maxLen int, half bool) *KVCache {
	cfg := m.Config
	if batch < 1 {
		batch = 1
	}
	if maxLen < 1 || maxLen > cfg.MaxSeqLen {
		maxLen = cfg.MaxSeqLen
	}
	hd := cfg.HeadDim()
	n := cfg.NumLayers * batch * cfg.NumKVHeads * maxLen * hd
	c := &KVCache{
		cfg: cfg, batch: batch, maxLen: maxLen, half: half,
		lens: make([]int, batch), active: make([]bool, batch), seen: make([]bool, batch),
		seqBuf: make([]int, 0, batch), tokBuf: make([][]int32, batch), tokOne: make([]int32, batch),
	}
	// Attention reads the cache whole every step: huge pages save its
	// page walks, as for the weights.
	if half {
		c.kh, c.vh = make([]uint16, n), make([]uint16, n)
		tensor.AdviseHugePages(c.kh)
		tensor.AdviseHugePages(c.vh)
	} else {
		c.k, c.v = make([]float32, n), make([]float32, n)
		tensor.AdviseHugePages(c.k)
		tensor.AdviseHugePages(c.v)
	}
	for i := range c.active {
		c.active[i] = true
	}
	for i := range c.tokBuf {
		c.tokBuf[i] = c.tokOne[i : i+1 : i+1]
	}
	if cfg.Family == Llama {
		c.cos, c.sin = ropeTables(maxLen, hd, cfg.RopeTheta)
	}
	c.setRows(min(batch*maxLen, max(batch, defaultChunkRows)))
	c.logits = make([]float32, batch*cfg.VocabSize)
	c.attnFn = c.attnWorkers
	c.scores = make([]float32, tensor.Threads()*cfg.NumHeads/cfg.NumKVHeads*maxLen)
	return c
}

// setRows (re)allocates the per-pass scratch for rows token rows.
func (c *KVCache) setRows(rows int) {
	cfg := c.cfg
	fcRows := cfg.HiddenDim
	if cfg.Gated() {
		fcRows = 2 * cfg.HiddenDim
	}
	c.rows = rows
	c.x = make([]float32, rows*cfg.Dim)
	c.xn = make([]float32, rows*cfg.Dim)
	c.qkv = make([]float32, rows*cfg.QKVDim())
	c.att = make([]float32, rows*cfg.NumHeads*cfg.HeadDim())
	c.fc = make([]float32, rows*fcRows)
	c.hid = make([]float32, rows*cfg.HiddenDim)
	c.rowSeq = make([]int, rows)
	c.rowPos = make([]int, rows)
	c.outRows = make([]int, 0, rows)
}

// SetHooks makes Prefill, Extend and DecodeStep fire h's callbacks (nil
// for none, the default, which costs nothing) under Forward's hook names,
// so that reading, steering or ablating an activation works the same during
// generation. Every point fires except attn.hook_attn_scores and
// attn.hook_pattern, which those calls reject. An activation holds only the
// tokens of the call, as rows of shape [k, t, ...] with Forward's trailing
// dims ([k, t, Dim] for the residual stream): one decode step fires once
// per point with k = the number of active sequences in increasing sequence
// order and t = 1; a prefill of equal-length prompts whose tokens fit one
// chunk (SetChunkRows, 128 rows by default) fires once with
// [batch, promptLen, ...]. In general the fed rows (sequence by sequence,
// in feed order, cut into chunks of SetChunkRows rows) are fired in groups
// of neighbouring sequences that feed the same number of tokens in that
// chunk, so prompts of different lengths fire separately and a long prompt
// fires in pieces: a callback must not assume that one call holds a whole
// prompt or every sequence. Inside a callback
// h.Sequence(b) and h.Position(b, t) say which sequence and position row b,
// token t holds; each fed position is seen exactly once per point (the last
// token Generate samples is never fed, so no hook sees it). Keys and values
// changed by a hook are what the cache stores. ln_final.hook_normalized
// sees every fed row, not only those whose logits are returned.
//
// Numerics: with hooks on hook_attn_out or hook_mlp_out the branch is added
// to the residual stream after it is hooked rather than fused into the
// matrix multiply, which can change the last bits of the result; hooks on
// other points leave the arithmetic exactly as without hooks. One Hooks
// value must not serve two caches (or a cache and Forward) at once.
func (c *KVCache) SetHooks(h *Hooks) { c.hooks = h }

// Hooks returns the hooks set by SetHooks (nil for none).
func (c *KVCache) Hooks() *Hooks { return c.hooks }

// Half reports whether keys and values are stored in fp16
// (NewHalfKVCache).
func (c *KVCache) Half() bool { return c.half }

// Batch is the number of sequence slots.
func (c *KVCache) Batch() int { return c.batch }

// MaxLen is the most tokens one sequence can hold.
func (c *KVCache) MaxLen() int { return c.maxLen }

// Len is the number of tokens cached for sequence seq (its next position).
func (c *KVCache) Len(seq int) int { return c.lens[seq] }

// Active reports whether sequence seq takes part in DecodeStep and Prefill.
func (c *KVCache) Active(seq int) bool { return c.active[seq] }

// SetActive includes (true) or excludes (false) sequence seq from
// DecodeStep and Prefill, e.g. once it has produced a stop token. Its cached
// tokens are kept.
func (c *KVCache) SetActive(seq int, active bool) { c.active[seq] = active }

// NumActive counts the active sequences.
func (c *KVCache) NumActive() int {
	n := 0
	for _, a := range c.active {
		if a {
			n++
		}
	}
	return n
}

// Reset empties every sequence and makes all of them active again, keeping
// the memory for reuse.
func (c *KVCache) Reset() {
	for i := range c.lens {
		c.lens[i] = 0
		c.active[i] = true
	}
}

// ResetSeq empties sequence seq alone and makes it active, so that a
// server can hand its slot to a new request while the others keep their
// cached tokens (continuous batching). The memory is kept.
func (c *KVCache) ResetSeq(seq int) {
	c.lens[seq] = 0
	c.active[seq] = true
}

// SetChunkRows sets how many token rows one pass of Extend processes at once
// (default 128, at least the batch size); tests use small values to cross
// chunk boundaries.
func (c *KVCache) SetChunkRows(rows int) error {
	if rows < c.batch {
		return fmt.Errorf("chunk of %d rows is smaller than the batch of %d", rows, c.batch)
	}
	c.setRows(rows)
	return nil
}

// kvOffset is where the keys (or values) of layer l, sequence s, kv head h
// start: maxLen·headDim floats follow.
func (c *KVCache) kvOffset(l, s, h int) int {
	hd := c.cfg.HeadDim()
	return (((l*c.batch+s)*c.cfg.NumKVHeads + h) * c.maxLen) * hd
}
