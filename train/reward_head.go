// A transformer with a scalar head on its final normed hidden states, as
// Hugging Face's AutoModelForSequenceClassification with one label: the
// reward model reads it at the last token of a sequence, PPO's value model
// at every position.

package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/alignlab/alignlab/ckpt"
	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tensor"
)

// ScoreFile is the file, next to the transformer's checkpoint, that holds a
// ScalarModel's head: "score.weight" [1, Dim] and "score.bias" [1].
const ScoreFile = "score.safetensors"

// ScalarModel is a transformer whose final normed hidden state h at a
// position is read by a linear head, h·W + bias, into one number.
type ScalarModel struct {
	Model *model.Model
	// Head is [Dim+1]: the weight W, then the bias.
	Head []float32
	// HeadGrad accumulates the head's gradient, like Model.Grads.
	HeadGrad []float32

	// The last forward, for backward: its hidden states and where it read
	// them (one row index per score).
	hidden []float32
	rows   []int
	dh     []float32
}

// NewScalarModel returns a scalar model whose transformer is a copy of
// base's weights and whose head is drawn from normal(0, 0.02) (HF's
// initializer_range) with a zero bias, seeded.
func NewScalarModel(base *model.Model, seed int64) (*ScalarModel, error) {
	m, err := cloneModel(base)
	if err != nil {
		return nil, err
	}
	C := m.Config.Dim
	head := make([]float32, C+1)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5c04e))
	for i := range C {
		head[i] = float32(rng.NormFloat64() * 0.02)
	}
	return &ScalarModel{Model: m, Head: head, HeadGrad: make([]float32, C+1)}, nil
}

// cloneModel returns an independent copy of m's weights and config.
func cloneModel(m *model.Model) (*model.Model, error) {
	p, err := model.NewParams(m.Config)
	if err != nil {
		return nil, fmt.Errorf("copy model: %w", err)
	}
	copy(p.Data, m.Params.Data)
	return model.FromParams(m.Config, p)
}

// CloneModel returns an independent copy of m (its weights, not its
// gradients or buffers), e.g. a frozen reference for RLHF.
func CloneModel(m *model.Model) (*model.Model, error) { return cloneModel(m) }

// padBatch right-pads seqs with token 0 into one [B·T] batch with T the
// longest length. Causal attention never lets a position see the padding
// after it, so each sequence's states equal those of the sequence alone.
func padBatch(seqs [][]int32) (tokens []int32, T int) {
	for _, s := range seqs {
		T = max(T, len(s))
	}
	tokens = make([]int32, len(seqs)*T)
	for b, s := range seqs {
		copy(tokens[b*T:], s)
	}
	return tokens, T
}

// forwardRows runs the transformer over a [B·T] batch and returns the head's
// output at each of rows (flat indices b·T+t), keeping what backwardRows
// needs.
func (s *ScalarModel) forwardRows(tokens []int32, B, T int, rows []int) ([]float32, error) {
	h, err := s.Model.ForwardHidden(tokens, B, T)
	if err != nil {
		return nil, err
	}
	C := s.Model.Config.Dim
	w, bias := s.Head[:C], s.Head[C]
	out := make([]float32, len(rows))
	for i, r := range rows {
		if r < 0 || r >= B*T {
			return nil, fmt.Errorf("scalar head: row %d outside the batch of %d", r, B*T)
		}
		out[i] = tensor.Dot(h[r*C:(r+1)*C], w) + bias
	}
	s.hidden, s.rows = h, append(s.rows[:0], rows...)
	return out, nil
}

// backwardRows adds the gradient of Σ_i dOut[i]·out[i] for the outputs of
// the last forwardRows to the head's and the transformer's gradients.
func (s *ScalarModel) backwardRows(dOut []float32) error {
	if s.hidden == nil {
		return errors.New("scalar head: backward needs a forward first")
	}
	if len(dOut) != len(s.rows) {
		return fmt.Errorf("scalar head: got %d output gradients, want %d", len(dOut), len(s.rows))
	}
	C := s.Model.Config.Dim
	if cap(s.dh) < len(s.hidden) {
		s.dh = make([]float32, len(s.hidden))
	}
	dh := s.dh[:len(s.hidden)]
	clear(dh)
	w := s.Head[:C]
	for i, r := range s.rows {
		g := dOut[i]
		if g == 0 {
			continue
		}
		tensor.Axpy(g, w, dh[r*C:(r+1)*C])
		tensor.Axpy(g, s.hidden[r*C:(r+1)*C], s.HeadGrad[:C])
		s.HeadGrad[C] += g
	}
	s.hidden = nil
	return s.Model.BackwardHidden(dh)
}

// ZeroGrad clears the transformer's and the head's gradients.
func (s *ScalarModel) ZeroGrad() {
	s.Model.ZeroGrad()
	clear(s.HeadGrad)
}

// lastRows returns b·T + len(seqs[b]) − 1 for each sequence: the last
// token, where a reward model reads its score.
func lastRows(seqs [][]int32, T int) []int {
	rows := make([]int, len(seqs))
	for b, s := range seqs {
		rows[b] = b*T + len(s) - 1
	}
	return rows
}

// Rewards scores whole sequences (prompt and completion) at their last
// token, in batches of at most batch sequences (0 = all at once).
func (s *ScalarModel) Rewards(seqs [][]int32, batch int) ([]float32, error) {
	if batch <= 0 {
		batch = len(seqs)
	}
	out := make([]float32, 0, len(seqs))
	for lo := 0; lo < len(seqs); lo += batch {
		part := seqs[lo:min(lo+batch, len(seqs))]
		for i, q := range part {
			if len(q) == 0 {
				return nil, fmt.Errorf("reward model: sequence %d is empty", lo+i)
			}
		}
		tokens, T := padBatch(part)
		r, err := s.forwardRows(tokens, len(part), T, lastRows(part, T))
		if err != nil {
			return nil, fmt.Errorf("reward model: %w", err)
		}
		s.hidden = nil
		out = append(out, r...)
	}
	return out, nil
}

// Score implements Scorer: each completion is scored after its prompt.
func (s *ScalarModel) Score(prompts, completions [][]int32) ([]float64, error) {
	seqs := make([][]int32, len(prompts))
	for i := range prompts {
		seqs[i] = append(append(make([]int32, 0, len(prompts[i])+len(completions[i])), prompts[i]...), completions[i]...)
	}
	r, err := s.Rewards(seqs, 64)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(r))
	for i, v := range r {
		out[i] = float64(v)
	}
	return out, nil
}

// Save writes the transformer (model.Save's layout) and the head
// (ScoreFile) to dir.
func (s *ScalarModel) Save(dir string) error {
	if err := s.Model.Save(dir); err != nil {
		return err
	}
	C := s.Model.Config.Dim
	ts := []ckpt.Tensor{
		{Name: "score.weight", Shape: []int{1, C}, Data: s.Head[:C]},
		{Name: "score.bias", Shape: []int{1}, Data: s.Head[C:]},
	}
	if err := ckpt.Write(filepath.Join(dir, ScoreFile), ts, map[string]string{"format": "alignlab"}); err != nil {
		return fmt.Errorf("save scalar head: %w", err)
	}
	return nil
}

// LoadScalarModel reads a ScalarModel written by Save.
func LoadScalarModel(dir string) (*ScalarModel, error) {
	m, err := model.Load(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, ScoreFile)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("load scalar head: %w (a reward model directory has %s beside the transformer)", err, ScoreFile)
	}
	f, err := ckpt.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load scalar head: %w", err)
	}
	defer f.Close()
	C := m.Config.Dim
	head := make([]float32, C+1)
	for _, t := range []struct {
		name string
		dst  []float32
	}{{"score.weight", head[:C]}, {"score.bias", head[C:]}} {
		info, ok := f.Lookup(t.name)
		if !ok {
			return nil, fmt.Errorf("load scalar head: %s has no tensor %q", path, t.name)
		}
		if info.NumElements() != len(t.dst) {
			return nil, fmt.Errorf("load scalar head: %s: %q has %d elements, the model's width needs %d", path, t.name, info.NumElements(), len(t.dst))
		}
		if err := f.ReadFloat32(t.name, t.dst); err != nil {
			return nil, fmt.Errorf("load scalar head: %w", err)
		}
	}
	for i, v := range head {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("load scalar head: %s: value %d is %g", path, i, v)
		}
	}
	return &ScalarModel{Model: m, Head: head, HeadGrad: make([]float32, C+1)}, nil
}
