package tokenizer

import (
	"math/rand"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// benchText generates pseudo-English with numbers, punctuation, newlines,
// accented and CJK words: what encoders meet, reproducible from seed.
func benchText(seed int64, n int) string {
	words := strings.Fields(`the of and to in is that for it as was with be by on not he this are or his from at which
		but have an they you were her she there been one all we their has would when if so no will more can out
		model token train reward policy gradient loss value preference annotator dataset sample batch epoch
		naïve café über straße 東京 日本語 données Ελλάδα москва`)
	punct := []string{".", ",", "!", "?", ";", ":", "'s", "'re", " (", ")", " -", "\"", "\n", "\n\n", "  "}
	rng := rand.New(rand.NewSource(seed))
	var b strings.Builder
	for b.Len() < n {
		switch r := rng.Intn(20); {
		case r < 15:
			w := words[rng.Intn(len(words))]
			if rng.Intn(10) == 0 {
				w = strings.ToUpper(w[:1]) + w[1:]
			}
			b.WriteString(" " + w)
		case r < 17:
			b.WriteString(punct[rng.Intn(len(punct))])
		case r < 19:
			b.WriteString(" " + string(rune('0'+rng.Intn(10))) + string(rune('0'+rng.Intn(10))) + string(rune('0'+rng.Intn(10))))
		default:
			b.WriteString("\t")
		}
	}
	return b.String()
}

var (
	benchOnce sync.Once
	benchTok  *Tokenizer
)

// trainedTokenizer is a 2048-token vocabulary trained on 200 kB of benchText.
func trainedTokenizer(tb testing.TB) *Tokenizer {
	benchOnce.Do(func() {
		tk, err := Train([]string{benchText(1, 200_000)}, TrainConfig{VocabSize: 2048, Special: []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}})
		if err != nil {
			panic(err)
		}
		benchTok = tk
	})
	return benchTok
}

// naiveMerge is GPT-2's original loop: merge every occurrence of the
// lowest-ranked pair, left to right, until no pair has a rank.
func naiveMerge(m *bpeModel, syms []int32) []int32 {
	for {
		best := mergeVal{noRank, -1}
		for i := 0; i+1 < len(syms); i++ {
			if v := m.lookup(syms[i], syms[i+1]); v.rank < best.rank {
				best = v
			}
		}
		if best.rank == noRank {
			return syms
		}
		var out []int32
		for i := 0; i < len(syms); i++ {
			if i+1 < len(syms) && m.lookup(syms[i], syms[i+1]).rank == best.rank {
				out = append(out, best.id)
				i++
			} else {
				out = append(out, syms[i])
			}
		}
		syms = out
	}
}

func TestMergeStrategiesAgree(t *testing.T) {
	tk := trainedTokenizer(t)
	m := tk.model
	rng := rand.New(rand.NewSource(2))
	text := benchText(3, 50_000)
	for i := 0; i < 2000; i++ {
		n := 2 + rng.Intn(200)
		a := rng.Intn(len(text) - n)
		piece := text[a : a+n]
		syms := make([]int32, n)
		for j := 0; j < n; j++ {
			syms[j] = m.byteID[piece[j]]
		}
		want := naiveMerge(m, append([]int32(nil), syms...))
		if got := m.mergeHeap(append([]int32(nil), syms...)); !reflect.DeepEqual(got, want) {
			t.Fatalf("heap merge of %q: %v, want %v", piece, got, want)
		}
		if n <= 64 {
			if got := m.mergeShort(append([]int32(nil), syms...)); !reflect.DeepEqual(got, want) {
				t.Fatalf("short merge of %q: %v, want %v", piece, got, want)
			}
		}
	}
}

func TestLongPiecesAndCache(t *testing.T) {
	tk := trainedTokenizer(t)
	for _, s := range []string{strings.Repeat("the", 500), strings.Repeat(" ", 3000), strings.Repeat("日本語", 200) + "x"} {
		a := tk.Encode(s)
		b := tk.Encode(s) // cached or not, the same
		if !reflect.DeepEqual(a, b) || tk.Decode(a) != s {
			t.Errorf("long piece %q...: round trip or repeat failed", s[:10])
		}
	}
}

func TestConcurrentEncode(t *testing.T) {
	tk := trainedTokenizer(t)
	texts := make([]string, 8)
	want := make([][]int32, len(texts))
	for i := range texts {
		texts[i] = benchText(int64(10+i), 20_000)
		want[i] = tk.Encode(texts[i])
	}
	tk.model.cache.clear()
	var wg sync.WaitGroup
	errs := make(chan string, len(texts))
	for i := range texts {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for r := 0; r < 3; r++ {
				if got := tk.Encode(texts[i]); !reflect.DeepEqual(got, want[i]) {
					errs <- "concurrent encode differs from serial"
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

func TestByteLevelMap(t *testing.T) {
	seen := map[rune]bool{}
	for b := 0; b < 256; b++ {
		r := byteToRune[b]
		if seen[r] || runeToByte[r] != int16(b) {
			t.Fatalf("byte %d: map not a bijection", b)
		}
		seen[r] = true
	}
	for s, want := range map[string]string{" ": "Ġ", "\n": "Ċ", "a": "a", "\x7f": "ġ", "\xad": "Ń", " the": "Ġthe", "é": "Ã©"} {
		if got := ByteLevelEncode(s); got != want {
			t.Errorf("ByteLevelEncode(%q) = %q, want %q", s, got, want)
		}
		if back, ok := ByteLevelDecode(want); !ok || back != s {
			t.Errorf("ByteLevelDecode(%q) = %q, %v", want, back, ok)
		}
	}
	if _, ok := ByteLevelDecode("<|x|>€"); ok {
		t.Error("€ is no byte's image: decode must report it")
	}
}
