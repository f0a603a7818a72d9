package prefs

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/alignlab/alignlab/prefs/internal/jsonscan"
)

// Format names a source layout of preference data.
type Format string

// The formats the readers understand.
const (
	FormatAuto          Format = ""
	FormatTRL           Format = "trl"           // prompt/chosen/rejected: strings or message lists; implicit prompt when prompt is absent
	FormatHH            Format = "hh-rlhf"       // Anthropic HH-RLHF: chosen/rejected "\n\nHuman: ... \n\nAssistant: ..." transcripts
	FormatSummarize     Format = "summarize"     // OpenAI summarize_from_feedback comparisons: info, summaries, choice, worker, batch
	FormatArena         Format = "arena"         // Chatbot Arena: model_a/model_b, winner (ties), judge, tstamp, conversation_a/b
	FormatUltraFeedback Format = "ultrafeedback" // UltraFeedback binarized: prompt, chosen/rejected message lists, score_chosen/score_rejected
	FormatSHP           Format = "shp"           // Stanford SHP: history, human_ref_A/B, labels, created_at_utc_A/B
)

// Formats lists every format name accepted by ParseFormat.
var Formats = []Format{FormatTRL, FormatHH, FormatSummarize, FormatArena, FormatUltraFeedback, FormatSHP}

// ParseFormat checks a --format value ("auto" or "" means detect per file).
func ParseFormat(s string) (Format, error) {
	if s == "" || s == "auto" {
		return FormatAuto, nil
	}
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown format %q (want auto or one of %v)", s, Formats)
}

// Fields maps source columns onto the comparison; empty entries use the
// format's own names and, for annotator, time and order, a list of common
// names (see defaultAnnotatorKeys and friends).
type Fields struct {
	Prompt    string
	Chosen    string
	Rejected  string
	Annotator string
	Time      string
	// Order names the column that says which response was shown first:
	// "chosen"/"a"/"first"/"left"/0/true mean the chosen (A) response,
	// "rejected"/"b"/"second"/"right"/1/false the rejected (B) one.
	Order string
}

var (
	defaultAnnotatorKeys = []string{"annotator", "annotator_id", "worker", "worker_id", "labeler", "labeler_id", "rater", "rater_id", "judge"}
	defaultTimeKeys      = []string{"timestamp", "time", "tstamp", "created_at", "annotated_at", "date", "batch"}
	defaultOrderKeys     = []string{"order", "shown_first", "first_shown", "chosen_position", "position"}
)

const hhAssistant = "\n\nAssistant:"

// Detect guesses the format of one decoded object from its keys.
func Detect(fields []jsonscan.Field) Format {
	has := func(k string) bool { _, ok := jsonscan.Get(fields, k); return ok }
	switch {
	case has("model_a") && has("winner"):
		return FormatArena
	case has("summaries") && has("choice"):
		return FormatSummarize
	case has("human_ref_A") && has("human_ref_B"):
		return FormatSHP
	case has("score_chosen") && has("chosen"):
		return FormatUltraFeedback
	case has("chosen") && has("rejected") && !has("prompt"):
		if v, _ := jsonscan.Get(fields, "chosen"); bytes.HasPrefix(v, []byte(`"\n\nHuman:`)) {
			return FormatHH
		}
		return FormatTRL
	}
	return FormatTRL
}

// decoder turns one JSON object into a Comparison; it is stateless apart from
// scratch space and so is used one per worker. Its strings share the
// record's buffer (jsonscan.StringNoCopy): the scan never reuses a batch
// buffer, and the collector clones the few strings it keeps.
type decoder struct {
	format Format
	fields Fields
	elems  [][]byte
	sub    []jsonscan.Field
}

func (d *decoder) decode(fields []jsonscan.Field, c *Comparison) error {
	*c = Comparison{}
	var err error
	switch d.format {
	case FormatTRL, FormatUltraFeedback:
		err = d.trl(fields, c)
	case FormatHH:
		err = d.hh(fields, c)
	case FormatSummarize:
		err = d.summarize(fields, c)
	case FormatArena:
		err = d.arena(fields, c)
	case FormatSHP:
		err = d.shp(fields, c)
	default:
		err = fmt.Errorf("unknown format %q", d.format)
	}
	if err != nil {
		return err
	}
	if err := d.meta(fields, c); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(c.A) == "":
		return fmt.Errorf("empty response %s", d.nameA())
	case strings.TrimSpace(c.B) == "":
		return fmt.Errorf("empty response %s", d.nameB())
	case c.A == c.B:
		return fmt.Errorf("%s and %s are identical", d.nameA(), d.nameB())
	}
	return nil
}

func (d *decoder) nameA() string {
	switch d.format {
	case FormatArena:
		return "conversation_a"
	case FormatSummarize:
		return "summaries[0]"
	case FormatSHP:
		return "human_ref_A"
	}
	return strconv.Quote(or(d.fields.Chosen, "chosen"))
}

func (d *decoder) nameB() string {
	switch d.format {
	case FormatArena:
		return "conversation_b"
	case FormatSummarize:
		return "summaries[1]"
	case FormatSHP:
		return "human_ref_B"
	}
	return strconv.Quote(or(d.fields.Rejected, "rejected"))
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func require(fields []jsonscan.Field, key string) ([]byte, error) {
	v, ok := jsonscan.Get(fields, key)
	if !ok {
		return nil, fmt.Errorf("missing field %q", key)
	}
	return v, nil
}

func stringField(fields []jsonscan.Field, key string) (string, error) {
	v, err := require(fields, key)
	if err != nil {
		return "", err
	}
	if jsonscan.KindOf(v) != jsonscan.KindString {
		return "", fmt.Errorf("field %q: want a string, got %s", key, jsonscan.KindOf(v))
	}
	return jsonscan.StringNoCopy(v)
}

// text reads a field that is a string or a list of {role, content} messages.
func (d *decoder) text(fields []jsonscan.Field, key string) (string, []Message, error) {
	v, err := require(fields, key)
	if err != nil {
		return "", nil, err
	}
	switch jsonscan.KindOf(v) {
	case jsonscan.KindString:
		s, err := jsonscan.StringNoCopy(v)
		return s, nil, err
	case jsonscan.KindArray:
		ms, err := d.messages(v)
		if err != nil {
			return "", nil, fmt.Errorf("field %q: %w", key, err)
		}
		return "", ms, nil
	}
	return "", nil, fmt.Errorf("field %q: want a string or a list of messages, got %s", key, jsonscan.KindOf(v))
}

func (d *decoder) messages(v []byte) ([]Message, error) {
	elems, err := jsonscan.Array(v, d.elems[:0])
	d.elems = elems[:0]
	if err != nil {
		return nil, err
	}
	ms := make([]Message, 0, len(elems))
	for i, e := range elems {
		if jsonscan.KindOf(e) != jsonscan.KindObject {
			return nil, fmt.Errorf("message %d: want an object with role and content, got %s", i, jsonscan.KindOf(e))
		}
		sub, err := jsonscan.Object(e, d.sub[:0])
		d.sub = sub[:0]
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		role, err := stringField(sub, "role")
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		content, err := stringField(sub, "content")
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		ms = append(ms, Message{Role: role, Content: content})
	}
	return ms, nil
}

func (d *decoder) trl(fields []jsonscan.Field, c *Comparison) error {
	ck, rk, pk := or(d.fields.Chosen, "chosen"), or(d.fields.Rejected, "rejected"), or(d.fields.Prompt, "prompt")
	cs, cm, err := d.text(fields, ck)
	if err != nil {
		return err
	}
	rs, rm, err := d.text(fields, rk)
	if err != nil {
		return err
	}
	if (cm == nil) != (rm == nil) {
		return fmt.Errorf("fields %q and %q: one is a string, the other a list of messages", ck, rk)
	}
	c.Winner = WinnerA
	if _, ok := jsonscan.Get(fields, pk); !ok {
		// Implicit prompt: the shared beginning of both transcripts.
		if cm != nil {
			n := commonMessages(cm, rm)
			c.PromptMsgs, c.AMsgs, c.BMsgs = cm[:n], cm[n:], rm[n:]
			c.Prompt, c.A, c.B = messagesText(c.PromptMsgs), messagesText(c.AMsgs), messagesText(c.BMsgs)
			return nil
		}
		n := commonPrefix(cs, rs)
		c.Prompt, c.A, c.B = cs[:n], cs[n:], rs[n:]
		return nil
	}
	ps, pm, err := d.text(fields, pk)
	if err != nil {
		return err
	}
	if pm == nil && cm != nil {
		// UltraFeedback: a string prompt with full conversations as
		// chosen/rejected; the leading user turn repeats the prompt.
		pm = []Message{{Role: "user", Content: ps}}
	}
	if cm != nil {
		c.PromptMsgs = pm
		c.AMsgs, c.BMsgs = stripPrefix(cm, pm), stripPrefix(rm, pm)
		c.Prompt, c.A, c.B = messagesText(pm), messagesText(c.AMsgs), messagesText(c.BMsgs)
	} else {
		c.Prompt, c.A, c.B = ps, cs, rs
		if pm != nil {
			c.PromptMsgs, c.Prompt = pm, messagesText(pm)
			c.AMsgs = []Message{{Role: "assistant", Content: cs}}
			c.BMsgs = []Message{{Role: "assistant", Content: rs}}
		}
	}
	if d.format == FormatUltraFeedback {
		sc, okc := jsonscan.Get(fields, "score_chosen")
		sr, okr := jsonscan.Get(fields, "score_rejected")
		if okc && okr {
			a, err1 := jsonscan.Float(sc)
			b, err2 := jsonscan.Float(sr)
			if err1 != nil || err2 != nil {
				return fmt.Errorf("score_chosen/score_rejected: want numbers")
			}
			if a == b {
				c.Winner = WinnerTie
			}
		}
	}
	return nil
}

func commonMessages(a, b []Message) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func stripPrefix(ms, prefix []Message) []Message {
	if len(ms) > len(prefix) && commonMessages(ms, prefix) == len(prefix) {
		return ms[len(prefix):]
	}
	return ms
}

// commonPrefix is the length of the shared start of two transcripts, backed
// off to a word boundary so that a response does not start mid-word (as TRL's
// extract_prompt does).
func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	if n == len(a) || n == len(b) {
		return n
	}
	for n > 0 && !unicode.IsSpace(rune(a[n-1])) {
		n--
	}
	return n
}

func (d *decoder) hh(fields []jsonscan.Field, c *Comparison) error {
	ck, rk := or(d.fields.Chosen, "chosen"), or(d.fields.Rejected, "rejected")
	cs, err := stringField(fields, ck)
	if err != nil {
		return err
	}
	rs, err := stringField(fields, rk)
	if err != nil {
		return err
	}
	ic, ir := strings.LastIndex(cs, hhAssistant), strings.LastIndex(rs, hhAssistant)
	if ic < 0 || ir < 0 {
		return fmt.Errorf("field %q or %q: no %q turn", ck, rk, strings.TrimSpace(hhAssistant))
	}
	ic += len(hhAssistant)
	ir += len(hhAssistant)
	if cs[:ic] != rs[:ir] {
		// Transcripts that diverge before the last turn: fall back to the
		// shared prefix, like the implicit-prompt TRL format.
		ic = commonPrefix(cs, rs)
		ir = ic
	}
	c.Prompt, c.A, c.B = cs[:ic], cs[ic:], rs[ir:]
	c.Winner = WinnerA
	return nil
}

func (d *decoder) summarize(fields []jsonscan.Field, c *Comparison) error {
	info, err := require(fields, "info")
	if err != nil {
		return err
	}
	if jsonscan.KindOf(info) != jsonscan.KindObject {
		return fmt.Errorf("field \"info\": want an object, got %s", jsonscan.KindOf(info))
	}
	sub, err := jsonscan.Object(info, nil)
	if err != nil {
		return fmt.Errorf("field \"info\": %w", err)
	}
	var parts []string
	for _, k := range []string{"subreddit", "title", "post", "article"} {
		if v, ok := jsonscan.Get(sub, k); ok && jsonscan.KindOf(v) == jsonscan.KindString {
			s, _ := jsonscan.StringNoCopy(v)
			if s != "" {
				parts = append(parts, strings.ToUpper(k)+": "+s)
			}
		}
	}
	if len(parts) == 0 {
		return fmt.Errorf("field \"info\": no post, article or title")
	}
	c.Prompt = strings.Join(parts, "\n")
	sv, err := require(fields, "summaries")
	if err != nil {
		return err
	}
	if jsonscan.KindOf(sv) != jsonscan.KindArray {
		return fmt.Errorf("field \"summaries\": want a list, got %s", jsonscan.KindOf(sv))
	}
	elems, err := jsonscan.Array(sv, nil)
	if err != nil {
		return fmt.Errorf("field \"summaries\": %w", err)
	}
	if len(elems) != 2 {
		return fmt.Errorf("field \"summaries\": want 2 summaries, got %d", len(elems))
	}
	var texts [2]string
	for i, e := range elems {
		if jsonscan.KindOf(e) != jsonscan.KindObject {
			return fmt.Errorf("summaries[%d]: want an object, got %s", i, jsonscan.KindOf(e))
		}
		so, err := jsonscan.Object(e, nil)
		if err != nil {
			return fmt.Errorf("summaries[%d]: %w", i, err)
		}
		if texts[i], err = stringField(so, "text"); err != nil {
			return fmt.Errorf("summaries[%d]: %w", i, err)
		}
	}
	c.A, c.B = texts[0], texts[1]
	ch, err := require(fields, "choice")
	if err != nil {
		return err
	}
	switch string(ch) {
	case "0":
		c.Winner = WinnerA
	case "1":
		c.Winner = WinnerB
	default:
		return fmt.Errorf("field \"choice\": want 0 or 1, got %s", ch)
	}
	return nil
}

func (d *decoder) arena(fields []jsonscan.Field, c *Comparison) error {
	w, err := stringField(fields, "winner")
	if err != nil {
		return err
	}
	switch w {
	case "model_a":
		c.Winner = WinnerA
	case "model_b":
		c.Winner = WinnerB
	case "tie", "tie (bothbad)":
		c.Winner = WinnerTie
	default:
		return fmt.Errorf("field \"winner\": want model_a, model_b, tie or \"tie (bothbad)\", got %q", w)
	}
	var convs [2][]Message
	for i, k := range []string{"conversation_a", "conversation_b"} {
		_, ms, err := d.text(fields, k)
		if err != nil {
			return err
		}
		if ms == nil {
			return fmt.Errorf("field %q: want a list of messages", k)
		}
		convs[i] = ms
	}
	// The prompt is the opening user turn(s); everything after is the
	// model's side of the conversation.
	n := 0
	for n < len(convs[0]) && convs[0][n].Role == "user" {
		n++
	}
	if n == 0 {
		return fmt.Errorf("field \"conversation_a\": does not start with a user turn")
	}
	c.PromptMsgs = convs[0][:n]
	c.AMsgs = convs[0][n:]
	c.BMsgs = stripPrefix(convs[1], c.PromptMsgs)
	c.Prompt, c.A, c.B = messagesText(c.PromptMsgs), messagesText(c.AMsgs), messagesText(c.BMsgs)
	c.Shown = ShownAFirst // model_a is the left panel in the Arena UI
	return nil
}

func (d *decoder) shp(fields []jsonscan.Field, c *Comparison) error {
	var err error
	if c.Prompt, err = stringField(fields, or(d.fields.Prompt, "history")); err != nil {
		return err
	}
	if c.A, err = stringField(fields, "human_ref_A"); err != nil {
		return err
	}
	if c.B, err = stringField(fields, "human_ref_B"); err != nil {
		return err
	}
	l, err := require(fields, "labels")
	if err != nil {
		return err
	}
	switch string(l) {
	case "1", "true":
		c.Winner = WinnerA
	case "0", "false":
		c.Winner = WinnerB
	default:
		return fmt.Errorf("field \"labels\": want 0 or 1, got %s", l)
	}
	// SHP's time is when the later of the two comments was written.
	for _, k := range []string{"created_at_utc_A", "created_at_utc_B"} {
		if v, ok := jsonscan.Get(fields, k); ok && jsonscan.KindOf(v) == jsonscan.KindNumber {
			if t, err := jsonscan.Float(v); err == nil && (!c.HasTime || t > c.Time) {
				c.Time, c.HasTime, c.ClockTime = t, true, true
			}
		}
	}
	return nil
}

// meta fills annotator, time and display order from the mapped or
// conventional columns.
func (d *decoder) meta(fields []jsonscan.Field, c *Comparison) error {
	akeys, tkeys, okeys := defaultAnnotatorKeys, defaultTimeKeys, defaultOrderKeys
	if d.fields.Annotator != "" {
		akeys = []string{d.fields.Annotator}
	}
	if d.fields.Time != "" {
		tkeys = []string{d.fields.Time}
	}
	if d.fields.Order != "" {
		okeys = []string{d.fields.Order}
	}
	for _, k := range akeys {
		if v, ok := jsonscan.Get(fields, k); ok {
			switch jsonscan.KindOf(v) {
			case jsonscan.KindString:
				c.Annotator, _ = jsonscan.StringNoCopy(v)
			case jsonscan.KindNumber:
				c.Annotator = string(v)
			case jsonscan.KindNull:
			default:
				return fmt.Errorf("field %q: want a string or number annotator id, got %s", k, jsonscan.KindOf(v))
			}
			break
		}
	}
	for _, k := range tkeys {
		if v, ok := jsonscan.Get(fields, k); ok {
			if jsonscan.KindOf(v) == jsonscan.KindNull {
				break
			}
			t, clock, err := parseTime(v)
			if err != nil {
				return fmt.Errorf("field %q: %w", k, err)
			}
			c.Time, c.HasTime, c.ClockTime = t, true, clock
			break
		}
	}
	for _, k := range okeys {
		if v, ok := jsonscan.Get(fields, k); ok {
			s, err := parseOrder(v)
			if err != nil {
				return fmt.Errorf("field %q: %w", k, err)
			}
			if s != ShownUnknown {
				c.Shown = s
			}
			break
		}
	}
	return nil
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04:05Z07:00", "2006-01-02"}

// parseTime accepts Unix seconds or milliseconds, RFC 3339 and common date
// layouts (clock time), or an order such as a batch name "batch12" (not
// clock time: its trailing number orders the rows).
func parseTime(v []byte) (t float64, clock bool, err error) {
	switch jsonscan.KindOf(v) {
	case jsonscan.KindNumber:
		f, err := jsonscan.Float(v)
		if err != nil {
			return 0, false, err
		}
		return unixish(f)
	case jsonscan.KindString:
		s, _ := jsonscan.StringNoCopy(v)
		s = strings.TrimSpace(s)
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return unixish(f)
		}
		for _, l := range timeLayouts {
			if tt, err := time.Parse(l, s); err == nil {
				return float64(tt.UnixNano()) / 1e9, true, nil
			}
		}
		// "batch12", "round 3": order by the trailing number.
		j := len(s)
		for j > 0 && s[j-1] >= '0' && s[j-1] <= '9' {
			j--
		}
		if j < len(s) {
			f, err := strconv.ParseFloat(s[j:], 64)
			if err == nil {
				return f, false, nil
			}
		}
		return 0, false, fmt.Errorf("cannot read %q as a time (want Unix seconds, RFC 3339, or a name ending in a number)", s)
	}
	return 0, false, fmt.Errorf("want a time, got %s", jsonscan.KindOf(v))
}

func unixish(f float64) (float64, bool, error) {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return 0, false, fmt.Errorf("time %g is not a finite number", f)
	case f > 1e14: // microseconds
		return f / 1e6, true, nil
	case f > 1e11: // milliseconds
		return f / 1e3, true, nil
	case f > 1e8: // seconds since 1973
		return f, true, nil
	}
	return f, false, nil // a small number: an order, not a clock
}

func parseOrder(v []byte) (Shown, error) {
	switch jsonscan.KindOf(v) {
	case jsonscan.KindNull:
		return ShownUnknown, nil
	case jsonscan.KindBool:
		if string(v) == "true" {
			return ShownAFirst, nil
		}
		return ShownBFirst, nil
	case jsonscan.KindNumber:
		switch string(v) {
		case "0":
			return ShownAFirst, nil
		case "1":
			return ShownBFirst, nil
		}
	case jsonscan.KindString:
		s, _ := jsonscan.StringNoCopy(v)
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "chosen", "a", "first", "left", "0", "model_a":
			return ShownAFirst, nil
		case "rejected", "b", "second", "right", "1", "model_b":
			return ShownBFirst, nil
		case "", "unknown":
			return ShownUnknown, nil
		}
	}
	return ShownUnknown, fmt.Errorf("cannot read %s as the response shown first (want chosen/rejected, a/b, 0/1)", v)
}
