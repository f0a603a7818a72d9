package hf

import (
	"encoding/json"
	"testing"

	"github.com/alignlab/alignlab/model"
)

// FuzzParseConfig: any config.json is rejected with an error or maps to a
// config that validates, and a gpt2 or llama one survives writing it back
// (configJSON) and reading it again unchanged.
func FuzzParseConfig(f *testing.F) {
	for _, c := range []map[string]any{
		gpt2HFConfig(model.GPT2Config(50, 16, 2, 2, 8)),
		llamaHFConfig(model.LlamaConfig(50, 16, 2, 4, 2, 16, 24), "llama"),
		llamaHFConfig(model.LlamaConfig(50, 16, 2, 4, 2, 16, 24), "qwen2"),
		llamaHFConfig(model.LlamaConfig(50, 16, 2, 4, 2, 16, 24), "mistral"),
	} {
		b, _ := json.Marshal(c)
		f.Add(b)
	}
	f.Add([]byte(`{"model_type":"llama","rope_parameters":{"rope_type":"default","rope_theta":1e6},"hidden_size":8,"num_attention_heads":2,"num_hidden_layers":1,"intermediate_size":4,"vocab_size":3,"max_position_embeddings":4}`))
	f.Add([]byte(`{"model_type":"gpt2","n_embd":-1}`))
	f.Add([]byte(`{"model_type":"llama","rope_theta":1e39,"rms_norm_eps":1e39,"hidden_size":8,"num_attention_heads":2,"num_hidden_layers":1,"intermediate_size":4,"vocab_size":3,"max_position_embeddings":4}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		cfg, _, err := parseConfig(raw)
		if err != nil {
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted an invalid config %+v: %v", cfg, err)
		}
		out, err := configJSON(cfg, tokenIDs{})
		if err != nil {
			t.Fatal(err)
		}
		back, _, err := parseConfig(out)
		if err != nil {
			t.Fatalf("written config does not parse: %v\n%s", err, out)
		}
		if back != cfg {
			t.Fatalf("config changed on the way back\n got %+v\nwant %+v", back, cfg)
		}
	})
}
