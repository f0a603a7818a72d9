// Package report renders a run directory as one self-contained HTML file:
// inline CSS and hand-written SVG charts, no scripts from anywhere, no
// fonts or images to fetch, so the file opens the same offline, in a mail
// attachment or years later.
//
// Build reads whatever a run directory holds (run.json from
// internal/rundir; a lab run's summary.json and metrics/; a train run's
// metrics.jsonl; an audit's audit.json or its record in the SQLite store;
// a data audit's data_audit.json; an inspect run's inspect.json) and
// draws a section for each; WriteRun writes the result to
// <dir>/report.html.
//
// The charts (chart_*.go) return a Chart that carries both its SVG and
// the marks it placed (data values and pixel positions), so tests check
// what was drawn without comparing pixels. Colours are colour-blind safe:
// Okabe-Ito for categories, a viridis-like sequential scale and a
// blue-orange diverging scale for heatmaps.
package report
