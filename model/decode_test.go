package model

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/tensor"
)

// TestDecodeStepMatchesReference feeds a sequence one token at a time and
// checks the logits at every position against a full recomputation, and
// does the same for one Extend over the whole sequence split into chunks.
func TestDecodeStepMatchesReference(t *testing.T) {
	for name, cfg := range genTestConfigs() {
		t.Run(name, func(t *testing.T) {
			m := genTestModel(t, cfg, 1)
			rng := rand.New(rand.NewPCG(2, 3))
			toks := genRandTokens(rng, 23, cfg.VocabSize)
			want := refForward(m, toks)
			V := cfg.VocabSize

			cache := m.NewKVCache(1, len(toks))
			for pos, tok := range toks {
				logits, err := m.DecodeStep(cache, []int32{tok})
				if err != nil {
					t.Fatal(err)
				}
				closeLogits(t, "decode step", logits, want[pos])
			}
			if cache.Len(0) != len(toks) {
				t.Fatalf("cache holds %d tokens, want %d", cache.Len(0), len(toks))
			}

			// Chunks of 5 rows put chunk boundaries inside the sequence.
			cache = m.NewKVCache(1, len(toks))
			if err := cache.SetChunkRows(5); err != nil {
				t.Fatal(err)
			}
			all, err := m.Extend(cache, []int{0}, [][]int32{toks}, true)
			if err != nil {
				t.Fatal(err)
			}
			for pos := range toks {
				closeLogits(t, "extend", all[pos*V:(pos+1)*V], want[pos])
			}
		})
	}
}

// TestBatchedDecodeMatchesReference prefills prompts of different lengths
// together, retires one sequence midway, and checks every sequence's logits
// against its own full recomputation.
func TestBatchedDecodeMatchesReference(t *testing.T) {
	for name, cfg := range genTestConfigs() {
		t.Run(name, func(t *testing.T) {
			m := genTestModel(t, cfg, 4)
			rng := rand.New(rand.NewPCG(5, 6))
			V := cfg.VocabSize
			lens := []int{7, 1, 12}
			seqs := make([][]int32, len(lens))
			prompts := make([][]int32, len(lens))
			for i, n := range lens {
				seqs[i] = genRandTokens(rng, n+6, V)
				prompts[i] = seqs[i][:n]
			}
			cache := m.NewKVCache(len(lens), 20)
			if err := cache.SetChunkRows(8); err != nil {
				t.Fatal(err)
			}
			logits, err := m.Prefill(cache, prompts)
			if err != nil {
				t.Fatal(err)
			}
			want := make([][][]float64, len(seqs))
			for i := range seqs {
				want[i] = refForward(m, seqs[i])
				closeLogits(t, "prefill", logits[i*V:(i+1)*V], want[i][lens[i]-1])
			}
			for step := 0; step < 6; step++ {
				if step == 3 {
					cache.SetActive(1, false)
				}
				var feed []int32
				var who []int
				for i := range seqs {
					if cache.Active(i) {
						feed = append(feed, seqs[i][lens[i]+step])
						who = append(who, i)
					}
				}
				logits, err := m.DecodeStep(cache, feed)
				if err != nil {
					t.Fatal(err)
				}
				for j, i := range who {
					closeLogits(t, "decode", logits[j*V:(j+1)*V], want[i][lens[i]+step])
				}
			}
			if got := []int{cache.Len(0), cache.Len(1), cache.Len(2)}; !slices.Equal(got, []int{13, 4, 18}) {
				t.Fatalf("cache lengths %v, want [13 4 18]", got)
			}
		})
	}
}

func TestExtendErrorsLeaveCacheUnchanged(t *testing.T) {
	cfg := genTestConfigs()["llama-gqa"]
	m := genTestModel(t, cfg, 1)
	other := genTestModel(t, genTestConfigs()["gpt2"], 1)
	cache := m.NewKVCache(2, 5)
	if _, err := m.Prefill(cache, [][]int32{{1, 2}, {3}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		run  func() error
		want string
	}{
		{"token out of range", func() error { _, err := m.DecodeStep(cache, []int32{1, 61}); return err }, "out of range"},
		{"negative token", func() error { _, err := m.DecodeStep(cache, []int32{-1, 0}); return err }, "out of range"},
		{"wrong count", func() error { _, err := m.DecodeStep(cache, []int32{1}); return err }, "2 active"},
		{"too long", func() error { _, err := m.Extend(cache, []int{1}, [][]int32{{1, 2, 3, 4, 5}}, false); return err }, "exceed the cache length 5"},
		{"bad seq", func() error { _, err := m.Extend(cache, []int{2}, [][]int32{{1}}, false); return err }, "out of range"},
		{"twice", func() error { _, err := m.Extend(cache, []int{0, 0}, [][]int32{{1}, {2}}, false); return err }, "twice"},
		{"empty", func() error { _, err := m.Extend(cache, []int{0}, [][]int32{{}}, false); return err }, "no tokens"},
		{"other model", func() error { _, err := other.DecodeStep(cache, []int32{1, 2}); return err }, "different model"},
		{"nil cache", func() error { _, err := m.DecodeStep(nil, []int32{1}); return err }, "nil cache"},
	} {
		err := tc.run()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	if cache.Len(0) != 2 || cache.Len(1) != 1 {
		t.Fatalf("failed calls changed the cache: lengths %d, %d", cache.Len(0), cache.Len(1))
	}
	// The duplicate check must not leave marks behind.
	if _, err := m.Extend(cache, []int{0, 1}, [][]int32{{1}, {2}}, false); err != nil {
		t.Fatal(err)
	}
}

// TestDecodeStepAllocatesNothing pins the no-allocation promise for the
// decode path itself (with one thread: goroutine start-up in tensor.Parallel
// allocates by design). Whatever the tensor kernels allocate internally for
// the same calls is measured separately and allowed.
func TestDecodeStepAllocatesNothing(t *testing.T) {
	defer tensor.SetThreads(tensor.Threads())
	tensor.SetThreads(1)
	for name, cfg := range genTestConfigs() {
		m := genTestModel(t, cfg, 1)
		const B = 3
		cache := m.NewKVCache(B, 30)
		toks := []int32{1, 2, 3}
		allocs := testing.AllocsPerRun(5, func() {
			if _, err := m.DecodeStep(cache, toks); err != nil {
				t.Fatal(err)
			}
		})
		C, H, L := cfg.Dim, cfg.HiddenDim, float64(cfg.NumLayers)
		x := make([]float32, B*max(C, H))
		var norm, act float64
		if cfg.Family == GPT2 {
			norm = testing.AllocsPerRun(5, func() { tensor.LayerNormForward(x, nil, nil, x, x, x, B, C, 1e-5) })
			act = testing.AllocsPerRun(5, func() { tensor.GELUForward(x[:B*H], x[:B*H]) })
		} else {
			norm = testing.AllocsPerRun(5, func() { tensor.RMSNormForward(x, nil, x, x, B, C, 1e-5) })
			act = testing.AllocsPerRun(5, func() { tensor.SwiGLUForward(x[:B*H], x[:B*H], x[:B*H]) })
		}
		fc := []int{H, C}
		if cfg.Gated() {
			fc = []int{H, C, H, C}
		}
		var gemm float64
		for _, s := range [][]int{{cfg.QKVDim(), C}, {C, C}, fc, {C, H}} {
			for i := 0; i < len(s); i += 2 {
				gemm += gemmAllocs(true, B, s[i], s[i+1])
			}
		}
		kernels := L*(gemm+2*norm+act) + norm + gemmAllocs(true, B, cfg.VocabSize, C)
		if allocs > kernels {
			t.Errorf("%s: DecodeStep allocates %.0f times per call, %.0f of them in tensor kernels", name, allocs, kernels)
		}
	}
}

// gemmAllocs measures tensor.Gemm's own allocations for y = x·Wᵀ (transB)
// or y = x·W.
func gemmAllocs(transB bool, m, n, k int) float64 {
	x, w, y := make([]float32, m*k), make([]float32, n*k), make([]float32, m*n)
	ldb := n
	if transB {
		ldb = k
	}
	return testing.AllocsPerRun(5, func() { tensor.Gemm(false, transB, m, n, k, 1, x, k, w, ldb, 0, y, n) })
}
