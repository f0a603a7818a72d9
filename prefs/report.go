package prefs

// The JSON report (alignlab data audit --json). The package doc describes
// it field by field; these types are the schema.

// Report is the result of an audit.
type Report struct {
	Files          []FileSummary   `json:"files"`
	Rows           int             `json:"rows"`
	Invalid        []InvalidRow    `json:"invalid"`
	Duplicates     []Duplicate     `json:"duplicates"`
	Contradictions []Contradiction `json:"contradictions"`
	Cycles         []Cycle         `json:"cycles"`
	Counts         Counts          `json:"counts"`
	Time           TimeAxis        `json:"time"`
	Biases         Biases          `json:"biases"`
	Agreement      Agreement       `json:"agreement"`
	Drift          []DriftStream   `json:"drift"`
	Annotators     []Annotator     `json:"annotators"`
	Settings       Settings        `json:"settings"`
	Seconds        float64         `json:"seconds"`
}

// FileSummary says how one input file was read.
type FileSummary struct {
	Path    string `json:"path"`
	Format  Format `json:"format"`
	Rows    int    `json:"rows"`
	Invalid int    `json:"invalid"`
}

// InvalidRow is a skipped row: its file, 1-based line (row number for
// Parquet) and what is wrong with it.
type InvalidRow struct {
	File  string `json:"file"`
	Line  int    `json:"line"`
	Error string `json:"error"`
}

// RowRef points at a row of an input file.
type RowRef struct {
	File string `json:"file"`
	Line int    `json:"line"`
}

// Duplicate is a row that repeats an earlier one: the same prompt, pair,
// winner and annotator, either byte for byte ("exact") or after
// lower-casing and collapsing whitespace, in either column order
// ("normalized").
type Duplicate struct {
	File      string `json:"file"`
	Line      int    `json:"line"`
	Kind      string `json:"kind"`
	FirstFile string `json:"first_file"`
	FirstLine int    `json:"first_line"`
}

// Contradiction is one annotator (or, where the data names none, the data
// set) preferring each response of the same pair in different rows.
// Kept says which side the export keeps: the majority, or "none" on a tie.
type Contradiction struct {
	Annotator string           `json:"annotator"`
	Rows      []LabelledRowRef `json:"rows"`
	Kept      string           `json:"kept"`
}

// LabelledRowRef is a row with the response it preferred: "x" or "y", the
// two responses of the pair in the order first seen.
type LabelledRowRef struct {
	File      string `json:"file"`
	Line      int    `json:"line"`
	Preferred string `json:"preferred"`
}

// Cycle is an intransitive preference within one prompt: following the
// majority label of each pair, R1 > R2 > ... > Rk > R1. Rows are the rows
// behind the cycle's edges.
type Cycle struct {
	Length int      `json:"length"`
	Rows   []RowRef `json:"rows"`
}

// Counts summarizes the problem lists.
type Counts struct {
	Invalid              int `json:"invalid"`
	DuplicatesExact      int `json:"duplicates_exact"`
	DuplicatesNormalized int `json:"duplicates_normalized"`
	Contradictions       int `json:"contradictions"`
	ContradictionRows    int `json:"contradiction_rows"`
	Cycles               int `json:"cycles"`
	CycleRows            int `json:"cycle_rows"`
	Ties                 int `json:"ties"`
	Items                int `json:"items"`
	MultiLabelItems      int `json:"multi_label_items"`
	Prompts              int `json:"prompts"`
	Annotators           int `json:"annotators"`
}

// TimeAxis says what orders the rows in time: "clock" (Unix seconds),
// "order" (a batch number or similar) or "row" (file order; no time column).
type TimeAxis struct {
	Kind string  `json:"kind"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
}

// Biases are the data-level bias rates over all non-duplicate rows, each
// against its null of 0.5: position (the response shown first wins; rows
// with a known order), length (the longer response wins; pairs differing
// by at least 10% in characters), belief (the response agreeing with a
// belief stated in the prompt wins; the data-level trace of sycophancy).
type Biases struct {
	Position Rate `json:"position"`
	Length   Rate `json:"length"`
	Belief   Rate `json:"belief"`
}

// Agreement holds inter-annotator agreement over items with at least two
// labels: Krippendorff's alpha (nominal: first wins, second wins, tie)
// overall and per time window, and Fleiss' kappa (varying raters per item).
type Agreement struct {
	Items             int           `json:"items"`
	Labels            int           `json:"labels"`
	KrippendorffAlpha *float64      `json:"krippendorff_alpha"`
	FleissKappa       *float64      `json:"fleiss_kappa"`
	Windows           []AlphaWindow `json:"windows"`
}

// AlphaWindow is Krippendorff's alpha over the labels given in [Start, End).
type AlphaWindow struct {
	Start  float64  `json:"start"`
	End    float64  `json:"end"`
	Items  int      `json:"items"`
	Labels int      `json:"labels"`
	Alpha  *float64 `json:"alpha"`
}

// DriftStream is a change-point test on one stream of 0/1 outcomes ordered
// by time: CUSUM of the centred stream, the change at its maximum, and a
// permutation p-value (Besag-Clifford sequential Monte Carlo; the
// asymptotic Kolmogorov tail when it is far below what the permutation
// budget can resolve).
type DriftStream struct {
	Stream         string  `json:"stream"`
	N              int     `json:"n"`
	Detected       bool    `json:"detected"`
	ChangeTime     float64 `json:"change_time"`
	ChangeTimeText string  `json:"change_time_text"`
	Before         float64 `json:"before"`
	After          float64 `json:"after"`
	PValue         float64 `json:"p_value"`
	Method         string  `json:"method"`
}

// Drift is the per-annotator drift result.
type Drift struct {
	Detected       bool    `json:"detected"`
	ChangeTime     float64 `json:"change_time"`
	ChangeTimeText string  `json:"change_time_text"`
	Before         float64 `json:"before"`
	After          float64 `json:"after"`
	PValue         float64 `json:"p_value"`
	N              int     `json:"n"`
}

// Annotator is the quality report for one annotator ("" is the data set's
// rows without an annotator id).
type Annotator struct {
	ID    string   `json:"id"`
	N     int      `json:"n"`
	Skill *float64 `json:"skill"` // Noisy Bradley-Terry reliability in [0,1]; null when not identifiable
	// PositionBias is the Noisy Bradley-Terry probability of choosing the
	// first-shown response when answering at random; null without order.
	PositionBias *float64 `json:"position_bias"`
	Agreement    Rate     `json:"agreement"` // with the leave-one-out consensus
	Kappa        *float64 `json:"kappa"`     // Cohen's kappa with the leave-one-out consensus (chance 1/2: 2·agreement − 1)
	Position     Rate     `json:"position"`
	Length       Rate     `json:"length"`
	Belief       Rate     `json:"belief"`
	Flags        []string `json:"flags"`
	Drift        Drift    `json:"drift"`
}

// Settings echoes the thresholds the flags used.
type Settings struct {
	Alpha        float64 `json:"alpha"`
	MinEffect    float64 `json:"min_effect"`
	SpammerBelow float64 `json:"spammer_below"`
	MinDrift     float64 `json:"min_drift"`
	MinRows      int     `json:"min_rows"`
	Windows      int     `json:"windows"`
	Seed         uint64  `json:"seed"`
	Permutations int     `json:"permutations"`
	MaxLineBytes int     `json:"max_line_bytes"`
	Workers      int     `json:"workers"`
}

// Flag words used in Annotator.Flags.
const (
	FlagSycophantic    = "sycophantic"
	FlagLengthBiased   = "length_biased"
	FlagPositionBiased = "position_biased"
	FlagDrifting       = "drifting"
	FlagSpammer        = "spammer"
)
