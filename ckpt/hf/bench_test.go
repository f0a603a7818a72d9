package hf

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/alignlab/alignlab/ckpt"
	"github.com/alignlab/alignlab/internal/procstat"
	"github.com/alignlab/alignlab/model"
	"golang.org/x/sys/unix"
)

// BenchmarkLoad500MB loads ~500 MB float32 checkpoints in Hugging Face
// layout: GPT-2 small (124M parameters, 498 MB, every matrix transposed
// from Conv1D) and a 127M-parameter Llama (508 MB), from the page cache
// ("warm") and after evicting the file from it ("cold", disk-bound). It
// reports wall and CPU seconds per load (CPU time is the steadier figure on
// a shared machine) and the peak resident memory the load added
// (VmHWM after minus resident memory before), next to the file size.
//
//	go test -run XXX -bench Load500MB -benchtime 3x ./ckpt/hf
func BenchmarkLoad500MB(b *testing.B) {
	for _, c := range []struct {
		name string
		cfg  model.Config
	}{
		{"gpt2-124M", model.GPT2Config(50257, 1024, 12, 12, 768)},
		{"llama-127M", model.LlamaConfig(32000, 1024, 11, 12, 12, 768, 2048)},
	} {
		dir := b.TempDir()
		func() {
			m, err := model.New(c.cfg, 1)
			if err != nil {
				b.Fatal(err)
			}
			if err := Save(dir, m, nil); err != nil {
				b.Fatal(err)
			}
		}()
		weights := filepath.Join(dir, ckpt.SingleFile)
		st, err := os.Stat(weights)
		if err != nil {
			b.Fatal(err)
		}
		fileMB := float64(st.Size()) / (1 << 20)
		for _, cache := range []string{"warm", "cold"} {
			b.Run(c.name+"/"+cache, func(b *testing.B) {
				var total, cpu time.Duration
				var peak float64
				for range b.N {
					runtime.GC()
					debug.FreeOSMemory()
					if cache == "cold" {
						evict(b, weights)
					} else {
						warm(b, weights)
					}
					procstat.ResetPeakRSS()
					before := procstat.PeakRSSMB()
					t0, c0 := time.Now(), procstat.CPUTime()
					m, _, err := Load(dir)
					if err != nil {
						b.Fatal(err)
					}
					total += time.Since(t0)
					cpu += procstat.CPUTime() - c0
					peak = max(peak, procstat.PeakRSSMB()-before)
					runtime.KeepAlive(m)
				}
				b.ReportMetric(total.Seconds()/float64(b.N), "s/load")
				b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu_s/load")
				b.ReportMetric(fileMB, "file_MB")
				b.ReportMetric(peak, "peak_rss_MB")
				b.ReportMetric(peak/fileMB, "rss/file")
			})
		}
	}
}

// evict drops the file's pages from the page cache, so the next read comes
// from the disk.
func evict(b *testing.B, path string) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		b.Skipf("cannot evict %s from the page cache: %v", path, err)
	}
}

// warm reads the file once so it sits in the page cache.
func warm(b *testing.B, path string) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Read(buf); err != nil {
			return
		}
	}
}
