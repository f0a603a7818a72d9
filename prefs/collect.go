package prefs

import (
	"errors"
	"fmt"
	"strings"
)

// rowRec is all the audit keeps of one valid row (32 bytes): ids into the
// item and annotator tables, time, and the per-row indicators. Texts are
// never kept.
type rowRec struct {
	time   float64
	item   uint32
	ann    uint32
	line   uint32
	file   uint16
	label  int8  // +1 the item's lo response won, -1 hi won, 0 tie
	first  int8  // 1 the response shown first won, 0 it lost, -1 unknown or tie
	longer int8  // 1 the longer response won, 0 the shorter, -1 n/a
	belief int8  // 1 the response agreeing with the stated belief won, 0 lost, -1 n/a
	left   int8  // +1 the left (first shown, else A) response is lo, -1 it is hi
	drop   uint8 // dropReason bits
}

type dropReason uint8

const (
	dropDuplicate dropReason = 1 << iota
	dropContradiction
	dropCycle
	dropAnnotator
	dropTie
)

var dropNames = []struct {
	bit  dropReason
	name string
}{
	{dropDuplicate, "duplicate"}, {dropContradiction, "contradiction"}, {dropCycle, "cycle"},
	{dropAnnotator, "flagged_annotator"}, {dropTie, "tie"},
}

// itemRec is one distinct comparison: a normalized prompt with an unordered
// pair of normalized responses.
type itemRec struct {
	prompt   uint32
	hLo, hHi uint64
}

// collector accumulates parsed batches in file order.
type collector struct {
	files     []string
	formats   []Format
	fileRows  []int
	fileBad   []int
	maxErrors int

	rows     []rowRec
	items    []itemRec
	itemIdx  map[uint64]uint32
	prompts  map[uint64]uint32
	nPrompts int
	anns     []string
	annIdx   map[string]uint32
	exact    map[uint64]uint32
	norm     map[uint64]uint32

	invalid  []InvalidRow
	dups     []Duplicate
	nExact   int
	nNorm    int
	anyTime  bool
	allClock bool
	lastTime float64
}

// ErrTooManyErrors is returned (wrapped) when --max-errors is exceeded.
var ErrTooManyErrors = errors.New("too many invalid rows")

func newCollector(files []string, maxErrors int) *collector {
	return &collector{
		files: files, formats: make([]Format, len(files)), fileRows: make([]int, len(files)),
		fileBad: make([]int, len(files)), maxErrors: maxErrors,
		itemIdx: map[uint64]uint32{}, prompts: map[uint64]uint32{}, annIdx: map[string]uint32{},
		exact: map[uint64]uint32{}, norm: map[uint64]uint32{}, allClock: true,
	}
}

func (c *collector) add(pb *parsedBatch) error {
	if c.formats[pb.file] == "" {
		c.formats[pb.file] = pb.format
	}
	for i := range pb.rows {
		p := &pb.rows[i]
		if p.err != nil {
			c.invalid = append(c.invalid, InvalidRow{File: c.files[pb.file], Line: p.line, Error: p.err.Error()})
			c.fileBad[pb.file]++
			if c.maxErrors > 0 && len(c.invalid) >= c.maxErrors {
				return fmt.Errorf("%w: stopped at %s line %d after %d (--max-errors %d)", ErrTooManyErrors, c.files[pb.file], p.line, len(c.invalid), c.maxErrors)
			}
			continue
		}
		c.fileRows[pb.file]++
		idx := uint32(len(c.rows))
		r := rowRec{line: uint32(p.line), file: uint16(pb.file), first: -1, longer: -1, belief: -1}
		a, ok := c.annIdx[p.annotator]
		if !ok {
			a = uint32(len(c.anns))
			id := strings.Clone(p.annotator) // it points into a whole batch buffer
			c.anns = append(c.anns, id)
			c.annIdx[id] = a
		}
		r.ann = a
		pid, ok := c.prompts[p.prompt]
		if !ok {
			pid = uint32(c.nPrompts)
			c.prompts[p.prompt] = pid
			c.nPrompts++
		}
		it, ok := c.itemIdx[p.item]
		if !ok {
			it = uint32(len(c.items))
			lo, hi := p.hA, p.hB
			if lo > hi {
				lo, hi = hi, lo
			}
			c.items = append(c.items, itemRec{prompt: pid, hLo: lo, hHi: hi})
			c.itemIdx[p.item] = it
		}
		r.item = it
		aIsLo := p.hA <= p.hB
		switch p.winner {
		case WinnerTie:
			r.label = 0
		case WinnerA:
			r.label = sign(aIsLo)
		case WinnerB:
			r.label = -sign(aIsLo)
		}
		// left is the first-shown response when known, else A.
		leftIsA := p.shown != ShownBFirst
		r.left = sign(leftIsA == aIsLo)
		if p.winner != WinnerTie {
			aWon := p.winner == WinnerA
			if p.shown != ShownUnknown {
				r.first = b2i(aWon == (p.shown == ShownAFirst))
			}
			if p.longer >= 0 {
				r.longer = b2i(aWon == (p.longer == 0))
			}
			if p.belief >= 0 {
				r.belief = b2i(aWon == (p.belief == 0))
			}
		}
		if p.hasTime {
			r.time = p.time
			if !c.anyTime {
				// The untimed rows before the first time take it, not
				// the clock's zero (1970), which would stretch the axis.
				for i := range c.rows {
					c.rows[i].time = p.time
				}
			}
			c.anyTime = true
			c.allClock = c.allClock && p.clock
			c.lastTime = p.time
		} else {
			r.time = c.lastTime
		}
		if first, ok := c.exact[p.exact]; ok {
			r.drop |= uint8(dropDuplicate)
			c.nExact++
			c.dups = append(c.dups, c.dup(idx, r, first, "exact"))
		} else {
			c.exact[p.exact] = idx
			if first, ok := c.norm[p.norm]; ok {
				r.drop |= uint8(dropDuplicate)
				c.nNorm++
				c.dups = append(c.dups, c.dup(idx, r, first, "normalized"))
			} else {
				c.norm[p.norm] = idx
			}
		}
		c.rows = append(c.rows, r)
	}
	return nil
}

func (c *collector) dup(idx uint32, r rowRec, first uint32, kind string) Duplicate {
	f := c.rows[first]
	return Duplicate{File: c.files[r.file], Line: int(r.line), Kind: kind, FirstFile: c.files[f.file], FirstLine: int(f.line)}
}

func sign(b bool) int8 {
	if b {
		return 1
	}
	return -1
}

func b2i(b bool) int8 {
	if b {
		return 1
	}
	return 0
}

// finish fills times when the data had none (row order stands in) and
// frees the fingerprint maps, which only the scan needs.
func (c *collector) finish() {
	if !c.anyTime {
		for i := range c.rows {
			c.rows[i].time = float64(i)
		}
	}
	c.exact, c.norm, c.itemIdx, c.prompts = nil, nil, nil, nil
}
