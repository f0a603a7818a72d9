package tokenizer

// Training: byte-level BPE as Hugging Face's BpeTrainer does it, made fully
// deterministic. The corpus is cut with GPT-2's pattern and the pieces
// counted; every step merges the most frequent adjacent pair (ties: the
// lexicographically smallest pair of byte strings), updating pair counts only
// in the words that contain it. A lazy max-heap holds the candidates: an
// entry whose count went stale is re-queued with its current count when it
// comes to the top.

import (
	"fmt"
	"sort"
)

// TrainConfig says what Train learns.
type TrainConfig struct {
	// VocabSize is the size of the vocabulary to reach, special tokens and the
	// 256 byte tokens included. Training stops earlier when no pair is left
	// that occurs MinFrequency times.
	VocabSize int
	// Special tokens take ids 0, 1, ... in this order, e.g. "<|endoftext|>",
	// "<|im_start|>", "<|im_end|>". Their strings in the corpus are split out
	// and not learnt from.
	Special []string
	// MinFrequency is how often a pair must occur to be merged (0 or 1: once).
	MinFrequency int
	// EOS, BOS and PAD name special tokens for those roles ("" for none; EOS
	// defaults to "<|endoftext|>" when it is among Special). A name missing
	// from Special is appended to it.
	EOS, BOS, PAD string
}

type trainWord struct {
	syms []int32
	freq int64
}

type trainCand struct {
	count int64
	a, b  int32
}

// Train learns a byte-level BPE tokenizer from corpus (GPT-2
// pre-tokenization). The same corpus and config always give the same
// tokenizer.
func Train(corpus []string, cfg TrainConfig) (*Tokenizer, error) {
	special := append([]string(nil), cfg.Special...)
	if cfg.EOS == "" {
		for _, s := range special {
			if s == "<|endoftext|>" {
				cfg.EOS = s
			}
		}
	}
	for _, s := range []string{cfg.EOS, cfg.BOS, cfg.PAD} {
		if s != "" && !contains(special, s) {
			special = append(special, s)
		}
	}
	seen := map[string]bool{}
	for _, s := range special {
		if s == "" {
			return nil, fmt.Errorf("train tokenizer: empty special token")
		}
		if seen[s] {
			return nil, fmt.Errorf("train tokenizer: special token %q listed twice", s)
		}
		seen[s] = true
	}
	if min := len(special) + 256; cfg.VocabSize < min {
		return nil, fmt.Errorf("train tokenizer: vocab size %d is below the %d special and byte tokens; use --vocab-size %d or more", cfg.VocabSize, min, min)
	}
	if cfg.VocabSize > maxID {
		return nil, fmt.Errorf("train tokenizer: vocab size %d exceeds %d", cfg.VocabSize, maxID)
	}

	// Vocabulary: special tokens, then the 256 bytes ordered by their
	// byte-level rune (as the Hugging Face trainer orders its alphabet).
	raw := append([]string(nil), special...)
	var byteID [256]int32
	order := make([]int, 256)
	for b := range order {
		order[b] = b
	}
	sort.Slice(order, func(i, j int) bool { return byteToRune[order[i]] < byteToRune[order[j]] })
	for _, b := range order {
		byteID[b] = int32(len(raw))
		raw = append(raw, string([]byte{byte(b)}))
	}
	rawID := map[string]int32{}
	for id := len(special); id < len(raw); id++ {
		rawID[raw[id]] = int32(id)
	}

	// Count the pieces.
	st := newTrie()
	stTokens := make([]AddedToken, len(special))
	for k, s := range special {
		st.insert(s, int32(k))
		stTokens[k] = AddedToken{Content: s, Special: true}
	}
	counts := map[string]int64{}
	count := func(text string) {
		splitFast(fastGPT2, piece{s: text}, func(p piece) { counts[p.s]++ })
	}
	for _, doc := range corpus {
		prev := 0
		for _, m := range st.find(doc, stTokens, nil) {
			count(doc[prev:m.start])
			prev = m.end
		}
		count(doc[prev:])
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	words := make([]trainWord, len(keys))
	for i, k := range keys {
		syms := make([]int32, len(k))
		for j := 0; j < len(k); j++ {
			syms[j] = byteID[k[j]]
		}
		words[i] = trainWord{syms, counts[k]}
	}
	counts = nil

	pairCount := map[uint64]int64{}
	where := map[uint64][]int32{}
	addWhere := func(k uint64, wi int32) {
		if l := where[k]; len(l) == 0 || l[len(l)-1] != wi {
			where[k] = append(l, wi)
		}
	}
	for wi, w := range words {
		for j := 0; j+1 < len(w.syms); j++ {
			k := pairKey(w.syms[j], w.syms[j+1])
			pairCount[k] += w.freq
			addWhere(k, int32(wi))
		}
	}

	less := func(x, y trainCand) bool { // x comes before y
		if x.count != y.count {
			return x.count > y.count
		}
		if raw[x.a] != raw[y.a] {
			return raw[x.a] < raw[y.a]
		}
		return raw[x.b] < raw[y.b]
	}
	heap := pairHeap[trainCand]{less: less}
	for k, c := range pairCount {
		heap.push(trainCand{c, int32(k >> 32), int32(uint32(k))})
	}

	minFreq := int64(max(cfg.MinFrequency, 1))
	var merges [][2]int32
	lastSeen := make([]int32, len(words))
	for i := range lastSeen {
		lastSeen[i] = -1
	}
	for len(raw) < cfg.VocabSize && heap.len() > 0 {
		c := heap.pop()
		key := pairKey(c.a, c.b)
		cur := pairCount[key]
		if cur != c.count {
			if cur > 0 {
				heap.push(trainCand{cur, c.a, c.b})
			}
			continue
		}
		if cur < minFreq {
			break
		}
		s := raw[c.a] + raw[c.b]
		newID, ok := rawID[s]
		if !ok {
			newID = int32(len(raw))
			raw = append(raw, s)
			rawID[s] = newID
		}
		step := int32(len(merges))
		merges = append(merges, [2]int32{c.a, c.b})
		touched := map[uint64]bool{}
		for _, wi := range where[key] {
			if lastSeen[wi] == step {
				continue
			}
			lastSeen[wi] = step
			w := &words[wi]
			found := false
			for j := 0; j+1 < len(w.syms); j++ {
				if w.syms[j] == c.a && w.syms[j+1] == c.b {
					found = true
					break
				}
			}
			if !found {
				continue
			}
			for j := 0; j+1 < len(w.syms); j++ {
				k := pairKey(w.syms[j], w.syms[j+1])
				if pairCount[k] -= w.freq; pairCount[k] == 0 {
					delete(pairCount, k)
				}
			}
			out := w.syms[:0]
			for j := 0; j < len(w.syms); j++ {
				if j+1 < len(w.syms) && w.syms[j] == c.a && w.syms[j+1] == c.b {
					out = append(out, newID)
					j++
				} else {
					out = append(out, w.syms[j])
				}
			}
			w.syms = out
			for j := 0; j+1 < len(w.syms); j++ {
				k := pairKey(w.syms[j], w.syms[j+1])
				pairCount[k] += w.freq
				if w.syms[j] == newID || w.syms[j+1] == newID {
					addWhere(k, wi)
					touched[k] = true
				}
			}
		}
		delete(where, key)
		for k := range touched {
			if n := pairCount[k]; n > 0 {
				heap.push(trainCand{n, int32(k >> 32), int32(uint32(k))})
			}
		}
	}
	return newTrained(raw, special, merges, cfg)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// newTrained assembles a Tokenizer from trained tokens (raw bytes by id; the
// first len(special) are the special tokens) and merges.
func newTrained(raw, special []string, merges [][2]int32, cfg TrainConfig) (*Tokenizer, error) {
	m := &bpeModel{
		vocab:  make([]string, len(raw)),
		raw:    raw,
		ids:    make(map[string]int32, len(raw)),
		rawIDs: make(map[string]int32, len(raw)),
		merges: make(map[uint64]mergeVal, len(merges)),
		unk:    -1,
	}
	for id, r := range raw {
		v := r
		if id >= len(special) {
			v = ByteLevelEncode(r)
		}
		m.vocab[id] = v
		if _, dup := m.ids[v]; !dup {
			m.ids[v] = int32(id)
		}
		if _, dup := m.rawIDs[r]; !dup {
			m.rawIDs[r] = int32(id)
		}
	}
	for b := range m.byteID {
		m.byteID[b] = m.ids[byteToString[b]]
	}
	for rank, p := range merges {
		m.merges[pairKey(p[0], p[1])] = mergeVal{rank: int32(rank), id: m.rawIDs[raw[p[0]]+raw[p[1]]]}
	}
	m.mergePairs = merges
	t := &Tokenizer{
		model: m, pre: byteLevelPre{useRegex: true, trimOffsets: true},
		bos: -1, eos: -1, pad: -1, unk: -1,
		rawPreTokenizer:  []byte(gpt2PreTokenizer),
		rawPostProcessor: []byte(gpt2PostProcessor),
		rawDecoder:       []byte(gpt2Decoder),
	}
	for k, s := range special {
		t.added = append(t.added, AddedToken{ID: int32(k), Content: s, Special: true})
	}
	if err := t.build(); err != nil {
		return nil, fmt.Errorf("train tokenizer: %w", err)
	}
	for _, r := range []struct {
		name string
		dst  *int32
	}{{cfg.EOS, &t.eos}, {cfg.BOS, &t.bos}, {cfg.PAD, &t.pad}} {
		if r.name != "" {
			*r.dst = t.byText[r.name]
		}
	}
	if cfg.BOS != "" {
		t.prefix = []int32{t.bos}
		t.rawPostProcessor = []byte(bosPostProcessor(cfg.BOS, t.bos))
	}
	return t, nil
}

// bosPostProcessor is a post_processor that puts bos before every sequence,
// as Llama-3's does.
func bosPostProcessor(bos string, id int32) string {
	b := jsonString(bos)
	return `{"type":"Sequence","processors":[` + gpt2PostProcessor + `,{"type":"TemplateProcessing",` +
		`"single":[{"SpecialToken":{"id":` + b + `,"type_id":0}},{"Sequence":{"id":"A","type_id":0}}],` +
		`"pair":[{"SpecialToken":{"id":` + b + `,"type_id":0}},{"Sequence":{"id":"A","type_id":0}},` +
		`{"SpecialToken":{"id":` + b + `,"type_id":1}},{"Sequence":{"id":"B","type_id":1}}],` +
		`"special_tokens":{` + b + `:{"id":` + b + `,"ids":[` + fmt.Sprint(id) + `],"tokens":[` + b + `]}}}]}`
}
