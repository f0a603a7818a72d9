package probe

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestAUROCHandExampleWithTies(t *testing.T) {
	// Positives 0.9, 0.5, 0.5 against negatives 0.5, 0.1: of the six
	// pairs four are won and two tied, so AUROC = (4 + 2·½)/6 = 5/6.
	scores := []float64{0.9, 0.5, 0.5, 0.5, 0.1}
	labels := []int{1, 1, 1, 0, 0}
	got, err := AUROC(scores, labels)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-5.0/6) > 1e-12 {
		t.Fatalf("AUROC %v, want 5/6", got)
	}
	// All tied: chance.
	if got, _ := AUROC([]float64{1, 1, 1, 1}, []int{1, 0, 1, 0}); got != 0.5 {
		t.Fatalf("all-tied AUROC %v, want 0.5", got)
	}
	// Reversed ranking: 0.
	if got, _ := AUROC([]float64{0, 1}, []int{1, 0}); got != 0 {
		t.Fatalf("reversed AUROC %v, want 0", got)
	}
}

// delongBrute is DeLong's variance from the O(m·n) kernel definition.
func delongBrute(scores []float64, labels []int) (float64, float64) {
	var pos, neg []float64
	for i, y := range labels {
		if y == 1 {
			pos = append(pos, scores[i])
		} else {
			neg = append(neg, scores[i])
		}
	}
	psi := func(x, y float64) float64 {
		switch {
		case x > y:
			return 1
		case x == y:
			return 0.5
		}
		return 0
	}
	m, n := len(pos), len(neg)
	v10, v01 := make([]float64, m), make([]float64, n)
	auc := 0.0
	for i := range pos {
		for j := range neg {
			k := psi(pos[i], neg[j])
			v10[i] += k / float64(n)
			v01[j] += k / float64(m)
			auc += k
		}
	}
	auc /= float64(m * n)
	return auc, math.Sqrt(sampleVar(v10)/float64(m) + sampleVar(v01)/float64(n))
}

func TestDeLongMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 120
	scores, labels := make([]float64, n), make([]int, n)
	for i := range scores {
		labels[i] = rng.IntN(2)
		// Rounded, so that ties occur within and across classes.
		scores[i] = math.Round((rng.NormFloat64()+float64(labels[i]))*4) / 4
	}
	s, err := DeLong(scores, labels)
	if err != nil {
		t.Fatal(err)
	}
	auc, se := delongBrute(scores, labels)
	if math.Abs(s.Estimate-auc) > 1e-12 {
		t.Fatalf("AUROC %v, brute force %v", s.Estimate, auc)
	}
	if half := (s.CIHigh - s.CILow) / 2; math.Abs(half-z95*se) > 1e-9 {
		t.Fatalf("half-width %v, brute force %v", half, z95*se)
	}
}

func TestAUROCErrors(t *testing.T) {
	for name, c := range map[string]struct {
		s []float64
		y []int
	}{
		"one class":    {[]float64{1, 2}, []int{1, 1}},
		"bad label":    {[]float64{1, 2}, []int{1, 2}},
		"length":       {[]float64{1}, []int{1, 0}},
		"NaN score":    {[]float64{math.NaN(), 1}, []int{1, 0}},
		"empty inputs": {nil, nil},
	} {
		if _, err := AUROC(c.s, c.y); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// gaussian returns an [n, d] standard normal matrix.
func gaussian(rng *rand.Rand, n, d int) []float32 {
	X := make([]float32, n*d)
	for i := range X {
		X[i] = float32(rng.NormFloat64())
	}
	return X
}

func TestRandomLabelsStayAtChance(t *testing.T) {
	// Over 20 seeds of random labels the AUROC averages 0.5, no seed
	// strays far, and the interval covers 0.5 at about its nominal rate.
	seeds, cover, sum := 20, 0, 0.0
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		n, d := 400, 16
		X := gaussian(rng, n, d)
		y := make([]int, n)
		for i := range y {
			y[i] = rng.IntN(2)
		}
		cv, err := CrossValidate(X, n, d, y, CVConfig{Folds: 5, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		a := cv.AUROC
		sum += a.Estimate
		if a.Contains(0.5) {
			cover++
		}
		if a.Estimate < 0.35 || a.Estimate > 0.65 {
			t.Errorf("seed %d: random labels AUROC %.3f [%.3f, %.3f]", seed, a.Estimate, a.CILow, a.CIHigh)
		}
		if acc := cv.Accuracy.Estimate; acc < 0.35 || acc > 0.65 {
			t.Errorf("seed %d: random labels accuracy %.3f", seed, acc)
		}
	}
	if mean := sum / float64(seeds); mean < 0.47 || mean > 0.53 {
		t.Errorf("mean AUROC on random labels %.3f over %d seeds; want 0.5", mean, seeds)
	}
	if cover < 17 {
		t.Errorf("interval covered 0.5 in %d of %d seeds; want about 95%%", cover, seeds)
	}
}

func TestSeparableDataReachesOne(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	n, d := 300, 24
	X := gaussian(rng, n, d)
	w := make([]float64, d)
	for j := range w {
		w[j] = rng.NormFloat64()
	}
	y := make([]int, n)
	for i := 0; i < n; i++ {
		s := 0.0
		for j := 0; j < d; j++ {
			s += w[j] * float64(X[i*d+j])
		}
		if s > 0 {
			y[i] = 1
		}
	}
	cv, err := CrossValidate(X, n, d, y, CVConfig{Folds: 5, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if cv.AUROC.Estimate < 0.98 || cv.Accuracy.Estimate < 0.9 {
		t.Fatalf("separable data: AUROC %.3f, accuracy %.3f; want ~1", cv.AUROC.Estimate, cv.Accuracy.Estimate)
	}
	// The fitted weights point along the planted normal.
	p, err := Fit(X, n, d, y, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if c := cosine(p.Direction(), w); c < 0.9 {
		t.Fatalf("probe direction cosine with the planted normal %.3f", c)
	}
}

func TestFitReachesTheOptimum(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	n, d := 200, 8
	X := gaussian(rng, n, d)
	y := make([]int, n)
	for i := range y {
		if float64(X[i*d])+0.5*rng.NormFloat64() > 0 {
			y[i] = 1
		}
	}
	for _, lambda := range []float64{1e-3, 1e-1, 10} {
		p, err := Fit(X, n, d, y, Config{Lambda: lambda})
		if err != nil {
			t.Fatal(err)
		}
		if p.GradNorm > 1e-6 {
			t.Errorf("lambda %g: gradient %g after %d iterations", lambda, p.GradNorm, p.Iterations)
		}
		// Deterministic: a second fit is bit-identical.
		q, _ := Fit(X, n, d, y, Config{Lambda: lambda})
		for j := range p.Weights {
			if p.Weights[j] != q.Weights[j] {
				t.Fatalf("lambda %g: refit differs at weight %d", lambda, j)
			}
		}
	}
	// Stronger penalties give shorter weight vectors.
	small, _ := Fit(X, n, d, y, Config{Lambda: 1e-3})
	big, _ := Fit(X, n, d, y, Config{Lambda: 10})
	if norm(big.Weights) >= norm(small.Weights) {
		t.Fatalf("|w| %.3f at lambda 10, %.3f at 1e-3", norm(big.Weights), norm(small.Weights))
	}
}

func TestDiffOfMeansRecoversPlantedDirection(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	n, d := 400, 32
	X := gaussian(rng, n, d)
	u := make([]float64, d)
	for j := range u {
		u[j] = rng.NormFloat64()
	}
	un := norm(u)
	y := make([]int, n)
	for i := 0; i < n; i++ {
		y[i] = i % 2
		for j := 0; j < d; j++ {
			X[i*d+j] += float32(2 * float64(y[i]) * u[j] / un)
		}
	}
	dir, err := ContrastDirection("blocks.0.hook_resid_post", X, n, d, y, "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	if c := cosine(dir.Vector, u); c < 0.9 {
		t.Fatalf("cosine with planted direction %.3f", c)
	}
	if _, err := DiffOfMeans(X, n, d, make([]int, n)); err == nil {
		t.Fatal("one-class contrast: no error")
	}
}

func TestStratifiedFolds(t *testing.T) {
	y := make([]int, 103)
	for i := range y {
		if i%3 == 0 {
			y[i] = 1
		}
	}
	k := 5
	f := StratifiedFolds(y, k, 9)
	var size, pos [5]int
	for i, v := range f {
		size[v]++
		pos[v] += y[i]
	}
	for j := 0; j < k; j++ {
		if size[j] < 20 || size[j] > 21 || pos[j] < 6 || pos[j] > 7 {
			t.Fatalf("fold %d: %d rows, %d positive (sizes %v, positives %v)", j, size[j], pos[j], size, pos)
		}
	}
	g := StratifiedFolds(y, k, 9)
	for i := range f {
		if f[i] != g[i] {
			t.Fatal("same seed, different folds")
		}
	}
}

func TestCrossValidateErrors(t *testing.T) {
	X := make([]float32, 6)
	if _, err := CrossValidate(X, 6, 1, []int{1, 1, 1, 1, 0, 0}, CVConfig{Folds: 3}); err == nil {
		t.Fatal("2 negatives for 3 folds: no error")
	}
	if _, err := CrossValidate(X, 3, 1, []int{1, 0, 1}, CVConfig{}); err == nil {
		t.Fatal("wrong shape: no error")
	}
}

func norm(v []float64) float64 { return math.Sqrt(dot(v, v)) }

func cosine(a []float32, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * b[i]
		aa += float64(a[i]) * float64(a[i])
		bb += b[i] * b[i]
	}
	return ab / math.Sqrt(aa*bb)
}

// TestFitRejectsBadLambda: a NaN, infinite or negative penalty is an error,
// not a probe at chance (NaN) or an unbounded objective (negative).
func TestFitRejectsBadLambda(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	n, d := 40, 3
	X := gaussian(rng, n, d)
	y := make([]int, n)
	for i := range y {
		y[i] = i % 2
	}
	for _, lambda := range []float64{math.NaN(), math.Inf(1), -1} {
		if _, err := Fit(X, n, d, y, Config{Lambda: lambda}); err == nil {
			t.Errorf("lambda %v: no error", lambda)
		}
	}
}
