package hf

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/alignlab/alignlab/ckpt"
	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tokenizer"
)

// SavedFiles are the files Save writes into its directory (the last
// ones only with a tokenizer), for checks that an output directory holds
// none of a command's inputs.
var SavedFiles = append([]string{ckpt.SingleFile, ConfigFile, GenerationConfigFile}, tokenizer.SavedFiles...)

// Save writes m to dir (created if missing) as a Hugging Face checkpoint
// that transformers (and so TRL) loads with from_pretrained:
// model.safetensors in float32 with Hugging Face names and layouts
// (GPT2LMHeadModel or LlamaForCausalLM; metadata format "pt"), config.json,
// generation_config.json and, when tok is not nil, the tokenizer files.
// Each file is written atomically. A tied head is stored once, as the
// embedding, as transformers does.
//
// A GPT-2 family model without biases is written with zero biases (Hugging
// Face's GPT-2 always has them); a Llama family model with biases is
// written with attention_bias and mlp_bias set.
func Save(dir string, m *model.Model, tok *tokenizer.Tokenizer) error {
	cfg := m.Config
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	if tok != nil && tok.VocabSize() > cfg.VocabSize {
		return fmt.Errorf("save %s: the tokenizer has %d tokens but the model's vocab_size is %d", dir, tok.VocabSize(), cfg.VocabSize)
	}
	lay := layout{modelType: string(cfg.Family), qkvBias: cfg.Bias, outBias: cfg.Bias, mlpBias: cfg.Bias}
	prefix := ""
	if cfg.Family == model.GPT2 {
		lay = layout{modelType: "gpt2", qkvBias: true, outBias: true, mlpBias: true}
		prefix = "transformer."
	}
	ids := specialIDs(tok)
	cfgJSON, err := configJSON(cfg, ids)
	if err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	genJSON, err := generationConfigJSON(ids)
	if err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	var srcs []ckpt.Source
	for _, b := range bindings(cfg, lay, m.Params, prefix) {
		srcs = append(srcs, source(b))
	}
	if err := ckpt.WriteSources(filepath.Join(dir, ckpt.SingleFile), srcs, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{ConfigFile, cfgJSON}, {GenerationConfigFile, genJSON}} {
		err := ckpt.WriteAtomic(filepath.Join(dir, f.name), func(w io.Writer) error {
			_, err := w.Write(f.data)
			return err
		})
		if err != nil {
			return fmt.Errorf("save %s: %w", dir, err)
		}
	}
	if tok != nil {
		if err := tok.Save(dir); err != nil {
			return fmt.Errorf("save %s: %w", dir, err)
		}
	}
	return nil
}

// source turns a binding into what the safetensors writer takes: the view
// itself, its transpose produced on demand, or zeros for a bias our model
// does not have.
func source(b binding) ckpt.Source {
	s := ckpt.Source{Name: b.name, Shape: b.shape}
	switch {
	case b.dst == nil:
		s.Fill = func(dst []float32) { clear(dst) }
	case b.transposed:
		// The checkpoint holds [r, c] = shape; ours is [c, r].
		r, c := b.shape[0], b.shape[1]
		s.Fill = func(dst []float32) {
			for i := range c {
				row := b.dst[i*r : (i+1)*r]
				for j, v := range row {
					dst[j*c+i] = v
				}
			}
		}
	default:
		s.Data = b.dst
	}
	return s
}

// specialIDs collects BOS, EOS and PAD from tok (none when tok is nil).
func specialIDs(tok *tokenizer.Tokenizer) tokenIDs {
	var ids tokenIDs
	if tok == nil {
		return ids
	}
	if id, ok := tok.BOS(); ok {
		ids.bos = &id
	}
	if id, ok := tok.EOS(); ok {
		ids.eos = &id
	}
	if id, ok := tok.PAD(); ok {
		ids.pad = &id
	}
	return ids
}
