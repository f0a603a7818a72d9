package tokenizer

// pairHeap is a binary min-heap under less. Encoding long pieces and
// training both take the best candidate pair next, by different orders.
type pairHeap[T any] struct {
	items []T
	less  func(a, b T) bool
}

func (h *pairHeap[T]) len() int { return len(h.items) }

func (h *pairHeap[T]) push(x T) {
	h.items = append(h.items, x)
	for k := len(h.items) - 1; k > 0; {
		p := (k - 1) / 2
		if !h.less(h.items[k], h.items[p]) {
			break
		}
		h.items[k], h.items[p] = h.items[p], h.items[k]
		k = p
	}
}

func (h *pairHeap[T]) pop() T {
	top := h.items[0]
	last := len(h.items) - 1
	h.items[0] = h.items[last]
	h.items = h.items[:last]
	for k := 0; ; {
		l, r, s := 2*k+1, 2*k+2, k
		if l < len(h.items) && h.less(h.items[l], h.items[s]) {
			s = l
		}
		if r < len(h.items) && h.less(h.items[r], h.items[s]) {
			s = r
		}
		if s == k {
			break
		}
		h.items[k], h.items[s] = h.items[s], h.items[k]
		k = s
	}
	return top
}
