package tokenizer

// Chat formatting: the model's own Jinja chat_template, rendered with
// github.com/ardanlabs/jinja, or a built-in ChatML or Llama-3 template; and
// EncodeChat, which also marks the tokens of assistant turns (the SFT loss
// mask) by rendering prefixes of the conversation, as TRL does.

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ardanlabs/jinja"
)

// Message is one turn of a conversation.
type Message struct {
	Role    string `json:"role"` // system | user | assistant
	Content string `json:"content"`
}

// Built-in chat templates, exactly as Hugging Face ships them.
const (
	// ChatMLTemplate is transformers' former default (ChatML) template.
	ChatMLTemplate = `{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}`
	// Llama3Template is the chat_template of Meta-Llama-3-8B-Instruct.
	Llama3Template = `{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}`
)

var builtinTemplates = map[string]string{"chatml": ChatMLTemplate, "llama3": Llama3Template}

// chatState is the tokenizer's chat template.
type chatState struct {
	source string // template in use; "" until one is loaded or set (then a built-in is chosen)
	tmpl   *jinja.Template
	err    error           // why a loaded template did not compile (reported when it is used)
	broken bool            // err is a Jinja syntax error, which Load refuses
	origin string          // the file the model's template came from
	named  []namedTemplate // a tokenizer_config.json list of named templates, as loaded
}

type namedTemplate struct {
	Name     string `json:"name"`
	Template string `json:"template"`
}

// loadChatTemplate reads tokenizer_config.json's chat_template: a string, or
// a list of named templates of which "default" is used.
func (t *Tokenizer) loadChatTemplate(raw json.RawMessage) error {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		t.loadTemplateSource(s, configFile)
		return nil
	}
	var list []namedTemplate
	if err := json.Unmarshal(raw, &list); err != nil {
		return fmt.Errorf("chat_template must be a string or a list of {name, template}: %w", err)
	}
	t.chat.named = list
	for _, nt := range list {
		if nt.Name == "default" {
			t.loadTemplateSource(nt.Template, configFile)
		}
	}
	return nil
}

// loadTemplateSource installs a model's own template, read from origin.
// One that is not Jinja (checkJinjaSyntax) marks the tokenizer broken, and
// Load refuses it. One that is Jinja but that the engine cannot compile
// does not stop the tokenizer from loading: encoding needs no template,
// and ApplyChatTemplate reports the error.
func (t *Tokenizer) loadTemplateSource(src, origin string) {
	var tmpl *jinja.Template
	err := checkJinjaSyntax(src)
	broken := err != nil
	if !broken {
		tmpl, err = jinja.Compile(src)
	}
	t.chat.source, t.chat.tmpl, t.chat.err, t.chat.broken, t.chat.origin = src, tmpl, err, broken, origin
}

func (t *Tokenizer) setTemplateSource(src string) error {
	tmpl, err := jinja.Compile(src)
	if err != nil {
		return fmt.Errorf("chat template: %w", err)
	}
	t.chat.source, t.chat.tmpl, t.chat.err, t.chat.broken = src, tmpl, nil, false
	return nil
}

// SetChatTemplate selects the chat template: "chatml" or "llama3" (built-in),
// the name of one of the model's named templates (e.g. "tool_use"), or Jinja
// source. Not safe to call while other goroutines use the tokenizer.
func (t *Tokenizer) SetChatTemplate(nameOrSource string) error {
	if src, ok := builtinTemplates[nameOrSource]; ok {
		return t.setTemplateSource(src)
	}
	for _, nt := range t.chat.named {
		if nt.Name == nameOrSource {
			return t.setTemplateSource(nt.Template)
		}
	}
	if !strings.Contains(nameOrSource, "{") {
		return fmt.Errorf("chat template %q: not chatml, llama3, a named template of this model, nor Jinja source", nameOrSource)
	}
	return t.setTemplateSource(nameOrSource)
}

// ChatTemplate returns the Jinja source ApplyChatTemplate renders with: the
// model's own, or the built-in one for models without (Llama-3's when the
// vocabulary has <|start_header_id|> and <|eot_id|>, else ChatML).
func (t *Tokenizer) ChatTemplate() string {
	if t.chat.source != "" {
		return t.chat.source
	}
	_, h := t.byText["<|start_header_id|>"]
	_, e := t.byText["<|eot_id|>"]
	if h && e {
		return Llama3Template
	}
	return ChatMLTemplate
}

func (t *Tokenizer) template() (*jinja.Template, error) {
	if t.chat.tmpl != nil {
		return t.chat.tmpl, nil
	}
	if t.chat.err != nil {
		return nil, fmt.Errorf("the chat template in the model's %s: this Jinja engine cannot compile it: %w", t.chat.origin, t.chat.err)
	}
	return jinja.Compile(t.ChatTemplate())
}

// marshal is what Save writes as chat_template: the named list as loaded when
// its default is still in use, else the template in use.
func (c *chatState) marshal(t *Tokenizer) any {
	if len(c.named) > 0 {
		def := ""
		for _, nt := range c.named {
			if nt.Name == "default" {
				def = nt.Template
			}
		}
		if def == c.source || c.source == "" {
			return c.named
		}
	}
	return t.ChatTemplate()
}

func (t *Tokenizer) tokenText(id int32) string {
	if id < 0 {
		return ""
	}
	s, _ := t.Token(id)
	return s
}

// ApplyChatTemplate renders msgs with the chat template (see ChatTemplate),
// with the variables transformers passes: messages, add_generation_prompt,
// bos_token, eos_token, pad_token, unk_token (raise_exception and
// strftime_now are built in).
func (t *Tokenizer) ApplyChatTemplate(msgs []Message, addGenerationPrompt bool) (string, error) {
	tmpl, err := t.template()
	if err != nil {
		return "", err
	}
	list := make([]any, len(msgs))
	for k, m := range msgs {
		list[k] = map[string]any{"role": m.Role, "content": m.Content}
	}
	out, err := tmpl.Render(map[string]any{
		"messages":              list,
		"add_generation_prompt": addGenerationPrompt,
		"bos_token":             t.tokenText(t.bos),
		"eos_token":             t.tokenText(t.eos),
		"pad_token":             t.tokenText(t.pad),
		"unk_token":             t.tokenText(t.unk),
	})
	if err != nil {
		return "", fmt.Errorf("render chat template: %w", err)
	}
	return out, nil
}

// EncodeChat renders msgs and tokenizes the rendering (special tokens
// recognised, no BOS added: the template has it where the model wants it).
// assistantMask[i] is true for tokens of assistant turns, content and
// end-of-turn token, and false elsewhere: the SFT loss mask
// ("assistant_only_loss"). The mask comes from rendering prefixes of the
// conversation: the text an assistant turn adds after its generation prompt,
// up to and including its last end-of-turn token. A token that straddles the
// edge of that text counts as inside.
func (t *Tokenizer) EncodeChat(msgs []Message, addGenerationPrompt bool) (ids []int32, assistantMask []bool, err error) {
	full, err := t.ApplyChatTemplate(msgs, addGenerationPrompt)
	if err != nil {
		return nil, nil, err
	}
	spans, err := t.assistantSpans(msgs, full)
	if err != nil {
		return nil, nil, err
	}
	ids, offs := t.EncodeOffsets(full)
	assistantMask = make([]bool, len(ids))
	k := 0
	for i, o := range offs {
		end := max(o[1], o[0]+1) // an empty range still sits at a position
		for k < len(spans) && spans[k][1] <= o[0] {
			k++
		}
		if k < len(spans) && spans[k][0] < end {
			assistantMask[i] = true
		}
	}
	return ids, assistantMask, nil
}

// EncodeChatIDs is EncodeChat without the assistant mask, for prompts to
// generate from: one rendering and one tokenization, linear in the
// conversation's length (the mask renders a prefix per assistant turn),
// and no error from templates that rewrite earlier turns (reasoning models
// drop their <think> blocks from history), which the mask cannot follow.
func (t *Tokenizer) EncodeChatIDs(msgs []Message, addGenerationPrompt bool) ([]int32, error) {
	full, err := t.ApplyChatTemplate(msgs, addGenerationPrompt)
	if err != nil {
		return nil, err
	}
	return t.Encode(full), nil
}

// assistantSpans returns the byte ranges of full that the assistant turns own.
func (t *Tokenizer) assistantSpans(msgs []Message, full string) ([][2]int, error) {
	var stops []string
	for _, id := range t.StopTokens() {
		if s, ok := t.Token(id); ok && t.IsAdded(id) {
			stops = append(stops, s)
		}
	}
	var spans [][2]int
	cursor := 0
	for k, m := range msgs {
		if m.Role != "assistant" {
			continue
		}
		a, b, ok := t.spanByPrefix(msgs, k, full, cursor)
		if !ok {
			a, b, ok = spanBySearch(full, m.Content, cursor, stops)
		}
		if !ok {
			return nil, fmt.Errorf("chat template: cannot find assistant turn %d in the rendering (the template changes the content beyond recognition)", k)
		}
		// End at the last end-of-turn token inside the span: the newline
		// or whitespace a template adds after it is formatting, not the answer.
		end := -1
		for _, s := range stops {
			if i := strings.LastIndex(full[a:b], s); i >= 0 && a+i+len(s) > end {
				end = a + i + len(s)
			}
		}
		if end > a {
			b = end
		}
		spans = append(spans, [2]int{a, b})
		cursor = b
	}
	return spans, nil
}

// spanByPrefix: the turn's text is what rendering msgs[:k+1] adds to
// rendering msgs[:k] with a generation prompt, when both are prefixes of full.
func (t *Tokenizer) spanByPrefix(msgs []Message, k int, full string, cursor int) (int, int, bool) {
	before, err := t.ApplyChatTemplate(msgs[:k], true)
	if err != nil || !strings.HasPrefix(full, before) || len(before) < cursor {
		return 0, 0, false
	}
	after, err := t.ApplyChatTemplate(msgs[:k+1], false)
	if err != nil || !strings.HasPrefix(full, after) || len(after) <= len(before) {
		return 0, 0, false
	}
	return len(before), len(after), true
}

// spanBySearch finds content (or, failing that, its trimmed form) after
// cursor and extends it over the nearest end-of-turn token that follows.
func spanBySearch(full, content string, cursor int, stops []string) (int, int, bool) {
	if strings.TrimSpace(content) == "" {
		// Nothing to find: the turn is its end-of-turn token.
		a := -1
		for _, s := range stops {
			if j := strings.Index(full[cursor:], s); j >= 0 && (a < 0 || cursor+j < a) {
				a = cursor + j
				content = s
			}
		}
		if a < 0 {
			return cursor, cursor, true
		}
		return a, a + len(content), true
	}
	for _, c := range []string{content, strings.TrimSpace(content)} {
		if c == "" {
			continue
		}
		i := strings.Index(full[cursor:], c)
		if i < 0 {
			continue
		}
		a := cursor + i
		b := a + len(c)
		end := -1
		for _, s := range stops {
			if j := strings.Index(full[b:], s); j >= 0 && (end < 0 || b+j+len(s) < end) {
				end = b + j + len(s)
			}
		}
		if end > b {
			b = end
		}
		return a, b, true
	}
	return 0, 0, false
}
