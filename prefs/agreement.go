package prefs

// Agreement statistics over items with two or more labels. Labels are
// nominal with three values: the item's first response wins, the second
// wins, tie. Which response of a pair is "first" is arbitrary (items are
// unordered pairs, ordered by a hash that changes from run to run), so the
// chance agreement both statistics subtract counts the two win labels
// alike: their pooled share, half each. Taken as observed, the figures
// moved from run to run on the same file.

// labelCounts are the label counts of one item (index: label+1).
type labelCounts [3]int

// alphaAcc accumulates the coincidence matrix of nominal Krippendorff's
// alpha unit by unit.
type alphaAcc struct {
	o      [3][3]float64
	nc     [3]float64
	n      float64
	labels int
	units  int
}

func (a *alphaAcc) add(u labelCounts) {
	m := u[0] + u[1] + u[2]
	if m < 2 {
		return
	}
	for c := 0; c < 3; c++ {
		for k := 0; k < 3; k++ {
			pairs := float64(u[c] * u[k])
			if c == k {
				pairs = float64(u[c] * (u[c] - 1))
			}
			a.o[c][k] += pairs / float64(m-1)
		}
		a.nc[c] += float64(u[c])
	}
	a.n += float64(m)
	a.labels += m
	a.units++
}

// alpha is 1 - D_o/D_e; ok is false when it is undefined (no pairable
// labels, or a single category throughout).
func (a *alphaAcc) alpha() (float64, bool) {
	if a.n < 2 {
		return 0, false
	}
	var do, de float64
	nc := symmetric(a.nc)
	for c := 0; c < 3; c++ {
		for k := 0; k < 3; k++ {
			if c != k {
				do += a.o[c][k]
				de += nc[c] * nc[k]
			}
		}
	}
	if de == 0 {
		return 0, false
	}
	return 1 - (a.n-1)*do/de, true
}

// symmetric is label counts with the two win labels (indexes 0 and 2)
// given their mean, the tie count (index 1) as it is.
func symmetric(nc [3]float64) [3]float64 {
	w := (nc[0] + nc[2]) / 2
	return [3]float64{w, nc[1], w}
}

// krippendorff computes nominal Krippendorff's alpha from per-item label
// counts.
func krippendorff(units []labelCounts) (alpha float64, labels int, ok bool) {
	var acc alphaAcc
	for _, u := range units {
		acc.add(u)
	}
	alpha, ok = acc.alpha()
	return alpha, acc.labels, ok
}

// fleiss computes Fleiss' kappa allowing a varying number of raters per
// item (each item's agreement uses its own count).
func fleiss(units []labelCounts) (float64, bool) {
	var pbar, total float64
	var nc [3]float64
	items := 0
	for _, u := range units {
		m := u[0] + u[1] + u[2]
		if m < 2 {
			continue
		}
		var s float64
		for c := 0; c < 3; c++ {
			s += float64(u[c] * (u[c] - 1))
			nc[c] += float64(u[c])
		}
		pbar += s / float64(m*(m-1))
		total += float64(m)
		items++
	}
	if items == 0 {
		return 0, false
	}
	pbar /= float64(items)
	var pe float64
	nc = symmetric(nc)
	for c := 0; c < 3; c++ {
		p := nc[c] / total
		pe += p * p
	}
	if pe >= 1 {
		return 0, false
	}
	return (pbar - pe) / (1 - pe), true
}

// agreementStats fills Report.Agreement: overall and per time window.
func (a *auditor) agreementStats(byItem groups, windows int) Agreement {
	rows := a.c.rows
	var units []labelCounts
	for it := 0; it < len(a.c.items); it++ {
		g := byItem.of(it)
		if len(g) < 2 {
			continue
		}
		var u labelCounts
		for _, r := range g {
			u[rows[r].label+1]++
		}
		units = append(units, u)
	}
	ag := Agreement{Items: len(units)}
	if al, labels, ok := krippendorff(units); ok {
		ag.KrippendorffAlpha, ag.Labels = ptr(al), labels
	}
	if k, ok := fleiss(units); ok {
		ag.FleissKappa = ptr(k)
	}
	if windows <= 0 || len(units) == 0 {
		return ag
	}
	lo, hi := a.tmin, a.tmax
	width := (hi - lo) / float64(windows)
	if width <= 0 {
		return ag
	}
	win := func(t float64) int {
		w := int((t - lo) / width)
		return min(max(w, 0), windows-1)
	}
	// Each item's labels are split by the window they were given in;
	// an item contributes a unit to every window holding two or more of
	// its labels.
	accs := make([]alphaAcc, windows)
	type wl struct {
		w int
		u labelCounts
	}
	var parts []wl
	for it := 0; it < len(a.c.items); it++ {
		g := byItem.of(it)
		if len(g) < 2 {
			continue
		}
		parts = parts[:0]
		for _, r := range g {
			w := win(rows[r].time)
			j := 0
			for j < len(parts) && parts[j].w != w {
				j++
			}
			if j == len(parts) {
				parts = append(parts, wl{w: w})
			}
			parts[j].u[rows[r].label+1]++
		}
		for _, p := range parts {
			accs[p.w].add(p.u)
		}
	}
	for w := 0; w < windows; w++ {
		aw := AlphaWindow{Start: lo + float64(w)*width, End: lo + float64(w+1)*width, Items: accs[w].units, Labels: accs[w].labels}
		if al, ok := accs[w].alpha(); ok {
			aw.Alpha = ptr(al)
		}
		ag.Windows = append(ag.Windows, aw)
	}
	return ag
}

func ptr(f float64) *float64 { return &f }
