package audit

// Evaluate runs one probe in memory, for programs that embed the harness
// (the lab) rather than audit a served model: no store, no resume, no
// gate. Against a target that answers batches (target.Batcher) it runs
// every task in lockstep, so that a local model generates for all tasks at
// once instead of one request at a time.

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"

	"github.com/alignlab/alignlab/target"
)

// Evaluate builds probe's tasks from o, runs them against tg (a task's own
// Target overrides it) with base parameters params, scores them and
// analyzes the results. The report is not gated (no policy applies); its
// Details carry the estimand. Results are returned in task order.
//
// Every task runs in its own goroutine; a request waits until every
// unfinished task is waiting too, and the waiting requests then go out
// together, grouped by target and parameters, in task order: one
// ChatBatch (or AnswerLogProbs) call per group where the target offers it,
// else one call per request. Each request keeps its task's seed, so the
// outcome is the one Runner would give, and it does not depend on how the
// goroutines are scheduled.
func Evaluate(ctx context.Context, probe string, o Options, tg target.Target, params target.Params) (*Report, []Result, error) {
	p, err := ProbeByName(probe)
	if err != nil {
		return nil, nil, err
	}
	tasks, err := p.Tasks(ctx, &o)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", probe, err)
	}
	// No tasks is the probe's to judge: reward hacking from a metric log
	// asks nothing.
	ls := &lockstep{live: len(tasks)}
	results := make([]Result, len(tasks))
	errs := make([]error, len(tasks))
	var wg sync.WaitGroup
	for i, t := range tasks {
		inner := t.Target
		if inner == nil {
			inner = tg
		}
		if inner == nil {
			return nil, nil, fmt.Errorf("%s: task %s has no target", probe, t.ID)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer ls.finish()
			res, err := runTask(ctx, t, ls.lane(i, inner), params, o.Seed)
			if err != nil {
				errs[i] = err
				return
			}
			results[i] = *res
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", probe, err)
	}
	rep, err := p.Analyze(results, &o)
	if err != nil {
		return nil, results, fmt.Errorf("%s: %w", probe, err)
	}
	if rep.Details == nil {
		rep.Details = map[string]any{}
	}
	rep.Details["estimand"] = p.Estimand()
	return rep, results, nil
}

// lockstep gathers the requests of concurrently running tasks and sends
// them out together once every unfinished task is waiting.
type lockstep struct {
	mu      sync.Mutex
	live    int // tasks not finished
	pending []*call
}

// call is one task's waiting request: a chat or an answer to score.
type call struct {
	task  int
	tg    target.Target
	req   target.Request // chat
	score *target.AnswerRequest
	resp  *target.Response
	lp    float64
	ntok  int
	err   error
	done  chan struct{}
}

// lane returns the target task i talks to: it forwards to inner through
// the lockstep, and offers log-probabilities only when inner does.
func (ls *lockstep) lane(i int, inner target.Target) target.Target {
	l := &laneTarget{ls: ls, task: i, inner: inner}
	if _, ok := inner.(target.LogProber); ok {
		return &laneLogProber{l}
	}
	return l
}

// wait queues c and blocks until it is answered.
func (ls *lockstep) wait(ctx context.Context, c *call) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.done = make(chan struct{})
	ls.mu.Lock()
	ls.pending = append(ls.pending, c)
	batch := ls.takeIfAllWaiting()
	ls.mu.Unlock()
	if batch != nil {
		dispatch(ctx, batch)
	}
	<-c.done
	return c.err
}

// finish marks a task done; the others may now all be waiting.
func (ls *lockstep) finish() {
	ls.mu.Lock()
	ls.live--
	batch := ls.takeIfAllWaiting()
	ls.mu.Unlock()
	if batch != nil {
		dispatch(context.Background(), batch)
	}
}

// takeIfAllWaiting returns the pending calls when every live task has one
// (ls.mu held).
func (ls *lockstep) takeIfAllWaiting() []*call {
	if ls.live == 0 || len(ls.pending) < ls.live {
		return nil
	}
	b := ls.pending
	ls.pending = nil
	return b
}

// groupKey says which calls may share a batch: the same target and the
// same parameters but for the seed.
type groupKey struct {
	tg    target.Target
	score bool
	p     string
}

// dispatch answers calls, batched per group, in task order, and releases
// their tasks.
func dispatch(ctx context.Context, calls []*call) {
	sort.Slice(calls, func(i, j int) bool { return calls[i].task < calls[j].task })
	var keys []groupKey
	groups := map[groupKey][]*call{}
	for _, c := range calls {
		k := groupKey{tg: c.tg, score: c.score != nil}
		if c.score == nil {
			p := c.req.Params
			p.Seed, p.HasSeed = 0, false
			k.p = fmt.Sprintf("%+v", p)
		}
		if !hashable(c.tg) {
			// Cannot be a map key: the call goes alone.
			k.tg, k.p = nil, k.p+fmt.Sprintf("/task%d", c.task)
		}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], c)
	}
	for _, k := range keys {
		g := groups[k]
		if k.score {
			scoreGroup(ctx, g)
		} else {
			chatGroup(ctx, g)
		}
		for _, c := range g {
			close(c.done)
		}
	}
}

// hashable reports whether t can be a map key (pointer targets can).
func hashable(t target.Target) bool { return reflect.TypeOf(t).Comparable() }

func chatGroup(ctx context.Context, g []*call) {
	if b, ok := g[0].tg.(target.Batcher); ok && hashable(g[0].tg) && len(g) > 1 {
		reqs := make([]target.Request, len(g))
		for i, c := range g {
			reqs[i] = c.req
		}
		resps, err := b.ChatBatch(ctx, reqs)
		if err == nil && len(resps) != len(g) {
			err = fmt.Errorf("target %s answered %d of %d batched requests", g[0].tg.Name(), len(resps), len(g))
		}
		for i, c := range g {
			if err != nil {
				c.err = err
			} else {
				c.resp = resps[i]
			}
		}
		return
	}
	for _, c := range g {
		c.resp, c.err = c.tg.Chat(ctx, c.req)
	}
}

func scoreGroup(ctx context.Context, g []*call) {
	if b, ok := g[0].tg.(target.BatchLogProber); ok && hashable(g[0].tg) && len(g) > 1 {
		reqs := make([]target.AnswerRequest, len(g))
		for i, c := range g {
			reqs[i] = *c.score
		}
		lps, ns, err := b.AnswerLogProbs(ctx, reqs)
		if err == nil && (len(lps) != len(g) || len(ns) != len(g)) {
			err = fmt.Errorf("target %s scored %d of %d batched answers", g[0].tg.Name(), len(lps), len(g))
		}
		for i, c := range g {
			if err != nil {
				c.err = err
			} else {
				c.lp, c.ntok = lps[i], ns[i]
			}
		}
		return
	}
	for _, c := range g {
		c.lp, c.ntok, c.err = c.tg.(target.LogProber).AnswerLogProb(ctx, c.score.Messages, c.score.Answer)
	}
}

// laneTarget is one task's view of its target under lockstep.
type laneTarget struct {
	ls    *lockstep
	task  int
	inner target.Target
}

func (l *laneTarget) Name() string { return l.inner.Name() }

func (l *laneTarget) Chat(ctx context.Context, req target.Request) (*target.Response, error) {
	c := &call{task: l.task, tg: l.inner, req: req}
	c.req.Messages = slices.Clone(req.Messages)
	if err := l.ls.wait(ctx, c); err != nil {
		return nil, err
	}
	return c.resp, nil
}

// laneLogProber is a laneTarget whose target scores answers.
type laneLogProber struct{ *laneTarget }

func (l *laneLogProber) AnswerLogProb(ctx context.Context, msgs []target.Message, answer string) (float64, int, error) {
	c := &call{task: l.task, tg: l.inner, score: &target.AnswerRequest{Messages: slices.Clone(msgs), Answer: answer}}
	if err := l.ls.wait(ctx, c); err != nil {
		return 0, 0, err
	}
	return c.lp, c.ntok, nil
}
