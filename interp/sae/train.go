// The training step: forward and backward of the SAE loss side by side,
// over buffers allocated once per batch size, then Adam.

package sae

import (
	"fmt"
	"math"

	"github.com/alignlab/alignlab/tensor"
)

// TrainConfig holds the optimisation settings, named as SAELens's runner
// names them where it has the same knob.
type TrainConfig struct {
	// Batch is the number of activations per step (train_batch_size_tokens).
	Batch int
	// LR is Adam's learning rate; it warms up linearly over LRWarmupSteps.
	LR            float64
	LRWarmupSteps int
	// Beta1 and Beta2 are Adam's (0 means 0.9 and 0.999).
	Beta1, Beta2 float64
	// L1Coeff weights the L1 penalty of a standard SAE; it warms up
	// linearly from 0 over L1WarmupSteps.
	L1Coeff       float64
	L1WarmupSteps int
	// ScaleL1ByDecoderNorm weights each latent's L1 term by its decoder row
	// norm (Anthropic, April 2024); the decoder rows then keep free norms
	// instead of being held at unit norm.
	ScaleL1ByDecoderNorm bool
	// AuxKCoeff weights TopK's AuxK loss (0 means 1/32, negative turns it
	// off); KAux is how many dead latents it uses (0 means d_in/2).
	AuxKCoeff float64
	KAux      int
	// DeadTokens is how many consecutive activations a latent must not
	// fire on to count as dead (dead_feature_window, in tokens; 0 means
	// 1,000,000).
	DeadTokens int
}

func (c *TrainConfig) defaults(dIn int) {
	if c.Beta1 == 0 {
		c.Beta1 = 0.9
	}
	if c.Beta2 == 0 {
		c.Beta2 = 0.999
	}
	if c.AuxKCoeff == 0 {
		c.AuxKCoeff = 1.0 / 32
	}
	if c.KAux == 0 {
		c.KAux = max(1, dIn/2)
	}
	if c.DeadTokens == 0 {
		c.DeadTokens = 1_000_000
	}
}

// StepStats are one step's losses and sparsity, over its batch.
type StepStats struct {
	Step int `json:"step"`
	// MSE is the squared reconstruction error summed over d_in, averaged
	// over the batch (SAELens's mse_loss).
	MSE float64 `json:"mse"`
	// L1 is the (weighted) L1 penalty before its coefficient; AuxK is the
	// AuxK loss before its coefficient.
	L1   float64 `json:"l1,omitempty"`
	AuxK float64 `json:"auxk,omitempty"`
	// Loss is what the step minimised.
	Loss float64 `json:"loss"`
	// L0 is the mean number of latents firing per activation.
	L0 float64 `json:"l0"`
	// ExplainedVariance is 1 - Σ‖x-x̂‖² / Σ‖x-x̄‖² over the batch.
	ExplainedVariance float64 `json:"explained_variance"`
	// Dead is the fraction of latents that have not fired for DeadTokens
	// activations.
	Dead float64 `json:"dead"`
}

// Trainer trains one SAE with Adam. Its buffers are sized for one batch
// size and reused every step.
type Trainer struct {
	SAE *SAE
	Cfg TrainConfig

	step  int
	since []int // activations since each latent last fired

	// activations, per batch
	b              int
	x, xc, xh, dxh []float32 // [B, DIn]
	pre, f, dpre   []float32 // [B, DSae]
	sel            []int32   // [B, K] TopK's kept latents
	dsel           []float32 // [B, K] their pre-activation gradients (TopK's dpre, stored sparse)
	dauxSel        []float32 // [B, KAux] AuxK's latents' pre-activation gradients
	auxSel         []int32   // [B, KAux] AuxK's dead latents
	auxF           []float32 // [B, KAux] their activations
	auxE           []float32 // [B, DIn] AuxK's reconstruction minus the residual
	deadList       []int32
	ka             int // AuxK latents per row this step (0: none)
	// fixedResid, when set, replaces x̂ - x in AuxK: the gradient check
	// holds the residual fixed as the stop-gradient does.
	fixedResid                 []float32
	gWEnc, gBEnc, gWDec, gBDec []float32
	gWEncT                     []float32 // [DSae, DIn]: TopK's sparse encoder gradient, transposed
	adam                       [4]adamState
}

type adamState struct{ m, v []float32 }

// NewTrainer prepares to train s with cfg.
func NewTrainer(s *SAE, cfg TrainConfig) (*Trainer, error) {
	cfg.defaults(s.DIn)
	if cfg.Batch < 1 {
		return nil, fmt.Errorf("sae: batch size %d must be positive", cfg.Batch)
	}
	if cfg.LR <= 0 {
		return nil, fmt.Errorf("sae: learning rate %g must be positive", cfg.LR)
	}
	t := &Trainer{SAE: s, Cfg: cfg, since: make([]int, s.DSae)}
	for i, n := range []int{len(s.WEnc), len(s.BEnc), len(s.WDec), len(s.BDec)} {
		t.adam[i] = adamState{make([]float32, n), make([]float32, n)}
	}
	t.gWEnc, t.gBEnc = make([]float32, len(s.WEnc)), make([]float32, s.DSae)
	t.gWDec, t.gBDec = make([]float32, len(s.WDec)), make([]float32, s.DIn)
	if s.Arch == TopK {
		t.gWEncT = make([]float32, len(s.WEnc))
	}
	return t, nil
}

func (t *Trainer) ensure(b int) {
	if t.b == b {
		return
	}
	s := t.SAE
	d, m := s.DIn, s.DSae
	t.b = b
	t.x, t.xc, t.xh, t.dxh = make([]float32, b*d), make([]float32, b*d), make([]float32, b*d), make([]float32, b*d)
	t.pre, t.f = make([]float32, b*m), make([]float32, b*m)
	if s.Arch != TopK {
		t.dpre = make([]float32, b*m)
	}
	if s.Arch == TopK {
		t.sel = make([]int32, b*s.K)
		t.dsel = make([]float32, b*s.K)
		t.dauxSel = make([]float32, b*min(t.Cfg.KAux, m))
		t.auxSel = make([]int32, b*min(t.Cfg.KAux, m))
		t.auxF = make([]float32, b*min(t.Cfg.KAux, m))
		t.auxE = make([]float32, b*d)
	}
}

// Step runs one forward, backward and Adam update on the b rows of x
// (b×DIn) and returns the step's statistics.
func (t *Trainer) Step(x []float32, b int) StepStats {
	t.ensure(b)
	st := t.forwardBackward(x, b)
	t.update()
	t.step++
	st.Step = t.step
	return st
}

// forwardBackward computes the loss and leaves its gradient in g*.
func (t *Trainer) forwardBackward(x []float32, b int) StepStats {
	s, c := t.SAE, &t.Cfg
	d, m := s.DIn, s.DSae
	copy(t.x, x[:b*d])

	// Forward: xc = x - b_dec; pre = xc·W_enc + b_enc; f = σ(pre); x̂ = f·W_dec + b_dec.
	for r := 0; r < b; r++ {
		for i := 0; i < d; i++ {
			t.xc[r*d+i] = t.x[r*d+i] - s.BDec[i]
		}
	}
	s.encodeCentred(t.xc, b, t.pre)
	s.activate(t.pre, t.f, b, t.sel)
	if s.Arch == TopK {
		t.decodeSparse(b)
	} else {
		s.Decode(t.f, b, t.xh)
	}

	// The MSE and its gradient dx̂ = 2(x̂ - x)/B; statistics on the way.
	var st StepStats
	var sse, l0 float64
	mean := make([]float64, d)
	for r := 0; r < b; r++ {
		for i := 0; i < d; i++ {
			e := t.xh[r*d+i] - t.x[r*d+i]
			sse += float64(e) * float64(e)
			t.dxh[r*d+i] = 2 * e / float32(b)
			mean[i] += float64(t.x[r*d+i])
		}
	}
	var sst float64
	for i := range mean {
		mean[i] /= float64(b)
	}
	for r := 0; r < b; r++ {
		for i := 0; i < d; i++ {
			v := float64(t.x[r*d+i]) - mean[i]
			sst += v * v
		}
	}
	st.MSE = sse / float64(b)
	st.ExplainedVariance = 1 - sse/math.Max(sst, 1e-30)
	fired := make([]bool, m)
	for r := 0; r < b; r++ {
		for j, v := range t.f[r*m : (r+1)*m] {
			if v > 0 {
				l0++
				fired[j] = true
			}
		}
	}
	st.L0 = l0 / float64(b)
	st.Loss = st.MSE
	for j := range t.since {
		if fired[j] {
			t.since[j] = 0
		} else {
			t.since[j] += b
		}
	}
	st.Dead = t.DeadFraction()

	// gWEnc is overwritten whole below (Gemm with beta 0, or a transpose).
	clear(t.gBEnc)
	clear(t.gWDec)
	clear(t.gBDec)
	// Backward through the decoder: db_dec += Σ dx̂; dW_dec += fᵀ·dx̂; df = dx̂·W_decᵀ.
	for r := 0; r < b; r++ {
		tensor.Axpy(1, t.dxh[r*d:(r+1)*d], t.gBDec)
	}
	if s.Arch == TopK {
		t.decodeSparseBackward(b, t.dxh, t.sel, s.K, t.f, true, t.dsel)
		st.AuxK = t.auxK(b)
		st.Loss += c.AuxKCoeff * st.AuxK
	} else {
		tensor.Gemm(true, false, m, d, b, 1, t.f, m, t.dxh, d, 0, t.gWDec, d)
		tensor.Gemm(false, true, b, m, d, 1, t.dxh, d, s.WDec, d, 0, t.dpre, m)
		st.L1 = t.l1(b)
		st.Loss += t.l1Coeff() * st.L1
	}
	// Through the ReLU: only latents that fired pass gradient. (TopK's
	// sparse gradients already cover only the kept latents that fired,
	// and AuxK's dead ones.)
	if s.Arch != TopK {
		for i, v := range t.f[:b*m] {
			if v <= 0 {
				t.dpre[i] = 0
			}
		}
	}
	// Through the encoder: db_enc = Σ dpre; dW_enc = xcᵀ·dpre; and
	// db_dec -= Σ_r dpre_r·W_encᵀ = W_enc·db_enc (xc = x - b_dec).
	if s.Arch == TopK {
		t.encoderSparseBackward(b)
	} else {
		for r := 0; r < b; r++ {
			tensor.Axpy(1, t.dpre[r*m:(r+1)*m], t.gBEnc)
		}
		tensor.Gemm(true, false, d, m, b, 1, t.xc, d, t.dpre, m, 0, t.gWEnc, m)
	}
	for i := 0; i < d; i++ {
		t.gBDec[i] -= tensor.Dot(s.WEnc[i*m:(i+1)*m], t.gBEnc)
	}
	return st
}

// l1 returns Σ_j f_j·n_j averaged over the batch (n_j the decoder row
// norm, or 1) and adds its gradient to dpre (as df) and, when scaled by
// the decoder norms, to dW_dec.
func (t *Trainer) l1(b int) float64 {
	s, coeff := t.SAE, float32(t.l1Coeff())
	d, m := s.DIn, s.DSae
	norms := make([]float32, m)
	colSum := make([]float64, m)
	for j := range norms {
		norms[j] = 1
		if t.Cfg.ScaleL1ByDecoderNorm {
			norms[j] = norm(s.WDec[j*d : (j+1)*d])
		}
	}
	var total float64
	for r := 0; r < b; r++ {
		f, df := t.f[r*m:(r+1)*m], t.dpre[r*m:(r+1)*m]
		for j, v := range f {
			if v > 0 {
				total += float64(v * norms[j])
				colSum[j] += float64(v)
			}
			df[j] += coeff * norms[j] / float32(b)
		}
	}
	if t.Cfg.ScaleL1ByDecoderNorm {
		for j := 0; j < m; j++ {
			if norms[j] > 0 && colSum[j] > 0 {
				tensor.Axpy(coeff*float32(colSum[j])/float32(b)/norms[j], s.WDec[j*d:(j+1)*d], t.gWDec[j*d:(j+1)*d])
			}
		}
	}
	return total / float64(b)
}

func (t *Trainer) l1Coeff() float64 {
	c := t.Cfg
	if c.L1WarmupSteps > 0 && t.step < c.L1WarmupSteps {
		return c.L1Coeff * float64(t.step+1) / float64(c.L1WarmupSteps)
	}
	return c.L1Coeff
}

// decodeSparse computes x̂ = b_dec + Σ_{j kept} f_j·W_dec[j] row by row,
// which for TopK costs K·DIn per row instead of DSae·DIn.
func (t *Trainer) decodeSparse(b int) {
	s := t.SAE
	d, m, k := s.DIn, s.DSae, s.K
	tensor.Parallel(b, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			out := t.xh[r*d : (r+1)*d]
			copy(out, s.BDec)
			for _, j := range t.sel[r*k : (r+1)*k] {
				if v := t.f[r*m+int(j)]; v != 0 {
					tensor.Axpy(v, s.WDec[int(j)*d:(int(j)+1)*d], out)
				}
			}
		}
	})
}

// decodeSparseBackward backpropagates dout [b, DIn] through x̂ = Σ_q
// vals_q·W_dec[idx_q] for kk latents per row: dW_dec[j] += v·dout_r, and
// dst[r, q] = dout_r·W_dec[j] is the gradient of latent j = idx[r, q]'s
// pre-activation. dense: vals are TopK's activations [b, DSae], ReLU'd
// (only positive ones pass gradient); otherwise vals are AuxK's raw
// pre-activations [b, kk], which are not ReLU'd (as SAELens: a dead
// latent's pre-activation is usually negative, and AuxK must still reach
// it).
func (t *Trainer) decodeSparseBackward(b int, dout []float32, idx []int32, kk int, vals []float32, dense bool, dst []float32) {
	s := t.SAE
	d, m := s.DIn, s.DSae
	val := func(r, q int) float32 {
		if dense {
			return vals[r*m+int(idx[r*kk+q])]
		}
		return vals[r*kk+q]
	}
	tensor.Parallel(b, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			g := dout[r*d : (r+1)*d]
			for q := 0; q < kk; q++ {
				dst[r*kk+q] = 0
				if !dense || val(r, q) > 0 {
					j := int(idx[r*kk+q])
					dst[r*kk+q] = tensor.Dot(g, s.WDec[j*d:(j+1)*d])
				}
			}
		}
	})
	// Weight gradients split by columns so no two goroutines share a row
	// segment.
	tensor.Parallel(d, func(lo, hi int) {
		for r := 0; r < b; r++ {
			g := dout[r*d+lo : r*d+hi]
			for q := 0; q < kk; q++ {
				if v := val(r, q); v > 0 || (!dense && v != 0) {
					j := int(idx[r*kk+q])
					tensor.Axpy(v, g, t.gWDec[j*d+lo:j*d+hi])
				}
			}
		}
	})
}

// encoderSparseBackward computes db_enc = Σ dpre and dW_enc = xcᵀ·dpre
// from the sparse pre-activation gradients of the kept (and AuxK's dead)
// latents: dW_encᵀ[j] += dpre[r,j]·xc_r, accumulated transposed
// (contiguous rows) and transposed once at the end. A latent in both
// lists of a row (kept but not firing, and dead) gets the sum of its two
// entries, the first of which is 0.
func (t *Trainer) encoderSparseBackward(b int) {
	s := t.SAE
	d, m := s.DIn, s.DSae
	type list struct {
		idx  []int32
		grad []float32
		k    int
	}
	lists := []list{{t.sel, t.dsel, s.K}}
	if t.ka > 0 {
		lists = append(lists, list{t.auxSel, t.dauxSel, t.ka})
	}
	for r := 0; r < b; r++ {
		for _, l := range lists {
			for q, j := range l.idx[r*l.k : (r+1)*l.k] {
				t.gBEnc[j] += l.grad[r*l.k+q]
			}
		}
	}
	clear(t.gWEncT)
	tensor.Parallel(d, func(lo, hi int) {
		for r := 0; r < b; r++ {
			xr := t.xc[r*d+lo : r*d+hi]
			for _, l := range lists {
				for q, j := range l.idx[r*l.k : (r+1)*l.k] {
					if g := l.grad[r*l.k+q]; g != 0 {
						tensor.Axpy(g, xr, t.gWEncT[int(j)*d+lo:int(j)*d+hi])
					}
				}
			}
		}
	})
	tensor.Parallel(d, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := t.gWEnc[i*m : (i+1)*m]
			for j := range row {
				row[j] = t.gWEncT[j*d+i]
			}
		}
	})
}

// auxK adds the AuxK loss's gradient (Gao et al. 2024): the top KAux dead
// latents by pre-activation, at their raw pre-activation values,
// reconstruct the residual e = x - x̂ (held fixed), L = ‖ê - e‖² summed over d_in, batch mean, scaled by
// min(dead/KAux, 1). It returns L before AuxKCoeff.
func (t *Trainer) auxK(b int) float64 {
	s, c := t.SAE, &t.Cfg
	d, m := s.DIn, s.DSae
	t.deadList = t.deadList[:0]
	t.ka = 0
	if c.AuxKCoeff < 0 {
		return 0
	}
	for j, n := range t.since {
		if n >= c.DeadTokens {
			t.deadList = append(t.deadList, int32(j))
		}
	}
	nd := len(t.deadList)
	if nd == 0 {
		return 0
	}
	ka := min(c.KAux, nd)
	t.ka = ka
	scale := math.Min(float64(nd)/float64(c.KAux), 1)
	var total float64
	sums := make([]float64, b)
	tensor.Parallel(b, func(lo, hi int) {
		vals := make([]float32, nd)
		idx := make([]int32, ka)
		for r := lo; r < hi; r++ {
			for q, j := range t.deadList {
				vals[q] = t.pre[r*m+int(j)]
			}
			topK(vals, ka, idx)
			e := t.auxE[r*d : (r+1)*d]
			for i := range e { // ê - e, with e = x - x̂
				e[i] = t.xh[r*d+i] - t.x[r*d+i]
				if t.fixedResid != nil {
					e[i] = t.fixedResid[r*d+i]
				}
			}
			for q, qi := range idx {
				j := t.deadList[qi]
				v := vals[qi]
				t.auxSel[r*ka+q] = j
				t.auxF[r*ka+q] = v
				if v != 0 {
					tensor.Axpy(v, s.WDec[int(j)*d:(int(j)+1)*d], e)
				}
			}
			sums[r] = float64(tensor.Dot(e, e))
			tensor.Scale(float32(2*c.AuxKCoeff*scale)/float32(b), e)
		}
	})
	for _, v := range sums {
		total += v
	}
	// Backward: dW_dec[j] += v·dL/dê and dpre[r,j] += dL/dê·W_dec[j] for
	// the dead latents used, through the same sparse routine.
	t.decodeSparseBackward(b, t.auxE, t.auxSel, ka, t.auxF, false, t.dauxSel)
	return scale * total / float64(b)
}
