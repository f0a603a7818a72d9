package lab

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"

	"github.com/alignlab/alignlab/internal/atomicfile"
	"github.com/alignlab/alignlab/model"
)

// Half-precision checkpoints, for the base models that ship inside the
// binary: half the bytes of float32, read back by model.Load like any
// safetensors file.

// f32ToF16 rounds f to the nearest IEEE half (ties to even), with
// overflow to infinity and gradual underflow.
func f32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	e8 := int((b >> 23) & 0xff)
	mant := b & 0x7fffff
	if e8 == 0xff {
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	exp := e8 - 127 + 15
	if exp >= 0x1f {
		return sign | 0x7c00
	}
	if exp <= 0 {
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint(14 - exp)
		r := mant >> shift
		rem, half := mant&(1<<shift-1), uint32(1)<<(shift-1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	h := sign | uint16(exp<<10) | uint16(mant>>13)
	// Rounding may carry into the exponent, which is the right result.
	if rem := mant & 0x1fff; rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++
	}
	return h
}

// saveF16 writes p's model to dir as a half-precision safetensors file
// plus config.json and the codec, loadable with LoadPolicy.
func saveF16(p *Policy, dir string) error {
	if err := p.Save(dir); err != nil { // config.json and the codec
		return err
	}
	type entry struct {
		DType   string `json:"dtype"`
		Shape   []int  `json:"shape"`
		Offsets [2]int `json:"data_offsets"`
	}
	header := map[string]any{"__metadata__": map[string]string{"format": "alignlab", "family": string(p.Model.Config.Family)}}
	var data []byte
	ts := append([]model.Tensor(nil), p.Model.Params.Tensors...)
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	seen := map[string]bool{}
	for _, t := range ts {
		if seen[t.Name] {
			continue
		}
		seen[t.Name] = true
		start := len(data)
		for _, v := range t.Data {
			data = binary.LittleEndian.AppendUint16(data, f32ToF16(v))
		}
		header[t.Name] = entry{DType: "F16", Shape: t.Shape, Offsets: [2]int{start, len(data)}}
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(hj)%8 != 0 {
		hj = append(hj, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(hj)))
	out = append(append(out, hj...), data...)
	// It replaces the fp32 file just written: atomically, so that a crash
	// leaves one whole file or the other.
	if err := atomicfile.Write(filepath.Join(dir, model.WeightsFile), func(w io.Writer) error {
		_, err := w.Write(out)
		return err
	}); err != nil {
		return fmt.Errorf("save half-precision model: %w", err)
	}
	return nil
}
