package tokenizer

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

var (
	benchTextOnce sync.Once
	benchMB       string
)

// benchInput is 4 MB of benchText.
func benchInput() string {
	benchTextOnce.Do(func() { benchMB = benchText(42, 4<<20) })
	return benchMB
}

func benchEncode(b *testing.B, tk *Tokenizer) {
	text := benchInput()
	tk.Encode(text) // warm the piece cache, as a long-running encoder has it
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tk.Encode(text)
	}
}

// BenchmarkEncode: GPT-2 pre-tokenization, a 2048-token vocabulary.
func BenchmarkEncode(b *testing.B) { benchEncode(b, trainedTokenizer(b)) }

// BenchmarkEncodeLlama3Split: the same vocabulary behind Llama-3's Split pattern.
func BenchmarkEncodeLlama3Split(b *testing.B) {
	tk := trainedTokenizer(b)
	js := strings.Replace(string(tk.marshalTokenizerJSON()), `"pre_tokenizer": {
    "type": "ByteLevel",
    "add_prefix_space": false,
    "trim_offsets": true,
    "use_regex": true
  }`, `"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": `+jsonString(PatternLlama3)+`}, "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]}`, 1)
	l3, err := ParseJSON([]byte(js))
	if err != nil {
		b.Fatal(err)
	}
	if _, ok := l3.pre.(*splitPre); !ok {
		b.Fatal("pre-tokenizer replacement did not apply")
	}
	benchEncode(b, l3)
}

// BenchmarkEncodeCold: every piece merged afresh (no cache), the worst case.
func BenchmarkEncodeCold(b *testing.B) {
	tk := trainedTokenizer(b)
	text := benchInput()[:1<<20]
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tk.model.cache.clear()
		tk.Encode(text)
	}
}

func BenchmarkDecode(b *testing.B) {
	tk := trainedTokenizer(b)
	text := benchInput()
	ids := tk.Encode(text)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tk.Decode(ids)
	}
}

// BenchmarkTrain: 1 MB of text to a 4096-token vocabulary.
func BenchmarkTrain(b *testing.B) {
	text := benchInput()[:1<<20]
	b.SetBytes(int64(len(text)))
	for i := 0; i < b.N; i++ {
		if _, err := Train([]string{text}, TrainConfig{VocabSize: 4096, Special: []string{"<|endoftext|>"}}); err != nil {
			b.Fatal(err)
		}
	}
}

// sentencePieceFromTrained rewrites the trained byte-level vocabulary as a
// legacy SentencePiece-style tokenizer.json (Llama-2's normalizer and
// decoder, "▁" for space, <0xXX> byte tokens), keeping the tokens and merges
// that are valid UTF-8, so both encoders meet the same vocabulary.
func sentencePieceFromTrained(tb testing.TB) *Tokenizer {
	tk := trainedTokenizer(tb)
	m := tk.model
	vocab := map[string]int{}
	for b := range 256 {
		vocab[byteTokenName(byte(b))] = b
	}
	spm := func(id int32) (string, bool) {
		raw := m.raw[id]
		if raw == "" || !utf8.ValidString(raw) || tk.IsAdded(id) {
			return "", false
		}
		return strings.ReplaceAll(raw, " ", metaChar), true
	}
	for id := range m.vocab {
		if s, ok := spm(int32(id)); ok {
			if _, dup := vocab[s]; !dup {
				vocab[s] = len(vocab)
			}
		}
	}
	vocab[metaChar] = len(vocab)
	var merges [][2]string
	for _, p := range m.mergePairs {
		a, okA := spm(p[0])
		b, okB := spm(p[1])
		if _, okC := vocab[a+b]; okA && okB && okC {
			merges = append(merges, [2]string{a, b})
		}
	}
	vj, _ := json.Marshal(vocab)
	mj, _ := json.Marshal(merges)
	js := `{"normalizer": ` + spmLegacyNormalizer + `, "pre_tokenizer": null, "decoder": ` + spmLegacyDecoder + `,
	  "model": {"type": "BPE", "byte_fallback": true, "fuse_unk": true, "vocab": ` + string(vj) + `, "merges": ` + string(mj) + `}}`
	out, err := ParseJSON([]byte(js))
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// BenchmarkEncodeSentencePiece: the vocabulary of BenchmarkEncode as a
// legacy Llama-2-style tokenizer (no pre-tokenizer: the text is merged word
// by word between "▁"s).
func BenchmarkEncodeSentencePiece(b *testing.B) {
	tk := sentencePieceFromTrained(b)
	if !tk.model.splitMeta || tk.model.metaBefore[' '] || tk.model.metaBefore['e'] {
		b.Fatalf("the converted vocabulary should merge word by word (metaBefore %v)", tk.model.metaBefore)
	}
	benchEncode(b, tk)
}

// BenchmarkEncodeSentencePieceWhole: the same, merging the whole text at once
// (as for a vocabulary with merges across "▁"): the heap path.
func BenchmarkEncodeSentencePieceWhole(b *testing.B) {
	tk := sentencePieceFromTrained(b)
	tk.model.splitMeta = false
	text := benchInput()[:1<<18]
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tk.Encode(text)
	}
}
