package lab

// A lab policy as an audit target: the detectors run package audit's
// probes against it, as `alignlab audit` runs them against a served model.
// Chats are rendered with the policy's own codec and generated with its
// model; batches of requests (audit.Evaluate's lockstep) are generated
// together, each request with its own seed.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/target"
)

// PolicyTarget is a Policy (optionally at a checkpoint's weights) as a
// target.Target that also answers batches and scores answers.
type PolicyTarget struct {
	name string
	pol  *Policy
	// weights, when set, are loaded into pol before each use: the targets
	// of one checkpoint series share one scratch policy.
	weights []float32
	mu      *sync.Mutex
	loaded  *[]float32 // the weights pol holds now (shared by a series)
}

// NewPolicyTarget returns pol as a target named "lab:"+name.
func NewPolicyTarget(name string, pol *Policy) *PolicyTarget {
	return &PolicyTarget{name: "lab:" + name, pol: pol, mu: &sync.Mutex{}, loaded: new([]float32)}
}

// CheckpointTargets returns one target per checkpoint, in order, sharing a
// copy of pol's model into which each loads its weights when asked; the
// overhang probe's Options.Series.
func CheckpointTargets(name string, pol *Policy, cks []Checkpoint) ([]target.Target, error) {
	scratch, err := pol.Clone()
	if err != nil {
		return nil, err
	}
	return checkpointTargets(name, scratch, cks), nil
}

// checkpointTargets is CheckpointTargets loading into scratch itself.
func checkpointTargets(name string, scratch *Policy, cks []Checkpoint) []target.Target {
	mu, loaded := &sync.Mutex{}, new([]float32)
	out := make([]target.Target, len(cks))
	for c, ck := range cks {
		out[c] = &PolicyTarget{name: fmt.Sprintf("lab:%s@step%d", name, ck.Step), pol: scratch, weights: ck.Weights, mu: mu, loaded: loaded}
	}
	return out
}

// Name returns "lab:NAME" (with "@stepN" for a checkpoint).
func (t *PolicyTarget) Name() string { return t.name }

// use locks the policy and loads the target's weights if another
// checkpoint's are in it; the caller unlocks t.mu.
func (t *PolicyTarget) use() error {
	t.mu.Lock()
	if t.weights == nil {
		return nil
	}
	if len(*t.loaded) > 0 && &(*t.loaded)[0] == &t.weights[0] {
		return nil
	}
	if err := t.pol.SetWeights(t.weights); err != nil {
		t.mu.Unlock()
		return err
	}
	*t.loaded = t.weights
	return nil
}

func labMessages(msgs []target.Message) []Message {
	out := make([]Message, len(msgs))
	for i, m := range msgs {
		out[i] = Message{Role: m.Role, Content: m.Content}
	}
	return out
}

// Chat answers one request (ChatBatch of one).
func (t *PolicyTarget) Chat(ctx context.Context, req target.Request) (*target.Response, error) {
	rs, err := t.ChatBatch(ctx, []target.Request{req})
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

// ChatBatch generates for all requests together where their parameters
// agree (temperature, top-p, length), choice j of a request sampling from
// its seed plus j, as Chat alone would. Stop strings are not supported
// (the codec's end of turn ends a reply).
func (t *PolicyTarget) ChatBatch(ctx context.Context, reqs []target.Request) ([]*target.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]*target.Response, len(reqs))
	type row struct{ req, choice int }
	groups := map[string][]row{}
	var order []string
	for i, r := range reqs {
		if len(r.Messages) == 0 {
			return nil, errors.New("chat request has no messages")
		}
		if len(r.Params.Stop) > 0 {
			return nil, fmt.Errorf("target %s: stop strings are not supported", t.name)
		}
		k := fmt.Sprintf("%g/%g/%d", r.Params.Temperature, r.Params.TopP, r.Params.MaxTokens)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		for j := range r.Params.Choices() {
			groups[k] = append(groups[k], row{i, j})
		}
		out[i] = &target.Response{Choices: make([]string, r.Params.Choices())}
	}
	if err := t.use(); err != nil {
		return nil, err
	}
	defer t.mu.Unlock()
	pol := t.pol
	for _, k := range order {
		rows := groups[k]
		p := reqs[rows[0].req].Params
		maxNew := pol.MaxNew
		if p.MaxTokens > 0 {
			maxNew = min(maxNew, p.MaxTokens)
		}
		for lo := 0; lo < len(rows); lo += genBatch {
			hi := min(lo+genBatch, len(rows))
			toks := make([][]int32, hi-lo)
			seeds := make([]int64, hi-lo)
			for i, rw := range rows[lo:hi] {
				r := reqs[rw.req]
				ids, _, err := pol.Codec.EncodeChat(labMessages(r.Messages), true)
				if err != nil {
					return nil, fmt.Errorf("target %s: %w", t.name, err)
				}
				if len(ids)+maxNew > pol.Model.Config.MaxSeqLen {
					return nil, fmt.Errorf("target %s: %d prompt tokens plus %d new exceed max_seq_len %d", t.name, len(ids), maxNew, pol.Model.Config.MaxSeqLen)
				}
				toks[i], seeds[i] = ids, r.Params.Seed+int64(rw.choice)
			}
			gens, err := pol.Model.Generate(toks, model.GenerateConfig{MaxNewTokens: maxNew, Temperature: float32(p.Temperature),
				TopP: float32(p.TopP), StopTokens: pol.Codec.StopTokens(), Seeds: seeds, Hooks: pol.Hooks})
			if err != nil {
				return nil, fmt.Errorf("target %s: %w", t.name, err)
			}
			for i, g := range gens {
				rw := rows[lo+i]
				reply := g.Tokens
				if g.Stopped && len(reply) > 0 {
					reply = reply[:len(reply)-1]
				}
				resp := out[rw.req]
				resp.Choices[rw.choice] = pol.Codec.Decode(reply)
				resp.Usage.PromptTokens = len(toks[i])
				resp.Usage.CompletionTokens += len(g.Tokens)
			}
		}
	}
	return out, nil
}

// AnswerLogProb scores answer as the assistant's reply to msgs, its end of
// turn included (as Policy.ReplyLogProbs does).
func (t *PolicyTarget) AnswerLogProb(ctx context.Context, msgs []target.Message, answer string) (float64, int, error) {
	lps, ns, err := t.AnswerLogProbs(ctx, []target.AnswerRequest{{Messages: msgs, Answer: answer}})
	if err != nil {
		return 0, 0, err
	}
	return lps[0], ns[0], nil
}

// AnswerLogProbs scores many answers in batches.
func (t *PolicyTarget) AnswerLogProbs(ctx context.Context, reqs []target.AnswerRequest) ([]float64, []int, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	ps := make([]Prompt, len(reqs))
	replies := make([]string, len(reqs))
	ns := make([]int, len(reqs))
	for i, r := range reqs {
		if strings.TrimSpace(r.Answer) == "" {
			return nil, nil, errors.New("empty answer")
		}
		ps[i] = Prompt{ID: fmt.Sprintf("answer-%d", i), Messages: labMessages(r.Messages)}
		replies[i] = r.Answer
		er, err := encodeReply(t.pol.Codec, &ps[i], r.Answer)
		if err != nil {
			return nil, nil, fmt.Errorf("target %s: %w", t.name, err)
		}
		for _, m := range er.target {
			if m {
				ns[i]++
			}
		}
	}
	if err := t.use(); err != nil {
		return nil, nil, err
	}
	defer t.mu.Unlock()
	lps, err := t.pol.ReplyLogProbs(ps, replies)
	if err != nil {
		return nil, nil, fmt.Errorf("target %s: %w", t.name, err)
	}
	out := make([]float64, len(lps))
	for i, v := range lps {
		out[i] = float64(v)
	}
	return out, ns, nil
}
