package model

// TrainFLOPs estimates the floating-point operations of one training step
// (forward and backward) on B sequences of T tokens, with the standard
// estimate (Kaplan et al.; nanoGPT's estimate_mfu, llm.c): per token, 6
// per parameter that takes part in a matrix multiply (2 forward, 4
// backward), plus attention's 12·NumLayers·Dim·T (QKᵀ and PV, 2·T·Dim
// multiply-adds each forward, twice that backward). Lookup tables are not
// matmul parameters: the position embedding never is, and the token
// embedding counts only when it is tied to the output head. Non-matmul work
// (norms, softmax, the optimizer) is left out, as in the standard estimate.
func TrainFLOPs(cfg Config, B, T int) float64 {
	n := NumParams(cfg)
	if cfg.Family == GPT2 {
		n -= cfg.MaxSeqLen * cfg.Dim
	}
	if !cfg.TieEmbeddings {
		n -= cfg.VocabSize * cfg.Dim
	}
	perToken := 6*float64(n) + 12*float64(cfg.NumLayers*cfg.Dim*T)
	return perToken * float64(B*T)
}
