package target

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// canary has the characters gateways escape: "/" (PHP's "\/") and "+".
const canary = "sk-LEAKCANARY/7f3a+9c2e1b"

// uEscape writes every character of s as \uXXXX, as JSON does (a
// surrogate pair beyond the BMP).
func uEscape(s string, upper bool) string {
	var b strings.Builder
	for _, r := range utf16.Encode([]rune(s)) {
		if upper {
			fmt.Fprintf(&b, `\u%04X`, r)
		} else {
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// TestRedactEncodings: the key is found however a server wrote it.
func TestRedactEncodings(t *testing.T) {
	rd := newRedactor(canary)
	jsonStr := func(s string) string { b, _ := json.Marshal(s); return strings.Trim(string(b), `"`) }
	for name, enc := range map[string]string{
		"raw":               canary,
		`PHP \/`:            strings.ReplaceAll(canary, "/", `\/`),
		`\u002b`:            strings.ReplaceAll(canary, "+", `\u002b`),
		`\u002B and \/`:     strings.NewReplacer("+", `\u002B`, "/", `\/`).Replace(canary),
		"all escaped":       uEscape(canary, false),
		"all escaped upper": uEscape(canary, true),
		"JSON in JSON":      jsonStr(jsonStr(strings.ReplaceAll(canary, "/", `\/`))),
		"query escaped":     url.QueryEscape(canary),
		"path escaped":      url.PathEscape(canary),
		"URL-encoded twice": url.QueryEscape(url.QueryEscape(canary)),
		"lower-case %2f":    strings.NewReplacer("/", "%2f", "+", "%2b").Replace(canary),
		"HTML template":     template.HTMLEscapeString(canary),
		"HTML hex entity":   strings.ReplaceAll(canary, "+", "&#x2B;"),
	} {
		text := `{"error": {"message": "invalid key ` + enc + `", "code": 401}}`
		got := rd.redact(text)
		if !strings.Contains(got, redacted) || strings.Contains(got, "LEAKCANARY") {
			t.Errorf("%s: %s -> %s", name, text, got)
		}
	}
	// Text that merely resembles the key is left alone.
	for _, s := range []string{"sk-LEAKCANARY/7f3a 9c2e1b", "plain reply", `a \/ b %2F c &#43;`, "sk-LEAKCANARY"} {
		if got := rd.redact(s); got != s {
			t.Errorf("redact(%q) = %q", s, got)
		}
	}
	if got := rd.redact(canary + " and " + canary); got != redacted+" and "+redacted {
		t.Errorf("two keys: %q", got)
	}
	if got := (redactor{}).redact(canary); got != canary {
		t.Errorf("no key: %q", got)
	}
	// A key beyond ASCII is matched too.
	rd = newRedactor("ключ/🔑")
	if got := rd.redact(`x ` + uEscape("ключ/🔑", false) + ` ` + url.QueryEscape("ключ/🔑")); got != "x "+redacted+" "+redacted {
		t.Errorf("non-ASCII key: %q", got)
	}
}

// FuzzRedact encodes each character of a key one of several ways and
// checks that the result is blanked out.
func FuzzRedact(f *testing.F) {
	f.Add(canary, []byte{0, 1, 2, 3, 4, 5, 6, 7}, "prefix ", " suffix")
	f.Add("a b\"c\\d<e>f&g", []byte{1, 3, 5, 7, 2, 4, 6, 0}, "", "")
	f.Fuzz(func(t *testing.T, key string, how []byte, pre, post string) {
		key = strings.TrimSpace(key)
		if key == "" || len(how) == 0 || checkHeaderValue(key) != nil || !isUTF8(key) {
			return
		}
		var b strings.Builder
		i := 0
		for _, r := range key {
			c := string(r)
			switch how[i%len(how)] % 8 {
			case 0:
				b.WriteString(c)
			case 1:
				b.WriteString(uEscape(c, false))
			case 2:
				b.WriteString(uEscape(c, true))
			case 3:
				b.WriteString(url.QueryEscape(c))
			case 4:
				js, _ := json.Marshal(c)
				b.Write(js[1 : len(js)-1])
			case 5:
				b.WriteString(template.HTMLEscapeString(c))
			case 6:
				b.WriteString(url.PathEscape(url.PathEscape(c)))
			case 7:
				b.WriteString(fmt.Sprintf("&#%d;", r))
			}
			i++
		}
		got := newRedactor(key).redact(pre + b.String() + post)
		if !strings.Contains(got, redacted) {
			t.Errorf("key %q encoded as %q not found in %q", key, b.String(), got)
		}
	})
}

func isUTF8(s string) bool { return strings.ToValidUTF8(s, "\x00") == s }

// TestEscapedKeyNeverLeaks: a server that echoes the key JSON-escaped, in
// an error status or in a 200 reply's "error" object, or inside an answer,
// shows it nowhere: not in the error, not in the response.
func TestEscapedKeyNeverLeaks(t *testing.T) {
	t.Setenv("ALIGNLAB_TEST_KEY", canary)
	escaped := strings.ReplaceAll(canary, "/", `\/`)
	for _, c := range []struct {
		name   string
		status int
		body   string
	}{
		{"401 PHP-escaped", 401, `{"error":{"message":"Incorrect API key provided: ` + escaped + `"}}`},
		{"401 unicode-escaped", 401, `{"error":{"message":"bad key ` + uEscape(canary, false) + `"}}`},
		{"200 error object", 200, `{"error":{"message":"key ` + escaped + ` is revoked"}}`},
		{"200 error object, \\u002b", 200, `{"error":{"message":"key ` + strings.ReplaceAll(canary, "+", `\u002b`) + ` is revoked"}}`},
		{"500 URL-encoded", 500, "upstream rejected key=" + url.QueryEscape(canary)},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(c.status)
			io.WriteString(w, c.body)
		}))
		cfg := fastCfg(srv.URL)
		cfg.APIKeyEnv = "ALIGNLAB_TEST_KEY"
		cfg.MaxRetries = 1
		h, err := NewHTTP(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.Chat(context.Background(), Request{Messages: []Message{{Role: "user", Content: "q"}}})
		srv.Close()
		if err == nil {
			t.Fatalf("%s: no error", c.name)
		}
		if msg := fmt.Sprintf("%v %+v %#v", err, err, err); strings.Contains(msg, "LEAKCANARY") || !strings.Contains(msg, redacted) {
			t.Errorf("%s: error shows the key or no redaction: %s", c.name, msg)
		}
	}
	// A successful reply that echoes the key (escaped in JSON, raw once
	// decoded) is returned, and so cached and stored, without it.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"choices":[{"message":{"content":"your key is `+escaped+`, url `+url.QueryEscape(canary)+`"}}]}`)
	}))
	defer srv.Close()
	cfg := fastCfg(srv.URL)
	cfg.APIKeyEnv = "ALIGNLAB_TEST_KEY"
	h, err := NewHTTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &mapCache{m: map[string][]byte{}}
	resp, err := Cached(h, c).Chat(context.Background(), Request{Messages: []Message{{Role: "user", Content: "q"}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "your key is " + redacted + ", url " + redacted; resp.Choices[0] != want {
		t.Errorf("reply %q, want %q", resp.Choices[0], want)
	}
	for k, v := range c.m {
		if strings.Contains(string(v), "LEAKCANARY") {
			t.Errorf("cache entry %s holds the key: %s", k, v)
		}
	}
}

// TestKeyWhitespace: a key read with a CRLF line end is sent trimmed; one
// that still holds a control character fails at once, without showing it.
func TestKeyWhitespace(t *testing.T) {
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		okReply(w, "ok")
	}))
	defer srv.Close()
	cfg := fastCfg(srv.URL)
	cfg.APIKeyEnv = "ALIGNLAB_TEST_KEY"
	t.Setenv("ALIGNLAB_TEST_KEY", " "+secret+"\r\n")
	h, err := NewHTTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Chat(context.Background(), Request{Messages: []Message{{Role: "user", Content: "q"}}}); err != nil {
		t.Fatal(err)
	}
	if auth != "Bearer "+secret {
		t.Errorf("sent Authorization %q", auth)
	}
	for _, bad := range []string{secret[:5] + "\r" + secret[5:], secret + "\x01x", "a\nb"} {
		t.Setenv("ALIGNLAB_TEST_KEY", bad)
		_, err := NewHTTP(cfg)
		if err == nil || !strings.Contains(err.Error(), "ALIGNLAB_TEST_KEY") || !strings.Contains(err.Error(), "control character") {
			t.Errorf("key %q: err = %v", bad, err)
		} else if strings.Contains(err.Error(), secret[:5]) || strings.Contains(err.Error(), secret[5:]) {
			t.Errorf("error shows the key: %v", err)
		}
	}
}

// A long run of backslashes (a model looping on "\\\\") is scanned once,
// not once per backslash: 200,000 of them took minutes when every failed
// match moved on by a byte. A key after the run is still found, and text
// with none of an encoding's first bytes takes the plain replacement.
func TestRedactBackslashRun(t *testing.T) {
	rd := newRedactor(canary)
	run := strings.Repeat(`\`, 200_000)
	done := make(chan string, 1)
	go func() { done <- rd.redact(run + strings.ReplaceAll(canary, "/", `\/`) + run) }()
	select {
	case got := <-done:
		if strings.Contains(got, "LEAKCANARY") || !strings.Contains(got, redacted) {
			t.Error("the key after a run of backslashes was not redacted")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("redacting 400,000 backslashes took over 10 s")
	}
	if got := rd.redact("reply: " + canary + " again"); got != "reply: "+redacted+" again" {
		t.Errorf("plain text: %q", got)
	}
}

// BenchmarkRedact is the per-reply cost of redaction on a 2 KB reply
// of prose that holds the key's first byte often.
func BenchmarkRedact(b *testing.B) {
	rd := newRedactor(canary)
	reply := strings.Repeat("so the sky seems sunny & still; +1 says she, 100% sure. ", 36)
	b.SetBytes(int64(len(reply)))
	for b.Loop() {
		rd.redact(reply)
	}
}
