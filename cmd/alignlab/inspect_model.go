package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/alignlab/alignlab/internal/modeldir"
	"github.com/alignlab/alignlab/lab"
	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tokenizer"
)

// inspectModel is a model the inspect commands can run on text: a lab
// policy (its own codec, prompts wrapped as one user turn) or any model
// directory with a tokenizer.json (raw text, or the chat template with
// --chat).
type inspectModel struct {
	Model *model.Model
	// Policy is set for a lab policy directory (for the lab's own
	// evaluation sets and generation).
	Policy *lab.Policy
	tok    *tokenizer.Tokenizer
	chat   bool
}

// loadInspectModel opens dir. chat wraps prompts in the tokenizer's chat
// template as one user message with the generation prompt; lab policies
// are always prompted that way, as they were trained.
func loadInspectModel(dir string, chat bool) (*inspectModel, error) {
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		return nil, fmt.Errorf("--model %s: no config.json there; pass a checkpoint directory (a lab run's checkpoints/<organism>-seed<N>, a train run's checkpoint, or a Hugging Face model directory)", dir)
	}
	if isLabPolicy(dir) {
		p, err := lab.LoadPolicy(dir, 32)
		if err != nil {
			return nil, err
		}
		return &inspectModel{Model: p.Model, Policy: p}, nil
	}
	m, tok, err := modeldir.Load(dir)
	if err != nil {
		return nil, err
	}
	if tok == nil {
		return nil, fmt.Errorf("--model %s: no tokenizer.json beside the weights; save one there (alignlab tokenizer train) so prompts can be encoded", dir)
	}
	return &inspectModel{Model: m, tok: tok, chat: chat}, nil
}

// isLabPolicy reports whether dir is a lab policy, which lab.LoadPolicy
// opens with its codec: the lab's word codec (lab_codec.json), or a
// tokenizer beside an alignlab checkpoint that a lab run saved (the lab
// writes lab_codec.json only for the word codec, so a BPE lab policy is
// opened by modeldir and prompted with its chat template, as --chat does).
func isLabPolicy(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "lab_codec.json"))
	return err == nil
}

// Encode turns a prompt into token ids.
func (im *inspectModel) Encode(prompt string) ([]int32, error) {
	if im.Policy != nil {
		ids, _, err := im.Policy.Codec.EncodeChat([]lab.Message{{Role: "user", Content: prompt}}, true)
		return ids, err
	}
	if im.chat {
		return im.tok.EncodeChatIDs([]tokenizer.Message{{Role: "user", Content: prompt}}, true)
	}
	return im.tok.Encode(prompt), nil
}

// Decode turns token ids into text.
func (im *inspectModel) Decode(ids []int32) string {
	if im.Policy != nil {
		return im.Policy.Codec.Decode(ids)
	}
	return im.tok.Decode(ids)
}

// Token returns how one token reads, for tables of top tokens and
// position labels.
func (im *inspectModel) Token(id int32) string {
	if im.tok != nil {
		if s, ok := im.tok.Token(id); ok {
			return s
		}
		return fmt.Sprintf("<%d>", id)
	}
	return im.Policy.Codec.Decode([]int32{id})
}

// TokenID returns the id of a token given as text (for a target token).
func (im *inspectModel) TokenID(s string) (int32, error) {
	if im.tok != nil {
		id, ok := im.tok.TokenID(s)
		if !ok {
			ids := im.tok.EncodeOrdinary(s)
			if len(ids) != 1 {
				return 0, fmt.Errorf("%q is %d tokens, not one; pass a single token", s, len(ids))
			}
			id = ids[0]
		}
		// A tokenizer may know more tokens than the model has rows for.
		if V := im.Model.Config.VocabSize; int(id) >= V {
			return 0, fmt.Errorf("%q is token %d, outside the model's vocabulary of %d", s, id, V)
		}
		return id, nil
	}
	for id := int32(0); id < int32(im.Policy.Codec.VocabSize()); id++ {
		if im.Policy.Codec.Decode([]int32{id}) == s {
			return id, nil
		}
	}
	return 0, fmt.Errorf("%q is not one token of this model's vocabulary", s)
}
