package tokenizer

// The BPE model: a vocabulary of byte sequences and merges by rank. A piece
// starts as one symbol per byte (per character for byte_fallback models:
// sentencepiece.go); the adjacent pair with the lowest merge rank
// (leftmost on ties) is merged until no pair has a merge. Short pieces use a
// scan over a small rank array, long ones a heap, and results are cached per
// piece.

import (
	"hash/maphash"
	"math"
	"strings"
	"sync/atomic"
)

// mergeVal is what merging a pair gives: its rank and the merged token's id.
type mergeVal struct{ rank, id int32 }

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

type bpeModel struct {
	vocab  []string         // id -> vocabulary string (byte-level form); "" where the id is not in the model
	raw    []string         // id -> the bytes the token stands for (in normalized text, for byte_fallback models)
	ids    map[string]int32 // vocabulary string -> id
	rawIDs map[string]int32 // bytes -> id (ignore_merges); vocabulary string -> id for byte_fallback models
	byteID [256]int32       // byte -> id of its one-byte token (ASCII character for byte_fallback models), -1 if absent

	// byteFallback models start from characters; a character outside the
	// vocabulary becomes the fallback tokens (<0xXX>) of its bytes.
	byteFallback bool
	fallback     [256]int32    // byte -> id of <0xXX>, -1 if absent
	splitMeta    bool          // words may merge apart, cut before "▁" (appendChars)
	metaBefore   map[rune]bool // runes some merged token has right before a "▁": no cut after them

	merges map[uint64]mergeVal
	// mergePairs lists the merges in rank order, for Merges and Save.
	mergePairs   [][2]int32
	ignoreMerges bool
	unk          int32 // -1 when none
	fuseUnk      bool
	cache        pieceCache
}

const noRank = math.MaxInt32

func (m *bpeModel) lookup(a, b int32) mergeVal {
	if v, ok := m.merges[pairKey(a, b)]; ok {
		return v
	}
	return mergeVal{noRank, -1}
}

// appendPiece appends the ids of one pre-tokenized piece (raw bytes).
func (m *bpeModel) appendPiece(dst []int32, p string) []int32 {
	if m.byteFallback {
		return m.appendChars(dst, p)
	}
	if len(p) == 1 {
		if id := m.byteID[p[0]]; id >= 0 {
			return append(dst, id)
		}
	}
	if m.ignoreMerges {
		if id, ok := m.rawIDs[p]; ok {
			return append(dst, id)
		}
	}
	if ids, ok := m.cache.get(p); ok {
		return append(dst, ids...)
	}
	var buf [64]int32
	syms := buf[:0]
	for i := 0; i < len(p); i++ {
		id := m.byteID[p[i]]
		if id < 0 {
			if m.unk < 0 || (m.fuseUnk && len(syms) > 0 && syms[len(syms)-1] == m.unk) {
				continue
			}
			id = m.unk
		}
		syms = append(syms, id)
	}
	if len(syms) <= len(buf) {
		syms = m.mergeShort(syms)
	} else {
		syms = m.mergeHeap(syms)
	}
	m.cache.put(p, syms)
	return append(dst, syms...)
}

// mergeShort merges at most 64 symbols in place.
func (m *bpeModel) mergeShort(syms []int32) []int32 {
	n := len(syms)
	if n < 2 {
		return syms
	}
	var pr [64]mergeVal
	for i := 0; i < n-1; i++ {
		pr[i] = m.lookup(syms[i], syms[i+1])
	}
	for {
		best, br := -1, int32(noRank)
		for i := 0; i < n-1; i++ {
			if pr[i].rank < br {
				best, br = i, pr[i].rank
			}
		}
		if best < 0 {
			return syms[:n]
		}
		syms[best] = pr[best].id
		copy(syms[best+1:n-1], syms[best+2:n])
		if best+2 < n-1 {
			copy(pr[best+1:n-2], pr[best+2:n-1])
		}
		n--
		if best > 0 {
			pr[best-1] = m.lookup(syms[best-1], syms[best])
		}
		if best < n-1 {
			pr[best] = m.lookup(syms[best], syms[best+1])
		}
	}
}

// heapEntry is a candidate merge of the symbol at left with its right neighbour.
type heapEntry struct {
	rank        int32
	left        int32 // index of the left symbol (its original position: order on ties)
	lid, rid    int32 // ids of the pair when pushed; stale when they changed
	mergedIntoI int32 // the merged id
}

func entryLess(a, b heapEntry) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.left < b.left)
}

// mergeHeap merges any number of symbols in O(n log n) with a linked list and
// a binary heap of candidate pairs, in the same order as mergeShort.
func (m *bpeModel) mergeHeap(syms []int32) []int32 {
	n := len(syms)
	next := make([]int32, n)
	prev := make([]int32, n)
	for i := range syms {
		next[i], prev[i] = int32(i+1), int32(i-1)
	}
	next[n-1] = -1
	h := pairHeap[heapEntry]{less: entryLess}
	candidate := func(i int32) {
		j := next[i]
		if j < 0 {
			return
		}
		if v := m.lookup(syms[i], syms[j]); v.rank != noRank {
			h.push(heapEntry{rank: v.rank, left: i, lid: syms[i], rid: syms[j], mergedIntoI: v.id})
		}
	}
	for i := int32(0); i < int32(n-1); i++ {
		candidate(i)
	}
	const dead = -2
	for h.len() > 0 {
		e := h.pop()
		i := e.left
		if prev[i] == dead || syms[i] != e.lid {
			continue
		}
		j := next[i]
		if j < 0 || syms[j] != e.rid {
			continue
		}
		syms[i] = e.mergedIntoI
		next[i] = next[j]
		if next[j] >= 0 {
			prev[next[j]] = i
		}
		prev[j] = dead
		if prev[i] >= 0 {
			candidate(prev[i])
		}
		candidate(i)
	}
	out := syms[:0]
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, syms[i])
	}
	return out
}

// pieceCache remembers the ids of recent pieces in a direct-mapped table of
// atomic pointers: lookups take no lock, so concurrent encoders never wait,
// and a colliding piece simply replaces the older one.
type pieceCache struct {
	seed  maphash.Seed
	slots [cacheSlots]atomic.Pointer[cacheEntry]
}

type cacheEntry struct {
	key string
	ids []int32
}

const (
	cacheSlots    = 1 << 14
	cacheMaxPiece = 256 // longer pieces rarely repeat
)

func (c *pieceCache) slot(s string) *atomic.Pointer[cacheEntry] {
	return &c.slots[maphash.String(c.seed, s)&(cacheSlots-1)]
}

func (c *pieceCache) get(s string) ([]int32, bool) {
	if len(s) > cacheMaxPiece {
		return nil, false
	}
	if e := c.slot(s).Load(); e != nil && e.key == s {
		return e.ids, true
	}
	return nil, false
}

func (c *pieceCache) put(s string, ids []int32) {
	if len(s) > cacheMaxPiece {
		return
	}
	// Clone: s points into the caller's text, which must not stay alive here.
	c.slot(s).Store(&cacheEntry{key: strings.Clone(s), ids: append([]int32(nil), ids...)})
}

// clear drops every cached piece (after the vocabulary or merges change).
func (c *pieceCache) clear() {
	for k := range c.slots {
		c.slots[k].Store(nil)
	}
}
