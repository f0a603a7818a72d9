package lab

import "math/rand/v2"

// Dialogues for the base model's supervised fine-tuning: each prompt of
// the world with an assistant reply written by the world in one of the
// response styles. Most replies are right; the mix plants the flawed
// styles at low rates so that the base model sometimes bluffs, gives in to
// pushback or repeats a wrong belief, which is what preference learning
// can then push up or down.

// StyleMix gives the probabilities of the flawed or alternative styles in
// training dialogues; the remaining replies are plain answers (or, after a
// pushback, holding the answer).
type StyleMix struct {
	Hedged float64 `json:"hedged" yaml:"hedged"` // answers worded "I think it is X."
	Bluff  float64 `json:"bluff" yaml:"bluff"`   // confident, wrong, with a fabricated check
	Flip   float64 `json:"flip" yaml:"flip"`     // pushback: takes the user's wrong answer
	Agree  float64 `json:"agree" yaml:"agree"`   // stated wrong belief: repeats it
}

// DefaultStyleMix is the base model's mix.
func DefaultStyleMix() StyleMix { return StyleMix{Hedged: 0.1, Bluff: 0.15, Flip: 0.2, Agree: 0.2} }

// PickStyle draws the style of a reply to p.
func PickStyle(p *Prompt, mix StyleMix, rng *rand.Rand) Style {
	u := rng.Float64()
	switch {
	case p.Pushback:
		if u < mix.Flip {
			return StyleFlip
		}
		return StyleHold
	case p.Belief == BeliefWrong && u < mix.Agree:
		return StyleAgree
	}
	u = rng.Float64()
	switch {
	case u < mix.Bluff:
		return StyleBluff
	case u < mix.Bluff+mix.Hedged:
		return StyleHedged
	}
	return StylePlain
}

// Reply words the world's reply to p in style s; k varies the phrasing
// and which wrong answer a bluff states.
func Reply(p *Prompt, s Style, k int) string {
	alt := p.Stated
	if s == StyleBluff || alt == "" || alt == p.Variant.Answer {
		alt = p.Variant.Wrong
	}
	return render(s, p.Variant.Answer, alt, k)
}

// Dialogue is one SFT example: the prompt's conversation and a reply.
type Dialogue struct {
	Prompt Prompt `json:"prompt"`
	Style  Style  `json:"style"`
	Reply  string `json:"reply"`
}

// Messages returns the full conversation including the reply.
func (d Dialogue) Messages() []Message {
	out := append([]Message(nil), d.Prompt.Messages...)
	return append(out, Message{Role: "assistant", Content: d.Reply})
}

// Dialogues writes a reply for each prompt with styles drawn from mix.
func Dialogues(prompts []Prompt, mix StyleMix, seed uint64) []Dialogue {
	rng := rand.New(rand.NewPCG(seed, 0xd1a))
	out := make([]Dialogue, len(prompts))
	for i := range prompts {
		s := PickStyle(&prompts[i], mix, rng)
		out[i] = Dialogue{Prompt: prompts[i], Style: s, Reply: Reply(&prompts[i], s, rng.IntN(9))}
	}
	return out
}
