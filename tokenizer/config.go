package tokenizer

// Load and Save: tokenizer.json plus tokenizer_config.json (BOS/EOS/PAD,
// chat_template, add_bos_token), and on loading also chat_template.jinja and
// generation_config.json's eos_token_id when present.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/alignlab/alignlab/internal/atomicfile"
	"github.com/alignlab/alignlab/internal/textfile"
)

// The files beside tokenizer.json that hold a model's chat template.
const (
	configFile   = "tokenizer_config.json"
	templateFile = "chat_template.jinja"
)

// Load reads dir/tokenizer.json and, if present, dir/tokenizer_config.json
// (BOS/EOS/PAD, chat_template, add_bos_token/add_eos_token),
// dir/chat_template.jinja (which transformers prefers to the config's
// template) and dir/generation_config.json (extra stop tokens).
func Load(dir string) (*Tokenizer, error) {
	path := filepath.Join(dir, "tokenizer.json")
	data, err := textfile.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w (a Hugging Face model directory has tokenizer.json; train one with 'alignlab tokenizer train')", err)
	}
	t, err := ParseJSON(data)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %s: %w", path, err)
	}
	cfgPath := filepath.Join(dir, configFile)
	if data, err := textfile.ReadFile(cfgPath); err == nil {
		if err := t.applyConfig(data); err != nil {
			return nil, fmt.Errorf("load tokenizer %s: %w", cfgPath, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	if data, err := textfile.ReadFile(filepath.Join(dir, templateFile)); err == nil {
		t.loadTemplateSource(string(data), templateFile)
	}
	// Checked once the template in use is known: transformers prefers
	// chat_template.jinja and never reads the config's template then.
	if t.chat.broken {
		return nil, fmt.Errorf("load tokenizer %s: the chat template does not parse: %w", filepath.Join(dir, t.chat.origin), t.chat.err)
	}
	if data, err := textfile.ReadFile(filepath.Join(dir, "generation_config.json")); err == nil {
		var g struct {
			EOS json.RawMessage `json:"eos_token_id"`
		}
		if json.Unmarshal(data, &g) == nil {
			t.genEOS = parseIDList(g.EOS)
		}
	}
	return t, nil
}

// ParseJSON builds a Tokenizer from the contents of a tokenizer.json alone
// (no tokenizer_config.json: no BOS/EOS/PAD beyond what the post-processor names).
func ParseJSON(data []byte) (*Tokenizer, error) {
	t, err := parseTokenizerJSON(data)
	if err != nil {
		return nil, err
	}
	if len(t.prefix) > 0 && t.IsSpecial(t.prefix[0]) {
		t.bos = t.prefix[0]
	}
	return t, nil
}

// parseIDList reads an id or a list of ids; anything else gives nil.
func parseIDList(raw json.RawMessage) []int32 {
	var one int32
	if json.Unmarshal(raw, &one) == nil {
		return []int32{one}
	}
	var many []int32
	if json.Unmarshal(raw, &many) == nil {
		return many
	}
	return nil
}

// tokenString reads a token given as a string or as an AddedToken object
// ({"content": ...}); ok is false for null or absent.
func tokenString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var obj struct {
		Content *string `json:"content"`
	}
	if json.Unmarshal(raw, &obj) == nil && obj.Content != nil {
		return *obj.Content, true
	}
	return "", false
}

// addConfigTokens adds the tokens of added_tokens_decoder that tokenizer.json
// lacks, as transformers does when it loads the pair.
func (t *Tokenizer) addConfigTokens(raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var dec map[string]AddedToken
	if err := json.Unmarshal(raw, &dec); err != nil {
		return fmt.Errorf("added_tokens_decoder: %w", err)
	}
	keys := make([]string, 0, len(dec))
	for k := range dec {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	added := false
	for _, k := range keys {
		a := dec[k]
		id, err := strconv.ParseInt(k, 10, 32)
		if err != nil || id < 0 || id >= maxID || int(id) > 4*len(t.text)+1024 {
			return fmt.Errorf("added_tokens_decoder: bad id %q", k)
		}
		if _, have := t.addedIdx[int32(id)]; have || a.Content == "" {
			continue
		}
		if known, ok := t.TokenID(a.Content); ok && known == int32(id) {
			continue
		}
		a.ID = int32(id)
		t.added = append(t.added, a)
		added = true
	}
	if !added {
		return nil
	}
	sort.SliceStable(t.added, func(i, j int) bool { return t.added[i].ID < t.added[j].ID })
	return t.build()
}

// applyConfig reads tokenizer_config.json.
func (t *Tokenizer) applyConfig(data []byte) error {
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(data, &cfg); err != nil {
		return err
	}
	if cfg == nil {
		cfg = map[string]json.RawMessage{}
	}
	t.config = cfg
	if err := t.addConfigTokens(cfg["added_tokens_decoder"]); err != nil {
		return err
	}
	for _, f := range []struct {
		key string
		dst *int32
	}{{"bos_token", &t.bos}, {"eos_token", &t.eos}, {"pad_token", &t.pad}, {"unk_token", &t.unk}} {
		raw, present := cfg[f.key]
		if !present {
			continue
		}
		*f.dst = -1
		if s, ok := tokenString(raw); ok {
			id, found := t.TokenID(s)
			if !found {
				return fmt.Errorf("%s %q is not in the vocabulary", f.key, s)
			}
			*f.dst = id
		}
	}
	var flag bool
	if raw, ok := cfg["add_bos_token"]; ok && json.Unmarshal(raw, &flag) == nil {
		t.prefix = nil
		if flag && t.bos >= 0 {
			t.prefix = []int32{t.bos}
		}
	}
	if raw, ok := cfg["add_eos_token"]; ok && json.Unmarshal(raw, &flag) == nil {
		t.suffix = nil
		if flag && t.eos >= 0 {
			t.suffix = []int32{t.eos}
		}
	}
	if raw, ok := cfg["chat_template"]; ok && string(raw) != "null" {
		if err := t.loadChatTemplate(raw); err != nil {
			return err
		}
	}
	return nil
}

// SavedFiles are the files Save writes into its directory, for checks
// that an output directory holds none of a command's inputs.
var SavedFiles = []string{"tokenizer.json", "tokenizer_config.json"}

// Save writes dir/tokenizer.json and dir/tokenizer_config.json in Hugging
// Face format, loadable by transformers' AutoTokenizer (as
// PreTrainedTokenizerFast) and by Load. Fields of a loaded
// tokenizer_config.json that this package does not interpret are kept. The
// chat template written is the one ApplyChatTemplate uses. Each file is
// written atomically (internal/atomicfile): a crash leaves the old file or the
// new one, never a torn one beside the weights.
func (t *Tokenizer) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save tokenizer: %w", err)
	}
	cfg, err := t.marshalConfig()
	if err != nil {
		return fmt.Errorf("save tokenizer: %w", err)
	}
	for name, data := range map[string][]byte{SavedFiles[0]: t.marshalTokenizerJSON(), SavedFiles[1]: cfg} {
		if err := atomicfile.Write(filepath.Join(dir, name), func(w io.Writer) error {
			_, err := w.Write(data)
			return err
		}); err != nil {
			return fmt.Errorf("save tokenizer: %w", err)
		}
	}
	return nil
}

func (t *Tokenizer) marshalConfig() ([]byte, error) {
	cfg := map[string]any{}
	for k, v := range t.config {
		cfg[k] = v
	}
	tok := func(key string, id int32) {
		if id < 0 {
			if _, had := cfg[key]; had {
				cfg[key] = nil
			}
			return
		}
		s, _ := t.Token(id)
		cfg[key] = s
	}
	tok("bos_token", t.bos)
	tok("eos_token", t.eos)
	tok("pad_token", t.pad)
	tok("unk_token", t.unk)
	dec := map[string]any{}
	for _, a := range t.added {
		dec[fmt.Sprint(a.ID)] = map[string]any{
			"content": a.Content, "lstrip": a.LStrip, "normalized": a.Normalized,
			"rstrip": a.RStrip, "single_word": a.SingleWord, "special": a.Special,
		}
	}
	cfg["added_tokens_decoder"] = dec
	if _, ok := cfg["tokenizer_class"]; !ok {
		cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
	}
	if _, ok := cfg["clean_up_tokenization_spaces"]; !ok {
		// transformers' default would turn " ." into "." on decode.
		cfg["clean_up_tokenization_spaces"] = false
	}
	if _, ok := cfg["model_max_length"]; !ok {
		cfg["model_max_length"] = json.RawMessage("1000000000000000019884624838656") // transformers' VERY_LARGE_INTEGER
	}
	if ct := t.chat.marshal(t); ct != nil {
		cfg["chat_template"] = ct
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(cfg); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
