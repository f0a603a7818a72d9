package sae

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/alignlab/alignlab/tensor"
)

// Architecture names the latent nonlinearity, as SAELens's cfg.json does.
type Architecture string

// The architectures an SAE may have.
const (
	// Standard is a ReLU SAE trained with an L1 penalty.
	Standard Architecture = "standard"
	// TopK keeps the K largest pre-activations (ReLU'd) of each input.
	TopK Architecture = "topk"
)

// Meta says where an SAE's activations come from; it is written to
// cfg.json and read back, and does not change the computation.
type Meta struct {
	ModelName   string `json:"model_name"`
	HookName    string `json:"hook_name"`
	HookLayer   int    `json:"hook_layer"`
	ContextSize int    `json:"context_size,omitempty"`
	DatasetPath string `json:"dataset_path,omitempty"`
}

// SAE is a sparse autoencoder's parameters, laid out as SAELens's tensors.
type SAE struct {
	DIn, DSae int
	Arch      Architecture
	// K is the number of latents TopK keeps per input.
	K    int
	Meta Meta

	WEnc []float32 // [DIn, DSae]
	BEnc []float32 // [DSae]
	WDec []float32 // [DSae, DIn]
	BDec []float32 // [DIn]
}

// New returns an SAE with SAELens's initialisation: decoder rows drawn
// uniformly and scaled to unit norm, the encoder their transpose, biases
// zero (InitBDec sets b_dec from data).
func New(dIn, dSae int, arch Architecture, k int, seed uint64) (*SAE, error) {
	if dIn < 1 || dSae < 1 {
		return nil, fmt.Errorf("sae: d_in %d and d_sae %d must be positive", dIn, dSae)
	}
	switch arch {
	case Standard:
		k = 0
	case TopK:
		if k < 1 || k > dSae {
			return nil, fmt.Errorf("sae: topk needs 1 <= k <= d_sae (%d), got k=%d", dSae, k)
		}
	default:
		return nil, fmt.Errorf("sae: unknown architecture %q: want standard or topk", arch)
	}
	s := &SAE{DIn: dIn, DSae: dSae, Arch: arch, K: k,
		WEnc: make([]float32, dIn*dSae), BEnc: make([]float32, dSae),
		WDec: make([]float32, dSae*dIn), BDec: make([]float32, dIn)}
	rng := rand.New(rand.NewPCG(seed, seed^0x5ae5ae))
	for i := range s.WDec {
		s.WDec[i] = float32(rng.Float64()*2 - 1)
	}
	s.NormalizeDecoder()
	for j := 0; j < dSae; j++ {
		for i := 0; i < dIn; i++ {
			s.WEnc[i*dSae+j] = s.WDec[j*dIn+i]
		}
	}
	return s, nil
}

// NormalizeDecoder scales every decoder row to unit norm (a zero row is
// left alone).
func (s *SAE) NormalizeDecoder() {
	for j := 0; j < s.DSae; j++ {
		row := s.WDec[j*s.DIn : (j+1)*s.DIn]
		if n := norm(row); n > 0 {
			tensor.Scale(1/n, row)
		}
	}
}

// InitBDec sets b_dec to the geometric median of the n rows of x
// (Weiszfeld's iterations from the mean), as SAELens's b_dec_init_method
// "geometric_median" does, or to the mean when median is false.
func (s *SAE) InitBDec(x []float32, n int, median bool) {
	d := s.DIn
	mean := make([]float64, d)
	for r := 0; r < n; r++ {
		for i, v := range x[r*d : (r+1)*d] {
			mean[i] += float64(v)
		}
	}
	for i := range mean {
		mean[i] /= float64(n)
	}
	y := mean
	if median {
		for it := 0; it < 50; it++ {
			num := make([]float64, d)
			var den float64
			for r := 0; r < n; r++ {
				row := x[r*d : (r+1)*d]
				var dist float64
				for i, v := range row {
					t := float64(v) - y[i]
					dist += t * t
				}
				w := 1 / math.Max(math.Sqrt(dist), 1e-8)
				den += w
				for i, v := range row {
					num[i] += w * float64(v)
				}
			}
			var move float64
			for i := range num {
				num[i] /= den
				t := num[i] - y[i]
				move += t * t
			}
			y = num
			if move < 1e-12 {
				break
			}
		}
	}
	for i := range s.BDec {
		s.BDec[i] = float32(y[i])
	}
}

// Encode writes the latents of the n rows of x (n×DIn) to f (n×DSae) and
// returns f; pre (n×DSae) receives the pre-activations and may be nil.
func (s *SAE) Encode(x []float32, n int, f, pre []float32) []float32 {
	d, m := s.DIn, s.DSae
	if f == nil {
		f = make([]float32, n*m)
	}
	if pre == nil {
		pre = make([]float32, n*m)
	}
	xc := make([]float32, n*d)
	for r := 0; r < n; r++ {
		for i := 0; i < d; i++ {
			xc[r*d+i] = x[r*d+i] - s.BDec[i]
		}
	}
	s.encodeCentred(xc, n, pre)
	s.activate(pre, f, n, nil)
	return f
}

// encodeCentred computes pre = xc·W_enc + b_enc.
func (s *SAE) encodeCentred(xc []float32, n int, pre []float32) {
	m := s.DSae
	for r := 0; r < n; r++ {
		copy(pre[r*m:(r+1)*m], s.BEnc)
	}
	tensor.Gemm(false, false, n, m, s.DIn, 1, xc, s.DIn, s.WEnc, m, 1, pre, m)
}

// activate applies the nonlinearity row by row. For TopK, sel (n×K, may be
// nil) receives each row's kept latent indices, ascending.
func (s *SAE) activate(pre, f []float32, n int, sel []int32) {
	m := s.DSae
	if s.Arch != TopK {
		for i, v := range pre[:n*m] {
			f[i] = max(v, 0)
		}
		return
	}
	tensor.Parallel(n, func(lo, hi int) {
		idx := make([]int32, s.K)
		for r := lo; r < hi; r++ {
			p, out := pre[r*m:(r+1)*m], f[r*m:(r+1)*m]
			topK(p, s.K, idx)
			clear(out)
			for _, j := range idx {
				out[j] = max(p[j], 0)
			}
			if sel != nil {
				copy(sel[r*s.K:(r+1)*s.K], idx)
			}
		}
	})
}

// Decode writes the reconstructions of the n latent rows f (n×DSae) to xh
// (n×DIn) and returns it.
func (s *SAE) Decode(f []float32, n int, xh []float32) []float32 {
	d := s.DIn
	if xh == nil {
		xh = make([]float32, n*d)
	}
	for r := 0; r < n; r++ {
		copy(xh[r*d:(r+1)*d], s.BDec)
	}
	tensor.Gemm(false, false, n, d, s.DSae, 1, f, s.DSae, s.WDec, d, 1, xh, d)
	return xh
}

// Reconstruct returns the SAE's reconstruction of the n rows of x.
func (s *SAE) Reconstruct(x []float32, n int) []float32 {
	return s.Decode(s.Encode(x, n, nil, nil), n, nil)
}

// topK writes to idx[:k] the indices of the k largest values of p (ties
// to the lower index), sorted ascending by index.
func topK(p []float32, k int, idx []int32) {
	// A size-k min-heap of candidates: O(m log k), and for k << m most
	// values are rejected by one comparison with the heap's minimum.
	h := idx[:0]
	less := func(a, b int32) bool { // a ranks below b
		return p[a] < p[b] || (p[a] == p[b] && a > b)
	}
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(h) {
				return
			}
			if r := l + 1; r < len(h) && less(h[r], h[l]) {
				l = r
			}
			if !less(h[l], h[i]) {
				return
			}
			h[i], h[l] = h[l], h[i]
			i = l
		}
	}
	for j := range p {
		jj := int32(j)
		if len(h) < k {
			h = append(h, jj)
			for i := len(h) - 1; i > 0; {
				par := (i - 1) / 2
				if !less(h[i], h[par]) {
					break
				}
				h[i], h[par] = h[par], h[i]
				i = par
			}
			continue
		}
		if less(h[0], jj) {
			h[0] = jj
			down(0)
		}
	}
	sort.Slice(h, func(a, b int) bool { return h[a] < h[b] })
}

func norm(x []float32) float32 { return float32(math.Sqrt(float64(tensor.Dot(x, x)))) }
