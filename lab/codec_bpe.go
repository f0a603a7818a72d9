package lab

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/alignlab/alignlab/tokenizer"
)

// bpeCodec is a byte-level BPE tokenizer (package tokenizer) trained on the
// world's dialogues, with its ChatML chat template: checkpoints then carry
// a Hugging Face tokenizer.json.
type bpeCodec struct{ tok *tokenizer.Tokenizer }

// chatSpecials are the BPE codec's special tokens.
var chatSpecials = []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}

// newBPECodec trains a BPE tokenizer of vocab tokens on corpus.
func newBPECodec(corpus []string, vocab int) (*bpeCodec, error) {
	tok, err := tokenizer.Train(corpus, tokenizer.TrainConfig{VocabSize: vocab, Special: chatSpecials, MinFrequency: 2})
	if err != nil {
		return nil, fmt.Errorf("bpe codec: %w", err)
	}
	if err := tok.SetChatTemplate("chatml"); err != nil {
		return nil, fmt.Errorf("bpe codec: %w", err)
	}
	return &bpeCodec{tok: tok}, nil
}

func (c *bpeCodec) EncodeChat(msgs []Message, addGen bool) ([]int32, []bool, error) {
	tm := make([]tokenizer.Message, len(msgs))
	for i, m := range msgs {
		tm[i] = tokenizer.Message{Role: m.Role, Content: m.Content}
	}
	return c.tok.EncodeChat(tm, addGen)
}

func (c *bpeCodec) Decode(ids []int32) string { return c.tok.DecodeSkipSpecial(ids) }
func (c *bpeCodec) StopTokens() []int32       { return c.tok.StopTokens() }
func (c *bpeCodec) VocabSize() int            { return c.tok.VocabSize() }

// saveCodec writes a policy's codec into its checkpoint directory.
func saveCodec(c Codec, dir string) error {
	switch c := c.(type) {
	case *wordCodec:
		return c.save(dir)
	case *bpeCodec:
		return c.tok.Save(dir)
	}
	return fmt.Errorf("codec %T cannot be saved", c)
}

// loadCodec reads the codec of a checkpoint directory: tokenizer.json when
// there is one, else the lab's word codec.
func loadCodec(dir string) (Codec, error) {
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err == nil {
		tok, err := tokenizer.Load(dir)
		if err != nil {
			return nil, fmt.Errorf("load codec: %w", err)
		}
		return &bpeCodec{tok: tok}, nil
	}
	return loadWordCodec(dir)
}
