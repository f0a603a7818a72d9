package hf

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// TestTransformersCheckpoints loads checkpoints written by Hugging Face
// transformers 5.17 itself (save_pretrained of random GPT2LMHeadModel in
// bfloat16, Qwen2ForCausalLM in bfloat16 with tied embeddings and q/k/v
// biases, MistralForCausalLM with grouped-query attention sharded into five
// files), and compares the engine's logits at the last position of two
// sequences with the ones transformers computed in float32 after loading
// the same files (testdata/transformers/*/expected.json).
func TestTransformersCheckpoints(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/transformers/*")
	if len(dirs) == 0 {
		t.Fatal("no fixtures under testdata/transformers")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, "expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			var want struct {
				B, T       int
				Tokens     []int32
				LastLogits []float32
			}
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			m, _, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Forward(want.Tokens, want.B, want.T, nil)
			if err != nil {
				t.Fatal(err)
			}
			V := m.Config.VocabSize
			var worst float64
			for b := range want.B {
				row := got[(b*want.T+want.T-1)*V : (b*want.T+want.T)*V]
				for i, v := range row {
					worst = max(worst, math.Abs(float64(v-want.LastLogits[b*V+i])))
				}
			}
			if worst > 1e-4 {
				t.Fatalf("logits differ from transformers' by up to %.3g", worst)
			}
			t.Logf("max |logit - transformers| = %.2g", worst)
		})
	}
}
