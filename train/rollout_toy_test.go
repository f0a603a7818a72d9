package train

import (
	"math/rand/v2"
	"testing"

	"github.com/alignlab/alignlab/model"
)

// A token-level toy world shared by the reward, PPO, RLOO and GRPO tests:
// prompts of toyPrompt random tokens, completions of toyCompletion tokens,
// and a gold reward that is the fraction of even tokens in the completion.
const (
	toyVocab      = 12
	toyPrompt     = 3
	toyCompletion = 6
)

// underRace shortens a learning test under the race detector, where it
// only checks that training runs without races (the learning assertions
// run in the normal build): it returns true after logging why.
func underRace(t *testing.T) bool {
	if raceEnabled {
		t.Log("race build: a short run without the learning assertions")
	}
	return raceEnabled
}

func toyModel(t testing.TB, seed int64) *model.Model {
	t.Helper()
	m, err := model.New(model.GPT2Config(toyVocab, 16, 1, 2, 32), seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func toyTokens(rng *rand.Rand, n int) []int32 {
	s := make([]int32, n)
	for i := range s {
		s[i] = int32(rng.IntN(toyVocab))
	}
	return s
}

func toyPrompts(rng *rand.Rand, n int) [][]int32 {
	ps := make([][]int32, n)
	for i := range ps {
		ps[i] = toyTokens(rng, toyPrompt)
	}
	return ps
}

// toyGold is the gold reward: the fraction of even completion tokens.
func toyGold(_, completion []int32) float64 {
	if len(completion) == 0 {
		return 0
	}
	n := 0
	for _, t := range completion {
		if t%2 == 0 {
			n++
		}
	}
	return float64(n) / float64(len(completion))
}

// toyPairs draws n pairs of uniformly random completions with different
// gold rewards, the better one chosen.
func toyPairs(rng *rand.Rand, n int) []PreferencePair {
	pairs := make([]PreferencePair, 0, n)
	for len(pairs) < n {
		p := toyTokens(rng, toyPrompt)
		a, b := toyTokens(rng, toyCompletion), toyTokens(rng, toyCompletion)
		ga, gb := toyGold(p, a), toyGold(p, b)
		if ga == gb {
			continue
		}
		if ga < gb {
			a, b = b, a
		}
		pairs = append(pairs, PreferencePair{Chosen: append(append([]int32{}, p...), a...), Rejected: append(append([]int32{}, p...), b...)})
	}
	return pairs
}
