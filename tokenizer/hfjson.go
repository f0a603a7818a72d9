package tokenizer

// Reading and writing Hugging Face tokenizer.json for BPE models: byte-level
// (GPT-2, Llama-3, SmolLM, Qwen2 styles) and SentencePiece-style with
// byte_fallback (Llama-2, TinyLlama, Mistral-7B v0.1, CodeLlama: a Prepend +
// Replace normalizer, or a Metaspace pre-tokenizer, and a ByteFallback
// decoder chain). Sections this package only needs in part (normalizer,
// pre_tokenizer, post_processor, decoder) are kept as loaded and written
// back verbatim, so Save(Load(dir)) keeps what it cannot change.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

type tokenizerJSON struct {
	Version       string          `json:"version"`
	Truncation    json.RawMessage `json:"truncation"`
	Padding       json.RawMessage `json:"padding"`
	AddedTokens   []AddedToken    `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         *modelJSON      `json:"model"`
}

type modelJSON struct {
	Type                    string           `json:"type"`
	Dropout                 json.RawMessage  `json:"dropout"`
	UnkToken                *string          `json:"unk_token"`
	ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string          `json:"end_of_word_suffix"`
	FuseUnk                 bool             `json:"fuse_unk"`
	ByteFallback            bool             `json:"byte_fallback"`
	IgnoreMerges            bool             `json:"ignore_merges"`
	Vocab                   map[string]int32 `json:"vocab"`
	Merges                  mergeList        `json:"merges"`
}

// maxID bounds token ids so that a hostile file cannot make per-id tables huge.
const maxID = 1 << 24

// parseTokenizerJSON builds a Tokenizer from the bytes of a tokenizer.json.
func parseTokenizerJSON(data []byte) (*Tokenizer, error) {
	var j tokenizerJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, err
	}
	if j.Model == nil {
		return nil, fmt.Errorf("no model section")
	}
	mj := j.Model
	if mj.Type != "" && mj.Type != "BPE" {
		return nil, fmt.Errorf("model type %q is not supported: only BPE, byte-level (GPT-2, Llama-3, Qwen2, SmolLM style) or with byte_fallback (Llama-2, Mistral style)", mj.Type)
	}
	if (mj.ContinuingSubwordPrefix != nil && *mj.ContinuingSubwordPrefix != "") || (mj.EndOfWordSuffix != nil && *mj.EndOfWordSuffix != "") {
		return nil, fmt.Errorf("continuing_subword_prefix / end_of_word_suffix are not supported")
	}
	t := &Tokenizer{bos: -1, eos: -1, pad: -1, unk: -1}
	var err error
	if t.norm, err = parseNormalizer(j.Normalizer); err != nil {
		return nil, err
	}
	preRaw := j.PreTokenizer
	if t.meta, err = topMetaspace(preRaw); err != nil {
		return nil, err
	}
	var byteLevel bool
	if t.meta != nil {
		t.pre, preRaw = noPre{}, nil
		if t.meta.split {
			// Hugging Face splits before every replacement, the run of them included.
			t.pre = &splitPre{literal: t.meta.rep, pattern: t.meta.rep, behavior: behMergedWithNext}
		}
	} else if t.pre, byteLevel, err = parsePreTokenizer(preRaw); err != nil {
		return nil, err
	}
	switch {
	case mj.ByteFallback && (byteLevel || decoderIsByteLevel(j.Decoder)):
		return nil, fmt.Errorf("model uses byte_fallback with a ByteLevel pre_tokenizer or decoder: a mix this package does not support")
	case mj.ByteFallback:
		if t.dec, err = parseDecoder(j.Decoder, 0); err != nil {
			return nil, err
		}
	case t.meta != nil:
		return nil, fmt.Errorf("Metaspace pre_tokenizer without byte_fallback: only byte-level BPE and SentencePiece-style BPE with byte_fallback are supported")
	case !byteLevel && !decoderIsByteLevel(j.Decoder):
		return nil, fmt.Errorf("neither pre_tokenizer nor decoder is ByteLevel, and the model has no byte_fallback: neither byte-level nor SentencePiece-style BPE")
	}
	if t.model, err = buildModel(mj, len(j.AddedTokens)); err != nil {
		return nil, err
	}
	for _, a := range j.AddedTokens {
		if a.ID < 0 || a.ID >= maxID {
			return nil, fmt.Errorf("added token %q: id %d out of range", a.Content, a.ID)
		}
	}
	if n := len(mj.Vocab) + len(j.AddedTokens); n > 0 {
		for _, a := range j.AddedTokens {
			if int(a.ID) > 4*n+1024 {
				return nil, fmt.Errorf("added token %q: id %d far beyond the %d tokens (sparse ids are not supported)", a.Content, a.ID, n)
			}
		}
	}
	t.added = append([]AddedToken(nil), j.AddedTokens...)
	sort.SliceStable(t.added, func(a, b int) bool { return t.added[a].ID < t.added[b].ID })
	if err := t.build(); err != nil {
		return nil, err
	}
	t.rawNormalizer, t.rawPreTokenizer = j.Normalizer, j.PreTokenizer
	t.rawPostProcessor, t.rawDecoder = j.PostProcessor, j.Decoder
	t.rawTruncation, t.rawPadding = j.Truncation, j.Padding
	t.modelExtra = modelExtra{dropout: mj.Dropout, unkToken: mj.UnkToken,
		continuingSubwordPrefix: mj.ContinuingSubwordPrefix, endOfWordSuffix: mj.EndOfWordSuffix}
	if mj.UnkToken != nil {
		if id, ok := t.TokenID(*mj.UnkToken); ok {
			t.unk = id
		}
	}
	if t.prefix, t.suffix, err = t.parsePostProcessor(j.PostProcessor, 0); err != nil {
		return nil, err
	}
	return t, nil
}

// buildModel checks and indexes the BPE vocabulary and merges.
func buildModel(mj *modelJSON, nAdded int) (*bpeModel, error) {
	n := len(mj.Vocab)
	maxSeen := int32(-1)
	for s, id := range mj.Vocab {
		if s == "" {
			return nil, fmt.Errorf("vocab has an empty token")
		}
		if id < 0 || id >= maxID {
			return nil, fmt.Errorf("vocab token %q: id %d out of range", s, id)
		}
		if id > maxSeen {
			maxSeen = id
		}
	}
	if int(maxSeen) > 4*(n+nAdded)+1024 {
		return nil, fmt.Errorf("vocab id %d far beyond the %d tokens (sparse ids are not supported)", maxSeen, n)
	}
	m := &bpeModel{
		vocab:        make([]string, maxSeen+1),
		raw:          make([]string, maxSeen+1),
		ids:          mj.Vocab, // taken over: the strings are already there
		rawIDs:       make(map[string]int32, n),
		merges:       make(map[uint64]mergeVal, len(mj.Merges)),
		ignoreMerges: mj.IgnoreMerges,
		unk:          -1,
		fuseUnk:      mj.FuseUnk,
	}
	if m.ids == nil {
		m.ids = map[string]int32{}
	}
	var dropped []string
	for s, id := range m.ids {
		if old := m.vocab[id]; old != "" {
			// Two strings with one id: keep the smaller, so loading is deterministic.
			if old < s {
				dropped = append(dropped, s)
				continue
			}
			dropped = append(dropped, old)
		}
		m.vocab[id] = s
	}
	for _, s := range dropped {
		delete(m.ids, s)
	}
	if mj.ByteFallback {
		indexChars(m)
	} else {
		for id, s := range m.vocab {
			if s == "" {
				continue
			}
			raw, _ := ByteLevelDecode(s)
			m.raw[id] = raw
			if old, ok := m.rawIDs[raw]; !ok || int32(id) < old {
				m.rawIDs[raw] = int32(id)
			}
		}
		for b := range m.byteID {
			m.byteID[b] = -1
			if id, ok := m.ids[byteToString[b]]; ok {
				m.byteID[b] = id
			}
		}
	}
	if mj.UnkToken != nil {
		if id, ok := m.ids[*mj.UnkToken]; ok {
			m.unk = id
		}
	}
	m.mergePairs = make([][2]int32, 0, len(mj.Merges))
	var buf []byte
	for rank, mg := range mj.Merges {
		a, okA := m.ids[mg[0]]
		b, okB := m.ids[mg[1]]
		if !okA || !okB {
			return nil, fmt.Errorf("merge %d (%q %q): token not in vocab", rank, mg[0], mg[1])
		}
		buf = append(append(buf[:0], mg[0]...), mg[1]...)
		c, ok := m.ids[string(buf)] // no allocation: the compiler sees the lookup
		if !ok {
			return nil, fmt.Errorf("merge %d (%q %q): merged token %q not in vocab", rank, mg[0], mg[1], mg[0]+mg[1])
		}
		k := pairKey(a, b)
		if _, dup := m.merges[k]; dup {
			continue
		}
		m.merges[k] = mergeVal{rank: int32(len(m.mergePairs)), id: c}
		m.mergePairs = append(m.mergePairs, [2]int32{a, b})
		if m.byteFallback {
			m.noteMetaBefore(m.vocab[c])
		}
	}
	return m, nil
}

// indexChars fills the tables of a byte_fallback model, whose vocabulary
// strings are text as the normalizer leaves it ("▁the") and whose symbols
// are characters.
func indexChars(m *bpeModel) {
	m.byteFallback = true
	for id, s := range m.vocab {
		if s == "" {
			continue
		}
		m.raw[id] = s
		m.rawIDs[s] = int32(id)
	}
	for b := range 256 {
		m.byteID[b], m.fallback[b] = -1, -1
		if id, ok := m.ids[string(rune(b))]; ok && b < utf8.RuneSelf {
			m.byteID[b] = id
		}
		if id, ok := m.ids[byteTokenName(byte(b))]; ok {
			m.fallback[b] = id
			m.raw[id] = string([]byte{byte(b)}) // one byte of the text
		}
	}
	// Cutting words before "▁" needs "▁" to be a symbol of its own (an
	// unknown one would fuse with its neighbours); which cuts no merge
	// crosses, buildModel notes merge by merge (metaBefore).
	_, m.splitMeta = m.ids[metaChar]
}

// topMetaspace returns the Metaspace of a pre_tokenizer that is one (or a
// Sequence of just one); nil otherwise. Metaspace rewrites text and so runs
// apart from the pre-tokenizers that only cut it.
func topMetaspace(raw json.RawMessage) (*metaspace, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var p struct {
		Type          string            `json:"type"`
		PreTokenizers []json.RawMessage `json:"pretokenizers"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("pre_tokenizer: %w", err)
	}
	if p.Type == "Sequence" && len(p.PreTokenizers) == 1 {
		return topMetaspace(p.PreTokenizers[0])
	}
	if p.Type != "Metaspace" {
		return nil, nil
	}
	ms, err := parseMetaspace(raw)
	if err != nil {
		return nil, fmt.Errorf("pre_tokenizer %w", err)
	}
	return ms, nil
}

func decoderIsByteLevel(raw json.RawMessage) bool {
	var d struct {
		Type     string            `json:"type"`
		Decoders []json.RawMessage `json:"decoders"`
	}
	if json.Unmarshal(raw, &d) != nil {
		return false
	}
	if d.Type == "ByteLevel" {
		return true
	}
	for _, sub := range d.Decoders {
		if decoderIsByteLevel(sub) {
			return true
		}
	}
	return false
}

type postProcessorJSON struct {
	Type          string                      `json:"type"`
	Processors    []json.RawMessage           `json:"processors"`
	Single        []templateItemJSON          `json:"single"`
	SpecialTokens map[string]specialTokenJSON `json:"special_tokens"`
	Cls           []json.RawMessage           `json:"cls"`
	Sep           []json.RawMessage           `json:"sep"`
}

type templateItemJSON struct {
	SpecialToken *struct {
		ID string `json:"id"`
	} `json:"SpecialToken"`
	Sequence *struct {
		ID string `json:"id"`
	} `json:"Sequence"`
}

type specialTokenJSON struct {
	ID     string   `json:"id"`
	IDs    []int32  `json:"ids"`
	Tokens []string `json:"tokens"`
}

// parsePostProcessor finds the ids a post_processor puts before and after a
// single sequence (TemplateProcessing, RobertaProcessing, BertProcessing;
// ByteLevel adds none). Other types are kept for Save and add nothing.
func (t *Tokenizer) parsePostProcessor(raw json.RawMessage, depth int) (prefix, suffix []int32, err error) {
	if len(raw) == 0 || string(raw) == "null" || depth > 32 {
		return nil, nil, nil
	}
	var p postProcessorJSON
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, nil, fmt.Errorf("post_processor: %w", err)
	}
	switch p.Type {
	case "Sequence":
		for _, sub := range p.Processors {
			pre, suf, err := t.parsePostProcessor(sub, depth+1)
			if err != nil {
				return nil, nil, err
			}
			prefix = append(prefix, pre...)
			suffix = append(suffix, suf...)
		}
	case "TemplateProcessing":
		seen := false
		for _, it := range p.Single {
			if it.Sequence != nil {
				seen = true
				continue
			}
			if it.SpecialToken == nil {
				continue
			}
			ids := p.SpecialTokens[it.SpecialToken.ID].IDs
			if len(ids) == 0 {
				id, ok := t.TokenID(it.SpecialToken.ID)
				if !ok {
					return nil, nil, fmt.Errorf("post_processor: template token %q is not in the vocabulary", it.SpecialToken.ID)
				}
				ids = []int32{id}
			}
			if seen {
				suffix = append(suffix, ids...)
			} else {
				prefix = append(prefix, ids...)
			}
		}
	case "RobertaProcessing", "BertProcessing":
		get := func(pair []json.RawMessage) []int32 {
			var id int32
			if len(pair) == 2 && json.Unmarshal(pair[1], &id) == nil {
				return []int32{id}
			}
			return nil
		}
		prefix, suffix = get(p.Cls), get(p.Sep)
	}
	for _, id := range append(append([]int32(nil), prefix...), suffix...) {
		if id < 0 || int(id) >= len(t.text) {
			return nil, nil, fmt.Errorf("post_processor: id %d outside the vocabulary", id)
		}
	}
	return prefix, suffix, nil
}

// jsonString marshals s as JSON without escaping <, > and & (serde_json does
// not, and special tokens are full of them).
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// indentRaw pretty-prints a kept JSON section at the given indent (null when empty).
func indentRaw(raw json.RawMessage, indent string) string {
	if len(raw) == 0 {
		return "null"
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, indent, "  "); err != nil {
		return "null"
	}
	return b.String()
}

// Default sections for a tokenizer this package trained: GPT-2's.
const (
	gpt2PreTokenizer  = `{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}`
	gpt2PostProcessor = `{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":false,"use_regex":true}`
	gpt2Decoder       = `{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true}`
)

// marshalTokenizerJSON writes tokenizer.json in the layout tokenizers
// writes: fixed key order, vocab by id, merges as "a b" strings (readable by
// every tokenizers version) unless a token holds a space, then as pairs.
func (t *Tokenizer) marshalTokenizerJSON() []byte {
	var b strings.Builder
	w := func(s ...string) {
		for _, x := range s {
			b.WriteString(x)
		}
	}
	w("{\n  \"version\": \"1.0\",\n")
	w("  \"truncation\": ", indentRaw(t.rawTruncation, "  "), ",\n")
	w("  \"padding\": ", indentRaw(t.rawPadding, "  "), ",\n")
	w("  \"added_tokens\": [")
	for k, a := range t.added {
		if k > 0 {
			w(",")
		}
		w("\n    {\n",
			"      \"id\": ", fmt.Sprint(a.ID), ",\n",
			"      \"content\": ", jsonString(a.Content), ",\n",
			"      \"single_word\": ", fmt.Sprint(a.SingleWord), ",\n",
			"      \"lstrip\": ", fmt.Sprint(a.LStrip), ",\n",
			"      \"rstrip\": ", fmt.Sprint(a.RStrip), ",\n",
			"      \"normalized\": ", fmt.Sprint(a.Normalized), ",\n",
			"      \"special\": ", fmt.Sprint(a.Special), "\n    }")
	}
	if len(t.added) > 0 {
		w("\n  ")
	}
	w("],\n")
	w("  \"normalizer\": ", indentRaw(t.rawNormalizer, "  "), ",\n")
	w("  \"pre_tokenizer\": ", indentRaw(t.rawPreTokenizer, "  "), ",\n")
	w("  \"post_processor\": ", indentRaw(t.rawPostProcessor, "  "), ",\n")
	w("  \"decoder\": ", indentRaw(t.rawDecoder, "  "), ",\n")
	m := t.model
	opt := func(p *string) string {
		if p == nil {
			return "null"
		}
		return jsonString(*p)
	}
	dropout := "null"
	if len(t.modelExtra.dropout) > 0 {
		dropout = string(t.modelExtra.dropout)
	}
	w("  \"model\": {\n",
		"    \"type\": \"BPE\",\n",
		"    \"dropout\": ", dropout, ",\n",
		"    \"unk_token\": ", opt(t.modelExtra.unkToken), ",\n",
		"    \"continuing_subword_prefix\": ", opt(t.modelExtra.continuingSubwordPrefix), ",\n",
		"    \"end_of_word_suffix\": ", opt(t.modelExtra.endOfWordSuffix), ",\n",
		"    \"fuse_unk\": ", fmt.Sprint(m.fuseUnk), ",\n",
		"    \"byte_fallback\": ", fmt.Sprint(m.byteFallback), ",\n")
	if m.ignoreMerges {
		w("    \"ignore_merges\": true,\n")
	}
	w("    \"vocab\": {")
	first := true
	for id, s := range m.vocab {
		if s == "" {
			continue
		}
		if !first {
			w(",")
		}
		first = false
		w("\n      ", jsonString(s), ": ", fmt.Sprint(id))
	}
	w("\n    },\n    \"merges\": [")
	pairs := false
	for _, p := range m.mergePairs {
		if strings.Contains(m.vocab[p[0]], " ") || strings.Contains(m.vocab[p[1]], " ") {
			pairs = true
			break
		}
	}
	for k, p := range m.mergePairs {
		if k > 0 {
			w(",")
		}
		if pairs {
			w("\n      [\n        ", jsonString(m.vocab[p[0]]), ",\n        ", jsonString(m.vocab[p[1]]), "\n      ]")
		} else {
			w("\n      ", jsonString(m.vocab[p[0]]+" "+m.vocab[p[1]]))
		}
	}
	w("\n    ]\n  }\n}\n")
	return []byte(b.String())
}
