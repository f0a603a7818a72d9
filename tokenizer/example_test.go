package tokenizer_test

import (
	"fmt"

	"github.com/alignlab/alignlab/tokenizer"
)

func ExampleTrain() {
	tk, err := tokenizer.Train([]string{"low lower lowest slow slower"}, tokenizer.TrainConfig{
		VocabSize: 270,
		Special:   []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"},
	})
	if err != nil {
		panic(err)
	}
	// Merges: "l o" and "o w" both occur 5 times ("l" sorts first), then
	// "lo w" (5), then "low e" (3: lower, lowest, slower).
	ids := tk.Encode("lowest<|endoftext|>")
	fmt.Println(ids, tk.Merges()[:3])
	fmt.Printf("%q\n", tk.Decode(ids))
	// Output:
	// [261 85 86 0] [l o lo w low e]
	// "lowest<|endoftext|>"
}

func ExampleTokenizer_EncodeChat() {
	tk, err := tokenizer.Train([]string{"Hi! How are you?"}, tokenizer.TrainConfig{
		VocabSize: 270,
		Special:   []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"},
	})
	if err != nil {
		panic(err)
	}
	msgs := []tokenizer.Message{{Role: "user", Content: "Hi!"}, {Role: "assistant", Content: "How are you?"}}
	ids, mask, err := tk.EncodeChat(msgs, false)
	if err != nil {
		panic(err)
	}
	var trained []int32
	for i, id := range ids {
		if mask[i] {
			trained = append(trained, id)
		}
	}
	fmt.Printf("%q\n", tk.Decode(trained))
	// Output:
	// "How are you?<|im_end|>"
}
