package jsonscan

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestObjectAgreesWithEncodingJSON(t *testing.T) {
	cases := []string{
		`{}`, ` {"a":1} `, `{"a":"x\"y","b":[1,2,{"c":null}],"d":true}`,
		`{"a":-0.5e+3}`, `{"a":01}`, `{"a":1.}`, `{"a":"\u12"}`, `{"a":tru}`,
		`{"a":1,}`, `{"a" 1}`, `[1]`, `{"a":1}x`, `{"a":"` + "\x01" + `"}`,
		`{"a":[1,2}`, `{"a":"\q"}`, `{"a":"ok"`, ``, `{"a":1e}`, `{"a":-}`,
	}
	for _, c := range cases {
		_, err := Object([]byte(c), nil)
		var m map[string]any
		want := json.Unmarshal([]byte(c), &m) == nil
		if (err == nil) != want {
			t.Errorf("Object(%q) err=%v, encoding/json ok=%v", c, err, want)
		}
	}
}

func TestStringUnescapes(t *testing.T) {
	cases := []string{`"plain"`, `"a\nb\t\"q\"\\"`, `"\u00e9\ud83d\ude00"`, `"\ud800x"`, `"\/"`}
	for _, c := range cases {
		got, err := String([]byte(c))
		var want string
		if e := json.Unmarshal([]byte(c), &want); e != nil {
			t.Fatal(e)
		}
		if err != nil || got != want {
			t.Errorf("String(%s) = %q, %v; want %q", c, got, err, want)
		}
	}
}

func FuzzObject(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `{"a":[1,{"b":"\u00e9"}]}`, `{"x":1e5,"y":null}`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !utf8.Valid(b) {
			return // the readers reject invalid UTF-8 before scanning
		}
		fields, err := Object(b, nil)
		trimmed := bytes.TrimLeft(b, " \t\r\n")
		want := json.Valid(b) && len(trimmed) > 0 && trimmed[0] == '{'
		if (err == nil) != want {
			t.Fatalf("Object err=%v, encoding/json valid object=%v for %q", err, want, b)
		}
		for _, fl := range fields {
			if KindOf(fl.Value) == KindString {
				s, err := String(fl.Value)
				var w string
				if json.Unmarshal(fl.Value, &w) != nil || err != nil || s != w {
					t.Fatalf("String(%q)=%q,%v want %q", fl.Value, s, err, w)
				}
			}
		}
	})
}

func TestStringNoCopy(t *testing.T) {
	for _, c := range []string{`""`, `"plain"`, `"a\nb"`, `"\u00e9"`} {
		got, err := StringNoCopy([]byte(c))
		want, _ := String([]byte(c))
		if err != nil || got != want {
			t.Errorf("StringNoCopy(%s) = %q, %v; want %q", c, got, err, want)
		}
	}
}
