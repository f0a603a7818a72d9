package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Page is a report before it is written: a header with the run's
// provenance, then sections of charts, tables and text.
type Page struct {
	Title    string
	Subtitle string
	// Facts are key-value lines under the title (run id, kind, seed, ...).
	Facts [][2]string
	// Commands are the exact command lines that produced the run.
	Commands []string
	Sections []*Section
}

// Section is one part of a report (training curves, the validity matrix,
// ...), drawn only when its data exists.
type Section struct {
	ID, Title string
	// Intro is a sentence above the blocks.
	Intro  string
	Blocks []Block
}

// Block is a chart, a table or a paragraph.
type Block struct {
	Chart *Chart
	Table *Table
	Text  string
	// Pre is preformatted text (a run's config).
	Pre string
}

// Table is a table of text cells with an optional note under it.
type Table struct {
	Title   string
	Columns []string
	Rows    [][]string
	Note    string
	// Classes, when set, gives a CSS class per row ("bad", "good") for
	// flagged or passing rows.
	Classes []string
	// Collapsed folds the table under its title (long reference tables).
	Collapsed bool
}

func (s *Section) chart(c *Chart) { s.Blocks = append(s.Blocks, Block{Chart: c}) }
func (s *Section) table(t *Table) { s.Blocks = append(s.Blocks, Block{Table: t}) }
func (s *Section) text(t string)  { s.Blocks = append(s.Blocks, Block{Text: t}) }

// Charts returns every chart on the page, in order.
func (p *Page) Charts() []*Chart {
	var out []*Chart
	for _, s := range p.Sections {
		for _, b := range s.Blocks {
			if b.Chart != nil {
				out = append(out, b.Chart)
			}
		}
	}
	return out
}

// css is the whole style sheet: system fonts only, nothing to fetch.
const css = `
:root{--fg:#1b1b1b;--mut:#5a5a5a;--line:#d9d9d9;--bg:#fff;--soft:#f5f6f8}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
header{padding:24px 32px 12px;border-bottom:1px solid var(--line);background:var(--soft)}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 6px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:16px 0 4px}
main{padding:8px 32px 40px;max-width:1180px}
nav a{margin-right:14px;color:#0060a0;text-decoration:none;font-size:14px}
.sub{color:var(--mut);margin:0 0 8px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0;font-size:14px}
dl.facts dt{color:var(--mut)}dl.facts dd{margin:0}
pre,code{font:13px/1.45 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace}
pre{background:var(--soft);border:1px solid var(--line);padding:8px 10px;overflow:auto;white-space:pre-wrap;word-break:break-all}
figure{margin:14px 0 18px;overflow-x:auto}
figcaption{color:var(--mut);font-size:14px;max-width:760px}
figcaption b{color:var(--fg)}
svg{font-family:inherit;font-size:12px;max-width:none}
svg .ct{font-size:14px;font-weight:600}
svg .al{font-size:12.5px;fill:#333}
svg .ax text{fill:#444}
svg .gr{stroke:#e6e6e6}
svg .tk,svg .bl{stroke:#888}
svg .rf{stroke:#444;stroke-dasharray:4 3}
svg .rt{font-size:11px;fill:#444}
svg .pl{font-size:11px;fill:#222}
svg .cl{font-size:11.5px;fill:#222}
svg .cv{font-size:11px}
svg .mo{fill:none;stroke:#000;stroke-width:3}
svg .zb{fill:#f6f6f6}
svg .th{fill:#444}
svg .tri{stroke:#777;fill:none}
svg .lg text{fill:#222}
svg circle[data-mark]:hover,svg rect[data-mark]:hover{stroke:#000;stroke-width:2.5}
table{border-collapse:collapse;margin:8px 0;font-size:13.5px}
th,td{border-bottom:1px solid var(--line);padding:4px 10px;text-align:left;vertical-align:top}
th{background:var(--soft)}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
details{margin:8px 0}summary{cursor:pointer;font-weight:600;font-size:15px}
tr.bad td{background:#fde7d6}tr.good td{background:#e3f1ea}
.tw{overflow-x:auto}
.note{color:var(--mut);font-size:14px;margin:4px 0 12px;max-width:860px}
footer{color:var(--mut);font-size:13px;padding:16px 32px;border-top:1px solid var(--line)}
`

// Render writes the page as one self-contained HTML document.
func (p *Page) Render(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	pf := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	pf("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n")
	pf("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	// No requests of any kind: the policy makes a stray one fail loudly.
	pf("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n")
	pf("<title>%s</title>\n<style>%s</style></head><body>\n", esc(p.Title), css)
	pf("<header><h1>%s</h1>", esc(p.Title))
	if p.Subtitle != "" {
		pf("<p class=\"sub\">%s</p>", esc(p.Subtitle))
	}
	if len(p.Facts) > 0 {
		pf("<dl class=\"facts\">")
		for _, f := range p.Facts {
			pf("<dt>%s</dt><dd>%s</dd>", esc(f[0]), esc(f[1]))
		}
		pf("</dl>")
	}
	if len(p.Commands) > 0 {
		pf("<p class=\"sub\">Reproduce with:</p><pre class=\"cmd\">%s</pre>", esc(strings.Join(p.Commands, "\n")))
	}
	if len(p.Sections) > 1 {
		pf("<nav>")
		for _, s := range p.Sections {
			pf("<a href=\"#%s\">%s</a>", esc(s.ID), esc(s.Title))
		}
		pf("</nav>")
	}
	pf("</header>\n<main>\n")
	for _, s := range p.Sections {
		pf("<section id=\"%s\"><h2>%s</h2>\n", esc(s.ID), esc(s.Title))
		if s.Intro != "" {
			pf("<p class=\"note\">%s</p>\n", esc(s.Intro))
		}
		for _, b := range s.Blocks {
			switch {
			case b.Chart != nil:
				pf("<figure>%s<figcaption>", b.Chart.SVG())
				if b.Chart.Note != "" {
					pf("<b>What this means:</b> %s", esc(b.Chart.Note))
				}
				pf("</figcaption></figure>\n")
			case b.Table != nil:
				writeTable(bw, b.Table)
			case b.Pre != "":
				pf("<pre>%s</pre>\n", esc(b.Pre))
			case b.Text != "":
				pf("<p class=\"note\">%s</p>\n", esc(b.Text))
			}
		}
		pf("</section>\n")
	}
	pf("</main><footer>Written by alignlab report. This file is self-contained: it loads nothing from the network.</footer>\n</body></html>\n")
	return bw.Flush()
}

func writeTable(w io.Writer, t *Table) {
	if t.Collapsed {
		fmt.Fprintf(w, "<details><summary>%s (%d rows)</summary>", esc(orDefault(t.Title, "table")), len(t.Rows))
		defer fmt.Fprint(w, "</details>\n")
	} else if t.Title != "" {
		fmt.Fprintf(w, "<h3>%s</h3>", esc(t.Title))
	}
	fmt.Fprint(w, "<div class=\"tw\"><table><thead><tr>")
	for _, c := range t.Columns {
		fmt.Fprintf(w, "<th>%s</th>", esc(c))
	}
	fmt.Fprint(w, "</tr></thead><tbody>")
	for i, r := range t.Rows {
		if i < len(t.Classes) && t.Classes[i] != "" {
			fmt.Fprintf(w, "<tr class=\"%s\">", esc(t.Classes[i]))
		} else {
			fmt.Fprint(w, "<tr>")
		}
		for _, cell := range r {
			if isNumeric(cell) {
				fmt.Fprintf(w, "<td class=\"n\">%s</td>", esc(cell))
			} else {
				fmt.Fprintf(w, "<td>%s</td>", esc(cell))
			}
		}
		fmt.Fprint(w, "</tr>")
	}
	fmt.Fprint(w, "</tbody></table></div>\n")
	if t.Note != "" {
		fmt.Fprintf(w, "<p class=\"note\">%s</p>\n", esc(t.Note))
	}
}

// isNumeric reports whether a cell reads as a number (right-aligned).
func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789.-+e%[], ", r) {
			return false
		}
	}
	return strings.ContainsAny(s, "0123456789")
}
