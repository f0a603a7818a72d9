package hf

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/alignlab/alignlab/ckpt"
	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tokenizer"
)

// testTokenizer trains a small byte-level BPE tokenizer.
func testTokenizer(t *testing.T, vocab int) *tokenizer.Tokenizer {
	t.Helper()
	corpus := []string{
		"The quick brown fox jumps over the lazy dog.",
		"Once upon a time there was a little model that learned to count: 1, 2, 3, 4, 5.",
		"She sells sea shells by the sea shore; the shells she sells are sea shells.",
		"How much wood would a woodchuck chuck if a woodchuck could chuck wood?",
	}
	tok, err := tokenizer.Train(corpus, tokenizer.TrainConfig{VocabSize: vocab, Special: []string{"<|endoftext|>"}})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestSaveLoad: Save then Load gives the same config, weights, logits and
// tokenizer, for both families; the files are what transformers expects.
func TestSaveLoad(t *testing.T) {
	tok := testTokenizer(t, 300)
	gpt2NoBias := model.GPT2Config(300, 12, 2, 4, 32)
	gpt2NoBias.Bias = false
	llamaBias := model.LlamaConfig(300, 16, 2, 4, 2, 32, 40)
	llamaBias.Bias = true
	for _, tc := range []struct {
		name    string
		cfg     model.Config
		arch    string
		wantCfg func(model.Config) model.Config // what comes back
	}{
		{"gpt2", model.GPT2Config(300, 12, 2, 4, 32), "GPT2LMHeadModel", nil},
		{"gpt2-no-bias", gpt2NoBias, "GPT2LMHeadModel", func(c model.Config) model.Config { c.Bias = true; return c }},
		{"llama", model.LlamaConfig(300, 16, 2, 4, 2, 32, 40), "LlamaForCausalLM", nil},
		{"llama-bias-tied", func() model.Config { c := llamaBias; c.TieEmbeddings = true; return c }(), "LlamaForCausalLM", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := randomModel(t, tc.cfg, 11)
			dir := filepath.Join(t.TempDir(), "out")
			if err := Save(dir, src, tok); err != nil {
				t.Fatal(err)
			}
			m, tok2, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.cfg
			if tc.wantCfg != nil {
				want = tc.wantCfg(want)
			}
			if m.Config != want {
				t.Fatalf("config\n got %+v\nwant %+v", m.Config, want)
			}
			if got, want := logits(t, m), logits(t, src); !slices.Equal(got, want) {
				t.Fatal("logits differ after save and load")
			}
			if tok2 == nil {
				t.Fatal("tokenizer not loaded back")
			}
			text := "the woodchuck sells 42 shells"
			if got, want := tok2.Encode(text), tok.Encode(text); !slices.Equal(got, want) {
				t.Fatalf("tokenizer encodes %v, want %v", got, want)
			}

			var hc map[string]any
			raw, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
			if err := json.Unmarshal(raw, &hc); err != nil {
				t.Fatal(err)
			}
			eos, _ := tok.EOS()
			if hc["architectures"].([]any)[0] != tc.arch || hc["torch_dtype"] != "float32" || hc["eos_token_id"] != float64(eos) {
				t.Fatalf("config.json: %s", raw)
			}
			f, err := ckpt.Open(filepath.Join(dir, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Metadata["format"] != "pt" {
				t.Fatalf("metadata %v, want format pt", f.Metadata)
			}
			if _, ok := f.Lookup("lm_head.weight"); ok == tc.cfg.TieEmbeddings {
				t.Fatalf("lm_head.weight stored: %v, tied: %v", ok, tc.cfg.TieEmbeddings)
			}
			for _, name := range []string{GenerationConfigFile, "tokenizer.json", "tokenizer_config.json"} {
				if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestSaveLayoutMatchesHF checks Save's tensors against the test's own
// Hugging Face layout (names, shapes, values), so Save and Load cannot
// share a mistake.
func TestSaveLayoutMatchesHF(t *testing.T) {
	for _, tc := range []struct {
		cfg  model.Config
		want func(*model.Model) []hfTensor
	}{
		{model.GPT2Config(50, 8, 2, 2, 16), func(m *model.Model) []hfTensor {
			return slices.DeleteFunc(gpt2Tensors(m, "transformer."), func(h hfTensor) bool { return h.name[len(h.name)-9:] == "attn.bias" && len(h.shape) == 4 })
		}},
		{model.LlamaConfig(50, 8, 2, 4, 2, 16, 24), func(m *model.Model) []hfTensor {
			return slices.DeleteFunc(llamaTensors(m, false), func(h hfTensor) bool { return len(h.name) > 8 && h.name[len(h.name)-8:] == "inv_freq" })
		}},
	} {
		src := randomModel(t, tc.cfg, 2)
		dir := t.TempDir()
		if err := Save(dir, src, nil); err != nil {
			t.Fatal(err)
		}
		got, _, err := ckpt.ReadFile(filepath.Join(dir, "model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		want := tc.want(src)
		if len(got) != len(want) {
			t.Fatalf("%s: %d tensors, want %d (%v)", tc.cfg.Family, len(got), len(want), sortedNames(want))
		}
		byName := map[string]ckpt.Tensor{}
		for _, g := range got {
			byName[g.Name] = g
		}
		for _, w := range want {
			g, ok := byName[w.name]
			if !ok || !slices.Equal(g.Shape, w.shape) || !slices.Equal(g.Data, w.data) {
				t.Fatalf("%s: tensor %q: got shape %v, want %v (present %v)", tc.cfg.Family, w.name, g.Shape, w.shape, ok)
			}
		}
	}
}
