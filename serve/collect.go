// The handler side of a request: it submits one sequence per choice, reads
// their events, turns tokens into text, applies stop strings (halting the
// sequence in the engine as soon as one matches), and holds back text that
// might still become a stop string or is an unfinished UTF-8 character, so
// a stream never shows what the final answer does not contain.

package serve

import (
	"bytes"
	"context"
	"slices"
	"unicode/utf8"
)

// choiceState is one choice's progress.
type choiceState struct {
	req  *seqRequest
	text []byte // generated text so far, cut at a matched stop string
	// starts[i] is where sampled token i's text begins in text; keep[i]
	// says whether it is reported (stop tokens and tokens after a matched
	// stop string are not).
	tokens   []int32
	lps      []float32
	tops     [][]tokenLogprob
	starts   []int
	keep     []bool
	prompt   []promptLogprob
	sent     int // bytes of text already streamed
	sentToks int // tokens whose log-probs were already streamed
	searched int // bytes of text already searched for stop strings
	finish   string
	done     bool
	err      error
}

// run is one request in flight: its choices and what ends them.
type run struct {
	s         *Server
	stopStrs  [][]byte
	stopToks  []int32
	maxStop   int
	choices   []*choiceState
	queue     *eventQueue
	remaining int
	buf       []event
}

// start submits one sequence per choice. The sequences live under ctx;
// the caller cancels it when the request ends, which frees any slot still
// held.
func (s *Server) start(ctx context.Context, seqs []*seqRequest, stopStrs []string, stopToks []int32) (*run, error) {
	ru := &run{s: s, stopToks: stopToks, queue: newEventQueue(), remaining: len(seqs)}
	for _, st := range stopStrs {
		ru.stopStrs = append(ru.stopStrs, []byte(st))
		ru.maxStop = max(ru.maxStop, len(st))
	}
	for i, r := range seqs {
		r.ctx, r.choice, r.out = ctx, i, ru.queue
		ru.choices = append(ru.choices, &choiceState{req: r})
	}
	if err := s.eng.submit(seqs); err != nil {
		return nil, err
	}
	return ru, nil
}

// wait blocks until events arrive, applies them, and reports the choices
// that changed; it returns ctx's error if the client went away first.
func (ru *run) wait(ctx context.Context) ([]int, error) {
	select {
	case <-ru.queue.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	ru.buf = ru.queue.take(ru.buf[:0])
	var changed []int
	for _, ev := range ru.buf {
		c := ru.choices[ev.choice]
		if c.done {
			continue
		}
		switch ev.kind {
		case evPrompt:
			c.prompt = ev.prompt
		case evToken:
			ru.addToken(c, ev)
		case evDone:
			c.finishWith(ev.finish, ev.err)
		}
		if c.done {
			ru.remaining--
		}
		if len(changed) == 0 || changed[len(changed)-1] != ev.choice {
			changed = append(changed, ev.choice)
		}
	}
	clear(ru.buf)
	return changed, nil
}

func (c *choiceState) finishWith(reason string, err error) {
	c.done, c.finish, c.err = true, reason, err
}

// addToken appends a sampled token's text and looks for stop strings in
// the newly reachable part of the text.
func (ru *run) addToken(c *choiceState, ev event) {
	c.tokens = append(c.tokens, ev.token)
	c.lps = append(c.lps, ev.logprob)
	c.tops = append(c.tops, ev.top)
	c.starts = append(c.starts, len(c.text))
	if slices.Contains(ru.stopToks, ev.token) {
		c.keep = append(c.keep, false) // the engine's evDone follows
		return
	}
	c.keep = append(c.keep, true)
	c.text = append(c.text, ru.s.pieceText(ev.token)...)
	if len(ru.stopStrs) == 0 {
		return
	}
	from := max(0, c.searched-ru.maxStop+1)
	cut := -1
	for _, st := range ru.stopStrs {
		if i := bytes.Index(c.text[from:], st); i >= 0 && (cut < 0 || from+i < cut) {
			cut = from + i
		}
	}
	c.searched = len(c.text)
	if cut < 0 {
		return
	}
	c.text = c.text[:cut]
	for i, st := range c.starts {
		if st >= cut {
			c.keep[i] = false
		}
	}
	c.req.halt.Store(true)
	c.finishWith("stop", nil)
}

// ready returns the end of the text that can be shown now: all of it once
// the choice is done, else all but a tail that could begin a stop string
// or is an unfinished UTF-8 sequence.
func (ru *run) ready(c *choiceState) int {
	if c.done {
		return len(c.text)
	}
	hold := incompleteUTF8(c.text)
	for _, st := range ru.stopStrs {
		for k := min(len(st)-1, len(c.text)); k > hold; k-- {
			if bytes.HasSuffix(c.text, st[:k]) {
				hold = k
				break
			}
		}
	}
	return len(c.text) - hold
}

// incompleteUTF8 is the length of a trailing UTF-8 sequence that more
// bytes could still complete.
func incompleteUTF8(b []byte) int {
	for k := 1; k <= min(3, len(b)); k++ {
		c := b[len(b)-k]
		if c < 0x80 {
			return 0 // ASCII: nothing pending
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(b[len(b)-k:]) {
				return k
			}
			return 0
		}
	}
	return 0
}

// kept lists the indices of the tokens reported for c among [from, to).
func (c *choiceState) kept(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		if c.keep[i] {
			out = append(out, i)
		}
	}
	return out
}

// streamable returns the reported tokens whose text is all within the
// first end bytes (every token once the choice is done) and that were not
// streamed yet, and marks them streamed.
func (c *choiceState) streamable(end int) []int {
	n := len(c.tokens)
	if !c.done {
		n = c.sentToks
		for n < len(c.tokens) && tokenEnd(c, n) <= end {
			n++
		}
	}
	out := c.kept(c.sentToks, n)
	c.sentToks = n
	return out
}

// tokenEnd is where token i's text ends in c.text.
func tokenEnd(c *choiceState, i int) int {
	if i+1 < len(c.starts) {
		return c.starts[i+1]
	}
	return len(c.text)
}
