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

// ComputeRefLogps runs ref over pairs, 2·batch sequences at a time. Each
// distinct (prompt, completion) is scored once: preference sets often hold
// several labels of one comparison, or the same reply in several pairs.
func ComputeRefLogps(ref *model.Model, pairs []PrefPair, batch int) (RefLogps, error) {
	out := RefLogps{Chosen: make([]float32, len(pairs)), Rejected: make([]float32, len(pairs))}
	type refSeq struct {
		prompt, completion []int32
		pair               int // the first pair it belongs to, for messages
	}
	var seqs []refSeq
	index := map[string]int{}
	at := make([][2]int, len(pairs))
	var key []byte
	for i, p := range pairs {
		for side, comp := range [2][]int32{p.Chosen, p.Rejected} {
			key = appendSeqKey(key[:0], p.Prompt, comp)
			j, ok := index[string(key)]
			if !ok {
				j = len(seqs)
				index[string(key)] = j
				seqs = append(seqs, refSeq{p.Prompt, comp, i})
			}
			at[i][side] = j
		}
	}
	sums := make([]float32, len(seqs))
	rows := 2 * max(batch, 1)
	for lo := 0; lo < len(seqs); lo += rows {
		part := seqs[lo:min(lo+rows, len(seqs))]
		T := 1
		for _, s := range part {
			T = max(T, len(s.prompt)+len(s.completion))
		}
		n := len(part)
		tokens, want := make([]int32, n*T), make([]float32, n*T)
		for r, s := range part {
			copy(tokens[r*T:], s.prompt)
			copy(tokens[r*T+len(s.prompt):], s.completion)
			for t := max(len(s.prompt), 1); t < len(s.prompt)+len(s.completion); t++ {
				want[r*T+t] = 1
			}
		}
		logp, err := ref.TokenLogProbs(tokens, want, n, T, nil)
		if err != nil {
			return RefLogps{}, fmt.Errorf("reference log-probs of pairs %d..%d: %w", part[0].pair, part[n-1].pair, err)
		}
		for r := range part {
			var sum float64
			for t := range T {
				if want[r*T+t] != 0 {
					sum += float64(logp[r*T+t])
				}
			}
			sums[lo+r] = float32(sum)
		}
	}
	for i, a := range at {
		out.Chosen[i], out.Rejected[i] = sums[a[0]], sums[a[1]]
	}
	return out, nil
}

// appendSeqKey appends a map key for a prompt and completion to b.
func appendSeqKey(b []byte, prompt, completion []int32) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(prompt)))
	for _, toks := range [2][]int32{prompt, completion} {
		for _, t := range toks {
			b = binary.LittleEndian.AppendUint32(b, uint32(t))
		}
	}
	return b
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
