package tokenizer

import (
	"strings"
	"sync"
	"testing"
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
