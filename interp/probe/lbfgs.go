package probe

import "math"

// lbfgsMemory is how many curvature pairs L-BFGS keeps.
const lbfgsMemory = 10

// lbfgs minimises o from x (updated in place) with limited-memory BFGS and
// a backtracking Armijo line search; the objective is smooth and strictly
// convex (L2-penalised log-loss), so no Wolfe curvature check is needed: a
// pair that fails s·y > 0 is skipped. It returns the iterations used and
// the final gradient's largest entry. Plain loops in a fixed order make it
// deterministic.
func lbfgs(o *logObjective, x []float64, maxIter int, tol float64) (int, float64) {
	m := len(x)
	g := make([]float64, m)
	f := o.eval(x, g)
	var S, Y [][]float64
	var rho []float64
	dir := make([]float64, m)
	xn := make([]float64, m)
	gn := make([]float64, m)
	alpha := make([]float64, lbfgsMemory)
	it := 0
	for ; it < maxIter; it++ {
		if maxAbs(g) < tol {
			break
		}
		// Two-loop recursion: dir = -H·g.
		for i := range dir {
			dir[i] = -g[i]
		}
		for k := len(S) - 1; k >= 0; k-- {
			alpha[k] = rho[k] * dot(S[k], dir)
			axpy(-alpha[k], Y[k], dir)
		}
		if k := len(S) - 1; k >= 0 {
			gamma := dot(S[k], Y[k]) / dot(Y[k], Y[k])
			for i := range dir {
				dir[i] *= gamma
			}
		}
		for k := 0; k < len(S); k++ {
			beta := rho[k] * dot(Y[k], dir)
			axpy(alpha[k]-beta, S[k], dir)
		}
		slope := dot(dir, g)
		if slope >= 0 { // not a descent direction: restart from steepest descent
			S, Y, rho = nil, nil, nil
			for i := range dir {
				dir[i] = -g[i]
			}
			slope = dot(dir, g)
		}
		step := 1.0
		if len(S) == 0 {
			step = math.Min(1, 1/math.Sqrt(dot(g, g)))
		}
		var fn float64
		accepted := false
		for ls := 0; ls < 60; ls++ {
			for i := range xn {
				xn[i] = x[i] + step*dir[i]
			}
			fn = o.eval(xn, gn)
			if fn <= f+1e-4*step*slope {
				accepted = true
				break
			}
			step /= 2
		}
		if !accepted {
			break // no decrease representable in float64: at the optimum
		}
		s := make([]float64, m)
		yv := make([]float64, m)
		for i := range s {
			s[i] = xn[i] - x[i]
			yv[i] = gn[i] - g[i]
		}
		if sy := dot(s, yv); sy > 1e-12 {
			if len(S) == lbfgsMemory {
				S, Y, rho = S[1:], Y[1:], rho[1:]
			}
			S, Y, rho = append(S, s), append(Y, yv), append(rho, 1/sy)
		}
		copy(x, xn)
		copy(g, gn)
		f = fn
	}
	return it, maxAbs(g)
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

func axpy(a float64, x, y []float64) {
	for i, v := range x {
		y[i] += a * v
	}
}

func maxAbs(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		m = math.Max(m, math.Abs(v))
	}
	return m
}
