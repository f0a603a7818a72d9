package prefs

import "sort"

// groups is a compressed index of rows grouped by a key (item, prompt,
// annotator): rows of group g are idx[off[g]:off[g+1]], in row order.
type groups struct {
	off []uint32
	idx []uint32
}

func (g *groups) of(k int) []uint32 { return g.idx[g.off[k]:g.off[k+1]] }

func groupBy(n int, rows []rowRec, key func(*rowRec) int, keep func(*rowRec) bool) groups {
	off := make([]uint32, n+1)
	for i := range rows {
		if keep(&rows[i]) {
			off[key(&rows[i])+1]++
		}
	}
	for k := 0; k < n; k++ {
		off[k+1] += off[k]
	}
	idx := make([]uint32, off[n])
	fill := append([]uint32(nil), off[:n]...)
	for i := range rows {
		if keep(&rows[i]) {
			k := key(&rows[i])
			idx[fill[k]] = uint32(i)
			fill[k]++
		}
	}
	return groups{off: off, idx: idx}
}

func notDup(r *rowRec) bool { return r.drop&uint8(dropDuplicate) == 0 }

// findContradictions marks, within each item, an annotator's rows that
// prefer both sides: the minority side is dropped (all rows on a tie).
func (a *auditor) findContradictions(byItem groups) []Contradiction {
	var out []Contradiction
	rows := a.c.rows
	for it := 0; it < len(a.c.items); it++ {
		g := byItem.of(it)
		if len(g) < 2 {
			continue
		}
		// Sort a copy by annotator so that each annotator's labels are
		// adjacent; items rarely have more than a handful of rows.
		s := append([]uint32(nil), g...)
		sort.SliceStable(s, func(i, j int) bool { return rows[s[i]].ann < rows[s[j]].ann })
		for lo := 0; lo < len(s); {
			hi := lo
			for hi < len(s) && rows[s[hi]].ann == rows[s[lo]].ann {
				hi++
			}
			var pos, neg int
			for _, r := range s[lo:hi] {
				switch rows[r].label {
				case 1:
					pos++
				case -1:
					neg++
				}
			}
			if pos > 0 && neg > 0 {
				out = append(out, a.contradiction(s[lo:hi], pos, neg))
			}
			lo = hi
		}
	}
	return out
}

func (a *auditor) contradiction(rs []uint32, pos, neg int) Contradiction {
	rows := a.c.rows
	keep := int8(0)
	switch {
	case pos > neg:
		keep = 1
	case neg > pos:
		keep = -1
	}
	// "x" is the response the first row preferred, so that the listing
	// reads without exposing hash order.
	firstLabel := rows[rs[0]].label
	if firstLabel == 0 {
		for _, r := range rs {
			if rows[r].label != 0 {
				firstLabel = rows[r].label
				break
			}
		}
	}
	side := func(l int8) string {
		switch l {
		case 0:
			return "tie"
		case firstLabel:
			return "x"
		}
		return "y"
	}
	c := Contradiction{Annotator: a.c.anns[rows[rs[0]].ann], Kept: "none"}
	if keep != 0 {
		c.Kept = side(keep)
	}
	for _, r := range rs {
		row := &rows[r]
		c.Rows = append(c.Rows, LabelledRowRef{File: a.c.files[row.file], Line: int(row.line), Preferred: side(row.label)})
		if row.label != 0 && row.label != keep {
			row.drop |= uint8(dropContradiction)
		}
	}
	return c
}

// findCycles looks, within each prompt, for intransitive majority
// preferences among its responses: strongly connected components of three
// or more responses in the graph "x beats y by majority". One cycle is
// reported per component and its rows are dropped.
func (a *auditor) findCycles(byItem groups) []Cycle {
	rows := a.c.rows
	byPrompt := make([][]uint32, 0)
	// Items per prompt; most prompts have a single item and are skipped.
	count := make([]uint32, a.c.nPrompts)
	for _, it := range a.c.items {
		count[it.prompt]++
	}
	promptItems := map[uint32][]uint32{}
	for i, it := range a.c.items {
		if count[it.prompt] >= 3 {
			promptItems[it.prompt] = append(promptItems[it.prompt], uint32(i))
		}
	}
	keys := make([]uint32, 0, len(promptItems))
	for k := range promptItems {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, k := range keys {
		byPrompt = append(byPrompt, promptItems[k])
	}
	var out []Cycle
	for _, items := range byPrompt {
		node := map[uint64]int{}
		id := func(h uint64) int {
			if v, ok := node[h]; ok {
				return v
			}
			node[h] = len(node)
			return len(node) - 1
		}
		type edge struct {
			to   int
			item uint32
		}
		var adj [][]edge
		add := func(from, to int, item uint32) {
			for len(adj) <= max(from, to) {
				adj = append(adj, nil)
			}
			adj[from] = append(adj[from], edge{to, item})
		}
		for _, it := range items {
			net := 0
			for _, r := range byItem.of(int(it)) {
				if rows[r].drop&uint8(dropContradiction) == 0 {
					net += int(rows[r].label)
				}
			}
			lo, hi := id(a.c.items[it].hLo), id(a.c.items[it].hHi)
			switch {
			case net > 0:
				add(lo, hi, it)
			case net < 0:
				add(hi, lo, it)
			}
		}
		for _, comp := range tarjan(len(node), func(v int) []int {
			if v >= len(adj) {
				return nil
			}
			out := make([]int, len(adj[v]))
			for i, e := range adj[v] {
				out[i] = e.to
			}
			return out
		}) {
			if len(comp) < 3 {
				continue
			}
			in := map[int]bool{}
			for _, v := range comp {
				in[v] = true
			}
			// Walk inside the component until a node repeats: that closes
			// a cycle (every node of an SCC has an edge inside it).
			pos := map[int]int{}
			var path []int
			var via []uint32
			v := comp[0]
			for {
				if p, ok := pos[v]; ok {
					path, via = path[p:], via[p:]
					break
				}
				pos[v] = len(path)
				path = append(path, v)
				for _, e := range adj[v] {
					if in[e.to] {
						via = append(via, e.item)
						v = e.to
						break
					}
				}
			}
			cy := Cycle{Length: len(path)}
			for _, it := range via {
				for _, r := range byItem.of(int(it)) {
					row := &rows[r]
					if row.drop&uint8(dropContradiction) == 0 && row.drop&uint8(dropCycle) == 0 {
						row.drop |= uint8(dropCycle)
						cy.Rows = append(cy.Rows, RowRef{File: a.c.files[row.file], Line: int(row.line)})
					}
				}
			}
			out = append(out, cy)
		}
	}
	return out
}

// tarjan returns the strongly connected components of a graph on n nodes.
func tarjan(n int, succ func(int) []int) [][]int {
	index := make([]int, n)
	low := make([]int, n)
	on := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	var comps [][]int
	next := 0
	var visit func(v int)
	visit = func(v int) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		on[v] = true
		for _, w := range succ(v) {
			if index[w] < 0 {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if on[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var comp []int
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				on[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			comps = append(comps, comp)
		}
	}
	for v := 0; v < n; v++ {
		if index[v] < 0 {
			visit(v)
		}
	}
	return comps
}
