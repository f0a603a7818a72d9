package probe

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/alignlab/alignlab/audit"
)

// CVConfig sets a cross-validation.
type CVConfig struct {
	// Folds is k (0: DefaultFolds). Each class needs at least k rows.
	Folds int
	// Seed fixes the fold assignment.
	Seed uint64
	// Probe configures each fold's fit.
	Probe Config
}

// CV is a k-fold cross-validation of a probe: each row scored by the probe
// fitted without its fold.
type CV struct {
	Folds int `json:"folds"`
	// Accuracy is the out-of-fold accuracy (logit > 0 predicts 1), with its
	// Wilson interval over rows.
	Accuracy audit.Stat `json:"accuracy"`
	// AUROC is the mean of the folds' AUROCs, each over its held-out rows
	// scored by the one probe fitted without them; its interval combines
	// the folds' DeLong variances or, when larger, the spread of the fold
	// AUROCs with Nadeau and Bengio's correction for overlapping training
	// sets (variance·(1/k + 1/(k-1))). DeLong alone, on the pool of
	// out-of-fold scores or per fold, ignores that the k probes are
	// themselves random: on random labels it covered 0.5 in about 83% of
	// seeds, the larger of the two in 89-98% (100 seeds each at d = 2, 16, 64).
	AUROC audit.Stat `json:"auroc"`
	// FoldAUROC is each fold's AUROC.
	FoldAUROC []float64 `json:"fold_auroc"`
	// FoldAccuracy is each fold's accuracy.
	FoldAccuracy []float64 `json:"fold_accuracy"`
	// Scores are the out-of-fold logits, one per row.
	Scores []float64 `json:"-"`
}

// StratifiedFolds assigns each row a fold in [0, k) so that every fold has
// the classes in the proportions of the whole (to within one row): each
// class's rows are shuffled with seed, then dealt round-robin.
func StratifiedFolds(y []int, k int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 0xf01d5))
	fold := make([]int, len(y))
	next := 0 // the second class continues where the first left off, balancing fold sizes
	for c := 0; c <= 1; c++ {
		var idx []int
		for i, v := range y {
			if v == c {
				idx = append(idx, i)
			}
		}
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		for _, i := range idx {
			fold[i] = next % k
			next++
		}
	}
	return fold
}

// DefaultFolds is the fold count CVConfig's zero Folds means.
const DefaultFolds = 5

// CrossValidate runs a stratified, seeded k-fold cross-validation of a
// probe on the [n, d] matrix X with labels y.
func CrossValidate(X []float32, n, d int, y []int, cfg CVConfig) (*CV, error) {
	if err := checkData(X, n, d, y); err != nil {
		return nil, err
	}
	k := cfg.Folds
	if k == 0 {
		k = DefaultFolds
	}
	if k < 2 {
		return nil, fmt.Errorf("probe: %d folds; need at least 2", k)
	}
	pos := 0
	for _, v := range y {
		pos += v
	}
	if pos < k || n-pos < k {
		return nil, fmt.Errorf("probe: %d positives and %d negatives; %d-fold cross-validation needs at least %d of each", pos, n-pos, k, k)
	}
	fold := StratifiedFolds(y, k, cfg.Seed)
	cv := &CV{Folds: k, Scores: make([]float64, n), FoldAccuracy: make([]float64, k), FoldAUROC: make([]float64, k)}
	correct := 0
	var aucSum, varSum float64
	for f := 0; f < k; f++ {
		var tr, te []int
		for i := range fold {
			if fold[i] == f {
				te = append(te, i)
			} else {
				tr = append(tr, i)
			}
		}
		Xt := make([]float32, 0, len(tr)*d)
		yt := make([]int, 0, len(tr))
		for _, i := range tr {
			Xt = append(Xt, X[i*d:(i+1)*d]...)
			yt = append(yt, y[i])
		}
		p, err := Fit(Xt, len(tr), d, yt, cfg.Probe)
		if err != nil {
			return nil, fmt.Errorf("fold %d: %w", f, err)
		}
		ok := 0
		fs, fy := make([]float64, len(te)), make([]int, len(te))
		for j, i := range te {
			s := p.Logit(X[i*d : (i+1)*d])
			cv.Scores[i], fs[j], fy[j] = s, s, y[i]
			if (s > 0) == (y[i] == 1) {
				ok++
			}
		}
		a, se, err := delong(fs, fy)
		if err != nil {
			return nil, fmt.Errorf("fold %d: %w", f, err)
		}
		cv.FoldAUROC[f] = a
		aucSum += a
		varSum += se * se
		correct += ok
		cv.FoldAccuracy[f] = float64(ok) / float64(len(te))
	}
	cv.Accuracy = audit.Wilson(correct, n)
	cv.Accuracy.Test = fmt.Sprintf("out-of-fold accuracy, %d-fold stratified; %s", k, cv.Accuracy.Test)
	auc := aucSum / float64(k)
	kf := float64(k)
	v := varSum / (kf * kf)
	spread := 0.0
	for _, a := range cv.FoldAUROC {
		spread += (a - auc) * (a - auc)
	}
	v = math.Max(v, spread/(kf-1)*(1/kf+1/(kf-1)))
	half := z95 * math.Sqrt(v)
	cv.AUROC = audit.Stat{Estimate: auc, CILow: math.Max(0, auc-half), CIHigh: math.Min(1, auc+half), N: n,
		Test: fmt.Sprintf("AUROC (Mann-Whitney, ties 1/2) averaged over %d stratified folds, 95%% CI from the larger of the folds' DeLong variances and their corrected spread", k)}
	return cv, nil
}
