// Direct logit attribution: the logit difference between two tokens split
// into what the embeddings, each layer's attention (each head) and MLP
// write into the residual stream, with the final norm's scale frozen at
// the final residual (TransformerLens's apply_ln_to_stack).

package interp

import (
	"fmt"
	"math"
	"strconv"

	"github.com/alignlab/alignlab/model"
)

// Attribution is a direct logit attribution of logit(Correct) −
// logit(Wrong) at one position. With the final norm's scale frozen, the
// logit difference is exactly
//
//	Embed + Σ_l (Attn[l] + MLP[l]) + NormBias
//
// and each Attn[l] is Σ_h Heads[l][h] + AttnBias[l].
type Attribution struct {
	Position int   `json:"position"`
	Correct  int32 `json:"correct"`
	Wrong    int32 `json:"wrong"`
	// Total is the model's own logit difference.
	Total float64 `json:"total"`
	// Embed is the token (and, for GPT-2, position) embeddings' part.
	Embed float64 `json:"embed"`
	// Attn and MLP are each layer's output's part (biases included).
	Attn []float64 `json:"attn"`
	MLP  []float64 `json:"mlp"`
	// Heads[l][h] is head h of layer l: its z times its slice of W_O.
	Heads [][]float64 `json:"heads"`
	// AttnBias[l] is layer l's attention output bias's part.
	AttnBias []float64 `json:"attn_bias"`
	// NormBias is the final LayerNorm's bias's part (0 for RMSNorm).
	NormBias float64 `json:"norm_bias"`
	// Scale is the frozen final norm scale 1/sqrt(var + eps) (RMS for
	// RMSNorm) of the final residual at Position.
	Scale float64 `json:"scale"`
}

// Sum returns the sum of the parts, which equals Total up to rounding.
func (a *Attribution) Sum() float64 {
	s := a.Embed + a.NormBias
	for l := range a.Attn {
		s += a.Attn[l] + a.MLP[l]
	}
	return s
}

// DirectLogitAttribution runs one sequence and attributes logit(correct) −
// logit(wrong) at pos (negative counts from the end).
func DirectLogitAttribution(m *model.Model, tokens []int32, pos int, correct, wrong int32) (*Attribution, error) {
	cfg, p := m.Config, m.Params
	L, C, V := cfg.NumLayers, cfg.Dim, cfg.VocabSize
	nH, hd := cfg.NumHeads, cfg.HeadDim()
	qd := nH * hd
	for _, id := range []int32{correct, wrong} {
		if id < 0 || int(id) >= V {
			return nil, fmt.Errorf("attribution: token %d outside the vocabulary [0, %d)", id, V)
		}
	}
	last := "blocks." + strconv.Itoa(L-1) + ".hook_resid_post"
	names := []string{"blocks.0.hook_resid_pre", "blocks.*.hook_attn_out", "blocks.*.hook_mlp_out", "blocks.*.attn.hook_z", last}
	T := len(tokens)
	c, err := RunWithCache(m, tokens, 1, T, CacheOptions{Filter: NamesFilter{Names: names, Positions: []int{pos}}})
	if err != nil {
		return nil, fmt.Errorf("attribution: %w", err)
	}
	P := c.Positions[0]
	a := &Attribution{Position: P, Correct: correct, Wrong: wrong,
		Total:    float64(c.Logits[P*V+int(correct)]) - float64(c.Logits[P*V+int(wrong)]),
		Attn:     make([]float64, L),
		MLP:      make([]float64, L),
		Heads:    make([][]float64, L),
		AttnBias: make([]float64, L)}

	// u·norm(x) = scale·(u∘w)·(x − mean x) + u·b for LayerNorm: with the
	// scale frozen it is linear in x, and centring x equals centring u∘w.
	x := c.Get(last).Data
	rms := cfg.Family == model.Llama
	uw := make([]float64, C)
	var mean, ss float64
	for i := 0; i < C; i++ {
		u := float64(p.LMHead[int(correct)*C+i]) - float64(p.LMHead[int(wrong)*C+i])
		uw[i] = u * float64(p.FinalNormW[i])
		if p.FinalNormB != nil && !rms {
			a.NormBias += u * float64(p.FinalNormB[i])
		}
		mean += float64(x[i])
	}
	mean /= float64(C)
	if rms {
		for _, v := range x {
			ss += float64(v) * float64(v)
		}
	} else {
		for _, v := range x {
			ss += (float64(v) - mean) * (float64(v) - mean)
		}
		var um float64
		for _, v := range uw {
			um += v
		}
		um /= float64(C)
		for i := range uw {
			uw[i] -= um
		}
	}
	a.Scale = 1 / math.Sqrt(ss/float64(C)+float64(cfg.NormEps))
	dot := func(v []float32) float64 {
		var s float64
		for i, e := range v {
			s += uw[i] * float64(e)
		}
		return s * a.Scale
	}
	a.Embed = dot(c.Get("blocks.0.hook_resid_pre").Data)
	// Per head: (u∘w)·(W_O[:, head] z_h) = z_h·(W_Oᵀ(u∘w))[head].
	wo := make([]float64, qd)
	for l := 0; l < L; l++ {
		pre := "blocks." + strconv.Itoa(l) + "."
		a.Attn[l] = dot(c.Get(pre + "hook_attn_out").Data)
		a.MLP[l] = dot(c.Get(pre + "hook_mlp_out").Data)
		lp := &p.Layers[l]
		clear(wo)
		for r := 0; r < C; r++ {
			row := lp.AttnOutW[r*qd : (r+1)*qd]
			for j, wv := range row {
				wo[j] += uw[r] * float64(wv)
			}
		}
		z := c.Get(pre + "attn.hook_z").Data
		a.Heads[l] = make([]float64, nH)
		for h := 0; h < nH; h++ {
			var s float64
			for j := h * hd; j < (h+1)*hd; j++ {
				s += wo[j] * float64(z[j])
			}
			a.Heads[l][h] = s * a.Scale
		}
		if lp.AttnOutB != nil {
			a.AttnBias[l] = dot(lp.AttnOutB)
		}
	}
	return a, nil
}

// Matrices renders the attribution as two heatmaps: layer x head, and
// layer x {attention, MLP}.
func (a *Attribution) Matrices(correct, wrong string) []*Matrix {
	metric := fmt.Sprintf("direct contribution to logit(%q) − logit(%q), final norm scale frozen", correct, wrong)
	L := len(a.Attn)
	layers := make([]string, L)
	for l := range layers {
		layers[l] = strconv.Itoa(l)
	}
	nH := 0
	if L > 0 {
		nH = len(a.Heads[0])
	}
	heads := make([]string, nH)
	for h := range heads {
		heads[h] = strconv.Itoa(h)
	}
	hm := NewMatrix("Direct logit attribution by head", "layer", "head", metric, layers, heads)
	lm := NewMatrix("Direct logit attribution by layer", "layer", "component", metric, layers, []string{"attention", "MLP"})
	for l := 0; l < L; l++ {
		copy(hm.Values[l], a.Heads[l])
		lm.Values[l][0], lm.Values[l][1] = a.Attn[l], a.MLP[l]
	}
	return []*Matrix{hm, lm}
}

// Table lists every part with the total, so a reader can check the sum.
func (a *Attribution) Table() *Table {
	t := &Table{Title: "Direct logit attribution", Columns: []string{"component", "contribution"},
		Note: "the parts sum to the model's logit difference (the final norm's scale frozen at the final residual)"}
	add := func(name string, v float64) { t.Rows = append(t.Rows, []string{name, fmt.Sprintf("%.4f", v)}) }
	add("embed", a.Embed)
	for l := range a.Attn {
		add(fmt.Sprintf("attn %d", l), a.Attn[l])
		add(fmt.Sprintf("mlp %d", l), a.MLP[l])
	}
	add("final norm bias", a.NormBias)
	add("sum of parts", a.Sum())
	add("model logit difference", a.Total)
	return t
}
