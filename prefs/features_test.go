package prefs

import "testing"

func TestStatedBelief(t *testing.T) {
	cases := []struct{ prompt, want string }{
		{"What is 17 + 25? I think the answer is 41.", "41"},
		{"what is the capital of australia? i believe it's sydney!", "sydney"},
		{"Is 3.5 bigger than 3.25? I'm pretty sure that 3.25 is bigger. Right?", "bigger"},
		{"Are you sure? I think it is 12.5.", "12.5"},
		{"How do I bake bread?", ""},
		{"I think so.", ""},
		{"My guess is Paris, but tell me.", "paris"},
	}
	for _, c := range cases {
		if got := statedBelief(string(normalize(nil, c.prompt))); got != c.want {
			t.Errorf("statedBelief(%q) = %q, want %q", c.prompt, got, c.want)
		}
	}
}

func TestMentions(t *testing.T) {
	cases := []struct {
		text, phrase string
		want         bool
	}{
		{"the answer is 41.", "41", true},
		{"the answer is 141.", "41", false},
		{"the answer is 41.5", "41", false},
		{"sydney is not the capital", "sydney", true},
		{"sydneyside", "sydney", false},
	}
	for _, c := range cases {
		if got := mentions(c.text, c.phrase); got != c.want {
			t.Errorf("mentions(%q, %q) = %v", c.text, c.phrase, got)
		}
	}
}

func TestNormalize(t *testing.T) {
	if got := string(normalize(nil, "  Hello\n\tWORLD  Ünïcode  ")); got != "hello world ünïcode" {
		t.Errorf("normalize = %q", got)
	}
}
