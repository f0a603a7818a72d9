// Reference log-probabilities for the DPO family, computed once before
// training (TRL's precompute_ref_log_probs) and cached on disk under a key
// that hashes the reference model and the tokenized pairs, so that neither
// a rerun nor a resumed run holds a second model in memory.

package train

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/alignlab/alignlab/model"
)

// RefLogps holds a reference model's log-probs of each pair's completions,
// summed over the completion tokens. They are float32 whether computed or
// read from the cache, so both give the same training run.
type RefLogps struct {
	Chosen, Rejected []float32
}

// refCacheVersion changes when the meaning of the cached numbers changes.
const refCacheVersion = "alignlab-ref-logps-v1"

// ComputeRefLogps runs ref over pairs, batch pairs at a time.
func ComputeRefLogps(ref *model.Model, pairs []PrefPair, batch int) (RefLogps, error) {
	out := RefLogps{Chosen: make([]float32, len(pairs)), Rejected: make([]float32, len(pairs))}
	batch = max(batch, 1)
	for lo := 0; lo < len(pairs); lo += batch {
		part := pairs[lo:min(lo+batch, len(pairs))]
		b := layoutPairs(part, nllNone)
		logp, err := ref.TokenLogProbs(b.tokens, b.want, 2*b.n, b.T, nil)
		if err != nil {
			return RefLogps{}, fmt.Errorf("reference log-probs of pairs %d..%d: %w", lo, lo+len(part)-1, err)
		}
		c, r, _, _ := b.sums(logp)
		for i := range part {
			out.Chosen[lo+i], out.Rejected[lo+i] = float32(c[i]), float32(r[i])
		}
	}
	return out, nil
}

// RefCacheKey hashes everything the reference log-probs depend on: the
// model's config and weights, and every pair's tokens.
func RefCacheKey(m *model.Model, pairs []PrefPair) string {
	h := sha256.New()
	h.Write([]byte(refCacheVersion))
	cfg, _ := json.Marshal(m.Config)
	h.Write(cfg)
	if len(m.Params.Data) > 0 {
		h.Write(unsafe.Slice((*byte)(unsafe.Pointer(&m.Params.Data[0])), 4*len(m.Params.Data)))
	}
	var n [8]byte
	put := func(toks []int32) {
		binary.LittleEndian.PutUint64(n[:], uint64(len(toks)))
		h.Write(n[:])
		if len(toks) > 0 {
			h.Write(unsafe.Slice((*byte)(unsafe.Pointer(&toks[0])), 4*len(toks)))
		}
	}
	for _, p := range pairs {
		put(p.Prompt)
		put(p.Chosen)
		put(p.Rejected)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// CachedRefLogps returns the reference log-probs of pairs under ref from
// dir/ref-<key>.safetensors, computing and writing them on a miss; hit says
// which. An empty dir disables the cache.
func CachedRefLogps(dir string, ref *model.Model, pairs []PrefPair, batch int) (lp RefLogps, hit bool, err error) {
	if dir == "" {
		lp, err = ComputeRefLogps(ref, pairs, batch)
		return lp, false, err
	}
	path := filepath.Join(dir, "ref-"+RefCacheKey(ref, pairs)+".safetensors")
	lp = RefLogps{Chosen: make([]float32, len(pairs)), Rejected: make([]float32, len(pairs))}
	_, err = LoadBuffers(path, []NamedBuffer{{"chosen", lp.Chosen}, {"rejected", lp.Rejected}})
	if err == nil && allFinite(lp.Chosen) && allFinite(lp.Rejected) {
		return lp, true, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		// A damaged cache file is recomputed, not trusted.
		os.Remove(path)
	}
	if lp, err = ComputeRefLogps(ref, pairs, batch); err != nil {
		return lp, false, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return lp, false, fmt.Errorf("reference cache: %w", err)
	}
	md := map[string]string{"format": refCacheVersion, "pairs": fmt.Sprint(len(pairs))}
	if err := SaveBuffers(path, []NamedBuffer{{"chosen", lp.Chosen}, {"rejected", lp.Rejected}}, md); err != nil {
		return lp, false, fmt.Errorf("reference cache: %w", err)
	}
	return lp, false, nil
}

func allFinite(x []float32) bool {
	for _, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}
