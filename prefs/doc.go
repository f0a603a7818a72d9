// Package prefs audits human preference data before anyone trains on it:
// it reads the common layouts, validates every row, and measures the data
// problems that alignment inherits — duplicates, contradictions,
// intransitive preferences, position/length/sycophancy biases, unreliable
// annotators and annotator drift. `alignlab data audit` is its CLI.
//
// # Reading
//
// Formats (detected per file from the first row's keys; Options.Format
// overrides): TRL (prompt/chosen/rejected as strings or {role, content}
// message lists; implicit prompt when prompt is absent: the shared start of
// chosen and rejected), Anthropic HH-RLHF ("\n\nHuman: ... \n\nAssistant:"
// transcripts; the prompt ends at the last "\n\nAssistant:"), OpenAI
// summarize_from_feedback comparisons (info, summaries[2], choice, worker,
// batch), Chatbot Arena (conversation_a/b, winner model_a|model_b|tie|
// "tie (bothbad)", judge, tstamp; model_a is the panel shown first),
// UltraFeedback binarized (prompt, chosen/rejected conversations,
// score_chosen/score_rejected; equal scores are a tie), Stanford SHP
// (history, human_ref_A/B, labels, created_at_utc_A/B). Each as JSONL,
// gzip (by magic bytes) or Parquet (row group by row group). Fields maps
// custom columns; annotator, time and display order are also looked up
// under common names (annotator, worker, judge, labeler, rater; timestamp,
// tstamp, created_at, batch; order, shown_first, chosen_position).
//
// A row that cannot be used — broken JSON, invalid UTF-8, a line over the
// length limit, a missing or mistyped field, an empty response, identical
// responses — is reported with its file and line and skipped; every other
// row is kept. The scan streams: a reader goroutine, one parse worker per
// core, and an in-order collector that keeps 32 bytes per row plus 64-bit
// fingerprints (never texts), so memory grows only with what the
// statistics need.
//
// # Checks
//
// An item is a normalized prompt (lower-cased, whitespace collapsed) with
// an unordered pair of normalized responses.
//
//   - duplicates: the same prompt, pair, winner and annotator again, byte
//     for byte ("exact") or after normalization in either column order
//     ("normalized"). The first occurrence is kept; duplicates are left out
//     of every statistic.
//   - contradictions: one annotator (or, with no annotator column, the
//     data set) preferring each side of the same item. The majority side is
//     kept; on a tie both are dropped. Disagreement between different
//     annotators is not a contradiction: it is what agreement measures.
//   - cycles: within a prompt, the majority preference of each pair forms a
//     graph; each strongly connected component of three or more responses
//     is an intransitive cycle (A>B, B>C, C>A), reported once with its rows.
//   - biases, overall and per annotator, as rates with 95% Wilson intervals
//     and a two-sided binomial test against 0.5: position (the response
//     shown first wins; rows whose order is known), length (the longer
//     response wins; pairs differing by at least 10% in characters), belief
//     (the response agreeing with a belief the prompt states — "I think the
//     answer is 41" — wins, among pairs where exactly one response
//     mentions it; the data-level trace of sycophancy).
//   - annotator quality: agreement with the leave-one-out consensus (the
//     weighted majority of the other annotators on the item, weights being
//     log-odds of agreement from a first unweighted pass); Cohen's kappa
//     with that consensus; a Noisy Bradley-Terry fit (crowd-kit's model:
//     P(left wins) = q·sigmoid(d) + (1-q)·beta, with per-annotator skill q
//     and position bias beta, pair score differences d; diagonal Fisher
//     scoring, at most 30 iterations).
//   - agreement: Krippendorff's alpha (nominal: first/second/tie) overall
//     and per time window, Fleiss' kappa (varying raters per item); their
//     chance agreement pools the two win labels, as which response of a
//     pair is first is arbitrary.
//   - drift: for each annotator and for the whole data set, a change point
//     in a 0/1 stream ordered by time (the timestamp column; else batch
//     order; else file order): agreement with consensus per annotator;
//     agreement, position, length and belief globally. Test statistic: the
//     maximum absolute CUSUM; p-value: permutation test (Besag-Clifford
//     sequential Monte Carlo, or the asymptotic Kolmogorov tail when that is
//     far below what the permutation budget can resolve); change time: the
//     Bernoulli maximum-likelihood split.
//
// # Flags
//
// Each test is Holm-adjusted across annotators at Options.Alpha (0.05) and
// needs Options.MinRows (20) rows. An annotator is
//
//   - sycophantic: belief rate - 0.5 >= MinEffect (0.1), significant;
//   - length_biased: |length rate - 0.5| >= MinEffect, significant;
//   - position_biased: |position rate - 0.5| >= MinEffect, significant;
//   - drifting: significant change with |after - before| >= MinDrift (0.1);
//   - spammer: the 95% upper bound of agreement with consensus is below
//     SpammerBelow (0.6) and no bias flag (or a drift from a good start)
//     explains it.
//
// Rows without an annotator id are reported as annotator "" and never
// flagged (their rates describe the data set).
//
// # JSON report (Report; alignlab data audit --json)
//
//	rows            int      valid rows read
//	files           [{path, format, rows, invalid}]
//	invalid         [{file, line, error}]                   every skipped row
//	duplicates      [{file, line, kind: exact|normalized, first_file, first_line}]
//	contradictions  [{annotator, rows: [{file, line, preferred: x|y|tie}], kept: x|y|none}]
//	cycles          [{length, rows: [{file, line}]}]
//	counts          {invalid, duplicates_exact, duplicates_normalized, contradictions,
//	                 contradiction_rows, cycles, cycle_rows, ties, items, multi_label_items,
//	                 prompts, annotators}
//	time            {kind: clock|order|row, min, max}
//	biases          {position, length, belief}: Rate
//	agreement       {items, labels, krippendorff_alpha, fleiss_kappa,
//	                 windows: [{start, end, items, labels, alpha}]}   (null when undefined)
//	drift           [{stream: agreement|position|length|belief, n, detected, change_time,
//	                  change_time_text, before, after, p_value, method}]
//	annotators      [{id, n, skill, position_bias, agreement: Rate, kappa,
//	                  position: Rate, length: Rate, belief: Rate,
//	                  flags: [sycophantic|length_biased|position_biased|drifting|spammer],
//	                  drift: {detected, change_time, change_time_text, before, after, p_value, n}}]
//	settings        {alpha, min_effect, spammer_below, min_drift, min_rows, windows, seed,
//	                 permutations, max_line_bytes, workers}
//	seconds         float
//
// Rate is {n, k, rate, ci_low, ci_high, null, p_value}. change_time is Unix
// seconds when time.kind is "clock", else the batch number or the 0-based
// row index; change_time_text is its readable form (RFC 3339, "order N",
// "row N"). skill and position_bias are null when the annotator has fewer
// than MinRows rows on multi-label items (resp. rows with a known order).
//
// # Export
//
// Audit.ExportClean writes the rows that pass, in TRL JSONL (prompt,
// chosen, rejected; conversational when the source was, plus annotator,
// timestamp and order columns, which TRL ignores), leaving out invalid
// rows, duplicates, contradiction losers, cycle rows, ties and every row of
// a flagged annotator; and OUT.manifest.json (Manifest) with each dropped
// row and its reasons. Both are written to temporary files and renamed.
//
// # Synthetic data
//
// WriteSynth generates data with planted truth (honest, sycophantic,
// length-biased, position-biased, drifting and spammer annotators;
// duplicates, contradictions, cycles) for tests, benchmarks and the lab.
package prefs
