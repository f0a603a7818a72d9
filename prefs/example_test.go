package prefs_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/alignlab/alignlab/prefs"
)

// Generate a data set with planted annotator flaws, audit it, and list
// the flagged annotators.
func Example() {
	dir, _ := os.MkdirTemp("", "prefs-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "prefs.jsonl")
	f, _ := os.Create(path)
	_, err := prefs.WriteSynth(f, prefs.SynthConfig{Seed: 1, Items: 1500, Annotators: map[string]int{
		prefs.KindHonest: 12, prefs.KindSycophantic: 1, prefs.KindSpammer: 1, prefs.KindPositionBiased: 1}})
	f.Close()
	if err != nil {
		fmt.Println(err)
		return
	}
	au, err := prefs.Run(context.Background(), []string{path}, prefs.Options{Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("rows:", au.Report.Rows)
	for _, a := range au.Report.Annotators {
		if len(a.Flags) > 0 {
			fmt.Println(a.ID, a.Flags)
		}
	}
	// Output:
	// rows: 7500
	// position_biased-01 [position_biased]
	// spammer-01 [spammer]
	// sycophantic-01 [sycophantic]
}
