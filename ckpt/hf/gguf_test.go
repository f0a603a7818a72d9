package hf

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/ckpt/gguf"
	"github.com/alignlab/alignlab/model"
)

// TestExportGGUF exports a Llama model with biases as f32 and f16 and reads
// the file back: llama.cpp's keys, names, shapes (ggml order), types (norms
// and biases stay F32) and values, q and k permuted.
func TestExportGGUF(t *testing.T) {
	tok := testTokenizer(t, 300)
	cfg := model.LlamaConfig(304, 32, 2, 4, 2, 32, 40) // vocab padded past the tokenizer
	cfg.Bias = true
	m := randomModel(t, cfg, 4)
	for _, typ := range []gguf.TensorType{gguf.F32, gguf.F16} {
		path := filepath.Join(t.TempDir(), "m.gguf")
		if err := ExportGGUF(path, m, tok, GGUFOptions{Type: typ}); err != nil {
			t.Fatal(err)
		}
		r, err := gguf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		eos, _ := tok.EOS()
		for key, want := range map[string]any{
			"general.architecture": "llama", "llama.block_count": uint32(2), "llama.embedding_length": uint32(32),
			"llama.feed_forward_length": uint32(40), "llama.attention.head_count": uint32(4),
			"llama.attention.head_count_kv": uint32(2), "llama.context_length": uint32(32),
			"llama.rope.freq_base": float32(10000), "llama.rope.dimension_count": uint32(8),
			"llama.attention.layer_norm_rms_epsilon": float32(1e-5), "tokenizer.ggml.model": "gpt2",
			"tokenizer.ggml.pre": "gpt-2", "tokenizer.ggml.eos_token_id": uint32(eos),
			"general.file_type": map[gguf.TensorType]uint32{gguf.F32: 0, gguf.F16: 1}[typ],
		} {
			if got, ok := r.Get(key); !ok || got != want {
				t.Errorf("%s = %#v, want %#v", key, got, want)
			}
		}
		toks, _ := r.Get("tokenizer.ggml.tokens")
		types, _ := r.Get("tokenizer.ggml.token_type")
		merges, _ := r.Get("tokenizer.ggml.merges")
		if v := toks.([]string); len(v) != 304 || v[303] != "[PAD303]" || !slices.Equal(v[:300], tok.Vocab()) {
			t.Errorf("tokens: %d, last %q", len(v), v[len(v)-1])
		}
		if v := types.([]int32); v[eos] != gguf.TokenControl || v[300] != gguf.TokenUnused || v[100] != gguf.TokenNormal {
			t.Errorf("token types eos %d pad %d normal %d", v[eos], v[300], v[100])
		}
		if !slices.Equal(merges.([]string), tok.Merges()) {
			t.Error("merges differ")
		}

		wantTensors := 2 + 2*16 // token_embd, output_norm (+ output: untied) and 16 per block with biases
		if len(r.Tensors) != wantTensors+1 {
			t.Fatalf("%d tensors, want %d", len(r.Tensors), wantTensors+1)
		}
		for _, ti := range r.Tensors {
			want := typ
			if len(ti.Dims) == 1 {
				want = gguf.F32
			}
			if ti.Type != want {
				t.Errorf("%s stored as %s, want %s", ti.Name, ti.Type, want)
			}
		}
		l := m.Params.Layers[1]
		C, hd := cfg.Dim, cfg.HeadDim()
		q := l.QKVW[:cfg.NumHeads*hd*C]
		wantQ := make([]float32, len(q))
		permuteHeads(wantQ, q, cfg.NumHeads, hd, C)
		for _, c := range []struct {
			name string
			dims []uint64
			want []float32
		}{
			{"blk.1.attn_q.weight", []uint64{32, 32}, wantQ},
			{"blk.1.attn_v.weight", []uint64{32, 16}, l.QKVW[48*C:]},
			{"blk.1.ffn_up.weight", []uint64{32, 40}, l.FCW[40*C:]},
			{"blk.1.ffn_down.weight", []uint64{40, 32}, l.ProjW},
			{"blk.1.ffn_norm.weight", []uint64{32}, l.MLPNormW},
			{"blk.1.attn_v.bias", []uint64{16}, l.QKVB[48:]},
			{"output.weight", []uint64{32, 304}, m.Params.LMHead},
		} {
			ti, ok := r.Lookup(c.name)
			if !ok || !slices.Equal(ti.Dims, c.dims) {
				t.Fatalf("%s: present %v dims %v, want %v", c.name, ok, ti.Dims, c.dims)
			}
			got, err := r.ReadFloat32(c.name)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range c.want {
				if ti.Type == gguf.F16 {
					v = gguf.F16ToF32(gguf.F32ToF16(v))
				}
				if got[i] != v {
					t.Fatalf("%s[%d] = %g, want %g", c.name, i, got[i], v)
				}
			}
		}
	}
}

// TestPermuteHeadsIsRoPE checks why the q/k rows are permuted: rotating a
// head in Hugging Face's rotate_half form and then permuting equals
// permuting and then rotating in ggml's interleaved form, at every position.
func TestPermuteHeadsIsRoPE(t *testing.T) {
	const heads, hd, theta = 3, 8, 10000.0
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, heads*hd)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for pos := range 20 {
		half := slices.Clone(x)
		inter := make([]float32, len(x))
		permuteHeads(inter, x, heads, hd, 1)
		for h := range heads {
			v, w := half[h*hd:(h+1)*hd], inter[h*hd:(h+1)*hd]
			for i := range hd / 2 {
				s, c := math.Sincos(float64(pos) * math.Pow(theta, -2*float64(i)/hd))
				a, b := float64(v[i]), float64(v[i+hd/2]) // rotate_half pairs i, i+hd/2
				v[i], v[i+hd/2] = float32(a*c-b*s), float32(b*c+a*s)
				a, b = float64(w[2*i]), float64(w[2*i+1]) // ggml pairs 2i, 2i+1
				w[2*i], w[2*i+1] = float32(a*c-b*s), float32(b*c+a*s)
			}
		}
		got := make([]float32, len(x))
		permuteHeads(got, half, heads, hd, 1)
		if !slices.Equal(got, inter) {
			t.Fatalf("position %d: permute(rope_half(x)) = %v, rope_interleaved(permute(x)) = %v", pos, got, inter)
		}
	}
}

func TestExportGGUFErrors(t *testing.T) {
	tok := testTokenizer(t, 300)
	gpt2 := randomModel(t, model.GPT2Config(300, 8, 1, 2, 16), 1)
	small := randomModel(t, model.LlamaConfig(280, 8, 1, 2, 2, 16, 24), 1)
	ok := randomModel(t, model.LlamaConfig(300, 8, 1, 2, 2, 16, 24), 1)
	for _, tc := range []struct {
		name string
		m    *model.Model
		opts GGUFOptions
		want string
	}{
		{"gpt2", gpt2, GGUFOptions{}, "Llama family only"},
		{"vocab", small, GGUFOptions{}, "300 tokens but the model's vocab_size is 280"},
		{"type", ok, GGUFOptions{Type: gguf.BF16}, "only F32 and F16"},
	} {
		err := ExportGGUF(filepath.Join(t.TempDir(), "x.gguf"), tc.m, tok, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if err := ExportGGUF(filepath.Join(t.TempDir(), "x.gguf"), ok, nil, GGUFOptions{}); err == nil || !strings.Contains(err.Error(), "tokenizer is needed") {
		t.Errorf("no tokenizer: %v", err)
	}
}

func TestPreName(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}`, "gpt-2"},
		{`{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}]}`, "llama-bpe"},
		{`{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":false}]}`, "qwen2"},
		{`{"type":"ByteLevel","add_prefix_space":true,"use_regex":true}`, ""},
		{`{"type":"Whitespace"}`, ""},
	} {
		got, err := preName([]byte(tc.json))
		if got != tc.want || (tc.want == "") != (err != nil) {
			t.Errorf("%s: %q, %v; want %q", tc.json, got, err, tc.want)
		}
	}
}
