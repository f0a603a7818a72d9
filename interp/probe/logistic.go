package probe

import (
	"errors"
	"fmt"
	"math"
)

// Config sets a probe's regularisation and solver.
type Config struct {
	// Lambda is the L2 penalty on the weights (not the bias), in units of
	// the mean log-loss over rows of standardised features: the objective
	// is mean log-loss + Lambda/2·|w|². 0 means DefaultLambda.
	Lambda float64
	// MaxIter caps the L-BFGS iterations (0: 500).
	MaxIter int
	// Tol stops the solver when the gradient's largest entry falls below it
	// (0: 1e-6).
	Tol float64
}

// DefaultLambda is the L2 penalty when Config.Lambda is 0: enough to keep
// separable data finite, small enough not to bias a real signal.
const DefaultLambda = 1e-3

func (c Config) withDefaults() Config {
	if c.Lambda == 0 {
		c.Lambda = DefaultLambda
	}
	if c.MaxIter == 0 {
		c.MaxIter = 500
	}
	if c.Tol == 0 {
		c.Tol = 1e-6
	}
	return c
}

// Probe is a fitted logistic-regression probe. Features are standardised
// with the training rows' mean and standard deviation before the linear
// map; Logit applies both.
type Probe struct {
	Mean    []float64 `json:"mean"`
	Scale   []float64 `json:"scale"`
	Weights []float64 `json:"weights"` // on standardised features
	Bias    float64   `json:"bias"`
	// Iterations and GradNorm say how the solver ended (largest gradient
	// entry).
	Iterations int     `json:"iterations"`
	GradNorm   float64 `json:"grad_norm"`
}

// checkData validates an [n, d] matrix and its labels.
func checkData(X []float32, n, d int, y []int) error {
	switch {
	case n < 1 || d < 1:
		return fmt.Errorf("probe: shape [%d, %d]; need at least one row and one column", n, d)
	case len(X) != n*d:
		return fmt.Errorf("probe: %d values for shape [%d, %d]", len(X), n, d)
	case len(y) != n:
		return fmt.Errorf("probe: %d labels for %d rows", len(y), n)
	}
	for i, v := range y {
		if v != 0 && v != 1 {
			return fmt.Errorf("probe: label %d at row %d (want 0 or 1)", v, i)
		}
	}
	for i, v := range X {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("probe: non-finite value at row %d column %d", i/d, i%d)
		}
	}
	return nil
}

// Fit trains a probe on the [n, d] row-major matrix X with labels y (0 or
// 1). Both classes must be present. The result is deterministic.
func Fit(X []float32, n, d int, y []int, cfg Config) (*Probe, error) {
	if err := checkData(X, n, d, y); err != nil {
		return nil, err
	}
	pos := 0
	for _, v := range y {
		pos += v
	}
	if pos == 0 || pos == n {
		return nil, errors.New("probe: labels are all one class; need both")
	}
	cfg = cfg.withDefaults()
	if !(cfg.Lambda >= 0) || math.IsInf(cfg.Lambda, 1) {
		return nil, fmt.Errorf("probe: lambda %v; want a finite number >= 0", cfg.Lambda)
	}
	p := &Probe{Mean: make([]float64, d), Scale: make([]float64, d)}
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			p.Mean[j] += float64(X[i*d+j])
		}
	}
	for j := range p.Mean {
		p.Mean[j] /= float64(n)
	}
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			dv := float64(X[i*d+j]) - p.Mean[j]
			p.Scale[j] += dv * dv
		}
	}
	for j := range p.Scale {
		p.Scale[j] = math.Sqrt(p.Scale[j] / float64(n))
		if p.Scale[j] < 1e-12 {
			p.Scale[j] = 1 // a constant feature: centred to 0, it carries nothing
		}
	}
	Z := make([]float64, n*d)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			Z[i*d+j] = (float64(X[i*d+j]) - p.Mean[j]) / p.Scale[j]
		}
	}
	obj := &logObjective{Z: Z, y: y, n: n, d: d, lambda: cfg.Lambda, z: make([]float64, n)}
	theta := make([]float64, d+1) // weights then bias
	// Start the bias at the class log-odds, the optimum with w = 0.
	theta[d] = math.Log(float64(pos) / float64(n-pos))
	iters, gmax := lbfgs(obj, theta, cfg.MaxIter, cfg.Tol)
	p.Weights, p.Bias = theta[:d], theta[d]
	p.Iterations, p.GradNorm = iters, gmax
	return p, nil
}

// Logit returns the probe's log-odds for one activation row.
func (p *Probe) Logit(x []float32) float64 {
	s := p.Bias
	for j, v := range x {
		s += p.Weights[j] * (float64(v) - p.Mean[j]) / p.Scale[j]
	}
	return s
}

// Scores returns the logits of every row of the [n, d] matrix X.
func (p *Probe) Scores(X []float32, n int) []float64 {
	d := len(p.Weights)
	out := make([]float64, n)
	for i := range out {
		out[i] = p.Logit(X[i*d : (i+1)*d])
	}
	return out
}

// Direction returns the probe's weight vector in raw activation space
// (weights divided by the feature scales): the direction along which its
// logit grows.
func (p *Probe) Direction() []float32 {
	out := make([]float32, len(p.Weights))
	for j, w := range p.Weights {
		out[j] = float32(w / p.Scale[j])
	}
	return out
}

// logObjective is mean log-loss + lambda/2·|w|² over standardised rows.
type logObjective struct {
	Z      []float64
	y      []int
	n, d   int
	lambda float64
	z      []float64 // scratch: per-row logits
}

// eval returns the objective at theta and writes its gradient to g.
func (o *logObjective) eval(theta, g []float64) float64 {
	d := o.d
	w, b := theta[:d], theta[d]
	for j := range g {
		g[j] = 0
	}
	loss := 0.0
	for i := 0; i < o.n; i++ {
		row := o.Z[i*d : (i+1)*d]
		z := b
		for j, v := range row {
			z += w[j] * v
		}
		loss += softplus(z) - float64(o.y[i])*z
		r := sigmoid(z) - float64(o.y[i])
		for j, v := range row {
			g[j] += r * v
		}
		g[d] += r
	}
	inv := 1 / float64(o.n)
	reg := 0.0
	for j := 0; j < d; j++ {
		g[j] = g[j]*inv + o.lambda*w[j]
		reg += w[j] * w[j]
	}
	g[d] *= inv
	return loss*inv + 0.5*o.lambda*reg
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

func softplus(x float64) float64 {
	if x > 30 {
		return x
	}
	if x < -30 {
		return math.Exp(x)
	}
	return math.Log1p(math.Exp(x))
}
