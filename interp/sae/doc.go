// Package sae trains and evaluates sparse autoencoders (SAEs) on a model's
// activations, in the architecture and file layout of SAELens.
//
// An SAE maps an activation x (d_in floats, e.g. the residual stream at
// blocks.2.hook_resid_post) to d_sae non-negative latents and back:
//
//	f     = σ((x - b_dec)·W_enc + b_enc)     W_enc [d_in, d_sae]
//	x̂     = f·W_dec + b_dec                  W_dec [d_sae, d_in], rows unit-norm
//
// where σ is a ReLU (architecture "standard", trained with an L1 penalty on
// f, optionally weighted by the decoder row norms as in Anthropic's April
// 2024 update) or TopK (architecture "topk", Gao et al. 2024: keep the k
// largest pre-activations, trained with the AuxK loss that lets dead latents
// reconstruct the residual error).
//
// Training (Trainer) is explicit forward then backward, llm.c style, over
// flat float32 buffers allocated once, with the matrix products on package
// tensor's Gemm; Adam with learning-rate and L1-coefficient warm-up, and the
// decoder rows kept at unit norm (gradient component along each row removed
// before the step, rows renormalised after).
//
// Evaluation gives L0, explained variance, dead latents and the
// cross-entropy loss recovered when the reconstruction replaces the
// activation in the model (CELossRecovered); TopExamples lists each latent's
// highest activations with their context. Save and Load use SAELens's
// directory layout: sae_weights.safetensors and cfg.json.
package sae
