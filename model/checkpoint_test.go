package model

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/ckpt"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	for name, cfg := range genTestConfigs() {
		t.Run(name, func(t *testing.T) {
			m := genTestModel(t, cfg, 3)
			dir := filepath.Join(t.TempDir(), "ckpt")
			if err := m.Save(dir); err != nil {
				t.Fatal(err)
			}
			got, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got.Config != m.Config {
				t.Fatalf("config %+v, want %+v", got.Config, m.Config)
			}
			if !slices.Equal(got.Params.Data, m.Params.Data) {
				t.Fatal("weights differ after the round trip")
			}
			if cfg.TieEmbeddings && &got.Params.LMHead[0] != &got.Params.TokEmb[0] {
				t.Fatal("loaded tied model does not share wte as its head")
			}
			// The loaded model generates exactly what the original does.
			gc := GenerateConfig{MaxNewTokens: 5, Temperature: 1, Seed: 1}
			a, err := m.Generate([][]int32{{1, 2, 3}}, gc)
			if err != nil {
				t.Fatal(err)
			}
			b, err := got.Generate([][]int32{{1, 2, 3}}, gc)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a[0].Tokens, b[0].Tokens) {
				t.Fatalf("generations differ: %v vs %v", a[0].Tokens, b[0].Tokens)
			}
		})
	}
}

func TestLoadRejectsMismatches(t *testing.T) {
	cfg := genTestConfigs()["llama-gqa"]
	m := genTestModel(t, cfg, 1)
	save := func(t *testing.T) string {
		dir := t.TempDir()
		if err := m.Save(dir); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	rewriteWeights := func(t *testing.T, dir string, edit func([]ckpt.Tensor) []ckpt.Tensor) {
		ts, _, err := ckpt.ReadFile(filepath.Join(dir, WeightsFile))
		if err != nil {
			t.Fatal(err)
		}
		if err := ckpt.Write(filepath.Join(dir, WeightsFile), edit(ts), nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name    string
		corrupt func(t *testing.T, dir string)
		want    string
	}{
		{"missing tensor", func(t *testing.T, dir string) {
			rewriteWeights(t, dir, func(ts []ckpt.Tensor) []ckpt.Tensor { return ts[1:] })
		}, `no tensor "wte"`},
		{"extra tensor", func(t *testing.T, dir string) {
			rewriteWeights(t, dir, func(ts []ckpt.Tensor) []ckpt.Tensor {
				return append(ts, ckpt.Tensor{Name: "stray", Shape: []int{1}, Data: []float32{1}})
			})
		}, "does not use: stray"},
		{"wrong shape", func(t *testing.T, dir string) {
			rewriteWeights(t, dir, func(ts []ckpt.Tensor) []ckpt.Tensor {
				ts[0].Shape = []int{ts[0].Shape[1], ts[0].Shape[0]}
				return ts
			})
		}, "has shape"},
		{"bad config", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{"family":"llama","num_heads":0}`), 0o644)
		}, "invalid model config"},
		{"config larger than its weights", func(t *testing.T, dir string) {
			// Checked against the file before anything is allocated: had
			// the 2 GB of parameters been allocated first, this would be
			// slow (or fail for memory), not a shape error.
			c := cfg
			c.VocabSize = 1 << 23
			raw, _ := json.Marshal(c)
			os.WriteFile(filepath.Join(dir, ConfigFile), raw, 0o644)
		}, `tensor "wte" has shape`},
		{"config larger than its weights, allocation", func(t *testing.T, dir string) {
			c := cfg
			c.VocabSize = 1 << 23
			raw, _ := json.Marshal(c)
			os.WriteFile(filepath.Join(dir, ConfigFile), raw, 0o644)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			Load(dir)
			runtime.ReadMemStats(&after)
			if got := after.TotalAlloc - before.TotalAlloc; got > 64<<20 {
				t.Errorf("Load allocated %d MB before finding the shapes wrong", got>>20)
			}
		}, `tensor "wte" has shape`},
		{"unknown config field", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{"n_embd":768}`), 0o644)
		}, "unknown field"},
		{"truncated weights", func(t *testing.T, dir string) {
			p := filepath.Join(dir, WeightsFile)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-4], 0o644)
		}, "outside"},
		{"no weights", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, WeightsFile)) }, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := save(t)
			tc.corrupt(t, dir)
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load: %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}
