package interp

import (
	"sync"
	"testing"

	"github.com/alignlab/alignlab/model"
)

// The cache's cost target: caching every hook of the GPT-2 124M shape at
// B=1, T=64 within 2x a plain forward pass. BenchmarkCacheOverhead124M
// (bench_unix_test.go) measures the ratio under one load; the others give
// each on its own:
//
//	go test ./interp/ -run '^$' -bench 'Forward124M|RunWithCache124M' -benchtime 20x
var (
	bench124MOnce sync.Once
	bench124M     *model.Model
	bench124MErr  error
)

func gpt2Small(b *testing.B) *model.Model {
	bench124MOnce.Do(func() {
		bench124M, bench124MErr = model.New(model.GPT2Config(50257, 1024, 12, 12, 768), 1)
	})
	if bench124MErr != nil {
		b.Fatal(bench124MErr)
	}
	return bench124M
}

// BenchmarkForward124M is the baseline: Forward without hooks, whose
// logits (a view) are copied as RunWithCache copies them.
func BenchmarkForward124M(b *testing.B) {
	m := gpt2Small(b)
	toks := testTokens(64, m.Config.VocabSize, 1)
	out := make([]float32, 64*m.Config.VocabSize)
	b.ResetTimer()
	for b.Loop() {
		logits, err := m.Forward(toks, 1, 64, nil)
		if err != nil {
			b.Fatal(err)
		}
		copy(out, logits)
	}
}

// BenchmarkForwardNoCopy124M is Forward alone (the logits left as a view).
func BenchmarkForwardNoCopy124M(b *testing.B) {
	m := gpt2Small(b)
	toks := testTokens(64, m.Config.VocabSize, 1)
	for b.Loop() {
		if _, err := m.Forward(toks, 1, 64, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunWithCache124M caches every hook point (207 of them).
func BenchmarkRunWithCache124M(b *testing.B) {
	m := gpt2Small(b)
	toks := testTokens(64, m.Config.VocabSize, 1)
	for b.Loop() {
		if _, err := RunWithCache(m, toks, 1, 64, CacheOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunWithCacheResid124M caches one layer's residual stream.
func BenchmarkRunWithCacheResid124M(b *testing.B) {
	m := gpt2Small(b)
	toks := testTokens(64, m.Config.VocabSize, 1)
	opts := CacheOptions{Filter: NamesFilter{Names: []string{"blocks.6.hook_resid_post"}}}
	for b.Loop() {
		if _, err := RunWithCache(m, toks, 1, 64, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunWithCacheTiny caches every hook of a lab-sized model (2
// layers, width 64, 24 tokens), where per-hook overhead would show.
func BenchmarkRunWithCacheTiny(b *testing.B) {
	m, err := model.New(model.LlamaConfig(400, 96, 2, 4, 4, 64, 128), 1)
	if err != nil {
		b.Fatal(err)
	}
	toks := testTokens(24, m.Config.VocabSize, 1)
	b.Run("forward", func(b *testing.B) {
		for b.Loop() {
			if _, err := m.Forward(toks, 1, 24, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cache-all", func(b *testing.B) {
		for b.Loop() {
			if _, err := RunWithCache(m, toks, 1, 24, CacheOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cache-all-reuse", func(b *testing.B) {
		var c *Cache
		for b.Loop() {
			var err error
			if c, err = RunWithCache(m, toks, 1, 24, CacheOptions{Reuse: c}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
