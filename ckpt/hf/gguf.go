// GGUF export of Llama-family models for llama.cpp, following what
// llama.cpp's convert_hf_to_gguf.py writes for a LlamaForCausalLM with a
// byte-level BPE ("gpt2") tokenizer or a SentencePiece-style one ("llama":
// gguf_spm.go).

package hf

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/alignlab/alignlab/ckpt/gguf"
	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tokenizer"
)

// GGUFOptions says how ExportGGUF writes.
type GGUFOptions struct {
	// Type is the element type of the matrices: gguf.F32 (the default) or
	// gguf.F16. Norms and biases are always F32, as llama.cpp expects.
	Type gguf.TensorType
	// Name is general.name ("alignlab" when empty).
	Name string
	// Pre is llama.cpp's name for the pre-tokenizer (tokenizer.ggml.pre:
	// "gpt-2", "llama-bpe", "qwen2", ...). Empty means: recognise it from
	// the tokenizer's pre_tokenizer, failing when it is none of those.
	Pre string
}

// ExportGGUF writes a Llama-family model and its tokenizer to path as GGUF
// v3 that llama.cpp loads (architecture "llama"). The q and k projections
// are permuted within each head from Hugging Face's rotate_half order to
// the interleaved pairs ggml's RoPE rotates, as convert_hf_to_gguf.py does;
// everything else is stored as it is (ggml's ne order is our shape
// reversed, so an [out, in] matrix needs no transpose).
func ExportGGUF(path string, m *model.Model, tok *tokenizer.Tokenizer, opts GGUFOptions) error {
	cfg := m.Config
	fail := func(err error) error { return fmt.Errorf("export gguf %s: %w", path, err) }
	switch {
	case cfg.Family != model.Llama:
		return fail(fmt.Errorf("family %q: GGUF export covers the Llama family only", cfg.Family))
	case tok == nil:
		return fail(errors.New("a tokenizer is needed (llama.cpp reads the vocabulary from the GGUF file)"))
	case tok.VocabSize() > cfg.VocabSize:
		return fail(fmt.Errorf("the tokenizer has %d tokens but the model's vocab_size is %d", tok.VocabSize(), cfg.VocabSize))
	}
	if err := cfg.Validate(); err != nil {
		return fail(err)
	}
	if opts.Type != gguf.F32 && opts.Type != gguf.F16 {
		return fail(fmt.Errorf("tensor type %s: only F32 and F16 are written", opts.Type))
	}
	var w gguf.Writer
	if tok.ByteFallback() {
		spm, err := sentencePieceVocab(tok, cfg.VocabSize)
		if err != nil {
			return fail(err)
		}
		if err := setMetadata(&w, cfg, tok, opts, "", spm); err != nil {
			return fail(err)
		}
	} else {
		pre := opts.Pre
		if pre == "" {
			var err error
			if pre, err = detectPre(tok); err != nil {
				return fail(err)
			}
		}
		if err := setMetadata(&w, cfg, tok, opts, pre, nil); err != nil {
			return fail(err)
		}
	}
	if err := addTensors(&w, m, opts.Type); err != nil {
		return fail(err)
	}
	if err := w.WriteFile(path); err != nil {
		return fail(err)
	}
	return nil
}

// setMetadata records the hyperparameters and the tokenizer under the keys
// llama.cpp reads: a "gpt2" vocabulary with merges and pre-tokenizer pre,
// or, with spm, a "llama" one with scores.
func setMetadata(w *gguf.Writer, cfg model.Config, tok *tokenizer.Tokenizer, opts GGUFOptions, pre string, spm *spmVocab) error {
	name := opts.Name
	if name == "" {
		name = "alignlab"
	}
	fileType := uint32(gguf.FileTypeAllF32)
	if opts.Type == gguf.F16 {
		fileType = gguf.FileTypeMostlyF16
	}
	vocab, types := ggufVocab(tok, cfg.VocabSize)
	kvs := []gguf.KV{
		{Key: "general.architecture", Value: "llama"},
		{Key: "general.type", Value: "model"},
		{Key: "general.name", Value: name},
		{Key: "general.file_type", Value: fileType},
		{Key: "general.quantization_version", Value: uint32(2)},
		{Key: "llama.vocab_size", Value: uint32(cfg.VocabSize)},
		{Key: "llama.context_length", Value: uint32(cfg.MaxSeqLen)},
		{Key: "llama.embedding_length", Value: uint32(cfg.Dim)},
		{Key: "llama.block_count", Value: uint32(cfg.NumLayers)},
		{Key: "llama.feed_forward_length", Value: uint32(cfg.HiddenDim)},
		{Key: "llama.attention.head_count", Value: uint32(cfg.NumHeads)},
		{Key: "llama.attention.head_count_kv", Value: uint32(cfg.NumKVHeads)},
		{Key: "llama.rope.freq_base", Value: cfg.RopeTheta},
		{Key: "llama.rope.dimension_count", Value: uint32(cfg.HeadDim())},
		{Key: "llama.attention.layer_norm_rms_epsilon", Value: cfg.NormEps},
	}
	if spm != nil {
		kvs = append(kvs,
			gguf.KV{Key: "tokenizer.ggml.model", Value: "llama"},
			gguf.KV{Key: "tokenizer.ggml.tokens", Value: spm.tokens},
			gguf.KV{Key: "tokenizer.ggml.scores", Value: spm.scores},
			gguf.KV{Key: "tokenizer.ggml.token_type", Value: spm.types},
			gguf.KV{Key: "tokenizer.ggml.add_space_prefix", Value: true})
	} else {
		kvs = append(kvs,
			gguf.KV{Key: "tokenizer.ggml.model", Value: "gpt2"},
			gguf.KV{Key: "tokenizer.ggml.pre", Value: pre},
			gguf.KV{Key: "tokenizer.ggml.tokens", Value: vocab},
			gguf.KV{Key: "tokenizer.ggml.token_type", Value: types},
			gguf.KV{Key: "tokenizer.ggml.merges", Value: tok.Merges()})
	}
	kvs = append(kvs,
		gguf.KV{Key: "tokenizer.ggml.add_bos_token", Value: tok.AddsBOS()},
		gguf.KV{Key: "tokenizer.ggml.add_eos_token", Value: false})
	for _, s := range []struct {
		key string
		id  func() (int32, bool)
	}{{"tokenizer.ggml.bos_token_id", tok.BOS}, {"tokenizer.ggml.eos_token_id", tok.EOS}, {"tokenizer.ggml.padding_token_id", tok.PAD}, {"tokenizer.ggml.unknown_token_id", tok.UNK}} {
		if id, ok := s.id(); ok {
			kvs = append(kvs, gguf.KV{Key: s.key, Value: uint32(id)})
		}
	}
	if t := tok.ChatTemplate(); t != "" {
		kvs = append(kvs, gguf.KV{Key: "tokenizer.chat_template", Value: t})
	}
	for _, kv := range kvs {
		if err := w.Set(kv.Key, kv.Value); err != nil {
			return err
		}
	}
	return nil
}

// ggufVocab lists every token string by id, padded to the model's vocab
// size, with llama.cpp's token types: special added tokens are control
// tokens, other added tokens user-defined, unused ids "[PAD<id>]".
func ggufVocab(tok *tokenizer.Tokenizer, size int) ([]string, []int32) {
	vocab := tok.Vocab()
	types := make([]int32, size)
	for id := range size {
		_, ok := tok.Token(int32(id))
		switch {
		case id >= len(vocab):
			vocab = append(vocab, fmt.Sprintf("[PAD%d]", id))
			types[id] = gguf.TokenUnused
		case !ok:
			types[id] = gguf.TokenUnused
		case tok.IsSpecial(int32(id)):
			types[id] = gguf.TokenControl
		case tok.IsAdded(int32(id)):
			types[id] = gguf.TokenUserDefined
		default:
			types[id] = gguf.TokenNormal
		}
	}
	return vocab, types
}

// addTensors adds every weight under llama.cpp's names. Matrices take the
// requested type; vectors (norms, biases) stay F32.
func addTensors(w *gguf.Writer, m *model.Model, typ gguf.TensorType) error {
	cfg, p := m.Config, m.Params
	C, H, hd := cfg.Dim, cfg.HiddenDim, cfg.HeadDim()
	q, kv := cfg.NumHeads*hd, cfg.NumKVHeads*hd
	var ts []gguf.Tensor
	mat := func(name string, rows, cols int, data []float32) {
		ts = append(ts, gguf.Tensor{Name: name, Shape: []int{rows, cols}, Type: typ, Data: data})
	}
	vec := func(name string, data []float32) {
		ts = append(ts, gguf.Tensor{Name: name, Shape: []int{len(data)}, Type: gguf.F32, Data: data})
	}
	// permuted produces rows*cols values of src reordered by permuteHeads.
	permuted := func(name string, shape []int, t gguf.TensorType, src []float32, heads, cols int) {
		ts = append(ts, gguf.Tensor{Name: name, Shape: shape, Type: t, Fill: func(dst []float32) {
			permuteHeads(dst, src, heads, hd, cols)
		}})
	}
	mat("token_embd.weight", cfg.VocabSize, C, p.TokEmb)
	for i, l := range p.Layers {
		b := fmt.Sprintf("blk.%d.", i)
		vec(b+"attn_norm.weight", l.AttnNormW)
		permuted(b+"attn_q.weight", []int{q, C}, typ, l.QKVW[:q*C], cfg.NumHeads, C)
		permuted(b+"attn_k.weight", []int{kv, C}, typ, l.QKVW[q*C:(q+kv)*C], cfg.NumKVHeads, C)
		mat(b+"attn_v.weight", kv, C, l.QKVW[(q+kv)*C:])
		mat(b+"attn_output.weight", C, q, l.AttnOutW)
		if cfg.Bias {
			permuted(b+"attn_q.bias", []int{q}, gguf.F32, l.QKVB[:q], cfg.NumHeads, 1)
			permuted(b+"attn_k.bias", []int{kv}, gguf.F32, l.QKVB[q:q+kv], cfg.NumKVHeads, 1)
			vec(b+"attn_v.bias", l.QKVB[q+kv:])
			vec(b+"attn_output.bias", l.AttnOutB)
		}
		vec(b+"ffn_norm.weight", l.MLPNormW)
		mat(b+"ffn_gate.weight", H, C, l.FCW[:H*C])
		mat(b+"ffn_up.weight", H, C, l.FCW[H*C:])
		mat(b+"ffn_down.weight", C, H, l.ProjW)
		if cfg.Bias {
			vec(b+"ffn_gate.bias", l.FCB[:H])
			vec(b+"ffn_up.bias", l.FCB[H:])
			vec(b+"ffn_down.bias", l.ProjB)
		}
	}
	vec("output_norm.weight", p.FinalNormW)
	if !cfg.TieEmbeddings {
		mat("output.weight", cfg.VocabSize, C, p.LMHead)
	}
	for _, t := range ts {
		if err := w.AddTensor(t); err != nil {
			return err
		}
	}
	return nil
}

// permuteHeads copies a [heads*hd, cols] matrix (or, with cols 1, a bias)
// reordering the rows of each head from rotate_half order, where row i
// pairs with row i+hd/2, to the interleaved order ggml's RoPE uses, where
// row 2i pairs with row 2i+1: new row 2i+j is old row j*hd/2+i. This is
// LlamaModel.permute of convert_hf_to_gguf.py.
func permuteHeads(dst, src []float32, heads, hd, cols int) {
	half := hd / 2
	for h := range heads {
		for i := range half {
			for j := range 2 {
				to := (h*hd + 2*i + j) * cols
				from := (h*hd + j*half + i) * cols
				copy(dst[to:to+cols], src[from:from+cols])
			}
		}
	}
}

// detectPre names the tokenizer's pre-tokenizer as llama.cpp does, from the
// pre_tokenizer section of its tokenizer.json. Only the patterns whose
// llama.cpp implementation matches are recognised: a wrong name would make
// llama.cpp split text differently from the tokenizer the model was
// trained with.
func detectPre(tok *tokenizer.Tokenizer) (string, error) {
	sec, err := tokenizerSections(tok)
	if err != nil {
		return "", err
	}
	return preName(sec.PreTokenizer)
}

// sections are the parts of a tokenizer.json that decide how text is split.
type sections struct {
	Normalizer   json.RawMessage `json:"normalizer"`
	PreTokenizer json.RawMessage `json:"pre_tokenizer"`
}

// tokenizerSections reads tok's normalizer and pre_tokenizer as Save writes them.
func tokenizerSections(tok *tokenizer.Tokenizer) (sections, error) {
	var sec sections
	dir, err := os.MkdirTemp("", "alignlab-tokenizer-")
	if err != nil {
		return sec, err
	}
	defer os.RemoveAll(dir)
	if err := tok.Save(dir); err != nil {
		return sec, err
	}
	raw, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return sec, err
	}
	if err := json.Unmarshal(raw, &sec); err != nil {
		return sec, fmt.Errorf("read the tokenizer's pre_tokenizer: %w", err)
	}
	return sec, nil
}

// preTok is the part of a tokenizer.json pre_tokenizer that decides the
// split.
type preTok struct {
	Type           string   `json:"type"`
	AddPrefixSpace bool     `json:"add_prefix_space"`
	UseRegex       *bool    `json:"use_regex"`
	Behavior       string   `json:"behavior"`
	Invert         bool     `json:"invert"`
	Pretokenizers  []preTok `json:"pretokenizers"`
	Pattern        struct {
		Regex *string `json:"Regex"`
	} `json:"pattern"`
}

// preName maps a pre_tokenizer onto llama.cpp's pre-tokenizer names.
func preName(raw json.RawMessage) (string, error) {
	var p preTok
	if err := json.Unmarshal(raw, &p); err != nil {
		return "", fmt.Errorf("read the tokenizer's pre_tokenizer: %w", err)
	}
	unknown := fmt.Errorf("the tokenizer's pre_tokenizer %s is not one llama.cpp implements under a known name (GPT-2, Llama-3 or Qwen2 patterns); name it with --pre if you know llama.cpp's", compact(raw))
	if p.Type == "Sequence" && len(p.Pretokenizers) == 1 {
		p = p.Pretokenizers[0]
	}
	switch {
	case p.Type == "ByteLevel" && (p.UseRegex == nil || *p.UseRegex) && !p.AddPrefixSpace:
		return "gpt-2", nil
	case p.Type == "Sequence" && len(p.Pretokenizers) == 2:
		split, bl := p.Pretokenizers[0], p.Pretokenizers[1]
		if split.Type != "Split" || split.Pattern.Regex == nil || split.Invert || split.Behavior != "Isolated" ||
			bl.Type != "ByteLevel" || bl.UseRegex == nil || *bl.UseRegex || bl.AddPrefixSpace {
			return "", unknown
		}
		switch *split.Pattern.Regex {
		case tokenizer.PatternGPT2:
			return "gpt-2", nil
		case tokenizer.PatternLlama3:
			return "llama-bpe", nil
		case tokenizer.PatternQwen2:
			return "qwen2", nil
		}
	}
	return "", unknown
}
