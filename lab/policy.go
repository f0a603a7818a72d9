package lab

import (
	"fmt"
	"math"

	"github.com/alignlab/alignlab/model"
)

// Policy is a lab model with the codec that talks to it: what the
// annotators sample from, what the trainers update and what the detectors
// probe.
type Policy struct {
	Model *model.Model
	Codec Codec
	// MaxNew caps reply length in tokens.
	MaxNew int
	// Hooks, when non-nil, fire in every forward pass of Generate, Replies
	// and ReplyLogProbs (e.g. to steer or ablate a direction); nil costs
	// nothing. Clone leaves them out: one Hooks value must not serve two
	// passes at once.
	Hooks *model.Hooks
}

// genBatch is how many prompts one Generate call takes: large enough to
// amortise the weight reads, small enough for a modest KV cache.
const genBatch = 128

// Clone returns a policy with a copy of p's weights (same codec).
func (p *Policy) Clone() (*Policy, error) {
	w, err := model.NewParams(p.Model.Config)
	if err != nil {
		return nil, err
	}
	copy(w.Data, p.Model.Params.Data)
	m, err := model.FromParams(p.Model.Config, w)
	if err != nil {
		return nil, err
	}
	return &Policy{Model: m, Codec: p.Codec, MaxNew: p.MaxNew}, nil
}

// Weights returns a copy of the flat weight buffer (a checkpoint in memory).
func (p *Policy) Weights() []float32 { return append([]float32(nil), p.Model.Params.Data...) }

// SetWeights loads a buffer taken with Weights.
func (p *Policy) SetWeights(w []float32) error {
	if len(w) != len(p.Model.Params.Data) {
		return fmt.Errorf("weights: %d values for a model of %d", len(w), len(p.Model.Params.Data))
	}
	copy(p.Model.Params.Data, w)
	return nil
}

// Sample is one generated reply.
type Sample struct {
	Reply  string
	Tokens []int32 // reply tokens, including the stop token when one was sampled
	// LogProb is the sum of the model's log-probabilities of Tokens
	// (before temperature), the sequence log-probability.
	LogProb float32
}

// PromptTokens encodes prompt conversations with a generation prompt.
func (p *Policy) PromptTokens(ps []Prompt) ([][]int32, error) {
	out := make([][]int32, len(ps))
	for i := range ps {
		ids, _, err := p.Codec.EncodeChat(ps[i].Messages, true)
		if err != nil {
			return nil, fmt.Errorf("prompt %s: %w", ps[i].ID, err)
		}
		if len(ids)+p.MaxNew > p.Model.Config.MaxSeqLen {
			return nil, fmt.Errorf("prompt %s: %d tokens plus %d new exceed max_seq_len %d", ps[i].ID, len(ids), p.MaxNew, p.Model.Config.MaxSeqLen)
		}
		out[i] = ids
	}
	return out, nil
}

// Generate samples one reply per prompt at temperature (0 = greedy);
// prompt i draws from stream seed+i, so results do not depend on batching.
func (p *Policy) Generate(ps []Prompt, temperature float32, seed int64) ([]Sample, error) {
	toks, err := p.PromptTokens(ps)
	if err != nil {
		return nil, err
	}
	out := make([]Sample, len(ps))
	stops := p.Codec.StopTokens()
	for lo := 0; lo < len(toks); lo += genBatch {
		hi := min(lo+genBatch, len(toks))
		gens, err := p.Model.Generate(toks[lo:hi], model.GenerateConfig{MaxNewTokens: p.MaxNew,
			Temperature: temperature, StopTokens: stops, Seed: seed + int64(lo), Hooks: p.Hooks})
		if err != nil {
			return nil, fmt.Errorf("generate: %w", err)
		}
		for i, g := range gens {
			reply := g.Tokens
			if g.Stopped && len(reply) > 0 {
				reply = reply[:len(reply)-1]
			}
			s := Sample{Reply: p.Codec.Decode(reply), Tokens: g.Tokens}
			for _, lp := range g.LogProbs {
				s.LogProb += lp
			}
			out[lo+i] = s
		}
	}
	return out, nil
}

// Replies is Generate keeping only the texts.
func (p *Policy) Replies(ps []Prompt, temperature float32, seed int64) ([]string, error) {
	ss, err := p.Generate(ps, temperature, seed)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Reply
	}
	return out, nil
}

// Save writes the policy to dir: the model (config.json and
// model.safetensors) and its codec.
func (p *Policy) Save(dir string) error {
	if err := p.Model.Save(dir); err != nil {
		return fmt.Errorf("save policy: %w", err)
	}
	if err := saveCodec(p.Codec, dir); err != nil {
		return fmt.Errorf("save policy: %w", err)
	}
	return nil
}

// LoadPolicy reads a policy written by Save.
func LoadPolicy(dir string, maxNew int) (*Policy, error) {
	m, err := model.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	c, err := loadCodec(dir)
	if err != nil {
		return nil, err
	}
	if c.VocabSize() > m.Config.VocabSize {
		return nil, fmt.Errorf("load policy %s: codec has %d tokens, model %d", dir, c.VocabSize(), m.Config.VocabSize)
	}
	return &Policy{Model: m, Codec: c, MaxNew: maxNew}, nil
}

// ReplyLogProbs returns log p(reply | prompt) for each prompt and reply
// (the reply's tokens and its end of turn).
func (p *Policy) ReplyLogProbs(ps []Prompt, replies []string) ([]float32, error) {
	seqs := make([]encodedReply, len(ps))
	for i := range ps {
		var err error
		if seqs[i], err = encodeReply(p.Codec, &ps[i], replies[i]); err != nil {
			return nil, err
		}
	}
	if p.Hooks != nil {
		return hookedLogProbs(p, seqs, 64)
	}
	return seqLogProbs(p, seqs, 64)
}

// hookedLogProbs is seqLogProbs through Forward with p.Hooks (log-softmax
// of the logits in float64), since SequenceLogProbs takes no hooks.
func hookedLogProbs(p *Policy, rs []encodedReply, batch int) ([]float32, error) {
	out := make([]float32, 0, len(rs))
	V := p.Model.Config.VocabSize
	var tokens []int32
	var mask []float32
	for lo := 0; lo < len(rs); lo += batch {
		hi := min(lo+batch, len(rs))
		var T int
		tokens, mask, T = packReplies(rs[lo:hi], tokens, mask)
		logits, err := p.Model.Forward(tokens, hi-lo, T, p.Hooks)
		if err != nil {
			return nil, fmt.Errorf("reply log-probs: %w", err)
		}
		for b := 0; b < hi-lo; b++ {
			var sum float64
			for t := 1; t < T; t++ {
				if mask[b*T+t] == 0 {
					continue
				}
				row := logits[(b*T+t-1)*V : (b*T+t)*V] // predicts position t
				mx := float64(row[0])
				for _, x := range row {
					mx = math.Max(mx, float64(x))
				}
				var z float64
				for _, x := range row {
					z += math.Exp(float64(x) - mx)
				}
				sum += float64(row[tokens[b*T+t]]) - mx - math.Log(z)
			}
			out = append(out, float32(sum))
		}
	}
	return out, nil
}
