// Package train holds alignlab's optimisation machinery: AdamW with
// decoupled weight decay, global gradient-norm clipping, learning-rate
// schedules, and a next-token training loop (LMTrainer) that stops with an
// error naming the step when the loss or the gradient norm stops being
// finite. The trainers for SFT, reward models, the DPO family and PPO build
// on these.
//
// Optimizers work on a model's flat parameter and gradient buffers
// (model.Params.Data), so one loop over memory updates every tensor.
package train
