package interp

// Result is what an `alignlab inspect` command writes to
// runs/<id>/inspect.json, and what package report draws: its heatmaps
// (Matrices), tables (Tables) and line charts (Series), plus the command's
// own fields in Data (printed by --json). A report needs no knowledge of
// the command to show its result.
type Result struct {
	// Kind is the subcommand: "cache", "lens", "attribution", "patch",
	// "probe", "steer", "sae", "mirage".
	Kind string `json:"kind"`
	// Model is the model directory inspected.
	Model string `json:"model,omitempty"`
	// Summary is one or two sentences a reader sees first ("the probe reads
	// the frame at layer 2 with AUROC 0.99; ablating it shrinks the gap by
	// 81%").
	Summary  string    `json:"summary,omitempty"`
	Matrices []*Matrix `json:"matrices,omitempty"`
	Tables   []*Table  `json:"tables,omitempty"`
	Series   []*Series `json:"series,omitempty"`
	// Data holds the command's own results (e.g. mirage's auroc_by_layer,
	// gap_before, gap_after), as --json prints them.
	Data any `json:"data,omitempty"`
}

// Table is a titled table of text cells (e.g. the logit lens's top tokens
// per layer).
type Table struct {
	Title   string     `json:"title"`
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
	// Note says how to read the table, shown under it.
	Note string `json:"note,omitempty"`
}

// Series is a line chart: one or more lines over a shared x axis, each
// with an optional confidence band.
type Series struct {
	Title  string    `json:"title"`
	XLabel string    `json:"x_label"`
	YLabel string    `json:"y_label"`
	X      []float64 `json:"x"`
	Lines  []Line    `json:"lines"`
	// Note says how to read the chart, shown under it.
	Note string `json:"note,omitempty"`
}

// Line is one named line of a Series; CILow and CIHigh, when present, have
// the length of Y and bound it.
type Line struct {
	Name   string    `json:"name"`
	Y      []float64 `json:"y"`
	CILow  []float64 `json:"ci_low,omitempty"`
	CIHigh []float64 `json:"ci_high,omitempty"`
}

// ResultFile is the name of a Result inside an inspect run directory.
const ResultFile = "inspect.json"
