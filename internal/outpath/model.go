package outpath

import (
	"os"
	"path/filepath"
	"slices"

	"github.com/alignlab/alignlab/ckpt"
)

// modelFiles are the files the model loaders (internal/modeldir, ckpt/hf,
// model.Load, lab.LoadPolicy, tokenizer.Load) may read from a model
// directory, and what each is. Missing ones count too: a file written
// under one of these names becomes part of the model the next load reads.
var modelFiles = []struct{ name, what string }{
	{ckpt.SingleFile, "the model's weights"},
	{ckpt.IndexFile, "the model's shard index"},
	{"config.json", "the model's config"},
	{"generation_config.json", "the model's generation config"},
	{"tokenizer.json", "the model's tokenizer"},
	{"tokenizer_config.json", "the model's tokenizer config"},
	{"chat_template.jinja", "the model's chat template"},
	{"lab_codec.json", "the lab policy's codec"},
}

// ModelDir lists dir and the files a model load reads from it, among them
// the weight shards its model.safetensors.index.json names, as inputs.
func ModelDir(dir string) []Input {
	ins := []Input{{Path: dir, What: "the model directory"}}
	for _, f := range modelFiles {
		ins = append(ins, Input{Path: filepath.Join(dir, f.name), What: f.what})
	}
	// An unreadable or malformed index names no shards; the load that
	// follows reports it.
	if raw, err := os.ReadFile(filepath.Join(dir, ckpt.IndexFile)); err == nil {
		if wm, err := ckpt.ParseIndex(raw); err == nil {
			var shards []string
			for _, s := range wm {
				if !slices.Contains(shards, s) {
					shards = append(shards, s)
				}
			}
			slices.Sort(shards)
			for _, s := range shards {
				ins = append(ins, Input{Path: filepath.Join(dir, s), What: "a shard of the model's weights"})
			}
		}
	}
	return ins
}
