package prefs

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/alignlab/alignlab/internal/procstat"
)

// The data-audit benchmark (alignlab bench data): generate a synthetic data
// set, time a bare parse pass (encoding/json decode of every line into a
// struct, one goroutine: what a minimal Python/Go script would do before
// any check) and the full audit over the same file, and report the ratio,
// the audit's CPU use and its peak memory.

// BenchOptions configure Benchmark.
type BenchOptions struct {
	Rows    int    // comparisons to generate (1,000,000)
	Repeat  int    // timed runs of each pass; the fastest counts (2)
	Dir     string // where the temporary file goes (os.TempDir())
	Keep    string // keep the generated file at this path instead of deleting it
	Seed    uint64
	Workers int
	Log     io.Writer // progress, may be nil
}

// BenchResult holds the figures.
type BenchResult struct {
	Rows             int     `json:"rows"`
	FileMB           float64 `json:"file_mb"`
	GenerateSeconds  float64 `json:"generate_seconds"`
	BareParseSeconds float64 `json:"bare_parse_seconds"`
	AuditSeconds     float64 `json:"audit_seconds"`
	Ratio            float64 `json:"ratio"`              // audit / bare parse; the target is <= 2
	AuditCPUPerWall  float64 `json:"audit_cpu_per_wall"` // ~2 when both cores work
	// CPU-seconds of each pass (least of the runs): less sensitive than
	// wall time to other jobs on the machine.
	BareParseCPU float64 `json:"bare_parse_cpu_seconds"`
	AuditCPU     float64 `json:"audit_cpu_seconds"`
	PeakRSSMB    float64 `json:"peak_rss_mb"` // of the audit pass (VmHWM reset before it)
	Cores        int     `json:"cores"`
	Precision    float64 `json:"precision"` // flagged annotators vs planted truth
	Recall       float64 `json:"recall"`
}

// Benchmark runs the data-audit benchmark.
func Benchmark(ctx context.Context, o BenchOptions) (BenchResult, error) {
	if o.Rows <= 0 {
		o.Rows = 1_000_000
	}
	if o.Repeat <= 0 {
		o.Repeat = 2
	}
	logf := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", args...)
		}
	}
	res := BenchResult{Cores: runtime.GOMAXPROCS(0)}
	path := o.Keep
	if path == "" {
		f, err := os.CreateTemp(o.Dir, "alignlab-bench-*.jsonl")
		if err != nil {
			return res, err
		}
		path = f.Name()
		f.Close()
		defer os.Remove(path)
	}
	t0 := time.Now()
	f, err := os.Create(path)
	if err != nil {
		return res, err
	}
	// 5 labels per item, 60 annotators (40 honest, 4 of each flawed kind).
	truth, err := WriteSynth(f, SynthConfig{Seed: o.Seed, Items: o.Rows / 5, LabelsPerItem: 5,
		Annotators: map[string]int{KindHonest: 40, KindSycophantic: 4, KindLengthBiased: 4,
			KindPositionBiased: 4, KindDrifting: 4, KindSpammer: 4},
		Duplicates: 200, Contradictions: 100, Cycles: 20})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return res, fmt.Errorf("generate %s: %w", path, err)
	}
	st, _ := os.Stat(path)
	res.Rows, res.FileMB, res.GenerateSeconds = truth.Rows, float64(st.Size())/1e6, time.Since(t0).Seconds()
	logf("bench data: generated %d rows (%.0f MB) in %.1f s: %s", res.Rows, res.FileMB, res.GenerateSeconds, filepath.Base(path))

	res.BareParseSeconds, res.AuditSeconds = 1e18, 1e18
	res.BareParseCPU, res.AuditCPU = 1e18, 1e18
	var rep *Report
	for r := 0; r < o.Repeat; r++ {
		cpu0 := procstat.CPUTime().Seconds()
		t := time.Now()
		n, err := bareParse(path)
		if err != nil {
			return res, err
		}
		bp := time.Since(t).Seconds()
		res.BareParseCPU = min(res.BareParseCPU, procstat.CPUTime().Seconds()-cpu0)
		res.BareParseSeconds = min(res.BareParseSeconds, bp)
		logf("bench data: bare parse %d lines in %.2f s", n, bp)

		runtime.GC()
		procstat.ResetPeakRSS()
		cpu0 = procstat.CPUTime().Seconds()
		t = time.Now()
		au, err := Run(ctx, []string{path}, Options{Seed: o.Seed, Workers: o.Workers})
		if err != nil {
			return res, err
		}
		wall := time.Since(t).Seconds()
		cpu := procstat.CPUTime().Seconds() - cpu0
		res.AuditCPU = min(res.AuditCPU, cpu)
		if wall < res.AuditSeconds {
			res.AuditSeconds, res.AuditCPUPerWall = wall, cpu/wall
		}
		res.PeakRSSMB = max(res.PeakRSSMB, procstat.PeakRSSMB())
		rep = au.Report
		logf("bench data: audit in %.2f s (cpu %.2f s), peak RSS %.0f MB", wall, cpu, res.PeakRSSMB)
		au = nil
	}
	res.Ratio = res.AuditSeconds / res.BareParseSeconds
	var tp, fp, fn int
	for _, a := range rep.Annotators {
		want := truth.Flags[a.ID]
		for _, f := range a.Flags {
			if slices.Contains(want, f) {
				tp++
			} else {
				fp++
			}
		}
		for _, f := range want {
			if !slices.Contains(a.Flags, f) {
				fn++
			}
		}
	}
	if tp > 0 {
		res.Precision, res.Recall = float64(tp)/float64(tp+fp), float64(tp)/float64(tp+fn)
	}
	return res, nil
}

// bareParse is the baseline: decode every line with encoding/json.
func bareParse(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), DefaultMaxLineBytes)
	var row synthRow // the layout WriteSynth writes
	n := 0
	for sc.Scan() {
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return n, fmt.Errorf("bare parse line %d: %w", n+1, err)
		}
		n++
	}
	return n, sc.Err()
}
