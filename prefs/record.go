package prefs

import "strings"

// Message is one turn of a conversation, as in TRL's conversational format.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Winner says which response of a comparison the annotator preferred.
type Winner int8

// Winner values. A is the first response column of the source (chosen in
// TRL-style data, model_a in Chatbot Arena, summaries[0] in
// summarize_from_feedback, human_ref_A in SHP).
const (
	WinnerA Winner = iota
	WinnerB
	WinnerTie
)

// Shown says which response was displayed first to the annotator, when the
// data records it.
type Shown int8

// Shown values.
const (
	ShownUnknown Shown = iota
	ShownAFirst
	ShownBFirst
)

// Comparison is one preference judgement, normalized from any source format.
// Prompt, A and B are plain text; the *Msgs fields keep the conversational
// structure when the source had one (used by the TRL export).
type Comparison struct {
	Prompt     string
	A, B       string
	PromptMsgs []Message
	AMsgs      []Message
	BMsgs      []Message

	Winner    Winner
	Shown     Shown
	Annotator string // "" when the source has none
	Time      float64
	HasTime   bool
	ClockTime bool // Time is Unix seconds (false: a batch number or other order)
}

// Chosen returns the preferred response and its messages (A for a tie).
func (c *Comparison) Chosen() (string, []Message) {
	if c.Winner == WinnerB {
		return c.B, c.BMsgs
	}
	return c.A, c.AMsgs
}

// Rejected returns the dispreferred response and its messages (B for a tie).
func (c *Comparison) Rejected() (string, []Message) {
	if c.Winner == WinnerB {
		return c.A, c.AMsgs
	}
	return c.B, c.BMsgs
}

// messagesText flattens a conversation into one string for hashing, length
// and belief detection: "role: content" lines.
func messagesText(ms []Message) string {
	if len(ms) == 1 {
		return ms[0].Content
	}
	var b strings.Builder
	for i, m := range ms {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(m.Role)
		b.WriteString(": ")
		b.WriteString(m.Content)
	}
	return b.String()
}
