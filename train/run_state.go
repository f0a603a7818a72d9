// Building blocks for a trainer's SaveState/LoadState: named float32
// buffers in one safetensors file, AdamW's moments and step count, and a
// Sampler whose shuffled data order and random state are part of the
// checkpoint, so that a resumed run draws exactly the same batches.

package train

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"

	"github.com/alignlab/alignlab/ckpt"
	"github.com/alignlab/alignlab/model"
)

// NamedBuffer is a float32 buffer saved under a name.
type NamedBuffer struct {
	Name string
	Data []float32
}

// SaveBuffers writes the buffers to one safetensors file at path
// (atomically), as 1-D tensors.
func SaveBuffers(path string, bufs []NamedBuffer, metadata map[string]string) error {
	ts := make([]ckpt.Tensor, len(bufs))
	for i, b := range bufs {
		ts[i] = ckpt.Tensor{Name: b.Name, Shape: []int{len(b.Data)}, Data: b.Data}
	}
	return ckpt.Write(path, ts, metadata)
}

// LoadBuffers reads the buffers SaveBuffers wrote into the given slices,
// whose lengths must match, and returns the file's metadata.
func LoadBuffers(path string, bufs []NamedBuffer) (map[string]string, error) {
	f, err := ckpt.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	for _, b := range bufs {
		if err := f.ReadFloat32(b.Name, b.Data); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return f.Metadata, nil
}

// SaveAdamW writes o's moments and step count to dir/<name>.safetensors.
func SaveAdamW(dir, name string, o *AdamW) error {
	md := map[string]string{"steps": strconv.Itoa(o.Steps)}
	return SaveBuffers(filepath.Join(dir, name+".safetensors"), []NamedBuffer{{"exp_avg", o.M}, {"exp_avg_sq", o.V}}, md)
}

// LoadAdamW restores what SaveAdamW wrote into o (of the same size).
func LoadAdamW(dir, name string, o *AdamW) error {
	md, err := LoadBuffers(filepath.Join(dir, name+".safetensors"), []NamedBuffer{{"exp_avg", o.M}, {"exp_avg_sq", o.V}})
	if err != nil {
		return fmt.Errorf("load optimizer: %w", err)
	}
	n, err := strconv.Atoi(md["steps"])
	if err != nil {
		return fmt.Errorf("load optimizer: bad step count %q", md["steps"])
	}
	o.Steps = n
	return nil
}

// LoadModelWeights reads a model.Save checkpoint in dir into m's existing
// parameter buffer (same config), so that views into it stay valid.
func LoadModelWeights(dir string, m *model.Model) error {
	saved, err := model.Load(dir)
	if err != nil {
		return err
	}
	if saved.Config != m.Config {
		return fmt.Errorf("checkpoint %s holds a different model config", dir)
	}
	copy(m.Params.Data, saved.Params.Data)
	return nil
}

// Sampler deals shuffled batches of example indices, epoch after epoch.
// Each epoch's order is a fresh permutation drawn from its PCG generator,
// and the generator's state, the current order and the position in it are
// saved with the checkpoint (State/SetState), so a resumed run continues
// with the very next batch. The last batch of an epoch may be short, as
// with transformers' default dataloader (drop_last false).
type Sampler struct {
	n, batch int
	pcg      *rand.PCG
	rng      *rand.Rand
	epoch    int   // epochs started
	order    []int // the current epoch's permutation
	pos      int   // next index into order
}

// NewSampler returns a sampler over n examples in batches of batch,
// seeded by seed.
func NewSampler(n, batch int, seed int64) *Sampler {
	pcg := rand.NewPCG(uint64(seed), 0x5a3d1e)
	return &Sampler{n: n, batch: max(batch, 1), pcg: pcg, rng: rand.New(pcg)}
}

// StepsPerEpoch is the number of batches in one epoch.
func (s *Sampler) StepsPerEpoch() int { return (s.n + s.batch - 1) / s.batch }

// Next returns the next batch's indices and the epoch (counted from 0) it
// belongs to.
func (s *Sampler) Next() ([]int, int) {
	if s.order == nil || s.pos >= len(s.order) {
		s.order = s.rng.Perm(s.n)
		s.pos = 0
		s.epoch++
	}
	hi := min(s.pos+s.batch, len(s.order))
	idx := append([]int(nil), s.order[s.pos:hi]...)
	s.pos = hi
	return idx, s.epoch - 1
}

// Epoch returns the fractional epoch reached (TRL's "epoch" metric).
func (s *Sampler) Epoch() float64 {
	if s.order == nil || s.n == 0 {
		return 0
	}
	return float64(s.epoch-1) + float64(s.pos)/float64(len(s.order))
}

// SamplerState is a Sampler's position, as saved in a checkpoint.
type SamplerState struct {
	N     int    `json:"n"`
	Batch int    `json:"batch"`
	PCG   []byte `json:"pcg"` // rand.PCG's MarshalBinary
	Epoch int    `json:"epoch"`
	Order []int  `json:"order"`
	Pos   int    `json:"pos"`
}

// State returns the sampler's position.
func (s *Sampler) State() SamplerState {
	b, _ := s.pcg.MarshalBinary() // cannot fail
	return SamplerState{N: s.n, Batch: s.batch, PCG: b, Epoch: s.epoch, Order: append([]int(nil), s.order...), Pos: s.pos}
}

// SetState restores a position State returned, for the same data size and
// batch size.
func (s *Sampler) SetState(st SamplerState) error {
	if st.N != s.n || st.Batch != s.batch {
		return fmt.Errorf("checkpoint's data order is for %d examples in batches of %d, this run has %d in batches of %d (the data or --per-device-train-batch-size changed)", st.N, st.Batch, s.n, s.batch)
	}
	if err := s.pcg.UnmarshalBinary(st.PCG); err != nil {
		return fmt.Errorf("checkpoint's random state: %w", err)
	}
	s.epoch, s.pos = st.Epoch, st.Pos
	s.order = nil
	if st.Order != nil {
		s.order = append([]int(nil), st.Order...)
	}
	return nil
}
