package tokenizer

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var chatCorpus = []string{strings.Repeat("Hello! How are you? I am fine, thanks. The answer is 42.\n", 10)}

func chatmlTokenizer(t *testing.T) *Tokenizer {
	t.Helper()
	tk, err := Train(chatCorpus, TrainConfig{VocabSize: 320, Special: []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

var conversation = []Message{
	{"system", "You are helpful."},
	{"user", "Hi"},
	{"assistant", "Hello!"},
	{"user", "How are you?"},
	{"assistant", "I am fine."},
}

func TestChatMLRendering(t *testing.T) {
	tk := chatmlTokenizer(t)
	if tk.ChatTemplate() != ChatMLTemplate {
		t.Fatal("a tokenizer without a template must fall back to ChatML")
	}
	got, err := tk.ApplyChatTemplate(conversation[:4], true)
	want := "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n" +
		"<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n"
	if err != nil || got != want {
		t.Errorf("ChatML: %q, %v\nwant %q", got, err, want)
	}
	got, _ = tk.ApplyChatTemplate(conversation[:3], false)
	if !strings.HasSuffix(got, "Hello!<|im_end|>\n") {
		t.Errorf("without generation prompt: %q", got)
	}
}

func TestLlama3Rendering(t *testing.T) {
	tk, err := ParseJSON([]byte(llama3JSON()))
	if err != nil {
		t.Fatal(err)
	}
	if tk.ChatTemplate() != Llama3Template {
		t.Fatal("a tokenizer with Llama-3 header tokens must fall back to the Llama-3 template")
	}
	got, err := tk.ApplyChatTemplate(conversation[:3], true)
	want := "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>" +
		"<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>" +
		"<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>" +
		"<|start_header_id|>assistant<|end_header_id|>\n\n"
	if err != nil || got != want {
		t.Errorf("Llama-3: %q, %v\nwant %q", got, err, want)
	}
}

// maskedText joins the text of the tokens the mask selects, one turn per element.
func maskedText(tk *Tokenizer, ids []int32, mask []bool) []string {
	var out []string
	in := false
	for i, id := range ids {
		if mask[i] {
			if !in {
				out = append(out, "")
			}
			out[len(out)-1] += tk.Decode([]int32{id})
		}
		in = mask[i]
	}
	return out
}

func TestEncodeChatMask(t *testing.T) {
	llama, err := ParseJSON([]byte(llama3JSON()))
	if err != nil {
		t.Fatal(err)
	}
	weird := chatmlTokenizer(t)
	// Renders the last assistant turn differently, so prefixes of the
	// conversation are not prefixes of the whole: the search fallback runs.
	if err := weird.SetChatTemplate(`{% for m in messages %}{% if loop.last %}[final]{% endif %}{{ m['role'] }}: {{ m['content'] }}<|im_end|>{% endfor %}`); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		tk   *Tokenizer
		want []string
	}{
		{"chatml", chatmlTokenizer(t), []string{"Hello!<|im_end|>", "I am fine.<|im_end|>"}},
		{"llama3", llama, []string{"Hello!<|eot_id|>", "I am fine.<|eot_id|>"}},
		// "assistant: Hello!": the token " Hello" straddles the turn's start and counts as inside.
		{"search fallback", weird, []string{" Hello!<|im_end|>", " I am fine.<|im_end|>"}},
	}
	for _, tc := range tests {
		ids, mask, err := tc.tk.EncodeChat(conversation, false)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		full, _ := tc.tk.ApplyChatTemplate(conversation, false)
		if len(ids) != len(mask) || tc.tk.Decode(ids) != full {
			t.Fatalf("%s: ids do not spell the rendering", tc.name)
		}
		got := maskedText(tc.tk, ids, mask)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: assistant tokens %q, want %q", tc.name, got, tc.want)
		}
		// Without the mask, the same tokens.
		for _, gen := range []bool{false, true} {
			a, _, _ := tc.tk.EncodeChat(conversation, gen)
			if b, err := tc.tk.EncodeChatIDs(conversation, gen); err != nil || !slices.Equal(a, b) {
				t.Errorf("%s: EncodeChatIDs differs from EncodeChat's ids (generation prompt %v): %v", tc.name, gen, err)
			}
		}
	}
}

func TestEncodeChatGenerationPromptUnmasked(t *testing.T) {
	tk := chatmlTokenizer(t)
	ids, mask, err := tk.EncodeChat(conversation[:2], true)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ids {
		if mask[i] {
			t.Fatalf("no assistant turn, yet token %d is masked", i)
		}
	}
	if !strings.HasSuffix(tk.Decode(ids), "<|im_start|>assistant\n") {
		t.Errorf("generation prompt missing: %q", tk.Decode(ids))
	}
}

func TestChatTemplateErrors(t *testing.T) {
	tk := chatmlTokenizer(t)
	if err := tk.SetChatTemplate("no-such-template"); err == nil {
		t.Error("unknown template name: want an error")
	}
	if err := tk.SetChatTemplate("{% for %}"); err == nil {
		t.Error("bad Jinja: want an error")
	}
	if err := tk.SetChatTemplate("{{ raise_exception('Conversation roles must alternate') }}"); err != nil {
		t.Fatal(err)
	}
	if _, err := tk.ApplyChatTemplate(conversation, false); err == nil || !strings.Contains(err.Error(), "roles must alternate") {
		t.Errorf("raise_exception: %v", err)
	}
	if err := tk.SetChatTemplate("llama3"); err != nil || tk.ChatTemplate() != Llama3Template {
		t.Errorf("SetChatTemplate(llama3): %v", err)
	}
}

// Qwen2-Instruct's template: ChatML with a default system message.
const qwen2Template = `{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}`

func TestModelTemplateFromConfig(t *testing.T) {
	cfg := `{"eos_token": "<|im_end|>", "chat_template": ` + jsonString(qwen2Template) + `,
	  "added_tokens_decoder": {"263": {"content": "<|tool|>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false, "special": true}}}`
	js := strings.Replace(gpt2JSON(), `"added_tokens": [`, `"added_tokens": [
    {"id": 264, "content": "<|im_start|>", "special": true}, {"id": 265, "content": "<|im_end|>", "special": true},`, 1)
	tk, err := Load(writeDir(t, map[string]string{"tokenizer.json": js, "tokenizer_config.json": cfg}))
	if err != nil {
		t.Fatal(err)
	}
	got, err := tk.ApplyChatTemplate([]Message{{"user", "Hi"}, {"assistant", ""}}, false)
	want := "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n"
	if err != nil || got != want {
		t.Errorf("Qwen2 template: %q, %v\nwant %q", got, err, want)
	}
	ids, mask, err := tk.EncodeChat([]Message{{"user", "Hi"}, {"assistant", ""}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if m := maskedText(tk, ids, mask); len(m) != 1 || m[0] != "<|im_end|>" {
		t.Errorf("empty assistant turn: masked %q, want its end-of-turn token only", m)
	}
	if id, ok := tk.TokenID("<|tool|>"); !ok || id != 263 || !tk.IsSpecial(id) {
		t.Errorf("added_tokens_decoder token: %d %v", id, ok)
	}
	if got := tk.Encode("a<|tool|>"); len(got) != 2 || got[1] != 263 {
		t.Errorf("config-added token not recognised: %v", got)
	}
}

// A model whose template is good Jinja that this engine cannot compile
// ({% with %} here) still loads: encoding needs no template, and using the
// template says which file holds it.
func TestUncompilableModelTemplate(t *testing.T) {
	const unsupported = "{% with greeting = 'hi' %}{{ greeting }}{% endwith %}{% for m in messages %}{{ m['content'] }}{% endfor %}"
	// The same in chat_template.jinja, which transformers prefers.
	jinjaOnly, err := Load(writeDir(t, map[string]string{"tokenizer.json": gpt2JSON(), "chat_template.jinja": unsupported}))
	if err != nil {
		t.Fatalf("an uncompilable chat_template.jinja must not stop Load: %v", err)
	}
	if _, err := jinjaOnly.ApplyChatTemplate(conversation, false); err == nil || !strings.Contains(err.Error(), "chat_template.jinja") {
		t.Errorf("ApplyChatTemplate with an uncompilable chat_template.jinja: %v", err)
	}
	tk, err := Load(writeDir(t, map[string]string{"tokenizer.json": gpt2JSON(), "tokenizer_config.json": `{"chat_template": ` + jsonString(unsupported) + `}`}))
	if err != nil {
		t.Fatalf("a template the engine cannot compile must not stop Load: %v", err)
	}
	if len(tk.Encode("the")) == 0 {
		t.Fatal("encode")
	}
	if _, err := tk.ApplyChatTemplate(conversation, false); err == nil || !strings.Contains(err.Error(), "tokenizer_config.json") || !strings.Contains(err.Error(), "with") {
		t.Errorf("ApplyChatTemplate with an uncompilable template: %v", err)
	}
	if err := tk.SetChatTemplate("chatml"); err != nil {
		t.Fatal(err)
	}
	if _, err := tk.ApplyChatTemplate(conversation, false); err != nil {
		t.Error(err)
	}
}

// A template that is not Jinja at all stops Load with the file and the
// error, instead of failing every conversation later.
func TestBrokenModelTemplate(t *testing.T) {
	const broken = "{% for m in messages %}{{ m['content'] }}{% endfor"
	const want = "line 1, column 42: the {% opened here is never closed (no %})"
	dir := writeDir(t, map[string]string{"tokenizer.json": gpt2JSON(), "tokenizer_config.json": `{"chat_template": ` + jsonString(broken) + `}`})
	_, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "tokenizer_config.json")) || !strings.Contains(err.Error(), want) {
		t.Errorf("broken tokenizer_config.json template: %v", err)
	}
	named := `{"chat_template": [{"name": "default", "template": ` + jsonString(broken) + `}, {"name": "tool_use", "template": "x"}]}`
	if _, err := Load(writeDir(t, map[string]string{"tokenizer.json": gpt2JSON(), "tokenizer_config.json": named})); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("broken default of named templates: %v", err)
	}
	dir = writeDir(t, map[string]string{"tokenizer.json": gpt2JSON(), "chat_template.jinja": "{% if x %}a{% endfor %}"})
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "chat_template.jinja")) || !strings.Contains(err.Error(), "{% endfor %} where {% endif %} was due") {
		t.Errorf("broken chat_template.jinja: %v", err)
	}
	// transformers reads chat_template.jinja instead of the config's
	// template, so a broken one there is never used.
	tk, err := Load(writeDir(t, map[string]string{"tokenizer.json": gpt2JSON(), "tokenizer_config.json": `{"chat_template": ` + jsonString(broken) + `}`, "chat_template.jinja": ChatMLTemplate}))
	if err != nil || tk.ChatTemplate() != ChatMLTemplate {
		t.Errorf("chat_template.jinja over a broken config template: %v", err)
	}
}
