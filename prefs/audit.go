package prefs

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/alignlab/alignlab/internal/procstat"
)

// Options configure an audit. The zero value of each threshold means its
// default (in parentheses).
type Options struct {
	Format       Format // FormatAuto detects per file
	Fields       Fields
	MaxErrors    int // stop after this many invalid rows (0: never)
	MaxLineBytes int // (DefaultMaxLineBytes)
	Workers      int // parse workers (GOMAXPROCS)

	Alpha        float64 // family-wise error rate per flag, Holm-adjusted across annotators (0.05)
	MinEffect    float64 // a bias rate must differ from 0.5 by at least this much (0.1)
	SpammerBelow float64 // spammer: the 95% upper bound of agreement with consensus is below this (0.6)
	MinDrift     float64 // drift: agreement before and after the change differ by at least this (0.1)
	MinRows      int     // fewest rows for a test to count towards a flag (20)
	Windows      int     // time windows for Krippendorff's alpha (10)
	Permutations int     // most permutations per drift test (0: 2*annotators/Alpha, at least 999)
	Seed         uint64

	// Progress, when set, is called now and then with a short status line.
	Progress func(string)
}

func (o *Options) defaults() {
	def := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	def(&o.Alpha, 0.05)
	def(&o.MinEffect, 0.1)
	def(&o.SpammerBelow, 0.6)
	def(&o.MinDrift, 0.1)
	if o.MinRows == 0 {
		o.MinRows = 20
	}
	if o.Windows == 0 {
		o.Windows = 10
	}
	if o.MaxLineBytes == 0 {
		o.MaxLineBytes = DefaultMaxLineBytes
	}
	if o.Workers == 0 {
		o.Workers = workers()
	}
}

// Audit is a finished audit: its Report, and what ExportClean needs to
// write the cleaned data set (which rows to drop and why).
type Audit struct {
	Report *Report
	files  []string
	opts   Options
	c      *collector
}

// auditor holds the working state of the analysis.
type auditor struct {
	c          *collector
	opts       Options
	weights    []float64
	tmin, tmax float64
}

// Run reads files, validates every row and runs every check. A fatal read
// error, or more than MaxErrors invalid rows, returns an error; in the
// second case the returned Audit still lists the invalid rows found.
func Run(ctx context.Context, files []string, opts Options) (*Audit, error) {
	start, cpu0 := time.Now(), procstat.CPUTime().Seconds()
	opts.defaults()
	if len(files) == 0 {
		return nil, errors.New("no input files")
	}
	if len(files) > math.MaxUint16 {
		return nil, fmt.Errorf("%d input files: at most %d", len(files), math.MaxUint16)
	}
	c := newCollector(files, opts.MaxErrors)
	cfg := scanConfig{files: files, format: opts.Format, fields: opts.Fields, maxLine: opts.MaxLineBytes,
		workers: opts.Workers, seed: maphash.MakeSeed()}
	if opts.Progress != nil {
		cfg.onProgress = func(f, line int) { opts.Progress(fmt.Sprintf("read %s: %d lines", files[f], line)) }
	}
	err := scan(ctx, cfg, c.add)
	au := &Audit{files: files, opts: opts, c: c}
	if err != nil {
		if errors.Is(err, ErrTooManyErrors) {
			au.Report = &Report{Files: c.fileSummaries(), Rows: len(c.rows), Invalid: c.invalid,
				Counts: Counts{Invalid: len(c.invalid)}, Seconds: time.Since(start).Seconds()}
			return au, err
		}
		return nil, err
	}
	c.finish()
	if opts.Progress != nil {
		opts.Progress(fmt.Sprintf("read %d rows (%d invalid) in %.2f s, %.2f CPU-s; analysing",
			len(c.rows), len(c.invalid), time.Since(start).Seconds(), procstat.CPUTime().Seconds()-cpu0))
	}
	a := &auditor{c: c, opts: opts}
	au.Report = a.analyse()
	au.Report.Seconds = time.Since(start).Seconds()
	return au, nil
}

func (c *collector) fileSummaries() []FileSummary {
	out := make([]FileSummary, len(c.files))
	for i, f := range c.files {
		format := c.formats[i]
		if format == "" {
			format = "none" // no records to detect it from
		}
		out[i] = FileSummary{Path: f, Format: format, Rows: c.fileRows[i], Invalid: c.fileBad[i]}
	}
	return out
}

func (a *auditor) analyse() *Report {
	c, o := a.c, a.opts
	rows := c.rows
	rep := &Report{
		Files: c.fileSummaries(), Rows: len(rows), Invalid: c.invalid, Duplicates: c.dups,
	}
	a.timeAxis(rep)
	byItem := groupBy(len(c.items), rows, func(r *rowRec) int { return int(r.item) }, notDup)
	lap := a.stopwatch()
	rep.Contradictions = a.findContradictions(byItem)
	rep.Cycles = a.findCycles(byItem)
	lap("contradictions and cycles")
	agree := a.consensus(byItem)
	lap("consensus")
	fit := a.fitNBT(byItem)
	lap(fmt.Sprintf("noisy bradley-terry (%d iterations)", fit.iters))
	rep.Agreement = a.agreementStats(byItem, o.Windows)
	lap("agreement")

	// Items with two or more labels make skill identifiable.
	multi := make([]bool, len(c.items))
	for it := range c.items {
		multi[it] = len(byItem.of(it)) >= 2
	}
	byAnn := groupBy(len(c.anns), rows, func(r *rowRec) int { return int(r.ann) }, notDup)
	nAnn := len(c.anns)
	anns := make([]Annotator, nAnn)
	perms := o.Permutations
	if perms <= 0 {
		// Enough to resolve Holm's smallest threshold, within reason:
		// beyond the cap the Kolmogorov shortcut carries tiny p-values.
		perms = min(20000, max(999, int(math.Ceil(2*float64(nAnn)/o.Alpha))))
	}
	cps := make([]changePoint, nAnn)
	order := timeOrder(rows)
	lap("time order")
	streams := make([]stream, nAnn)
	for _, r := range order {
		if g := agree[r]; g >= 0 && notDup(&rows[r]) {
			s := &streams[rows[r].ann]
			s.x = append(s.x, uint8(g))
			s.t = append(s.t, rows[r].time)
		}
	}
	parallelTasks(nAnn, func(an int) {
		if len(streams[an].x) < o.MinRows {
			cps[an] = changePoint{p: 1, method: "none"} // too short to flag anyway
			return
		}
		cps[an] = detectChange(streams[an].x, perms, o.Seed+uint64(an)*0x9e3779b97f4a7c15)
	})
	for an := 0; an < nAnn; an++ {
		idx := byAnn.of(an)
		var multiN, orderN int
		var agreeK, agreeN int
		var posK, posN, lenK, lenN, belK, belN int
		for _, r := range idx {
			row := &rows[r]
			if multi[row.item] {
				multiN++
			}
			if g := agree[r]; g >= 0 {
				agreeN++
				agreeK += int(g)
			}
			if row.first >= 0 {
				posN++
				posK += int(row.first)
			}
			if row.longer >= 0 {
				lenN++
				lenK += int(row.longer)
			}
			if row.belief >= 0 {
				belN++
				belK += int(row.belief)
			}
			if row.first >= 0 {
				orderN++
			}
		}
		an2 := Annotator{ID: c.anns[an], N: len(idx),
			Agreement: newRate(agreeK, agreeN, 0.5), Kappa: cohenKappa(agreeN, agreeK),
			Position: newRate(posK, posN, 0.5), Length: newRate(lenK, lenN, 0.5), Belief: newRate(belK, belN, 0.5),
			Flags: []string{}}
		if multiN >= o.MinRows {
			an2.Skill = ptr(fit.skill[an])
		}
		if orderN >= o.MinRows {
			an2.PositionBias = ptr(fit.bias[an])
		}
		cp := cps[an]
		an2.Drift = Drift{N: len(streams[an].x), Before: cp.before, After: cp.after, PValue: cp.p}
		if cp.k > 0 && cp.k < len(streams[an].t) {
			an2.Drift.ChangeTime = streams[an].t[cp.k]
			an2.Drift.ChangeTimeText = a.timeText(an2.Drift.ChangeTime)
		}
		anns[an] = an2
	}
	lap("annotator drift")
	a.flag(anns)
	rep.Biases = a.biases()
	rep.Drift = a.globalDrift(order, agree)
	lap("global drift")
	for i := range rows {
		if rows[i].label == 0 {
			rows[i].drop |= uint8(dropTie)
		}
	}
	sort.Slice(anns, func(i, j int) bool { return naturalLess(anns[i].ID, anns[j].ID) })
	rep.Annotators = anns
	rep.Counts = a.counts(rep)
	rep.Settings = Settings{Alpha: o.Alpha, MinEffect: o.MinEffect, SpammerBelow: o.SpammerBelow, MinDrift: o.MinDrift,
		MinRows: o.MinRows, Windows: o.Windows, Seed: o.Seed, Permutations: perms, MaxLineBytes: o.MaxLineBytes, Workers: o.Workers}
	if rep.Invalid == nil {
		rep.Invalid = []InvalidRow{}
	}
	if rep.Duplicates == nil {
		rep.Duplicates = []Duplicate{}
	}
	if rep.Contradictions == nil {
		rep.Contradictions = []Contradiction{}
	}
	if rep.Cycles == nil {
		rep.Cycles = []Cycle{}
	}
	return rep
}

// stopwatch returns a function that reports the time since its last call
// through Options.Progress.
func (a *auditor) stopwatch() func(string) {
	t := time.Now()
	return func(what string) {
		if a.opts.Progress != nil {
			a.opts.Progress(fmt.Sprintf("%s: %.2f s", what, time.Since(t).Seconds()))
		}
		t = time.Now()
	}
}

// flag applies the flag rules (documented on the package) with Holm's
// correction across annotators for each test, and marks flagged
// annotators' rows for the export. The id "" (rows without an annotator)
// is never flagged: its rates describe the whole data set.
func (a *auditor) flag(anns []Annotator) {
	o := a.opts
	pvals := func(get func(*Annotator) (n int, p float64)) []float64 {
		ps := make([]float64, len(anns))
		for i := range anns {
			n, p := get(&anns[i])
			if anns[i].ID == "" || n < o.MinRows {
				p = math.NaN()
			}
			ps[i] = p
		}
		return holm(ps)
	}
	pos := pvals(func(x *Annotator) (int, float64) { return x.Position.N, x.Position.PValue })
	length := pvals(func(x *Annotator) (int, float64) { return x.Length.N, x.Length.PValue })
	bel := pvals(func(x *Annotator) (int, float64) { return x.Belief.N, x.Belief.PValue })
	drift := pvals(func(x *Annotator) (int, float64) { return x.Drift.N, x.Drift.PValue })
	sig := func(p float64) bool { return !math.IsNaN(p) && p < o.Alpha }
	flagged := make([]bool, len(a.c.anns))
	for i := range anns {
		x := &anns[i]
		if sig(bel[i]) && x.Belief.Rate-0.5 >= o.MinEffect {
			x.Flags = append(x.Flags, FlagSycophantic)
		}
		if sig(length[i]) && math.Abs(x.Length.Rate-0.5) >= o.MinEffect {
			x.Flags = append(x.Flags, FlagLengthBiased)
		}
		if sig(pos[i]) && math.Abs(x.Position.Rate-0.5) >= o.MinEffect {
			x.Flags = append(x.Flags, FlagPositionBiased)
		}
		x.Drift.Detected = sig(drift[i]) && math.Abs(x.Drift.After-x.Drift.Before) >= o.MinDrift
		if x.Drift.Detected {
			x.Flags = append(x.Flags, FlagDrifting)
		}
		// A spammer agrees with consensus at about chance, and no bias or
		// drift explains it (a biased annotator also agrees at chance).
		explained := len(x.Flags) > 0 && !(len(x.Flags) == 1 && x.Drift.Detected && math.Max(x.Drift.Before, x.Drift.After) < o.SpammerBelow)
		if x.ID != "" && x.Agreement.N >= o.MinRows && x.Agreement.CIHigh < o.SpammerBelow && !explained {
			x.Flags = append(x.Flags, FlagSpammer)
		}
		if len(x.Flags) > 0 {
			flagged[a.c.annIdx[x.ID]] = true
		}
	}
	for i := range a.c.rows {
		if flagged[a.c.rows[i].ann] {
			a.c.rows[i].drop |= uint8(dropAnnotator)
		}
	}
}

func (a *auditor) biases() Biases {
	var b [3][2]int
	for i := range a.c.rows {
		r := &a.c.rows[i]
		if !notDup(r) {
			continue
		}
		for j, v := range [3]int8{r.first, r.longer, r.belief} {
			if v >= 0 {
				b[j][0] += int(v)
				b[j][1]++
			}
		}
	}
	return Biases{Position: newRate(b[0][0], b[0][1], 0.5), Length: newRate(b[1][0], b[1][1], 0.5), Belief: newRate(b[2][0], b[2][1], 0.5)}
}

// globalPermutations bounds the permutation tests of the four global
// streams: p down to 1/200 is enough for Holm over four tests at 0.05,
// and each permutation costs a pass over every row.
const globalPermutations = 199

// globalDrift tests the whole data set's agreement and bias streams.
func (a *auditor) globalDrift(order []uint32, agree []int8) []DriftStream {
	rows := a.c.rows
	keep := func(r uint32) bool { return notDup(&rows[r]) }
	names := []string{"agreement", "position", "length", "belief"}
	vals := []func(r uint32) int8{
		func(r uint32) int8 { return agree[r] },
		func(r uint32) int8 { return rows[r].first },
		func(r uint32) int8 { return rows[r].longer },
		func(r uint32) int8 { return rows[r].belief },
	}
	out := make([]DriftStream, len(names))
	parallelTasks(len(names), func(i int) {
		s := buildStream(order, rows, keep, vals[i])
		cp := detectChange(s.x, globalPermutations, a.opts.Seed^uint64(i+1)*0xd1b54a32d192ed03)
		ds := DriftStream{Stream: names[i], N: len(s.x), Before: cp.before, After: cp.after, PValue: cp.p, Method: cp.method}
		if cp.k > 0 && cp.k < len(s.t) {
			ds.ChangeTime = s.t[cp.k]
			ds.ChangeTimeText = a.timeText(ds.ChangeTime)
		}
		out[i] = ds
	})
	ps := make([]float64, len(out))
	for i := range out {
		ps[i] = out[i].PValue
		if out[i].N < a.opts.MinRows {
			ps[i] = math.NaN()
		}
	}
	adj := holm(ps)
	for i := range out {
		out[i].Detected = !math.IsNaN(adj[i]) && adj[i] < a.opts.Alpha && math.Abs(out[i].After-out[i].Before) >= a.opts.MinDrift/2
	}
	return out
}

func (a *auditor) timeAxis(rep *Report) {
	c := a.c
	a.tmin, a.tmax = math.Inf(1), math.Inf(-1)
	for i := range c.rows {
		a.tmin = math.Min(a.tmin, c.rows[i].time)
		a.tmax = math.Max(a.tmax, c.rows[i].time)
	}
	if len(c.rows) == 0 {
		a.tmin, a.tmax = 0, 0
	}
	kind := "row"
	if c.anyTime {
		kind = "order"
		if c.allClock {
			kind = "clock"
		}
	}
	rep.Time = TimeAxis{Kind: kind, Min: a.tmin, Max: a.tmax}
}

func (a *auditor) timeText(t float64) string {
	switch {
	case !a.c.anyTime:
		return "row " + strconv.Itoa(int(t)+1)
	case a.c.allClock:
		return time.Unix(0, int64(t*1e9)).UTC().Format(time.RFC3339)
	}
	return "order " + strconv.FormatFloat(t, 'g', -1, 64)
}

func (a *auditor) counts(rep *Report) Counts {
	cn := Counts{Invalid: len(rep.Invalid), DuplicatesExact: a.c.nExact, DuplicatesNormalized: a.c.nNorm,
		Contradictions: len(rep.Contradictions), Cycles: len(rep.Cycles), Items: len(a.c.items),
		Prompts: a.c.nPrompts, Annotators: len(a.c.anns), MultiLabelItems: rep.Agreement.Items}
	for _, c := range rep.Contradictions {
		cn.ContradictionRows += len(c.Rows)
	}
	for _, c := range rep.Cycles {
		cn.CycleRows += len(c.Rows)
	}
	for i := range a.c.rows {
		if a.c.rows[i].label == 0 && notDup(&a.c.rows[i]) {
			cn.Ties++
		}
	}
	return cn
}

// naturalLess orders "a2" before "a10".
func naturalLess(x, y string) bool {
	for x != "" && y != "" {
		if isDigit(x[0]) && isDigit(y[0]) {
			i, j := 0, 0
			for i < len(x) && isDigit(x[i]) {
				i++
			}
			for j < len(y) && isDigit(y[j]) {
				j++
			}
			nx, ny := x[:i], y[:j]
			if len(nx) != len(ny) {
				return len(nx) < len(ny)
			}
			if nx != ny {
				return nx < ny
			}
			x, y = x[i:], y[j:]
			continue
		}
		if x[0] != y[0] {
			return x[0] < y[0]
		}
		x, y = x[1:], y[1:]
	}
	return len(x) < len(y)
}
