// Token and position embeddings, forward and backward. The GPT-2 family adds
// a learned position row to each token row; the Llama family encodes
// positions with RoPE inside attention instead (rope.go).

package model

// embedTokens writes out[i] = wte[tokens[i]] for every row (C wide).
func embedTokens(out []float32, tokens []int32, wte []float32, C int) {
	for i, tok := range tokens {
		copy(out[i*C:(i+1)*C], wte[int(tok)*C:(int(tok)+1)*C])
	}
}

// addPositions adds wpe[t] to row (b, t) of out for B sequences of length T.
func addPositions(out, wpe []float32, B, T, C int) {
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			o := out[(b*T+t)*C : (b*T+t+1)*C]
			for i, p := range wpe[t*C : (t+1)*C] {
				o[i] += p
			}
		}
	}
}

// embedBackward accumulates the embedding gradients: dwte[tokens[i]] +=
// dout[i], and dwpe[t] += dout[b, t] when dwpe is not nil. It runs serially:
// rows sharing a token would race, and the work is B·T·C additions.
func embedBackward(dwte, dwpe, dout []float32, tokens []int32, B, T, C int) {
	for i, tok := range tokens {
		d := dwte[int(tok)*C : (int(tok)+1)*C]
		for j, g := range dout[i*C : (i+1)*C] {
			d[j] += g
		}
	}
	if dwpe == nil {
		return
	}
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			d := dwpe[t*C : (t+1)*C]
			for j, g := range dout[(b*T+t)*C : (b*T+t+1)*C] {
				d[j] += g
			}
		}
	}
}
