package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/alignlab/alignlab/internal/outpath"
	"github.com/alignlab/alignlab/internal/textfile"
	"github.com/alignlab/alignlab/tokenizer"
	"github.com/spf13/cobra"
)

func newTokenizerTrainCmd() *cobra.Command {
	var (
		corpus             []string
		vocabSize, minFreq int
		special            string
		out                string
		eos, bos, pad      string
		chatTemplate       string
		asJSON             bool
	)
	cmd := &cobra.Command{
		Use:   "train --corpus FILE... --vocab-size N --out DIR",
		Short: "Learn a byte-level BPE vocabulary from text files",
		Long: `train learns a byte-level BPE tokenizer (GPT-2 pre-tokenization) from text files and writes
DIR/tokenizer.json and DIR/tokenizer_config.json. A .jsonl file contributes the "text" field of each
line; any other file is read whole. The result is deterministic: the same files and flags give the
same vocabulary. Special tokens take the first ids, in the order given.`,
		Example: `  alignlab tokenizer train --corpus wiki.txt --vocab-size 8192 --out tok/
  alignlab tokenizer train --corpus a.txt --corpus b.jsonl --special "<|endoftext|>,<|im_start|>,<|im_end|>" --out tok/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			files := append(append([]string(nil), corpus...), args...)
			if len(files) == 0 {
				return fmt.Errorf("no corpus: give --corpus FILE (or files as arguments)")
			}
			if out == "" {
				return fmt.Errorf("no output directory: give --out DIR")
			}
			if err := checkTokenizerOut(out, files, chatTemplate); err != nil {
				return &exitError{code: 2, err: err}
			}
			docs, size, err := readCorpus(files)
			if err != nil {
				return err
			}
			stderr := unlessQuiet(cmd.ErrOrStderr(), quietFlag(cmd))
			fmt.Fprintf(stderr, "training on %d documents, %.1f MB...\n", len(docs), float64(size)/1e6)
			start := time.Now()
			tk, err := tokenizer.Train(docs, tokenizer.TrainConfig{
				VocabSize: vocabSize, Special: splitList(special), MinFrequency: minFreq,
				EOS: eos, BOS: bos, PAD: pad,
			})
			if err != nil {
				return err
			}
			if chatTemplate != "" {
				src := chatTemplate
				if data, err := textfile.ReadFile(chatTemplate); err == nil {
					src = string(data)
				}
				if err := tk.SetChatTemplate(src); err != nil {
					return err
				}
			}
			if err := tk.Save(out); err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"vocab_size": tk.VocabSize(), "merges": len(tk.Merges()), "seconds": time.Since(start).Seconds(),
					"documents": len(docs), "tokenizer": filepath.Join(out, "tokenizer.json"), "tokenizer_config": filepath.Join(out, "tokenizer_config.json")})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d tokens (%d merges) in %.1fs; wrote %s and %s\n",
				tk.VocabSize(), len(tk.Merges()), time.Since(start).Seconds(),
				filepath.Join(out, "tokenizer.json"), filepath.Join(out, "tokenizer_config.json"))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&corpus, "corpus", nil, "text or .jsonl file to learn from (repeat for several)")
	fl.IntVar(&vocabSize, "vocab-size", 8192, "vocabulary size, special and 256 byte tokens included")
	fl.StringVar(&special, "special", "<|endoftext|>,<|im_start|>,<|im_end|>", "comma-separated special tokens, in id order")
	fl.IntVar(&minFreq, "min-frequency", 2, "merge only pairs seen at least this often")
	fl.StringVar(&out, "out", "", "directory to write tokenizer.json and tokenizer_config.json to")
	fl.StringVar(&eos, "eos", "", "EOS token (default <|endoftext|> when it is special)")
	fl.StringVar(&bos, "bos", "", "BOS token, put before every sequence (default none, as GPT-2)")
	fl.StringVar(&pad, "pad", "", "padding token (default none)")
	fl.BoolVar(&asJSON, "json", false, `print {"vocab_size", "merges", "seconds", "documents", "tokenizer", "tokenizer_config"} as JSON`)
	fl.StringVar(&chatTemplate, "chat-template", "", "chatml, llama3, or a Jinja file (default ChatML)")
	return cmd
}

// checkTokenizerOut refuses an --out directory that is one of the files
// train reads, or whose tokenizer.json or tokenizer_config.json would be:
// the corpus, or the --chat-template file when it names one.
func checkTokenizerOut(out string, corpus []string, chatTemplate string) error {
	var ins []outpath.Input
	for _, f := range corpus {
		ins = append(ins, outpath.Input{Path: f, What: "a corpus file"})
	}
	// --chat-template is a file only when one exists; otherwise a name
	// such as chatml, which must not match a directory of that name.
	if st, err := os.Stat(chatTemplate); chatTemplate != "" && err == nil && !st.IsDir() {
		ins = append(ins, outpath.Input{Path: chatTemplate, What: "the --chat-template file"})
	}
	return outpath.Dir("--out", out, []string{"tokenizer.json", "tokenizer_config.json"}, ins...)
}

// readCorpus reads text files whole and .jsonl files line by line ("text" field).
func readCorpus(files []string) (docs []string, size int, err error) {
	for _, f := range files {
		if !strings.HasSuffix(f, ".jsonl") {
			data, err := textfile.ReadFile(f)
			if err != nil {
				return nil, 0, fmt.Errorf("read corpus: %w", err)
			}
			docs = append(docs, string(data))
			size += len(data)
			continue
		}
		fh, err := os.Open(f)
		if err != nil {
			return nil, 0, fmt.Errorf("read corpus: %w", err)
		}
		sc := textfile.NewScanner(fh, 1<<30)
		for sc.Scan() {
			if len(strings.TrimSpace(sc.Text())) == 0 {
				continue
			}
			var row struct {
				Text *string `json:"text"`
			}
			if err := json.Unmarshal(sc.Bytes(), &row); err != nil || row.Text == nil {
				fh.Close()
				return nil, 0, fmt.Errorf("read corpus %s line %d: want a JSON object with a \"text\" string", f, sc.Line())
			}
			docs = append(docs, *row.Text)
			size += len(*row.Text)
		}
		err = sc.FileErr(f)
		fh.Close()
		if err != nil {
			return nil, 0, fmt.Errorf("read corpus: %w", err)
		}
	}
	return docs, size, nil
}
