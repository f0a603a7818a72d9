// Rotary position embedding (Llama family), forward and backward, in HF's
// rotate_half convention: within each head, element i pairs with i+hd/2 and
// the pair turns by pos·theta^(-2i/hd) (ENGINE_API.md; KV-cache decoding
// uses the same formula and a test holds the two paths equal).

package model

import "math"

// ropeForward rotates every head of x ([B·T, heads·hd], position t of row
// (b, t)) in place. cos and sin are [positions, hd/2].
func ropeForward(x, cos, sin []float32, B, T, heads, hd int) {
	half := hd / 2
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			c, s := cos[t*half:(t+1)*half], sin[t*half:(t+1)*half]
			row := x[(b*T+t)*heads*hd : (b*T+t+1)*heads*hd]
			for h := 0; h < heads; h++ {
				ropeRotateHead(row[h*hd:(h+1)*hd], c, s)
			}
		}
	}
}

// ropeRotateHead rotates one head x (length hd) in place by the angles
// whose cos and sin (length hd/2) are given. KV-cache decoding uses it too.
func ropeRotateHead(x, cos, sin []float32) {
	half := len(x) / 2
	x0, x1 := x[:half], x[half:]
	for i := range x0 {
		a, d := x0[i], x1[i]
		x0[i] = a*cos[i] - d*sin[i]
		x1[i] = d*cos[i] + a*sin[i]
	}
}

// ropeBackward maps the gradient of rotated values back to the unrotated
// ones in place. The rotation is orthogonal, so this is the rotation by the
// opposite angle.
func ropeBackward(dx, cos, sin []float32, B, T, heads, hd int) {
	half := hd / 2
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			c, s := cos[t*half:(t+1)*half], sin[t*half:(t+1)*half]
			row := dx[(b*T+t)*heads*hd : (b*T+t+1)*heads*hd]
			for h := 0; h < heads; h++ {
				g0, g1 := row[h*hd:h*hd+half], row[h*hd+half:(h+1)*hd]
				for i := range c {
					a, d := g0[i], g1[i]
					g0[i] = a*c[i] + d*s[i]
					g1[i] = d*c[i] - a*s[i]
				}
			}
		}
	}
}

// ropeTables returns cos and sin of pos·theta^(-2i/hd) for positions
// 0..maxLen-1 and i < hd/2 ([maxLen, hd/2]), computed in float64 so long
// positions keep their precision.
func ropeTables(maxLen, hd int, theta float32) (cos, sin []float32) {
	half := hd / 2
	cos, sin = make([]float32, maxLen*half), make([]float32, maxLen*half)
	for i := 0; i < half; i++ {
		freq := math.Pow(float64(theta), -2*float64(i)/float64(hd))
		for p := 0; p < maxLen; p++ {
			s, c := math.Sincos(float64(p) * freq)
			cos[p*half+i], sin[p*half+i] = float32(c), float32(s)
		}
	}
	return cos, sin
}
