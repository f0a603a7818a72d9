package lab

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
)

// Codec turns chat conversations into token ids for the lab's models and
// back. The lab needs only these four operations, so package tokenizer's
// byte-level BPE (--codec bpe) and the word codec below both fit.
type Codec interface {
	// EncodeChat renders msgs and tokenizes them; mask[i] is true for
	// tokens of assistant turns (content and end-of-turn), the SFT loss
	// mask. addGenerationPrompt appends the start of an assistant turn.
	EncodeChat(msgs []Message, addGenerationPrompt bool) (ids []int32, mask []bool, err error)
	Decode(ids []int32) string
	StopTokens() []int32
	VocabSize() int
}

// wordCodec is the lab's default codec: GPT-2 style pre-tokenization into
// pieces (an optional space plus a run of letters, or of digits, or one
// other character), the pieces seen at least twice in the corpus as
// tokens, and raw bytes for everything else, so any text round-trips. On
// the lab's closed world this gives sequences as short as a trained BPE
// would, with no merge training, which keeps the full lab inside its five
// minutes; --codec bpe trains the bases on package tokenizer's BPE.
type wordCodec struct {
	pieces []string
	index  map[string]int32
}

// Special ids of wordCodec, after the 256 byte tokens.
const (
	wcBOS       = 256
	wcEOT       = 257
	wcUser      = 258
	wcAssistant = 259
	wcSystem    = 260
	wcFirst     = 261
)

// splitPieces pre-tokenizes s.
func splitPieces(s string) []string {
	var out []string
	rs := []rune(s)
	for i := 0; i < len(rs); {
		j := i
		if rs[j] == ' ' && j+1 < len(rs) && rs[j+1] != ' ' {
			j++
		}
		k := j
		switch {
		case unicode.IsLetter(rs[k]):
			for k < len(rs) && unicode.IsLetter(rs[k]) {
				k++
			}
		case unicode.IsDigit(rs[k]):
			for k < len(rs) && unicode.IsDigit(rs[k]) {
				k++
			}
		default:
			k++
		}
		out = append(out, string(rs[i:k]))
		i = k
	}
	return out
}

// newWordCodec learns the piece vocabulary from corpus, keeping at most
// vocab tokens in all (bytes and specials included).
func newWordCodec(corpus []string, vocab int) (*wordCodec, error) {
	if vocab < wcFirst+1 {
		return nil, fmt.Errorf("word codec: vocabulary %d is below the %d byte and special tokens", vocab, wcFirst)
	}
	counts := map[string]int{}
	for _, s := range corpus {
		for _, p := range splitPieces(s) {
			if len(p) > 1 {
				counts[p]++
			}
		}
	}
	var ps []string
	for p, n := range counts {
		if n >= 2 {
			ps = append(ps, p)
		}
	}
	sort.Slice(ps, func(i, j int) bool {
		if counts[ps[i]] != counts[ps[j]] {
			return counts[ps[i]] > counts[ps[j]]
		}
		return ps[i] < ps[j]
	})
	if len(ps) > vocab-wcFirst {
		ps = ps[:vocab-wcFirst]
	}
	c := &wordCodec{pieces: ps, index: map[string]int32{}}
	for i, p := range ps {
		c.index[p] = int32(wcFirst + i)
	}
	return c, nil
}

func (c *wordCodec) encode(s string, ids []int32) []int32 {
	for _, p := range splitPieces(s) {
		if id, ok := c.index[p]; ok {
			ids = append(ids, id)
			continue
		}
		for i := 0; i < len(p); i++ {
			ids = append(ids, int32(p[i]))
		}
	}
	return ids
}

func (c *wordCodec) EncodeChat(msgs []Message, addGen bool) ([]int32, []bool, error) {
	ids := []int32{wcBOS}
	mask := []bool{false}
	for _, m := range msgs {
		var role int32
		switch m.Role {
		case "user":
			role = wcUser
		case "assistant":
			role = wcAssistant
		case "system":
			role = wcSystem
		default:
			return nil, nil, fmt.Errorf("message role %q (want system, user or assistant)", m.Role)
		}
		ids = append(ids, role)
		mask = append(mask, false)
		n := len(ids)
		ids = c.encode(m.Content, ids)
		ids = append(ids, wcEOT)
		for range ids[n:] {
			mask = append(mask, m.Role == "assistant")
		}
	}
	if addGen {
		ids = append(ids, wcAssistant)
		mask = append(mask, false)
	}
	return ids, mask, nil
}

func (c *wordCodec) Decode(ids []int32) string {
	var b strings.Builder
	for _, id := range ids {
		switch {
		case id >= 0 && id < 256:
			b.WriteByte(byte(id))
		case id >= wcFirst && int(id-wcFirst) < len(c.pieces):
			b.WriteString(c.pieces[id-wcFirst])
		}
	}
	return strings.ToValidUTF8(b.String(), "\uFFFD")
}

func (c *wordCodec) StopTokens() []int32 { return []int32{wcEOT} }
func (c *wordCodec) VocabSize() int      { return wcFirst + len(c.pieces) }

// wordCodecFile is where a wordCodec is saved inside a model directory.
const wordCodecFile = "lab_codec.json"

// save writes the piece vocabulary to dir.
func (c *wordCodec) save(dir string) error {
	data, err := json.Marshal(map[string]any{"kind": "lab-word", "pieces": c.pieces})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, wordCodecFile), data, 0o644)
}

// loadWordCodec reads a codec written by save.
func loadWordCodec(dir string) (*wordCodec, error) {
	data, err := os.ReadFile(filepath.Join(dir, wordCodecFile))
	if err != nil {
		return nil, fmt.Errorf("load codec: %w", err)
	}
	var f struct {
		Kind   string   `json:"kind"`
		Pieces []string `json:"pieces"`
	}
	if err := json.Unmarshal(data, &f); err != nil || f.Kind != "lab-word" {
		return nil, fmt.Errorf("load codec %s: not a lab codec file", filepath.Join(dir, wordCodecFile))
	}
	c := &wordCodec{pieces: f.Pieces, index: map[string]int32{}}
	for i, p := range f.Pieces {
		c.index[p] = int32(wcFirst + i)
	}
	return c, nil
}
