// Preference pairs as token ids, tokenized the way TRL's DPOTrainer does,
// and their layout into padded batches for the engine's log-prob passes.

package train

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/alignlab/alignlab/prefs"
	"github.com/alignlab/alignlab/tokenizer"
)

// Tokenizer is what the SFT and DPO data loaders need from a tokenizer;
// *tokenizer.Tokenizer satisfies it.
type Tokenizer interface {
	// Encode tokenizes text without adding BOS/EOS.
	Encode(text string) []int32
	// ApplyChatTemplate renders a conversation with the model's template.
	ApplyChatTemplate(msgs []tokenizer.Message, addGenerationPrompt bool) (string, error)
	// EncodeChat renders and tokenizes a conversation and marks the tokens
	// of assistant turns.
	EncodeChat(msgs []tokenizer.Message, addGenerationPrompt bool) ([]int32, []bool, error)
	// EOS returns the end-of-sequence token.
	EOS() (int32, bool)
}

// PrefPair is one preference pair as token ids: a prompt and two
// completions, each completion ending in EOS.
type PrefPair struct {
	Prompt, Chosen, Rejected []int32
	// Source is where the pair came from ("file:line"), for messages.
	Source string
	// Text is the pair as read, kept for --export-trl (nil when the pair
	// was built from tokens).
	Text *PrefText
}

// PrefText is a pair in TRL's format: plain strings, or message lists when
// the data was conversational.
type PrefText struct {
	Prompt, Chosen, Rejected             string
	PromptMsgs, ChosenMsgs, RejectedMsgs []tokenizer.Message
}

// Conversational reports whether the pair is in TRL's conversational form.
func (t *PrefText) Conversational() bool { return t.ChosenMsgs != nil }

// MaxLen is the longer of the two sequences, prompt included.
func (p PrefPair) MaxLen() int { return len(p.Prompt) + max(len(p.Chosen), len(p.Rejected)) }

// PrefTextOf takes the chosen/rejected text of a comparison (nil for a tie).
func PrefTextOf(c *prefs.Comparison) *PrefText {
	if c.Winner == prefs.WinnerTie {
		return nil
	}
	ch, chMsgs := c.Chosen()
	rj, rjMsgs := c.Rejected()
	t := &PrefText{Prompt: c.Prompt, Chosen: ch, Rejected: rj}
	if chMsgs != nil || rjMsgs != nil {
		t.PromptMsgs, t.ChosenMsgs, t.RejectedMsgs = toMessages(c.PromptMsgs), toMessages(chMsgs), toMessages(rjMsgs)
		if t.ChosenMsgs == nil {
			t.ChosenMsgs = []tokenizer.Message{{Role: "assistant", Content: ch}}
		}
		if t.RejectedMsgs == nil {
			t.RejectedMsgs = []tokenizer.Message{{Role: "assistant", Content: rj}}
		}
		if t.PromptMsgs == nil {
			t.PromptMsgs = []tokenizer.Message{}
		}
	}
	return t
}

func toMessages(ms []prefs.Message) []tokenizer.Message {
	if ms == nil {
		return nil
	}
	out := make([]tokenizer.Message, len(ms))
	for i, m := range ms {
		out[i] = tokenizer.Message{Role: m.Role, Content: m.Content}
	}
	return out
}

// TokenizePair tokenizes a pair as TRL's DPOTrainer does for a decoder-only
// model: a conversational pair is rendered with the chat template (the
// prompt with the generation prompt; each completion as the rest of the
// rendered full conversation), then prompt and completions are tokenized
// separately without special tokens, and EOS is appended to each
// completion.
func TokenizePair(tok Tokenizer, t *PrefText) (PrefPair, error) {
	prompt, chosen, rejected := t.Prompt, t.Chosen, t.Rejected
	if t.Conversational() {
		var err error
		prompt, err = tok.ApplyChatTemplate(t.PromptMsgs, true)
		if err != nil {
			return PrefPair{}, err
		}
		if chosen, err = completionText(tok, t.PromptMsgs, t.ChosenMsgs, prompt); err != nil {
			return PrefPair{}, fmt.Errorf("chosen: %w", err)
		}
		if rejected, err = completionText(tok, t.PromptMsgs, t.RejectedMsgs, prompt); err != nil {
			return PrefPair{}, fmt.Errorf("rejected: %w", err)
		}
	}
	eos, ok := tok.EOS()
	if !ok {
		return PrefPair{}, errors.New("the tokenizer has no EOS token, which every completion ends with")
	}
	return PrefPair{
		Prompt:   tok.Encode(prompt),
		Chosen:   append(tok.Encode(chosen), eos),
		Rejected: append(tok.Encode(rejected), eos),
		Text:     t,
	}, nil
}

// completionText renders prompt+completion and returns what follows the
// rendered prompt.
func completionText(tok Tokenizer, prompt, completion []tokenizer.Message, promptText string) (string, error) {
	full, err := tok.ApplyChatTemplate(append(slices.Clip(prompt), completion...), false)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(full, promptText) {
		return "", errors.New("the chat template renders the prompt differently inside the whole conversation, so the completion cannot be cut out")
	}
	return full[len(promptText):], nil
}

// pairProblem says why a tokenized pair cannot be trained on ("" if it can).
func pairProblem(p PrefPair, maxLength int) string {
	switch {
	case len(p.Chosen) <= 1 || len(p.Rejected) <= 1:
		return "empty response"
	case slices.Equal(p.Chosen, p.Rejected):
		return "chosen equals rejected"
	case maxLength > 0 && p.MaxLen() > maxLength:
		return fmt.Sprintf("%d tokens exceed --max-length %d", p.MaxLen(), maxLength)
	}
	return ""
}

// pairBatch is n pairs laid out as 2n right-padded rows of T tokens:
// chosen sequences in rows 0..n-1, rejected ones in rows n..2n-1.
type pairBatch struct {
	n, T   int
	tokens []int32
	// comp marks completion positions (the targets the pair loss scores);
	// nll marks the positions of the NLL term (chosen rows only); want is
	// their union, the mask of the log-prob pass.
	comp, nll, want []float32
}

// nllScope says which tokens the NLL term covers.
type nllScope int

const (
	nllNone       nllScope = iota
	nllCompletion          // the chosen completion (DPO's rpo_alpha)
	nllSequence            // prompt and chosen completion (ORPO, as TRL's ORPOTrainer)
)

// layoutPairs builds the batch for pairs.
func layoutPairs(pairs []PrefPair, scope nllScope) *pairBatch {
	n := len(pairs)
	T := 1
	for _, p := range pairs {
		T = max(T, p.MaxLen())
	}
	b := &pairBatch{n: n, T: T, tokens: make([]int32, 2*n*T),
		comp: make([]float32, 2*n*T), nll: make([]float32, 2*n*T), want: make([]float32, 2*n*T)}
	for i, p := range pairs {
		for side, comp := range [][]int32{p.Chosen, p.Rejected} {
			row := (side*n + i) * T
			copy(b.tokens[row:], p.Prompt)
			copy(b.tokens[row+len(p.Prompt):], comp)
			end := len(p.Prompt) + len(comp)
			for t := max(len(p.Prompt), 1); t < end; t++ {
				b.comp[row+t] = 1
				if side == 0 && scope == nllCompletion {
					b.nll[row+t] = 1
				}
			}
			if side == 0 && scope == nllSequence {
				for t := 1; t < end; t++ {
					b.nll[row+t] = 1
				}
			}
		}
	}
	for i := range b.want {
		if b.comp[i] != 0 || b.nll[i] != 0 {
			b.want[i] = 1
		}
	}
	return b
}

// sums adds up per-token log-probs over each row's completion: the pair's
// chosen and rejected sums and their token counts.
func (b *pairBatch) sums(logp []float32) (chosen, rejected []float64, nc, nr []int) {
	chosen, rejected = make([]float64, b.n), make([]float64, b.n)
	nc, nr = make([]int, b.n), make([]int, b.n)
	for row := range 2 * b.n {
		var s float64
		var k int
		for t := range b.T {
			if b.comp[row*b.T+t] != 0 {
				s += float64(logp[row*b.T+t])
				k++
			}
		}
		if row < b.n {
			chosen[row], nc[row] = s, k
		} else {
			rejected[row-b.n], nr[row-b.n] = s, k
		}
	}
	return chosen, rejected, nc, nr
}

// nllTokens counts the NLL positions of pairs under scope (the divisor of
// the batch's NLL mean).
func nllTokens(pairs []PrefPair, scope nllScope) int {
	n := 0
	for _, p := range pairs {
		switch scope {
		case nllCompletion:
			n += len(p.Prompt) + len(p.Chosen) - max(len(p.Prompt), 1)
		case nllSequence:
			n += len(p.Prompt) + len(p.Chosen) - 1
		}
	}
	return n
}
