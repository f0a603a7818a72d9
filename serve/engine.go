// Continuous batching: one scheduler goroutine owns the model and a KV cache
// with a fixed number of sequence slots. Each step it admits waiting
// sequences into free slots (their prompts are prefilled in the same pass
// as the running sequences' next tokens), samples one token per running
// sequence with that sequence's own Sampler, and frees the slots of
// sequences that finished, were stopped by their handler, or lost their
// client. Handlers talk to it only through submit and their event queue.

package serve

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tensor"
)

// Errors the engine finishes a sequence with.
var (
	errShutdown  = errors.New("server is shutting down")
	errQueueFull = errors.New("server is overloaded: too many requests waiting")
)

// echoChunk is how many prompt tokens one all-logits pass feeds when the
// prompt's own log-probs are wanted: the logits buffer holds echoChunk rows
// of the vocabulary, so memory stays bounded however long the prompt.
const echoChunk = 64

// seqRequest is one sequence to generate: one choice of one prompt.
type seqRequest struct {
	ctx    context.Context
	halt   atomic.Bool // set by the handler, e.g. when a stop string matched
	prompt []int32
	// maxNew is the most tokens to generate; 0 (echo only) just scores the
	// prompt.
	maxNew      int
	temperature float32
	topK        int
	topP        float32
	seed        int64
	stopTokens  []int32
	// logprobs asks for each sampled token's log-prob, topLogprobs for that
	// many alternatives besides; promptLogprobs for the prompt's tokens too.
	logprobs       bool
	topLogprobs    int
	promptLogprobs bool
	choice         int
	out            *eventQueue
}

// eventKind says what an event carries.
type eventKind uint8

const (
	evToken  eventKind = iota // one sampled token
	evPrompt                  // the prompt's log-probs (echo)
	evDone                    // the sequence ended: finish reason or error
)

// event is what the engine tells a handler about one of its sequences.
type event struct {
	kind    eventKind
	choice  int
	token   int32
	logprob float32
	top     []tokenLogprob
	prompt  []promptLogprob
	finish  string // "stop" or "length" for evDone without err
	err     error
}

// tokenLogprob is one token and its log-probability.
type tokenLogprob struct {
	token   int32
	logprob float32
}

// promptLogprob is the log-prob of one prompt token given the ones before
// it (none for the first) and the most likely alternatives at its position.
type promptLogprob struct {
	logprob float32
	has     bool
	top     []tokenLogprob
}

// eventQueue is an unbounded queue from the engine to one handler: pushing
// never blocks, so a slow client never stalls the batch.
type eventQueue struct {
	mu    sync.Mutex
	items []event
	ready chan struct{} // holds a token while items is non-empty
}

func newEventQueue() *eventQueue { return &eventQueue{ready: make(chan struct{}, 1)} }

func (q *eventQueue) push(ev event) {
	q.mu.Lock()
	q.items = append(q.items, ev)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// take appends every queued event to dst and empties the queue.
func (q *eventQueue) take(dst []event) []event {
	q.mu.Lock()
	dst = append(dst, q.items...)
	clear(q.items)
	q.items = q.items[:0]
	q.mu.Unlock()
	return dst
}

// slot is a running sequence.
type slot struct {
	req       *seqRequest
	sampler   *model.Sampler
	next      int32 // the token to feed at the next step
	generated int
}

// engineStats are running totals, read by tests and the load generator.
type engineStats struct {
	steps, tokens, prefillTokens atomic.Int64
	// running is the number of occupied slots after the last step;
	// maxActive the most ever.
	running, maxActive atomic.Int64
}

// engine is the scheduler. Only its goroutine touches the model, the cache
// and the slots.
type engine struct {
	m          *model.Model
	cache      *model.KVCache
	slots      []*slot
	maxPending int
	// prefillBudget bounds the prompt tokens admitted in one step, so that
	// a burst of long prompts delays the running sequences by a bounded
	// amount.
	prefillBudget int

	mu      sync.Mutex
	pending []*seqRequest
	closed  bool
	wake    chan struct{}
	quit    chan struct{}
	done    chan struct{}

	stats engineStats
	// stepHook, when set (tests only), runs at the start of every step.
	stepHook func()

	// Per-step scratch, reused.
	seqs   []int
	feeds  [][]int32
	rows   []*slot
	draws  []model.Sample
	tops   [][]tokenLogprob
	topBuf []tokenLogprob
	one    []int32
}

// newEngine starts the scheduler for m with batch slots of maxLen tokens.
func newEngine(m *model.Model, batch, maxLen, maxPending int, stepHook func()) *engine {
	e := &engine{
		m: m, cache: m.NewKVCache(batch, maxLen), slots: make([]*slot, batch),
		maxPending: maxPending, prefillBudget: max(512, maxLen),
		wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
		one: make([]int32, batch), stepHook: stepHook,
	}
	go e.run()
	return e
}

// submit queues sequences for admission, all or none.
func (e *engine) submit(reqs []*seqRequest) error {
	e.mu.Lock()
	switch {
	case e.closed:
		e.mu.Unlock()
		return errShutdown
	case len(e.pending)+len(reqs) > e.maxPending:
		e.mu.Unlock()
		return errQueueFull
	}
	e.pending = append(e.pending, reqs...)
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
	return nil
}

// close stops the scheduler: every running or waiting sequence ends with
// errShutdown. It waits for the goroutine to exit.
func (e *engine) close() {
	e.mu.Lock()
	if !e.closed {
		e.closed = true
		close(e.quit)
	}
	e.mu.Unlock()
	<-e.done
}

// active counts the running sequences (scheduler goroutine only).
func (e *engine) active() int {
	n := 0
	for _, s := range e.slots {
		if s != nil {
			n++
		}
	}
	return n
}

func (e *engine) run() {
	defer close(e.done)
	for {
		if e.active() == 0 {
			e.mu.Lock()
			idle := len(e.pending) == 0
			e.mu.Unlock()
			if idle {
				select {
				case <-e.wake:
				case <-e.quit:
				}
			}
		}
		select {
		case <-e.quit:
			e.abortAll()
			return
		default:
		}
		e.step()
	}
}

// abortAll ends every running and waiting sequence with errShutdown.
func (e *engine) abortAll() {
	for i, s := range e.slots {
		if s != nil {
			e.finish(i, "", errShutdown)
		}
	}
	e.mu.Lock()
	pending := e.pending
	e.pending = nil
	e.mu.Unlock()
	for _, r := range pending {
		r.out.push(event{kind: evDone, choice: r.choice, err: errShutdown})
	}
}

// finish ends the sequence in slot i and frees the slot.
func (e *engine) finish(i int, reason string, err error) {
	r := e.slots[i].req
	r.out.push(event{kind: evDone, choice: r.choice, finish: reason, err: err})
	e.slots[i] = nil
}

// gone reports why a sequence should stop before its next token: its
// client left, or its handler halted it (then no event is needed, but one
// is sent anyway so every sequence ends with exactly one evDone).
func gone(r *seqRequest) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	if r.halt.Load() {
		return errHalted
	}
	return nil
}

var errHalted = errors.New("sequence halted by its handler")

// step runs one scheduler iteration: reap, admit, one batched pass, sample.
func (e *engine) step() {
	if e.stepHook != nil {
		e.stepHook()
	}
	defer func() { e.stats.running.Store(int64(e.active())) }()
	for i, s := range e.slots {
		if s != nil {
			if err := gone(s.req); err != nil {
				e.finish(i, "", err)
			}
		}
	}
	e.seqs, e.feeds, e.rows = e.seqs[:0], e.feeds[:0], e.rows[:0]
	// Running sequences feed their newest token.
	for i, s := range e.slots {
		if s != nil {
			e.one[i] = s.next
			e.seqs = append(e.seqs, i)
			e.feeds = append(e.feeds, e.one[i:i+1])
			e.rows = append(e.rows, s)
		}
	}
	e.admit()
	// Published before any token is pushed, so a client that has read one
	// sees its sequence counted (the deferred store catches finishes).
	e.stats.running.Store(int64(e.active()))
	if len(e.seqs) == 0 {
		return
	}
	logits, err := e.m.Extend(e.cache, e.seqs, e.feeds, false)
	if err != nil {
		// Input is checked before admission, so this is a bug; end the
		// sequences rather than loop on it.
		for _, i := range e.seqs {
			e.finish(i, "", err)
		}
		return
	}
	e.stats.steps.Add(1)
	e.sampleRows(logits)
	if n := int64(e.active()); n > e.stats.maxActive.Load() {
		e.stats.maxActive.Store(n)
	}
}

// admit moves waiting sequences into free slots, up to the prefill budget.
// Sequences that want their prompt scored are prefilled here, alone;
// the others join this step's batched pass.
func (e *engine) admit() {
	budget := e.prefillBudget
	for i := range e.slots {
		if e.slots[i] != nil {
			continue
		}
		r := e.popPending(budget)
		for r != nil && gone(r) != nil {
			// Its client left while it waited.
			r.out.push(event{kind: evDone, choice: r.choice, err: gone(r)})
			r = e.popPending(budget)
		}
		if r == nil {
			return
		}
		budget -= len(r.prompt)
		e.cache.ResetSeq(i)
		s := &slot{req: r, sampler: model.NewSampler(r.seed)}
		e.slots[i] = s
		e.stats.prefillTokens.Add(int64(len(r.prompt)))
		if r.promptLogprobs {
			e.prefillEcho(i, s)
			continue
		}
		e.seqs = append(e.seqs, i)
		e.feeds = append(e.feeds, r.prompt)
		e.rows = append(e.rows, s)
	}
}

// popPending takes the oldest waiting sequence if its prompt fits the
// budget (the first of a step always fits, so long prompts are not starved).
func (e *engine) popPending(budget int) *seqRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.pending) == 0 {
		return nil
	}
	r := e.pending[0]
	if len(r.prompt) > budget && budget < e.prefillBudget {
		return nil
	}
	e.pending[0] = nil
	e.pending = e.pending[1:]
	if len(e.pending) == 0 {
		e.pending = nil // let the backing array go
	}
	return r
}

// prefillEcho feeds slot i's prompt in chunks, keeping every position's
// logits, reports the prompt's log-probs, then samples the first new token
// from the last position (or finishes when no new tokens are wanted).
func (e *engine) prefillEcho(i int, s *slot) {
	r := s.req
	V := e.m.Config.VocabSize
	lps := make([]promptLogprob, len(r.prompt))
	var last []float32
	for lo := 0; lo < len(r.prompt); lo += echoChunk {
		hi := min(lo+echoChunk, len(r.prompt))
		logits, err := e.m.Extend(e.cache, []int{i}, [][]int32{r.prompt[lo:hi]}, true)
		if err != nil {
			e.finish(i, "", err)
			return
		}
		// Row j predicts the token at position lo+j+1.
		tensor.Parallel(hi-lo, func(a, b int) {
			for j := a; j < b; j++ {
				p := lo + j + 1
				if p >= len(r.prompt) {
					continue
				}
				row := logits[j*V : (j+1)*V]
				lse := tensor.LogSumExp(row)
				lps[p] = promptLogprob{logprob: row[r.prompt[p]] - lse, has: true}
				if r.topLogprobs > 0 {
					lps[p].top = topLogprobs(row, lse, r.topLogprobs, nil)
				}
			}
		})
		last = logits[(hi-lo-1)*V : (hi-lo)*V]
	}
	r.out.push(event{kind: evPrompt, choice: r.choice, prompt: lps})
	if r.maxNew == 0 {
		e.finish(i, "length", nil)
		return
	}
	d := s.sampler.Sample(last, r.temperature, r.topK, r.topP)
	var top []tokenLogprob
	if r.topLogprobs > 0 {
		top = topLogprobs(last, last[d.Token]-d.LogProb, r.topLogprobs, nil)
	}
	e.accept(i, s, d, top)
}

// sampleRows draws the next token of every sequence fed this step, in
// parallel (each sequence has its own sampler), then records them in order.
func (e *engine) sampleRows(logits []float32) {
	V := e.m.Config.VocabSize
	n := len(e.rows)
	e.draws = slices.Grow(e.draws[:0], n)[:n]
	e.tops = slices.Grow(e.tops[:0], n)[:n]
	tensor.Parallel(n, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			r := e.rows[j].req
			row := logits[j*V : (j+1)*V]
			d := e.rows[j].sampler.Sample(row, r.temperature, r.topK, r.topP)
			e.draws[j] = d
			e.tops[j] = nil
			if r.topLogprobs > 0 {
				// Sample's LogProb is row[token] - log Z: recover log Z
				// rather than pass over the vocabulary again.
				e.tops[j] = topLogprobs(row, row[d.Token]-d.LogProb, r.topLogprobs, nil)
			}
		}
	})
	for j, s := range e.rows {
		e.accept(e.seqs[j], s, e.draws[j], e.tops[j])
	}
}

// accept reports a sampled token and decides whether its sequence goes on.
func (e *engine) accept(i int, s *slot, d model.Sample, top []tokenLogprob) {
	r := s.req
	s.generated++
	e.stats.tokens.Add(1)
	r.out.push(event{kind: evToken, choice: r.choice, token: d.Token, logprob: d.LogProb, top: top})
	switch {
	case slices.Contains(r.stopTokens, d.Token):
		e.finish(i, "stop", nil)
	case s.generated >= r.maxNew:
		e.finish(i, "length", nil)
	default:
		s.next = d.Token
	}
}

// topLogprobs returns the k most likely tokens of row (log Z = lse),
// most likely first, lowest id first on ties. It keeps a sorted list of k,
// so most tokens cost one comparison.
func topLogprobs(row []float32, lse float32, k int, dst []tokenLogprob) []tokenLogprob {
	k = min(k, len(row))
	top := dst[:0]
	for id, v := range row {
		if len(top) == k && v <= top[k-1].logprob {
			continue
		}
		j := len(top)
		if j < k {
			top = append(top, tokenLogprob{})
		} else {
			j = k - 1
		}
		for j > 0 && top[j-1].logprob < v {
			top[j] = top[j-1]
			j--
		}
		top[j] = tokenLogprob{token: int32(id), logprob: v}
	}
	for i := range top {
		top[i].logprob -= lse
	}
	return top
}
