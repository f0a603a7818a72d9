// Causal multi-head attention with grouped-query sharing, forward and
// backward. Scores, the probability-weighted values and every gradient
// product are tensor.Gemm calls on one (sequence, head) at a time; the
// (sequence, head) pairs run in parallel. Layouts: q and z are
// [B·T, nH·hd], k and v [B·T, nKV·hd] (head-major within a row), att is
// [B, nH, T, T]; query head h reads kv head h/(nH/nKV), as HF's repeat_kv.

package model

import (
	"math"

	"github.com/alignlab/alignlab/tensor"
)

// attnKernel carries one layer's attention buffers into the parallel loop
// bodies (bound once, so calls allocate nothing).
type attnKernel struct {
	q, k, v, att, z      []float32
	dq, dk, dv, datt, dz []float32
	B, T, nH, nKV, hd    int
	scale                float32
	scoresFn, mixFn      func(lo, hi int)
	maskedFn, softmaxFn  func(lo, hi int)
	backwardFn           func(lo, hi int)
}

func (a *attnKernel) bind() {
	a.scoresFn = a.scoresRange
	a.maskedFn = a.maskedRange
	a.softmaxFn = a.softmaxRange
	a.mixFn = a.mixRange
	a.backwardFn = a.backwardRange
}

func (a *attnKernel) set(B, T, nH, nKV, hd int) {
	a.B, a.T, a.nH, a.nKV, a.hd = B, T, nH, nKV, hd
	a.scale = float32(1 / math.Sqrt(float64(hd)))
}

// forward computes att = softmax(causal(q·kᵀ/√hd)) per (sequence, head) and
// z = att·v. A hook can read or replace the masked scores (afterScores,
// nil unless a hook listens: the scores then take a pass of their own) and
// the pattern (afterPattern, may be nil) between the phases.
func (a *attnKernel) forward(z, att, q, k, v []float32, B, T, nH, nKV, hd int, afterScores, afterPattern func()) {
	a.set(B, T, nH, nKV, hd)
	a.q, a.k, a.v, a.att, a.z = q, k, v, att, z
	if afterScores != nil {
		tensor.Parallel(B*nH, a.maskedFn)
		afterScores()
		tensor.Parallel(B*nH, a.softmaxFn)
	} else {
		tensor.Parallel(B*nH, a.scoresFn)
	}
	if afterPattern != nil {
		afterPattern()
	}
	tensor.Parallel(B*nH, a.mixFn)
}

// scoresRange fills the causal softmax probabilities of (sequence, head)
// pairs lo..hi-1, each pair's scores still in cache for its softmax.
func (a *attnKernel) scoresRange(lo, hi int) {
	for u := lo; u < hi; u++ {
		a.scorePair(u)
		a.softmaxPair(u)
	}
}

// maskedRange fills the scaled scores of pairs lo..hi-1 with the future
// keys at -Inf: attn.hook_attn_scores.
func (a *attnKernel) maskedRange(lo, hi int) {
	T := a.T
	ninf := float32(math.Inf(-1))
	for u := lo; u < hi; u++ {
		a.scorePair(u)
		s := a.att[u*T*T : (u+1)*T*T]
		for t := 0; t < T; t++ {
			for j := t + 1; j < T; j++ {
				s[t*T+j] = ninf
			}
		}
	}
}

// softmaxRange turns the scores of pairs lo..hi-1 into the pattern.
func (a *attnKernel) softmaxRange(lo, hi int) {
	for u := lo; u < hi; u++ {
		a.softmaxPair(u)
	}
}

// scorePair writes pair u's scaled scores q·kᵀ/√hd, the full T×T product
// as one Gemm: masking the upper triangle afterwards costs less than T
// small products at these sizes.
func (a *attnKernel) scorePair(u int) {
	T, hd, qd, kd := a.T, a.hd, a.nH*a.hd, a.nKV*a.hd
	b, h := u/a.nH, u%a.nH
	g := h / (a.nH / a.nKV)
	s := a.att[u*T*T : (u+1)*T*T]
	tensor.Gemm(false, true, T, T, hd, a.scale, a.q[b*T*qd+h*hd:], qd, a.k[b*T*kd+g*hd:], kd, 0, s, T)
}

// softmaxPair replaces each row of pair u's scores by the softmax of its
// causal part, zeroing the future keys.
func (a *attnKernel) softmaxPair(u int) {
	T := a.T
	s := a.att[u*T*T : (u+1)*T*T]
	for t := 0; t < T; t++ {
		row := s[t*T : (t+1)*T]
		tensor.Softmax(row[:t+1])
		clear(row[t+1:])
	}
}

// mixRange computes z = att·v for pairs lo..hi-1 (masked entries are zero).
func (a *attnKernel) mixRange(lo, hi int) {
	T, hd, qd, kd := a.T, a.hd, a.nH*a.hd, a.nKV*a.hd
	rep := a.nH / a.nKV
	for u := lo; u < hi; u++ {
		b, h := u/a.nH, u%a.nH
		g := h / rep
		tensor.Gemm(false, false, T, hd, T, 1, a.att[u*T*T:(u+1)*T*T], T, a.v[b*T*kd+g*hd:], kd, 0, a.z[b*T*qd+h*hd:], qd)
	}
}

// backward writes dq, dk and dv from dz. datt is [B, nH, T, T] scratch. Work
// is split over (sequence, kv head) so that the query heads sharing a kv
// head, which all add into its dk and dv, run in one goroutine.
func (a *attnKernel) backward(dq, dk, dv, datt, dz, q, k, v, att []float32, B, T, nH, nKV, hd int) {
	a.set(B, T, nH, nKV, hd)
	a.dq, a.dk, a.dv, a.datt, a.dz = dq, dk, dv, datt, dz
	a.q, a.k, a.v, a.att = q, k, v, att
	tensor.Parallel(B*nKV, a.backwardFn)
}

func (a *attnKernel) backwardRange(lo, hi int) {
	T, hd, qd, kd := a.T, a.hd, a.nH*a.hd, a.nKV*a.hd
	rep := a.nH / a.nKV
	for u := lo; u < hi; u++ {
		b, g := u/a.nKV, u%a.nKV
		kOff := b*T*kd + g*hd
		for t := 0; t < T; t++ {
			clear(a.dk[kOff+t*kd : kOff+t*kd+hd])
			clear(a.dv[kOff+t*kd : kOff+t*kd+hd])
		}
		for h := g * rep; h < (g+1)*rep; h++ {
			pair := b*a.nH + h
			p := a.att[pair*T*T : (pair+1)*T*T]
			ds := a.datt[pair*T*T : (pair+1)*T*T]
			qOff := b*T*qd + h*hd
			// dP = dZ·Vᵀ and dV += Pᵀ·dZ.
			tensor.Gemm(false, true, T, T, hd, 1, a.dz[qOff:], qd, a.v[kOff:], kd, 0, ds, T)
			tensor.Gemm(true, false, T, hd, T, 1, p, T, a.dz[qOff:], qd, 1, a.dv[kOff:], kd)
			// Softmax backward, row by row, with the score scale folded in:
			// dS = P ⊙ (dP − Σ_j P·dP) / √hd.
			for t := 0; t < T; t++ {
				pr, dr := p[t*T:t*T+t+1], ds[t*T:(t+1)*T]
				var pd float32
				for j, pj := range pr {
					pd += pj * dr[j]
				}
				for j, pj := range pr {
					dr[j] = pj * (dr[j] - pd) * a.scale
				}
				clear(dr[t+1:])
			}
			// dQ = dS·K and dK += dSᵀ·Q.
			tensor.Gemm(false, false, T, hd, T, 1, ds, T, a.k[kOff:], kd, 0, a.dq[qOff:], qd)
			tensor.Gemm(true, false, T, hd, T, 1, ds, T, a.q[qOff:], qd, 1, a.dk[kOff:], kd)
		}
	}
}
