package sae

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/model"
)

// exactSAE returns a standard SAE with d_sae = 2·d_in that reconstructs
// every input exactly: latents ReLU(x) and ReLU(-x), decoded as their
// difference.
func exactSAE(t *testing.T, d int) *SAE {
	s, err := New(d, 2*d, Standard, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	clear(s.WEnc)
	clear(s.WDec)
	for i := 0; i < d; i++ {
		s.WEnc[i*2*d+i], s.WEnc[i*2*d+d+i] = 1, -1
		s.WDec[i*d+i], s.WDec[(d+i)*d+i] = 1, -1
	}
	return s
}

func TestSaveLoadRoundTrip(t *testing.T) {
	for _, arch := range []Architecture{Standard, TopK} {
		t.Run(string(arch), func(t *testing.T) {
			s, err := New(5, 9, arch, 3, 2)
			if err != nil {
				t.Fatal(err)
			}
			s.Meta = Meta{ModelName: "tiny", HookName: "blocks.1.hook_resid_post", HookLayer: 1, ContextSize: 64}
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range s.BEnc {
				s.BEnc[i] = float32(rng.NormFloat64())
			}
			for i := range s.BDec {
				s.BDec[i] = float32(rng.NormFloat64())
			}
			dir := filepath.Join(t.TempDir(), "sae")
			if err := s.Save(dir); err != nil {
				t.Fatal(err)
			}
			cfg, err := os.ReadFile(filepath.Join(dir, ConfigFile))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{`"architecture": "` + string(arch) + `"`, `"d_in": 5`, `"d_sae": 9`,
				`"hook_name": "blocks.1.hook_resid_post"`, `"sae_lens_version"`, `"apply_b_dec_to_input": true`} {
				if !strings.Contains(string(cfg), want) {
					t.Errorf("cfg.json lacks %s:\n%s", want, cfg)
				}
			}
			if strings.Contains(string(cfg), `"k"`) != (arch == TopK) {
				t.Errorf("cfg.json has k only for topk:\n%s", cfg)
			}
			got, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got.Arch != arch || got.K != s.K || got.Meta != s.Meta {
				t.Errorf("loaded %v k=%d %+v, want %v k=%d %+v", got.Arch, got.K, got.Meta, arch, s.K, s.Meta)
			}
			for i, p := range [][2][]float32{{s.WEnc, got.WEnc}, {s.BEnc, got.BEnc}, {s.WDec, got.WDec}, {s.BDec, got.BDec}} {
				for k := range p[0] {
					if p[0][k] != p[1][k] {
						t.Fatalf("tensor %d entry %d: %v != %v", i, k, p[1][k], p[0][k])
					}
				}
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); err == nil {
		t.Error("empty directory loaded")
	}
	for _, cfg := range []string{`{`, `{"d_in": 4, "d_sae": 8, "architecture": "gated"}`,
		`{"d_in": 4, "d_sae": 8, "normalize_activations": "layer_norm"}`, `{"d_in": 0, "d_sae": 8}`,
		`{"d_in": 4, "d_sae": 8, "apply_b_dec_to_input": false}`, `{"d_in": 4, "d_sae": 8, "activation_fn": "tanh-relu"}`} {
		if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(dir); err == nil {
			t.Errorf("cfg.json %s loaded", cfg)
		}
	}
}

func tinyModel(t testing.TB) *model.Model {
	cfg := model.GPT2Config(16, 16, 2, 2, 8) // MLP width 32
	m, err := model.New(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCELossRecovered: an SAE that reconstructs exactly recovers all of
// the loss; one that outputs zeros recovers none.
func TestCELossRecovered(t *testing.T) {
	m := tinyModel(t)
	seqs := [][]int32{{1, 2, 3, 4, 5, 6}, {7, 3, 9, 9, 1}, {2}}
	const hook = "blocks.0.hook_resid_post"
	exact := exactSAE(t, 8)
	r, err := CELossRecovered(m, hook, exact, seqs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Tokens != 9 || math.Abs(r.Recovered-1) > 1e-4 || math.Abs(r.SAE-r.Clean) > 1e-4 || r.Zero == r.Clean {
		t.Errorf("exact SAE: %+v, want recovered 1 over 9 tokens", r)
	}
	zero, _ := New(8, 16, Standard, 0, 1)
	clear(zero.WDec)
	r, err = CELossRecovered(m, hook, zero, seqs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(r.Recovered) > 1e-6 {
		t.Errorf("zero SAE: recovered %v, want 0", r.Recovered)
	}
	// A mask predicting only the last two tokens of the first sequence.
	masks := [][]bool{{false, false, false, false, true, true}, nil, nil}
	r, err = CELossRecovered(m, hook, exact, seqs, masks)
	if err != nil {
		t.Fatal(err)
	}
	if r.Tokens != 2+4 {
		t.Errorf("masked: %d tokens, want 6", r.Tokens)
	}
	if _, err := CELossRecovered(m, "blocks.0.mlp.hook_post", exact, seqs, nil); err == nil {
		t.Error("width mismatch (MLP 32 vs d_in 8) not reported")
	}
}

// TestCacheAndTopExamples caches a hook, checks shapes, and finds the
// examples of a latent that reads one residual coordinate.
func TestCacheAndTopExamples(t *testing.T) {
	m := tinyModel(t)
	seqs := [][]int32{{1, 2, 3, 4}, {5, 6, 7}}
	x, w, refs, err := CacheActivations(m, "blocks.1.hook_resid_pre", seqs)
	if err != nil {
		t.Fatal(err)
	}
	if w != 8 || len(refs) != 7 || len(x) != 7*8 || refs[4] != (TokenRef{1, 0}) {
		t.Fatalf("width %d, %d refs (%v), %d floats", w, len(refs), refs, len(x))
	}
	s := exactSAE(t, 8)
	text := func(id int32) string { return string(rune('a' + id)) }
	ex := TopExamples(s, x, len(refs), refs, seqs, 2, 1, text)
	if len(ex) == 0 {
		t.Fatal("no latent fired")
	}
	// Latent 0 is ReLU(x_0): its top example is the row with the largest x_0.
	best, bestV := -1, float32(0)
	for r := range refs {
		if v := x[r*8]; v > bestV {
			best, bestV = r, v
		}
	}
	l0 := ex[0]
	if best < 0 || l0.Latent != 0 || len(l0.Examples) == 0 {
		t.Fatalf("latent 0: %+v (best row %d)", l0, best)
	}
	e := l0.Examples[0]
	if (TokenRef{e.Seq, e.Pos}) != refs[best] || math.Abs(float64(e.Activation-bestV)) > 1e-5 {
		t.Errorf("latent 0's top example %+v, want row %d (%v) with %v", e, best, refs[best], bestV)
	}
	if !strings.Contains(e.Context, "«"+e.Token+"»") {
		t.Errorf("context %q does not mark token %q", e.Context, e.Token)
	}
	met := Evaluate(s, x, len(refs))
	if met.ExplainedVariance < 0.999999 || met.MSE > 1e-9 {
		t.Errorf("exact SAE metrics %+v", met)
	}
	// top 0 keeps the firing rates and no examples; a negative count of
	// latents to show shows none.
	none := TopExamples(s, x, len(refs), refs, seqs, 0, 1, text)
	if len(none) != len(ex) || none[0].Firing != ex[0].Firing || len(none[0].Examples) != 0 {
		t.Errorf("top 0: %+v", none[0])
	}
	if got := ShowLatents(ex, -1); len(got) != 0 {
		t.Errorf("ShowLatents(-1) kept %d", len(got))
	}
}

// FuzzParseConfig: any cfg.json either parses into a valid shape or is an
// error, never a panic or a huge allocation.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"architecture": "topk", "d_in": 4, "d_sae": 8, "k": 2, "metadata": {"hook_name": "blocks.0.hook_resid_post", "hook_layer": 0}}`))
	f.Add([]byte(`{"d_in": 4, "d_sae": 8, "hook_name": "blocks.1.hook_resid_pre", "hook_layer": 1}`))
	f.Add([]byte(`{"d_in": 4, "d_sae": 8, "normalize_activations": "layer_norm"}`))
	f.Add([]byte(`{"d_in": 4, "d_sae": 8, "hook_point": "blocks.3.hook_resid_pre", "hook_point_layer": 3}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := parseConfig(raw)
		if err != nil {
			return
		}
		if s.DIn < 1 || s.DSae < 1 || len(s.WEnc) != s.DIn*s.DSae || (s.Arch == TopK && (s.K < 1 || s.K > s.DSae)) {
			t.Fatalf("parsed an invalid SAE: %d %d %v %d", s.DIn, s.DSae, s.Arch, s.K)
		}
	})
}

// TestFoldInputScale: an SAE trained on scaled activations, folded, gives
// the same latents on raw ones and reconstructs them at raw scale.
func TestFoldInputScale(t *testing.T) {
	const d, n = 6, 50
	rng := rand.New(rand.NewPCG(5, 6))
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 40)
	}
	sf := NormScale(x, n, d)
	var mean float64
	for r := 0; r < n; r++ {
		row := make([]float32, d)
		for i := range row {
			row[i] = x[r*d+i] * sf
		}
		mean += float64(norm(row)) / n
	}
	if math.Abs(mean-math.Sqrt(d)) > 1e-3 {
		t.Fatalf("scaled mean norm %v, want sqrt(%d)", mean, d)
	}
	for _, arch := range []Architecture{Standard, TopK} {
		s, _ := New(d, 12, arch, 3, 1)
		for i := range s.BDec {
			s.BDec[i] = float32(rng.NormFloat64())
		}
		scaled := make([]float32, len(x))
		for i, v := range x {
			scaled[i] = v * sf
		}
		fScaled := s.Encode(scaled, n, nil, nil)
		xhScaled := s.Decode(fScaled, n, nil)
		s.FoldInputScale(sf)
		f := s.Encode(x, n, nil, nil)
		xh := s.Decode(f, n, nil)
		for i := range f {
			if math.Abs(float64(f[i]-fScaled[i])) > 1e-3*(1+math.Abs(float64(f[i]))) {
				t.Fatalf("%s latent %d: %v folded, %v scaled", arch, i, f[i], fScaled[i])
			}
		}
		for i := range xh {
			if math.Abs(float64(xh[i]-xhScaled[i]/sf)) > 1e-3*(1+math.Abs(float64(xh[i]))) {
				t.Fatalf("%s reconstruction %d: %v folded, %v want", arch, i, xh[i], xhScaled[i]/sf)
			}
		}
	}
}

// TestParseConfigLegacy: a pre-6 SAELens cfg.json (flat, hook_point)
// reads its hook.
func TestParseConfigLegacy(t *testing.T) {
	s, err := parseConfig([]byte(`{"d_in": 4, "d_sae": 8, "hook_point": "blocks.3.hook_resid_pre", "hook_point_layer": 3, "model_name": "gpt2-small"}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Meta.HookName != "blocks.3.hook_resid_pre" || s.Meta.HookLayer != 3 || s.Meta.ModelName != "gpt2-small" || s.Arch != Standard {
		t.Errorf("legacy config read as %+v %v", s.Meta, s.Arch)
	}
}
