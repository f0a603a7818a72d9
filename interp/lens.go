// The logit lens: the final norm and the unembedding applied to the
// residual stream part way through the model, to read what it would
// predict at each depth.

package interp

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tensor"
)

// LensOptions configures LogitLens.
type LensOptions struct {
	// Position is the token position read (negative counts from the end;
	// -1, the last, is the usual choice).
	Position int
	// TopK is how many top tokens each row keeps (default 5).
	TopK int
	// Target, when >= 0, is a token whose log-prob and rank each row
	// reports.
	Target int32
}

// TokenLogProb is a token with its log-probability.
type TokenLogProb struct {
	Token   int32   `json:"token"`
	LogProb float64 `json:"logprob"`
}

// LensRow is the lens at one point of the residual stream.
type LensRow struct {
	// Hook is the residual point read, e.g. "blocks.2.hook_resid_mid".
	Hook  string `json:"hook"`
	Layer int    `json:"layer"`
	// Stage is "pre" (the block's input), "mid" (after its attention) or
	// "post" (after its MLP).
	Stage string         `json:"stage"`
	Top   []TokenLogProb `json:"top"`
	// TargetLogProb and TargetRank (0 = top) are the target's when one was
	// given; without one TargetRank is -1 (and the log-prob 0), so that a
	// rank of 0 is never mistaken for no target.
	TargetLogProb float64 `json:"target_logprob"`
	TargetRank    int     `json:"target_rank"`
}

// Lens is the logit lens at one position, from the embeddings (blocks.0
// resid_pre) to the last block's output, whose row is the model's own
// prediction.
type Lens struct {
	Position int       `json:"position"`
	Target   int32     `json:"target"`
	Rows     []LensRow `json:"rows"`
}

// LensPoints are the residual points the lens reads for cfg, in order:
// blocks.0.hook_resid_pre, then each block's hook_resid_mid and
// hook_resid_post.
func LensPoints(cfg model.Config) []string {
	out := []string{"blocks.0.hook_resid_pre"}
	for l := 0; l < cfg.NumLayers; l++ {
		p := "blocks." + strconv.Itoa(l) + "."
		out = append(out, p+"hook_resid_mid", p+"hook_resid_post")
	}
	return out
}

// LogitLens runs one sequence and applies the final norm and unembedding
// to the residual stream at every LensPoints point at opts.Position.
func LogitLens(m *model.Model, tokens []int32, opts LensOptions) (*Lens, error) {
	cfg := m.Config
	T := len(tokens)
	if opts.TopK <= 0 {
		opts.TopK = 5
	}
	opts.TopK = min(opts.TopK, cfg.VocabSize)
	if opts.Target >= int32(cfg.VocabSize) {
		return nil, fmt.Errorf("logit lens: target token %d outside the vocabulary [0, %d)", opts.Target, cfg.VocabSize)
	}
	points := LensPoints(cfg)
	c, err := RunWithCache(m, tokens, 1, T, CacheOptions{Filter: NamesFilter{Names: points, Positions: []int{opts.Position}}})
	if err != nil {
		return nil, fmt.Errorf("logit lens: %w", err)
	}
	C := cfg.Dim
	rows := make([]float32, len(points)*C)
	for i, n := range points {
		copy(rows[i*C:], c.Get(n).Data)
	}
	logits := Unembed(m, rows)
	V := cfg.VocabSize
	lens := &Lens{Position: c.Positions[0], Target: opts.Target}
	for i, n := range points {
		lp := logSoftmax(logits[i*V : (i+1)*V])
		l, _ := HookLayer(n)
		row := LensRow{Hook: n, Layer: l, Stage: "pre", Top: topK(lp, opts.TopK), TargetRank: -1}
		switch {
		case i == 0:
		case i%2 == 1:
			row.Stage = "mid"
		default:
			row.Stage = "post"
		}
		if opts.Target >= 0 {
			row.TargetLogProb, row.TargetRank = lp[opts.Target], 0
			for _, v := range lp {
				if v > lp[opts.Target] {
					row.TargetRank++
				}
			}
		}
		lens.Rows = append(lens.Rows, row)
	}
	return lens, nil
}

// Unembed applies the model's final norm and LM head to rows of the
// residual stream ([n·Dim]) and returns their logits [n·VocabSize].
func Unembed(m *model.Model, resid []float32) []float32 {
	cfg, p := m.Config, m.Params
	C, V := cfg.Dim, cfg.VocabSize
	n := len(resid) / C
	normed := make([]float32, len(resid))
	rstd := make([]float32, n)
	if cfg.Family == model.Llama {
		tensor.RMSNormForward(normed, rstd, resid, p.FinalNormW, n, C, cfg.NormEps)
	} else {
		tensor.LayerNormForward(normed, make([]float32, n), rstd, resid, p.FinalNormW, p.FinalNormB, n, C, cfg.NormEps)
	}
	logits := make([]float32, n*V)
	tensor.Gemm(false, true, n, V, C, 1, normed, C, p.LMHead, C, 0, logits, V)
	return logits
}

// logSoftmax returns log p for one row of logits, in float64.
func logSoftmax(x []float32) []float64 {
	mx := float64(slices.Max(x))
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v) - mx)
	}
	lse := mx + math.Log(s)
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v) - lse
	}
	return out
}

// topK returns the k largest entries, largest first (ties by lower id).
func topK(lp []float64, k int) []TokenLogProb {
	out := make([]TokenLogProb, 0, k+1)
	for i, v := range lp {
		if len(out) == k && v <= out[k-1].LogProb {
			continue
		}
		j := len(out)
		for j > 0 && out[j-1].LogProb < v {
			j--
		}
		out = slices.Insert(out, j, TokenLogProb{int32(i), v})
		if len(out) > k {
			out = out[:k]
		}
	}
	return out
}

// Table renders the lens as a table (point, top tokens, target log-prob),
// with tok naming a token.
func (l *Lens) Table(tok func(int32) string) *Table {
	cols := []string{"hook", "top tokens"}
	if l.Target >= 0 {
		cols = append(cols, "target logprob", "target rank")
	}
	t := &Table{Title: fmt.Sprintf("Logit lens at position %d", l.Position), Columns: cols,
		Note: "the final norm and unembedding applied to the residual stream at each point; the last row is the model's own prediction"}
	for _, r := range l.Rows {
		top := ""
		for i, tp := range r.Top {
			if i > 0 {
				top += "  "
			}
			top += fmt.Sprintf("%q %.2f", tok(tp.Token), tp.LogProb)
		}
		row := []string{r.Hook, top}
		if l.Target >= 0 {
			row = append(row, fmt.Sprintf("%.3f", r.TargetLogProb), strconv.Itoa(r.TargetRank))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// Series renders the target's log-prob along depth (nil without a target).
func (l *Lens) Series(target string) *Series {
	if l.Target < 0 {
		return nil
	}
	s := &Series{Title: fmt.Sprintf("Log-prob of %q by depth (logit lens)", target), XLabel: "point (0 = embeddings; layer l: 2l+1 after attention, 2l+2 after MLP)",
		YLabel: "log-prob"}
	line := Line{Name: target}
	for i, r := range l.Rows {
		s.X = append(s.X, float64(i))
		line.Y = append(line.Y, r.TargetLogProb)
	}
	s.Lines = []Line{line}
	return s
}
