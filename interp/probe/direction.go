package probe

import (
	"fmt"

	"github.com/alignlab/alignlab/interp"
)

// DiffOfMeans returns the mean of the rows labelled 1 minus the mean of the
// rows labelled 0 of the [n, d] matrix X: the contrast direction between
// the two sets (not normalised; its length is the distance between the
// class means).
func DiffOfMeans(X []float32, n, d int, y []int) ([]float32, error) {
	if err := checkData(X, n, d, y); err != nil {
		return nil, err
	}
	sum := [2][]float64{make([]float64, d), make([]float64, d)}
	var cnt [2]int
	for i := 0; i < n; i++ {
		c := y[i]
		cnt[c]++
		for j := 0; j < d; j++ {
			sum[c][j] += float64(X[i*d+j])
		}
	}
	if cnt[0] == 0 || cnt[1] == 0 {
		return nil, fmt.Errorf("probe: %d rows labelled 1 and %d labelled 0; a contrast needs both", cnt[1], cnt[0])
	}
	out := make([]float32, d)
	for j := range out {
		out[j] = float32(sum[1][j]/float64(cnt[1]) - sum[0][j]/float64(cnt[0]))
	}
	return out, nil
}

// ContrastDirection is DiffOfMeans as an interp.Direction read at hook,
// with a Source that names the contrast ("<pos> minus <neg>") and its size.
func ContrastDirection(hook string, X []float32, n, d int, y []int, pos, neg string) (*interp.Direction, error) {
	v, err := DiffOfMeans(X, n, d, y)
	if err != nil {
		return nil, fmt.Errorf("direction at %s: %w", hook, err)
	}
	return &interp.Direction{Hook: hook, Vector: v,
		Source: fmt.Sprintf("difference of means: %s minus %s, %d rows", pos, neg, n)}, nil
}
