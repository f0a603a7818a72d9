package tokenizer

import (
	"strings"
	"testing"
)

// Good Jinja passes, whatever this engine makes of it; broken Jinja is
// reported with its line.
func TestCheckJinjaSyntax(t *testing.T) {
	for _, src := range []string{
		"", "plain text", ChatMLTemplate, Llama3Template, qwen2Template,
		"{%- for m in messages -%}{%- if m.role == 'user' -%}u{%- elif m.role == 'system' +%}s{%- else -%}a{%- endif -%}{%- else -%}none{%- endfor -%}",
		"{% set ns = namespace(n=0) %}{% set ns.n = ns.n + 1 %}{% set x = a == b %}{% set y | replace('=', '') %}{{ y }}{% endset %}",
		"{% set block %}text {{ 1 }}{% endset %}",
		"{% macro m(a, b='%}') %}{{ a }}{% endmacro %}{% call m(1) %}c{% endcall %}{% filter upper %}f{% endfilter %}",
		"{% raw %}{% for %}{{ unbalanced {% endraw %}{{ '}}' + \"%}\" + 'it\\'s' }}",
		"{# a comment with {% for %} and 'quotes #}{{ {'a': {'b': 1}}}}{{ x[1:2] | join(',') }}",
		"{% generation %}{{ m }}{% endgeneration %}{% for x in y %}{% if x %}{% break %}{% endif %}{% continue %}{% endfor %}",
		"{% with a = 1 %}{{ a }}{% endwith %}{% include 'x' %}{% import 'm' as m %}{% from 'm' import f %}",
		"line 1\n{%- for message in messages\n   if message.role != 'system' %}\n{{ message.content }}\n{% endfor %}",
	} {
		if err := checkJinjaSyntax(src); err != nil {
			t.Errorf("%q: %v", src, err)
		}
	}
	for _, tc := range []struct{ src, want string }{
		{"{% for m in messages %}{{ m }}{% endfor", "line 1, column 31: the {% opened here is never closed (no %})"},
		{"a\n{{ m ", "line 2, column 1: the {{ opened here is never closed (no }})"},
		{"a\n\n {# note", "line 3, column 2: the {# opened here is never closed (no #})"},
		{"{{ 'oops }}", "line 1, column 1: the {{ opened here is never closed"},
		{"{% for m in messages %}\n{% if m %}x{% endif %}", "line 1: {% for %} is never closed (no {% endfor %})"},
		{"{% if x %}\n{% endfor %}", "line 2: {% endfor %} where {% endif %} was due (for the {% if %} of line 1)"},
		{"{% endif %}", "line 1: {% endif %} closes nothing"},
		{"{% else %}", "line 1: {% else %} outside an if or for block"},
		{"{% for x in y %}{% elif z %}{% endfor %}", "line 1: {% elif %} outside an if block"},
		{"{% for x %}{% endfor %}", `line 1: {% for x %} has no "in"`},
		{"{% els %}", "line 1: {% els %} is no Jinja statement"},
		{"{% %}", "line 1: {%  %} is not a statement"},
		{"{{ }}", "line 1: empty {{ }}"},
		{"{{ f(a] }}", "line 1: unexpected ']' where ')' was due in the {{ tag at column 1"},
		{"x{% set x = a) %}", "line 1: unexpected ')' in the {% tag at column 2"},
		{"{% raw %}{{ x }}", "line 1: {% raw %} is never closed (no {% endraw %})"},
		{"{% set x %}y", "line 1: {% set %} is never closed (no {% endset %})"},
	} {
		if err := checkJinjaSyntax(tc.src); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.src, err, tc.want)
		}
	}
}

func FuzzCheckJinjaSyntax(f *testing.F) {
	f.Add(ChatMLTemplate)
	f.Add("{% raw %}{{ {% endraw %}{{ {'a': '}}'}}}")
	f.Fuzz(func(t *testing.T, src string) {
		checkJinjaSyntax(src) // must not panic or hang
	})
}

// tokenizer.json, tokenizer_config.json and chat_template.jinja saved by
// an editor that starts files with a byte order mark still load.
func TestLoadSkipsBOM(t *testing.T) {
	const bom = "\xef\xbb\xbf"
	tk, err := Load(writeDir(t, map[string]string{
		"tokenizer.json":        bom + gpt2JSON(),
		"tokenizer_config.json": bom + `{"eos_token": "<|endoftext|>"}`,
		"chat_template.jinja":   bom + ChatMLTemplate,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if eos, ok := tk.EOS(); !ok || tk.tokenText(eos) != "<|endoftext|>" {
		t.Errorf("tokenizer_config.json not applied: eos %d %v", eos, ok)
	}
	if tk.ChatTemplate() != ChatMLTemplate {
		t.Errorf("chat_template.jinja read as %q", tk.ChatTemplate())
	}
}
