// Learning-rate schedules.

package train

import "math"

// CosineSchedule returns the learning rate for step (counted from 0): a
// linear warmup to maxLR over the first warmup steps (maxLR·(step+1)/warmup,
// so step 0 already moves), then a cosine decay from maxLR to minLR that
// reaches minLR at step total and stays there.
func CosineSchedule(step, warmup, total int, maxLR, minLR float32) float32 {
	if step < warmup {
		return maxLR * float32(step+1) / float32(warmup)
	}
	if step >= total || total <= warmup {
		return minLR
	}
	progress := float64(step-warmup) / float64(total-warmup)
	return minLR + float32(0.5*(1+math.Cos(math.Pi*progress)))*(maxLR-minLR)
}
