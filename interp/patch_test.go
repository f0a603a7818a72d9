package interp

import (
	"math"
	"slices"
	"strconv"
	"testing"
)

// Patching the whole clean residual stream at the last block's output
// restores the clean logits exactly, so the normalized metric is 1; at
// layer 0, patching resid_pre where the inputs agree changes nothing and
// where they differ restores everything; every batched cell equals its
// own patched run.
func TestActivationPatching(t *testing.T) {
	for fam, m := range testModels(t) {
		cfg := m.Config
		T, V := 5, cfg.VocabSize
		clean := testTokens(T, V, 11)
		corrupt := slices.Clone(clean)
		corrupt[1] = (clean[1] + 1) % int32(V)
		correct, wrong := int32(2), int32(6)

		cc, err := RunWithCache(m, clean, 1, T, CacheOptions{})
		if err != nil {
			t.Fatal(err)
		}
		last := "blocks." + strconv.Itoa(cfg.NumLayers-1) + ".hook_resid_post"
		logits, err := RunPatched(m, corrupt, 1, T, []Patch{{Hook: last, Source: cc.Get(last)}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(logits, cc.Logits) {
			t.Fatalf("%s: patching %s did not restore the clean logits", fam, last)
		}

		p, err := ActivationPatching(m, clean, corrupt, PatchOptions{Correct: correct, Wrong: wrong})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Matrices) != 4 {
			t.Fatalf("%s: %d matrices", fam, len(p.Matrices))
		}
		metric := LogitDiff(-1, correct, wrong)
		if math.Abs(p.Clean-metric(cc.Logits, T, V)) > 1e-6 {
			t.Fatalf("%s: clean metric %g", fam, p.Clean)
		}
		rp := p.Matrices[0]
		if err := rp.Validate(); err != nil || len(rp.Values) != cfg.NumLayers || len(rp.Values[0]) != T {
			t.Fatalf("%s: resid_pre matrix %v", fam, err)
		}
		// Position 0 is the same in both inputs and precedes the change.
		if math.Abs(rp.Values[0][0]) > 1e-4 {
			t.Fatalf("%s: patching an identical position gave %g", fam, rp.Values[0][0])
		}
		// At layer 0, only position 1 differs, so patching it restores all.
		if math.Abs(rp.Values[0][1]-1) > 1e-4 {
			t.Fatalf("%s: patching the changed position at layer 0 gave %g, want 1", fam, rp.Values[0][1])
		}
		// Full patch of resid_post of the last block: metric 1.
		full, err := RunPatched(m, corrupt, 1, T, []Patch{{Hook: last, Source: cc.Get(last), Positions: []int{T - 1}}})
		if err != nil {
			t.Fatal(err)
		}
		if got := (metric(full, T, V) - p.Corrupt) / (p.Clean - p.Corrupt); math.Abs(got-1) > 1e-9 {
			t.Fatalf("%s: last-position resid_post patch gave %g", fam, got)
		}
		// One matrix of heads, layer x head.
		hm := p.Matrices[3]
		if hm.ColName != "head" || len(hm.Values[0]) != cfg.NumHeads {
			t.Fatalf("%s: head matrix %+v", fam, hm)
		}
		// The batched passes agree with one RunPatched per cell (batching
		// changes only the matmuls' rounding).
		norm := func(ps []Patch) float64 {
			logits, err := RunPatched(m, corrupt, 1, T, ps)
			if err != nil {
				t.Fatal(err)
			}
			return (metric(logits, T, V) - p.Corrupt) / (p.Clean - p.Corrupt)
		}
		for l := 0; l < cfg.NumLayers; l++ {
			pre := "blocks." + strconv.Itoa(l) + "."
			for k, hk := range []string{"hook_resid_pre", "hook_attn_out", "hook_mlp_out"} {
				for pos := 0; pos < T; pos++ {
					want := norm([]Patch{{Hook: pre + hk, Source: cc.Get(pre + hk), Positions: []int{pos}}})
					if got := p.Matrices[k].Values[l][pos]; math.Abs(got-want) > 1e-4 {
						t.Fatalf("%s: %s%s position %d: batched %g, alone %g", fam, pre, hk, pos, got, want)
					}
				}
			}
			for h := 0; h < cfg.NumHeads; h++ {
				want := norm([]Patch{{Hook: pre + "attn.hook_z", Source: cc.Get(pre + "attn.hook_z"), Heads: []int{h}}})
				if got := hm.Values[l][h]; math.Abs(got-want) > 1e-4 {
					t.Fatalf("%s: layer %d head %d: batched %g, alone %g", fam, l, h, got, want)
				}
			}
		}
	}
}

func TestActivationPatchingErrors(t *testing.T) {
	m := testModels(t)["gpt2"]
	toks := testTokens(4, m.Config.VocabSize, 1)
	for name, tc := range map[string]struct {
		clean, corrupt []int32
		opts           PatchOptions
	}{
		"lengths":    {toks, toks[:3], PatchOptions{Correct: 1, Wrong: 2}},
		"same":       {toks, toks, PatchOptions{Correct: 1, Wrong: 2}},
		"vocab":      {toks, toks, PatchOptions{Correct: 1, Wrong: 99}},
		"bad hook":   {toks, append([]int32{5}, toks[1:]...), PatchOptions{Correct: 1, Wrong: 2, Hooks: []string{"hook_nothing"}}},
		"bad label":  {toks, append([]int32{5}, toks[1:]...), PatchOptions{Correct: 1, Wrong: 2, Labels: []string{"a"}}},
		"bad metric": {toks, append([]int32{5}, toks[1:]...), PatchOptions{Metric: LogitDiff(7, 1, 2)}},
	} {
		if _, err := ActivationPatching(m, tc.clean, tc.corrupt, tc.opts); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestRunPatchedPositionsAndErrors: a negative position counts from the
// end, as everywhere in interp; a position, head or hook the run does not
// have is an error, not a patch that silently does nothing.
func TestRunPatchedPositionsAndErrors(t *testing.T) {
	m := testModels(t)["llama"]
	const T = 5
	V := m.Config.VocabSize
	clean := testTokens(T, V, 21)
	corrupt := slices.Clone(clean)
	corrupt[2] = (clean[2] + 1) % int32(V)
	cc, err := RunWithCache(m, clean, 1, T, CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	run := func(p Patch) ([]float32, error) {
		if p.Source == nil {
			p.Source = cc.Get(p.Hook)
		}
		logits, err := RunPatched(m, corrupt, 1, T, []Patch{p})
		return slices.Clone(logits), err
	}
	resid := "blocks.1.hook_resid_pre"
	last, err := run(Patch{Hook: resid, Positions: []int{T - 1}})
	if err != nil {
		t.Fatal(err)
	}
	neg, err := run(Patch{Hook: resid, Positions: []int{-1}})
	if err != nil || !slices.Equal(neg, last) {
		t.Fatalf("position -1 differs from position %d (err %v)", T-1, err)
	}
	unpatched, _ := run(Patch{Hook: resid, Positions: []int{0}})
	if slices.Equal(last, unpatched) {
		t.Fatal("patching the last position changed nothing")
	}
	for name, p := range map[string]Patch{
		"position T":       {Hook: resid, Positions: []int{T}},
		"position -T-1":    {Hook: resid, Positions: []int{-T - 1}},
		"heads on resid":   {Hook: resid, Heads: []int{0}},
		"query head":       {Hook: "blocks.0.attn.hook_z", Heads: []int{m.Config.NumHeads}},
		"kv head":          {Hook: "blocks.0.attn.hook_v", Heads: []int{m.Config.NumKVHeads}},
		"every hook":       {Hook: "*", Source: cc.Get(resid)},
		"no such hook":     {Hook: "blocks.9.hook_resid_pre", Source: cc.Get(resid)},
		"source of resid2": {Hook: "blocks.0.mlp.hook_post", Source: cc.Get(resid)},
	} {
		if _, err := run(p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := run(Patch{Hook: "blocks.0.attn.hook_v", Heads: []int{m.Config.NumKVHeads - 1}}); err != nil {
		t.Errorf("last kv head: %v", err)
	}
	// A metric out of range is an error from RunWithCache, not a panic.
	for _, metric := range []MetricFunc{LogitDiffMetric(T, 1, 2), LogitDiffMetric(-1, int32(V), 2), LogitDiffMetric(0, 1, -1)} {
		if _, err := RunWithCache(m, clean, 1, T, CacheOptions{Metric: metric}); err == nil {
			t.Error("an out-of-range metric gave no error")
		}
	}
}

// TestPatchAttentionMap checks that a patch of an attention map copies
// exactly the chosen (head, query position) rows of [B, nH, T, T], and that
// patching the clean scores of a layer gives the same logits as patching
// its clean pattern, the scores' softmax.
func TestPatchAttentionMap(t *testing.T) {
	const B, nH, T = 2, 3, 4
	n := B * nH * T * T
	src, act := make([]float32, n), make([]float32, n)
	for i := range src {
		src[i], act[i] = float32(i+1), -float32(i+1)
	}
	p := Patch{Hook: "blocks.0.attn.hook_pattern", Source: &Activation{Shape: []int{B, nH, T, T}, Data: src}, Positions: []int{2}, Heads: []int{1}}
	p.apply(act, []int{B, nH, T, T})
	for i := range act {
		b, h, q := i/(nH*T*T), i/(T*T)%nH, i/T%T
		if patched := h == 1 && q == 2; (act[i] == src[i]) != patched {
			t.Fatalf("element %d (sequence %d, head %d, query %d): %v, patched %v", i, b, h, q, act[i], patched)
		}
	}

	for fam, m := range testModels(t) {
		V := m.Config.VocabSize
		clean := testTokens(5, V, 13)
		corrupt := slices.Clone(clean)
		corrupt[0] = (clean[0] + 3) % int32(V)
		cc, err := RunWithCache(m, clean, 1, 5, CacheOptions{})
		if err != nil {
			t.Fatal(err)
		}
		run := func(hook string) []float32 {
			logits, err := RunPatched(m, corrupt, 1, 5, []Patch{{Hook: hook, Source: cc.Get(hook), Heads: []int{0}, Positions: []int{1, 3}}})
			if err != nil {
				t.Fatal(err)
			}
			return slices.Clone(logits)
		}
		scores, pattern := run("blocks.0.attn.hook_attn_scores"), run("blocks.0.attn.hook_pattern")
		if !slices.Equal(scores, pattern) {
			t.Fatalf("%s: patching the clean scores and the clean pattern disagree", fam)
		}
		unpatched, err := RunPatched(m, corrupt, 1, 5, nil)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Equal(scores, unpatched) {
			t.Fatalf("%s: patching head 0's scores changed nothing", fam)
		}

		// Patching the pattern per (layer, query position): a cell is its
		// own RunPatched, and query 0, which attends only to itself in
		// both runs, restores nothing.
		correct, wrong := int32(2), int32(6)
		p, err := ActivationPatching(m, clean, corrupt, PatchOptions{Correct: correct, Wrong: wrong, Hooks: []string{"attn.hook_pattern"}, NoHeads: true})
		if err != nil {
			t.Fatal(err)
		}
		metric := LogitDiff(-1, correct, wrong)
		for l, row := range p.Matrices[0].Values {
			if math.Abs(row[0]) > 1e-4 { // batching changes the rounding only
				t.Fatalf("%s: layer %d: patching query 0's pattern gave %g, want 0", fam, l, row[0])
			}
			for q, got := range row {
				name := "blocks." + strconv.Itoa(l) + ".attn.hook_pattern"
				logits, err := RunPatched(m, corrupt, 1, 5, []Patch{{Hook: name, Source: cc.Get(name), Positions: []int{q}}})
				if err != nil {
					t.Fatal(err)
				}
				if want := (metric(logits, 5, V) - p.Corrupt) / (p.Clean - p.Corrupt); math.Abs(got-want) > 1e-4 {
					t.Fatalf("%s: layer %d query %d: batched %g, alone %g", fam, l, q, got, want)
				}
			}
		}
	}
}
