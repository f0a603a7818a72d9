package interp

import "fmt"

// Matrix is a labelled grid of numbers: a patching result (layer x
// position, layer x head) or an attribution table. Values[i][j] belongs to
// Rows[i] and Cols[j].
type Matrix struct {
	// Title says what the grid shows, e.g. "patching hook_resid_pre".
	Title string `json:"title"`
	// RowName and ColName name the axes, e.g. "layer" and "position".
	RowName string `json:"row_name"`
	ColName string `json:"col_name"`
	// Rows and Cols label each row and column (e.g. "0", "1", or tokens).
	Rows []string `json:"rows"`
	Cols []string `json:"cols"`
	// Metric says what a value means and its scale, e.g. "normalized
	// logit difference (0 = corrupted, 1 = clean)".
	Metric string      `json:"metric"`
	Values [][]float64 `json:"values"`
}

// NewMatrix returns a rows x cols Matrix of zeros with the given labels.
func NewMatrix(title, rowName, colName, metric string, rows, cols []string) *Matrix {
	v := make([][]float64, len(rows))
	for i := range v {
		v[i] = make([]float64, len(cols))
	}
	return &Matrix{Title: title, RowName: rowName, ColName: colName, Rows: rows, Cols: cols, Metric: metric, Values: v}
}

// Validate reports a Matrix whose values do not match its labels (a
// hand-edited or truncated JSON file).
func (m *Matrix) Validate() error {
	if len(m.Values) != len(m.Rows) {
		return fmt.Errorf("matrix %q: %d rows of values for %d row labels", m.Title, len(m.Values), len(m.Rows))
	}
	for i, r := range m.Values {
		if len(r) != len(m.Cols) {
			return fmt.Errorf("matrix %q: row %d has %d values for %d column labels", m.Title, i, len(r), len(m.Cols))
		}
	}
	return nil
}
