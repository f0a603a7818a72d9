package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/alignlab/alignlab/train"
	"github.com/spf13/cobra"
)

func newBenchDPOPPOCmd() *cobra.Command {
	var (
		quick, asJSON bool
		keep          string
		phase, dir    string
		seed          int64
	)
	cmd := &cobra.Command{
		Use:   "dpo-vs-ppo",
		Short: "Benchmark DPO against RLHF (reward model + PPO) on one preference data set",
		Long: `dpo-vs-ppo builds a small synthetic world whose gold reward is exact (the share of good
tokens in a completion), SFTs a base model on it, samples two completions per prompt from the
base and labels each pair by the gold reward. Then, each in its own process so peak memory is
per method:
  rlhf  a Bradley-Terry reward model on the pairs, then PPO against it (value model from the RM)
  dpo   DPO (sigmoid loss, beta 0.1) on the same pairs from the same base
Both evaluate the gold reward on the same held-out prompts along the way (untimed). Reported:
ppo_seconds (PPO alone; rm_seconds beside it), dpo_seconds, peak RSS of each process, the final
gold reward and KL to the base of each, and dpo_seconds_to_ppo_gold, DPO's training time until
its gold reward first reached PPO's final one. Targets: that time <= 1/3 of PPO's, and DPO's
peak memory <= 1/2 of PPO's. The machine is shared: timings are noisy.
--quick shrinks the work so CI can check the benchmark runs; its figures are not the benchmark.`,
		Example: `  alignlab bench dpo-vs-ppo
  alignlab bench dpo-vs-ppo --quick --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if phase != "" {
				return runBenchPhase(cmd, phase, dir)
			}
			return runBenchDPOPPO(cmd, quick, asJSON, keep, seed)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&quick, "quick", false, "shrink the work (a smoke test, not the benchmark)")
	fl.BoolVar(&asJSON, "json", false, "print one JSON object")
	fl.Int64Var(&seed, "seed", 1, "seed for the world, the base model, the data and both methods")
	fl.StringVar(&keep, "keep", "", "write the base model and data to this directory and keep them")
	fl.StringVar(&phase, "phase", "", "internal: run one phase (rlhf or dpo) on --dir and print its JSON")
	fl.StringVar(&dir, "dir", "", "internal: the prepared benchmark directory")
	_ = fl.MarkHidden("phase")
	_ = fl.MarkHidden("dir")
	return cmd
}

// runBenchPhase is the child side: one method, its figures as JSON.
func runBenchPhase(cmd *cobra.Command, phase, dir string) error {
	var (
		r   train.BenchPhase
		err error
	)
	switch phase {
	case "rlhf":
		r, err = train.RunBenchRLHF(dir, cmd.ErrOrStderr())
	case "dpo":
		r, err = train.RunBenchDPO(dir, cmd.ErrOrStderr())
	default:
		err = fmt.Errorf("unknown phase %q", phase)
	}
	if err != nil {
		return err
	}
	return json.NewEncoder(cmd.OutOrStdout()).Encode(r)
}

// runBenchDPOPPO prepares the world, runs each phase in a child process
// and compares them.
func runBenchDPOPPO(cmd *cobra.Command, quick, asJSON bool, keep string, seed int64) error {
	progress := cmd.ErrOrStderr()
	dir := keep
	if dir == "" {
		tmp, err := os.MkdirTemp("", "alignlab-dpo-ppo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cfg := train.DefaultBenchConfig(quick)
	cfg.Seed, cfg.RM.Seed, cfg.PPO.Seed = seed, seed, seed
	if err := train.PrepareBench(dir, cfg, progress); err != nil {
		return fmt.Errorf("prepare benchmark: %w", err)
	}
	base, pairs, err := train.BenchBase(dir)
	if err != nil {
		return err
	}
	var rlhf, dpo train.BenchPhase
	if err := runChildPhase("rlhf", dir, progress, &rlhf); err != nil {
		return fmt.Errorf("rlhf phase: %w", err)
	}
	dpoErr := runChildPhase("dpo", dir, progress, &dpo)
	r := train.CompareBench(base, pairs, rlhf, dpo, dpoErr, quick)
	w := cmd.OutOrStdout()
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	printBenchDPOPPO(w, r)
	return nil
}

// runChildPhase runs this binary on one phase, its progress to progress
// and its JSON into out.
func runChildPhase(phase, dir string, progress io.Writer, out *train.BenchPhase) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	var stdout, stderr bytes.Buffer
	c := exec.Command(exe, "bench", "dpo-vs-ppo", "--phase", phase, "--dir", dir)
	c.Stdout, c.Stderr = &stdout, io.MultiWriter(progress, &stderr)
	if err := c.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndex(msg, "\n"); i >= 0 {
			msg = msg[i+1:]
		}
		return fmt.Errorf("%s (%w)", strings.TrimPrefix(msg, "alignlab: "), err)
	}
	return json.Unmarshal(stdout.Bytes(), out)
}

func printBenchDPOPPO(w io.Writer, r train.BenchResult) {
	if r.Quick {
		fmt.Fprintln(w, "(quick: not the benchmark)")
	}
	fmt.Fprintf(w, "base model      gold reward %.3f; %d preference pairs labelled by the gold reward\n", r.BaseGoldReward, r.Pairs)
	fmt.Fprintf(w, "rlhf            reward model %.1f s (held-out accuracy %.3f), PPO %.1f s, peak RSS %.0f MB\n",
		r.RMSeconds, r.RMAccuracy, r.PPOSeconds, r.PPOPeakMB)
	fmt.Fprintf(w, "                gold reward %.3f, KL to base %.3f nats/sequence\n", r.PPOGoldReward, r.PPOKL)
	if r.DPOSeconds == nil {
		fmt.Fprintf(w, "dpo             %s\n", r.DPOStatus)
		return
	}
	fmt.Fprintf(w, "dpo             %.1f s, peak RSS %.0f MB, gold reward %.3f, KL to base %.3f nats/sequence\n",
		*r.DPOSeconds, *r.DPOPeakMB, *r.DPOGoldReward, *r.DPOKL)
	if r.DPOSecondsToPPOGold == nil {
		fmt.Fprintf(w, "time            DPO never reached PPO's gold reward %.3f (target not met)\n", r.PPOGoldReward)
	} else {
		fmt.Fprintf(w, "time            DPO reached PPO's gold reward in %.1f s = %.2f of PPO's time (%.2f counting the RM); target <= 0.33: %v\n",
			*r.DPOSecondsToPPOGold, *r.TimeRatio, *r.TimeRatioWithRM, *r.TimeTarget)
	}
	if r.DPOSecondsToPPOBest != nil {
		fmt.Fprintf(w, "                PPO's best gold %.3f (at %.1f s) DPO matched in %.1f s = %.2f of PPO's time to it\n",
			r.PPOBestGold, r.PPOSecondsToBest, *r.DPOSecondsToPPOBest, *r.TimeRatioBest)
	} else {
		fmt.Fprintf(w, "                DPO never matched PPO's best gold %.3f (at %.1f s)\n", r.PPOBestGold, r.PPOSecondsToBest)
	}
	if r.MemoryRatio != nil {
		fmt.Fprintf(w, "memory          DPO's peak is %.2f of PPO's; target <= 0.5: %v\n", *r.MemoryRatio, *r.MemTarget)
	}
}
