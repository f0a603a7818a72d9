// A float64 reference transformer written directly from ENGINE_API.md's
// math, one plain loop nest per layer, independent of the engine's layouts
// and kernels. Tests compare the engine's float32 forward with it and its
// backward with central differences of it.

package model

import (
	"math"
	"strconv"
)

func refLinear(x []float64, rows, in int, w, b []float64, out int) []float64 {
	y := make([]float64, rows*out)
	for r := 0; r < rows; r++ {
		for j := 0; j < out; j++ {
			s := 0.0
			if b != nil {
				s = b[j]
			}
			for i := 0; i < in; i++ {
				s += x[r*in+i] * w[j*in+i]
			}
			y[r*out+j] = s
		}
	}
	return y
}

func refLayerNorm(x []float64, rows, dim int, w, b []float64, eps float64) []float64 {
	y := make([]float64, len(x))
	for r := 0; r < rows; r++ {
		row := x[r*dim : (r+1)*dim]
		mean, vr := 0.0, 0.0
		for _, v := range row {
			mean += v
		}
		mean /= float64(dim)
		for _, v := range row {
			vr += (v - mean) * (v - mean)
		}
		vr /= float64(dim)
		for i, v := range row {
			y[r*dim+i] = (v-mean)/math.Sqrt(vr+eps)*w[i] + b[i]
		}
	}
	return y
}

func refRMSNorm(x []float64, rows, dim int, w []float64, eps float64) []float64 {
	y := make([]float64, len(x))
	for r := 0; r < rows; r++ {
		row := x[r*dim : (r+1)*dim]
		ms := 0.0
		for _, v := range row {
			ms += v * v
		}
		ms /= float64(dim)
		for i, v := range row {
			y[r*dim+i] = v / math.Sqrt(ms+eps) * w[i]
		}
	}
	return y
}

func refGELU(x []float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v)))
	}
	return y
}

func refSwiGLU(gate, up []float64) []float64 {
	y := make([]float64, len(gate))
	for i, g := range gate {
		y[i] = g / (1 + math.Exp(-g)) * up[i]
	}
	return y
}

// refRope rotates x [B·T, heads·hd] with angles computed on the spot.
func refRope(x []float64, B, T, heads, hd int, theta float64) []float64 {
	y := append([]float64(nil), x...)
	half := hd / 2
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			for h := 0; h < heads; h++ {
				base := (b*T+t)*heads*hd + h*hd
				for i := 0; i < half; i++ {
					ang := float64(t) * math.Pow(theta, -2*float64(i)/float64(hd))
					a, c := x[base+i], x[base+i+half]
					y[base+i] = a*math.Cos(ang) - c*math.Sin(ang)
					y[base+i+half] = c*math.Cos(ang) + a*math.Sin(ang)
				}
			}
		}
	}
	return y
}

// refAttention is causal attention over q [B·T, nH·hd], k and v
// [B·T, nKV·hd], one query at a time; query head h uses kv head
// h/(nH/nKV). It returns z [B·T, nH·hd] and the pattern [B, nH, T, T].
func refAttention(q, k, v []float64, B, T, nH, nKV, hd int) (z, pattern []float64) {
	z = make([]float64, B*T*nH*hd)
	pattern = make([]float64, B*nH*T*T)
	for b := 0; b < B; b++ {
		for h := 0; h < nH; h++ {
			g := h / (nH / nKV)
			for t := 0; t < T; t++ {
				scores := make([]float64, t+1)
				mx := math.Inf(-1)
				for s := 0; s <= t; s++ {
					d := 0.0
					for i := 0; i < hd; i++ {
						d += q[(b*T+t)*nH*hd+h*hd+i] * k[(b*T+s)*nKV*hd+g*hd+i]
					}
					scores[s] = d / math.Sqrt(float64(hd))
					mx = math.Max(mx, scores[s])
				}
				sum := 0.0
				for s := range scores {
					scores[s] = math.Exp(scores[s] - mx)
					sum += scores[s]
				}
				for s := range scores {
					p := scores[s] / sum
					pattern[((b*nH+h)*T+t)*T+s] = p
					for i := 0; i < hd; i++ {
						z[(b*T+t)*nH*hd+h*hd+i] += p * v[(b*T+s)*nKV*hd+g*hd+i]
					}
				}
			}
		}
	}
	return z, pattern
}

// refCE returns Σ_r w[r]·(logsumexp(logits[r]) − logits[r][target[r]]).
func refCE(logits []float64, rows, V int, targets []int32, w []float64) float64 {
	total := 0.0
	for r := 0; r < rows; r++ {
		if w[r] == 0 {
			continue
		}
		row := logits[r*V : (r+1)*V]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, v)
		}
		s := 0.0
		for _, v := range row {
			s += math.Exp(v - mx)
		}
		total += w[r] * (mx + math.Log(s) - row[targets[r]])
	}
	return total
}

// refModel evaluates a model's loss in float64 from a copy of its weights.
type refModel struct {
	cfg Config
	p   []float64
	off map[string][2]int // name -> [offset, size] in p
}

func newRefModel(m *Model) *refModel {
	r := &refModel{cfg: m.Config, p: make([]float64, len(m.Params.Data)), off: map[string][2]int{}}
	for i, v := range m.Params.Data {
		r.p[i] = float64(v)
	}
	off := 0
	forEachTensor(m.Config, func(name string, shape []int) {
		r.off[name] = [2]int{off, prod(shape)}
		off += prod(shape)
	})
	return r
}

// t returns the named tensor, or nil when the model has none by that name.
func (r *refModel) t(name string) []float64 {
	o, ok := r.off[name]
	if !ok {
		return nil
	}
	return r.p[o[0] : o[0]+o[1]]
}

func (r *refModel) norm(x []float64, rows int, prefix string) []float64 {
	if r.cfg.Family == GPT2 {
		return refLayerNorm(x, rows, r.cfg.Dim, r.t(prefix+".weight"), r.t(prefix+".bias"), float64(r.cfg.NormEps))
	}
	return refRMSNorm(x, rows, r.cfg.Dim, r.t(prefix+".weight"), float64(r.cfg.NormEps))
}

// logits runs the reference forward and returns logits [B·T, V].
func (r *refModel) logits(tokens []int32, B, T int) []float64 {
	cfg := r.cfg
	C, H, V := cfg.Dim, cfg.HiddenDim, cfg.VocabSize
	nH, nKV, hd := cfg.NumHeads, cfg.NumKVHeads, cfg.HeadDim()
	BT := B * T
	x := make([]float64, BT*C)
	wte, wpe := r.t("wte"), r.t("wpe")
	for i, tok := range tokens {
		for c := 0; c < C; c++ {
			x[i*C+c] = wte[int(tok)*C+c]
			if wpe != nil {
				x[i*C+c] += wpe[(i%T)*C+c]
			}
		}
	}
	for l := 0; l < cfg.NumLayers; l++ {
		pre := "h." + strconv.Itoa(l) + "."
		h := r.norm(x, BT, pre+"ln_1")
		qkv := refLinear(h, BT, C, r.t(pre+"attn.qkv.weight"), r.t(pre+"attn.qkv.bias"), cfg.QKVDim())
		q := make([]float64, BT*nH*hd)
		k := make([]float64, BT*nKV*hd)
		v := make([]float64, BT*nKV*hd)
		for i := 0; i < BT; i++ {
			row := qkv[i*cfg.QKVDim() : (i+1)*cfg.QKVDim()]
			copy(q[i*nH*hd:], row[:nH*hd])
			copy(k[i*nKV*hd:], row[nH*hd:(nH+nKV)*hd])
			copy(v[i*nKV*hd:], row[(nH+nKV)*hd:])
		}
		if cfg.Family == Llama {
			q = refRope(q, B, T, nH, hd, float64(cfg.RopeTheta))
			k = refRope(k, B, T, nKV, hd, float64(cfg.RopeTheta))
		}
		z, _ := refAttention(q, k, v, B, T, nH, nKV, hd)
		a := refLinear(z, BT, nH*hd, r.t(pre+"attn.out.weight"), r.t(pre+"attn.out.bias"), C)
		for i := range x {
			x[i] += a[i]
		}
		h = r.norm(x, BT, pre+"ln_2")
		var act []float64
		if cfg.Gated() {
			fc := refLinear(h, BT, C, r.t(pre+"mlp.fc.weight"), r.t(pre+"mlp.fc.bias"), 2*H)
			gate, up := make([]float64, BT*H), make([]float64, BT*H)
			for i := 0; i < BT; i++ {
				copy(gate[i*H:], fc[i*2*H:i*2*H+H])
				copy(up[i*H:], fc[i*2*H+H:(i+1)*2*H])
			}
			act = refSwiGLU(gate, up)
		} else {
			act = refGELU(refLinear(h, BT, C, r.t(pre+"mlp.fc.weight"), r.t(pre+"mlp.fc.bias"), H))
		}
		mo := refLinear(act, BT, H, r.t(pre+"mlp.proj.weight"), r.t(pre+"mlp.proj.bias"), C)
		for i := range x {
			x[i] += mo[i]
		}
	}
	hf := r.norm(x, BT, "ln_f")
	head := r.t("lm_head.weight")
	if head == nil {
		head = wte
	}
	return refLinear(hf, BT, C, head, nil, V)
}

// loss is the masked mean cross-entropy (mask nil = all ones).
func (r *refModel) loss(tokens, targets []int32, mask []float32, B, T int) float64 {
	w := make([]float64, B*T)
	sum := 0.0
	for i := range w {
		w[i] = 1
		if mask != nil {
			w[i] = float64(mask[i])
		}
		sum += w[i]
	}
	for i := range w {
		w[i] /= sum
	}
	return refCE(r.logits(tokens, B, T), B*T, r.cfg.VocabSize, targets, w)
}
