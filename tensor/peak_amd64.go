//go:build amd64 && !purego

package tensor

//go:noescape
func fmaLoop(iters int)

// peakLoop runs iters iterations of the machine's widest FMA loop and
// returns the flops done, or false when it has no assembly loop.
func peakLoop(iters int) (flops float64, ok bool) {
	if hasAVX512 {
		fmaLoop512(iters)
		return float64(iters) * 12 * 16 * 2, true
	}
	if !hasAVX2 {
		return 0, false
	}
	fmaLoop(iters)
	return float64(iters) * 12 * 8 * 2, true
}
