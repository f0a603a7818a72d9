package prefs

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/alignlab/alignlab/internal/atomicfile"
	"github.com/alignlab/alignlab/internal/outpath"
)

// Manifest records what ExportClean dropped and why.
type Manifest struct {
	Output            string             `json:"output"`
	Sources           []string           `json:"sources"`
	RowsRead          int                `json:"rows_read"` // valid rows
	RowsWritten       int                `json:"rows_written"`
	Invalid           int                `json:"invalid"`
	Dropped           map[string]int     `json:"dropped"` // reason -> rows (a row can have several reasons)
	FlaggedAnnotators []FlaggedAnnotator `json:"flagged_annotators"`
	Rows              []DroppedRow       `json:"rows"`
}

// FlaggedAnnotator is an annotator whose rows were all dropped.
type FlaggedAnnotator struct {
	ID    string   `json:"id"`
	Flags []string `json:"flags"`
	Rows  int      `json:"rows"`
}

// DroppedRow is one row left out of the export, with every reason:
// invalid, duplicate, contradiction (the minority side, or both on a tie),
// cycle, flagged_annotator, tie (a tie has no chosen/rejected).
type DroppedRow struct {
	File    string   `json:"file"`
	Line    int      `json:"line"`
	Reasons []string `json:"reasons"`
	Error   string   `json:"error,omitempty"`
}

// ManifestPath is where ExportClean writes the manifest for out:
// OUT.jsonl -> OUT.manifest.json.
func ManifestPath(out string) string {
	return strings.TrimSuffix(out, filepath.Ext(out)) + ".manifest.json"
}

// CheckExportPath returns an error when exporting to out would replace one
// of files, the audited inputs: out itself or its manifest. name labels
// out in the message (the flag that gave it, such as --export-clean).
func CheckExportPath(name, out string, files []string) error {
	ins := make([]outpath.Input, len(files))
	for i, f := range files {
		ins[i] = outpath.Input{Path: f, What: "an audited file"}
	}
	return outpath.Files(name, out, []string{out, ManifestPath(out)}, ins...)
}

// trlRow is an exported row: TRL's columns plus provenance (annotator,
// time, which response was shown first), which TRL trainers ignore and a
// later audit reads.
type trlRow struct {
	Prompt    any    `json:"prompt"`
	Chosen    any    `json:"chosen"`
	Rejected  any    `json:"rejected"`
	Annotator string `json:"annotator,omitempty"`
	Timestamp any    `json:"timestamp,omitempty"`
	Order     string `json:"order,omitempty"`
}

// ExportClean re-reads the audited files and writes, in TRL JSONL, every
// valid row that is not a duplicate, a dropped side of a contradiction,
// part of a cycle, a tie, or from a flagged annotator; plus the manifest.
// Both files are written to temporary names and renamed into place, so a
// failed export leaves no partial output; an out (or manifest) that is one
// of the audited files is refused before anything is written.
func (au *Audit) ExportClean(ctx context.Context, out string) (*Manifest, error) {
	if err := CheckExportPath("export", out, au.files); err != nil {
		return nil, err
	}
	c := au.c
	m := &Manifest{Output: out, Sources: au.files, RowsRead: len(c.rows), Invalid: len(c.invalid),
		Dropped: map[string]int{}, FlaggedAnnotators: []FlaggedAnnotator{}, Rows: []DroppedRow{}}
	if au.Report == nil || au.Report.Annotators == nil {
		return nil, fmt.Errorf("export: the audit did not finish")
	}
	perAnn := map[uint32]int{}
	for i := range c.rows {
		if c.rows[i].drop&uint8(dropAnnotator) != 0 {
			perAnn[c.rows[i].ann]++
		}
	}
	for _, a := range au.Report.Annotators {
		if len(a.Flags) > 0 {
			m.FlaggedAnnotators = append(m.FlaggedAnnotators, FlaggedAnnotator{ID: a.ID, Flags: a.Flags, Rows: perAnn[c.annIdx[a.ID]]})
		}
	}
	if len(c.invalid) > 0 {
		m.Dropped["invalid"] = len(c.invalid)
	}

	err := atomicfile.Write(out, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		idx := 0
		cfg := scanConfig{files: au.files, format: au.opts.Format, fields: au.opts.Fields,
			maxLine: au.opts.MaxLineBytes, workers: au.opts.Workers, keep: true, seed: maphash.MakeSeed()}
		err := scan(ctx, cfg, func(pb *parsedBatch) error {
			for i := range pb.rows {
				p := &pb.rows[i]
				if p.err != nil {
					m.Rows = append(m.Rows, DroppedRow{File: au.files[pb.file], Line: p.line, Reasons: []string{"invalid"}, Error: p.err.Error()})
					continue
				}
				if idx >= len(c.rows) || int(c.rows[idx].line) != p.line || int(c.rows[idx].file) != pb.file {
					return fmt.Errorf("export: %s changed since the audit (line %d)", au.files[pb.file], p.line)
				}
				drop := c.rows[idx].drop
				idx++
				if drop != 0 {
					var reasons []string
					for _, d := range dropNames {
						if drop&uint8(d.bit) != 0 {
							reasons = append(reasons, d.name)
							m.Dropped[d.name]++
						}
					}
					m.Rows = append(m.Rows, DroppedRow{File: au.files[pb.file], Line: p.line, Reasons: reasons})
					continue
				}
				if err := enc.Encode(toTRL(p.cmp)); err != nil {
					return err
				}
				m.RowsWritten++
			}
			return nil
		})
		if err != nil {
			return err
		}
		if idx != len(c.rows) {
			return fmt.Errorf("export: the input files changed since the audit (%d rows now, %d then)", idx, len(c.rows))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = atomicfile.Write(ManifestPath(out), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func toTRL(c *Comparison) trlRow {
	cs, cm := c.Chosen()
	rs, rm := c.Rejected()
	r := trlRow{Prompt: c.Prompt, Chosen: cs, Rejected: rs, Annotator: c.Annotator}
	if c.PromptMsgs != nil && cm != nil && rm != nil {
		r.Prompt, r.Chosen, r.Rejected = c.PromptMsgs, cm, rm
	}
	if c.HasTime {
		if c.ClockTime {
			r.Timestamp = time.Unix(0, int64(c.Time*1e9)).UTC().Format(time.RFC3339Nano)
		} else {
			r.Timestamp = c.Time
		}
	}
	// Order names the column shown first, relative to chosen/rejected.
	if c.Shown != ShownUnknown {
		if (c.Shown == ShownAFirst) == (c.Winner != WinnerB) {
			r.Order = "chosen"
		} else {
			r.Order = "rejected"
		}
	}
	return r
}
