package prefs

import (
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// One row of each supported layout, as the public data sets ship them.
var formatSamples = []struct {
	name   string
	format Format
	line   string
	want   Comparison // Prompt, A, B, Winner, Shown, Annotator, HasTime checked
}{
	{"trl standard", FormatTRL,
		`{"prompt":"What is 2+2?","chosen":"4","rejected":"5","annotator":"w1","timestamp":"2024-01-02T03:04:05Z","order":"rejected"}`,
		Comparison{Prompt: "What is 2+2?", A: "4", B: "5", Winner: WinnerA, Shown: ShownBFirst, Annotator: "w1", HasTime: true}},
	{"trl conversational", FormatTRL,
		`{"prompt":[{"role":"user","content":"Hi?"}],"chosen":[{"role":"assistant","content":"Hello!"}],"rejected":[{"role":"assistant","content":"Go away."}]}`,
		Comparison{Prompt: "Hi?", A: "Hello!", B: "Go away.", Winner: WinnerA}},
	{"trl implicit prompt", FormatTRL,
		`{"chosen":"The sky is blue because of scattering.","rejected":"The sky is green."}`,
		Comparison{Prompt: "The sky is ", A: "blue because of scattering.", B: "green.", Winner: WinnerA}},
	{"trl implicit conversational", FormatTRL,
		`{"chosen":[{"role":"user","content":"Q"},{"role":"assistant","content":"good"}],"rejected":[{"role":"user","content":"Q"},{"role":"assistant","content":"bad"}]}`,
		Comparison{Prompt: "Q", A: "good", B: "bad", Winner: WinnerA}},
	{"hh-rlhf", FormatHH,
		`{"chosen":"\n\nHuman: How do I boil an egg?\n\nAssistant: Put it in boiling water for 8 minutes.","rejected":"\n\nHuman: How do I boil an egg?\n\nAssistant: I don't know."}`,
		Comparison{Prompt: "\n\nHuman: How do I boil an egg?\n\nAssistant:", A: " Put it in boiling water for 8 minutes.", B: " I don't know.", Winner: WinnerA}},
	{"summarize_from_feedback", FormatSummarize,
		`{"info":{"id":"t3_x","post":"My cat ate my homework.","title":"Cat problem","subreddit":"pets"},"summaries":[{"text":"Cat ate homework.","policy":"sup2","note":null},{"text":"A story.","policy":"ref","note":null}],"choice":1,"worker":"wk7","batch":"batch3","split":"train","extra":{"confidence":8}}`,
		Comparison{Prompt: "SUBREDDIT: pets\nTITLE: Cat problem\nPOST: My cat ate my homework.", A: "Cat ate homework.", B: "A story.", Winner: WinnerB, Annotator: "wk7", HasTime: true}},
	{"chatbot arena", FormatArena,
		`{"question_id":"q1","model_a":"m1","model_b":"m2","winner":"tie (bothbad)","judge":"arena_user_9","conversation_a":[{"role":"user","content":"Joke?"},{"role":"assistant","content":"Knock knock."}],"conversation_b":[{"role":"user","content":"Joke?"},{"role":"assistant","content":"No."}],"turn":1,"anony":true,"language":"English","tstamp":1682351591.1322}`,
		Comparison{Prompt: "Joke?", A: "Knock knock.", B: "No.", Winner: WinnerTie, Shown: ShownAFirst, Annotator: "arena_user_9", HasTime: true}},
	{"ultrafeedback binarized", FormatUltraFeedback,
		`{"prompt":"Name a colour.","prompt_id":"p1","chosen":[{"content":"Name a colour.","role":"user"},{"content":"Blue.","role":"assistant"}],"rejected":[{"content":"Name a colour.","role":"user"},{"content":"Seven.","role":"assistant"}],"messages":[],"score_chosen":8.0,"score_rejected":3.5}`,
		Comparison{Prompt: "Name a colour.", A: "Blue.", B: "Seven.", Winner: WinnerA}},
	{"stanford shp", FormatSHP,
		`{"post_id":"qt3nxl","domain":"askculinary_train","upvote_ratio":0.98,"history":"Best way to cut raspberries?","c_root_id_A":"hkh25sc","c_root_id_B":"hkh25lp","created_at_utc_A":1636822112,"created_at_utc_B":1636822110,"score_A":340,"score_B":166,"human_ref_A":"Pectinex!","human_ref_B":"Tweezers.","labels":1,"seconds_difference":2.0,"score_ratio":2.05}`,
		Comparison{Prompt: "Best way to cut raspberries?", A: "Pectinex!", B: "Tweezers.", Winner: WinnerA, HasTime: true}},
}

func TestDecodeEachFormat(t *testing.T) {
	for _, s := range formatSamples {
		t.Run(s.name, func(t *testing.T) {
			for _, f := range []Format{FormatAuto, s.format} {
				c, err := DecodeLine([]byte(s.line), f, Fields{})
				if err != nil {
					t.Fatalf("format %q: %v", f, err)
				}
				w := s.want
				if c.Prompt != w.Prompt || c.A != w.A || c.B != w.B || c.Winner != w.Winner || c.Shown != w.Shown ||
					c.Annotator != w.Annotator || c.HasTime != w.HasTime {
					t.Errorf("format %q: got %+v\nwant %+v", f, *c, w)
				}
			}
		})
	}
}

func TestFieldMapping(t *testing.T) {
	line := `{"q":"Why?","good":"Because.","bad":"No.","who":42,"when":"batch17","first":1}`
	c, err := DecodeLine([]byte(line), FormatTRL, Fields{Prompt: "q", Chosen: "good", Rejected: "bad", Annotator: "who", Time: "when", Order: "first"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Prompt != "Why?" || c.A != "Because." || c.Annotator != "42" || c.Time != 17 || c.ClockTime || c.Shown != ShownBFirst {
		t.Errorf("mapped fields: %+v", *c)
	}
}

// TestMalformedRows: every bad line is reported with its line number and
// every good line is kept, including after an over-long line.
func TestMalformedRows(t *testing.T) {
	good := `{"prompt":"p%d","chosen":"yes","rejected":"no"}`
	bad := []struct{ line, want string }{
		{`{"prompt":"p","chosen":"yes"`, "invalid JSON"},
		{`{"prompt":"p","chosen":"yes"}`, `missing field "rejected"`},
		{`{"prompt":"p","chosen":3,"rejected":"no"}`, `field "chosen": want a string`},
		{`{"prompt":"p","chosen":"  ","rejected":"no"}`, "empty response"},
		{"{\"prompt\":\"p\",\"chosen\":\"\xff\xfe\",\"rejected\":\"no\"}", "invalid UTF-8"},
		{`{"prompt":"p","chosen":"` + strings.Repeat("x", 5000) + `","rejected":"no"}`, "line too long"},
		{`[1,2,3]`, "expected a JSON object"},
		{`{"prompt":"p","chosen":"same","rejected":"same"}`, "identical"},
		{`{"prompt":"p","chosen":"yes","rejected":"no","timestamp":"NaN"}`, "not a finite number"},
		{`{"prompt":"p","chosen":"yes","rejected":"no","timestamp":"-Infinity"}`, "not a finite number"},
	}
	var b strings.Builder
	wantBad := map[int]string{}
	line, goodN := 0, 0
	for i := 0; i < 50; i++ {
		line++
		if i%5 == 2 && len(wantBad) < len(bad) {
			x := bad[len(wantBad)]
			wantBad[line] = x.want
			b.WriteString(x.line + "\n")
			continue
		}
		goodN++
		b.WriteString(strings.Replace(good, "%d", string(rune('a'+i%26))+strings.Repeat("z", i), 1) + "\n")
	}
	b.WriteString("\n") // a trailing blank line is not a row
	path := filepath.Join(t.TempDir(), "bad.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	au, err := Run(context.Background(), []string{path}, Options{MaxLineBytes: 1000, Format: FormatTRL})
	if err != nil {
		t.Fatal(err)
	}
	rep := au.Report
	if rep.Rows != goodN {
		t.Errorf("kept %d rows, want %d", rep.Rows, goodN)
	}
	if len(rep.Invalid) != len(wantBad) {
		t.Errorf("reported %d invalid rows, want %d: %+v", len(rep.Invalid), len(wantBad), rep.Invalid)
	}
	for _, v := range rep.Invalid {
		if w, ok := wantBad[v.Line]; !ok || !strings.Contains(v.Error, w) || v.File != path {
			t.Errorf("line %d: error %q, want one containing %q", v.Line, v.Error, w)
		}
	}
	// --max-errors stops early and still reports what it found.
	au, err = Run(context.Background(), []string{path}, Options{MaxLineBytes: 1000, MaxErrors: 2})
	if err == nil || au == nil || len(au.Report.Invalid) != 2 {
		t.Errorf("max-errors 2: err %v, report %+v", err, au)
	}
}

// TestUntimedFirstRow: a row without a timestamp before the first timed
// one takes that time, not the clock's zero (1970), so the time axis and
// its windows stay where the data is.
func TestUntimedFirstRow(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"prompt":"p0","chosen":"yes","rejected":"no","annotator":"w1"}` + "\n")
	t0 := 1_700_000_000
	for i := 1; i < 40; i++ {
		fmt.Fprintf(&b, `{"prompt":"p%d","chosen":"yes","rejected":"no","annotator":"w%d","timestamp":%d}`+"\n", i, i%3, t0+3600*i)
	}
	path := filepath.Join(t.TempDir(), "t.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	au, err := Run(context.Background(), []string{path}, Options{Format: FormatTRL})
	if err != nil {
		t.Fatal(err)
	}
	if tm := au.Report.Time; tm.Min != float64(t0+3600) || tm.Max != float64(t0+3600*39) || tm.Kind != "clock" {
		t.Fatalf("time axis %+v, want clock from %d to %d", tm, t0+3600, t0+3600*39)
	}
}

type pqMsg struct {
	Content string `parquet:"content"`
	Role    string `parquet:"role"`
}

type pqUltra struct {
	Prompt        string  `parquet:"prompt"`
	Chosen        []pqMsg `parquet:"chosen,list"`
	Rejected      []pqMsg `parquet:"rejected,list"`
	ScoreChosen   float64 `parquet:"score_chosen"`
	ScoreRejected float64 `parquet:"score_rejected"`
}

// TestGzipAndParquet reads the same comparisons from JSONL, gzip and a
// multi-row-group Parquet file (list columns as pyarrow writes them).
func TestGzipAndParquet(t *testing.T) {
	dir := t.TempDir()
	var rows []pqUltra
	var jsonl strings.Builder
	for i := 0; i < 300; i++ {
		p := "Question " + strings.Repeat("i", i%7) + string(rune('A'+i%26)) + "?"
		r := pqUltra{Prompt: p, ScoreChosen: 8, ScoreRejected: 2,
			Chosen:   []pqMsg{{p, "user"}, {"Good answer " + p, "assistant"}},
			Rejected: []pqMsg{{p, "user"}, {"Bad answer", "assistant"}}}
		rows = append(rows, r)
		jsonl.WriteString(`{"prompt":"` + p + `","chosen":[{"content":"` + p + `","role":"user"},{"content":"Good answer ` + p + `","role":"assistant"}],"rejected":[{"content":"` + p + `","role":"user"},{"content":"Bad answer","role":"assistant"}],"score_chosen":8,"score_rejected":2}` + "\n")
	}
	plain := filepath.Join(dir, "u.jsonl")
	os.WriteFile(plain, []byte(jsonl.String()), 0o644)
	gz := filepath.Join(dir, "u.jsonl.gz")
	f, _ := os.Create(gz)
	zw := gzip.NewWriter(f)
	zw.Write([]byte(jsonl.String()))
	zw.Close()
	f.Close()
	pq := filepath.Join(dir, "u.parquet")
	f, _ = os.Create(pq)
	w := parquet.NewGenericWriter[pqUltra](f, parquet.MaxRowsPerRowGroup(64))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var got [3][]string
	for i, p := range []string{plain, gz, pq} {
		err := Read(context.Background(), []string{p}, ReadOptions{}, func(file string, line int, c *Comparison, err error) error {
			if err != nil {
				t.Errorf("%s:%d: %v", file, line, err)
				return nil
			}
			got[i] = append(got[i], c.Prompt+"|"+c.A+"|"+c.B)
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	for i := 1; i < 3; i++ {
		if strings.Join(got[i], "\n") != strings.Join(got[0], "\n") {
			t.Errorf("source %d differs from plain JSONL: %d rows vs %d", i, len(got[i]), len(got[0]))
		}
	}
	if len(got[0]) != 300 || got[0][0] != "Question A?|Good answer Question A?|Bad answer" {
		t.Errorf("plain rows: %d, first %q", len(got[0]), got[0][0])
	}
}

func fuzzFormat(f *testing.F, format Format, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	for _, s := range formatSamples {
		if s.format == format {
			f.Add([]byte(s.line))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeLine(b, format, Fields{})
		if err != nil {
			return
		}
		if strings.TrimSpace(c.A) == "" || strings.TrimSpace(c.B) == "" || c.A == c.B {
			t.Fatalf("accepted a degenerate row: %+v", *c)
		}
		if c.Winner < WinnerA || c.Winner > WinnerTie {
			t.Fatalf("winner %d", c.Winner)
		}
	})
}

func FuzzReadTRL(f *testing.F) {
	fuzzFormat(f, FormatTRL, `{"prompt":"a","chosen":"b","rejected":"c"}`)
}
func FuzzReadHH(f *testing.F) {
	fuzzFormat(f, FormatHH, `{"chosen":"\n\nHuman: a\n\nAssistant: b","rejected":"\n\nHuman: a\n\nAssistant: c"}`)
}
func FuzzReadSummarize(f *testing.F) { fuzzFormat(f, FormatSummarize) }
func FuzzReadArena(f *testing.F)     { fuzzFormat(f, FormatArena) }
func FuzzReadUltraFeedback(f *testing.F) {
	fuzzFormat(f, FormatUltraFeedback)
}
func FuzzReadSHP(f *testing.F) { fuzzFormat(f, FormatSHP) }

// FuzzLineReader: whatever the bytes, the line reader returns every line
// (too long ones as errors) and never loses the line count.
func FuzzLineReader(f *testing.F) {
	f.Add([]byte("a\nbb\n\nccc"), 2)
	f.Add([]byte("xxxxxxxx\ny\n"), 3)
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		if max < 1 || max > 64 {
			return
		}
		path := filepath.Join(t.TempDir(), "f")
		os.WriteFile(path, b, 0o644)
		src, err := openSource(path, max)
		if err != nil {
			return // gzip or Parquet magic with a bad body
		}
		defer src.close()
		if _, ok := src.(*jsonlSource); !ok {
			return
		}
		want := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(b) == 0 {
			want = nil
		}
		for i := 0; ; i++ {
			rec, line, rowErr, err := src.next()
			if err != nil {
				if i != len(want) {
					t.Fatalf("%d lines, want %d", i, len(want))
				}
				return
			}
			if line != i+1 {
				t.Fatalf("line %d, want %d", line, i+1)
			}
			w := strings.TrimRight(want[i], "\r\n")
			if rowErr != nil {
				if len(want[i]) <= max {
					t.Fatalf("line %d (%d bytes) reported too long at max %d", line, len(want[i]), max)
				}
				continue
			}
			if string(rec) != w {
				t.Fatalf("line %d = %q, want %q", line, rec, w)
			}
		}
	})
}
