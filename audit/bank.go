package audit

import (
	"fmt"
	"math/rand/v2"
	"strconv"
)

// fact is one row of the built-in facts table. Rare rows are about less
// familiar entities: the rare-event probe's "rare entity" slice.
type fact struct {
	q, a, wrong string
	rare        bool
}

// facts is small on purpose: every answer is checkable by eye.
var facts = []fact{
	{"What is the capital of France?", "Paris", "Lyon", false},
	{"What is the capital of Japan?", "Tokyo", "Osaka", false},
	{"What is the capital of Italy?", "Rome", "Milan", false},
	{"What is the capital of Germany?", "Berlin", "Munich", false},
	{"What is the capital of Spain?", "Madrid", "Barcelona", false},
	{"What is the capital of Canada?", "Ottawa", "Toronto", false},
	{"What is the capital of Egypt?", "Cairo", "Alexandria", false},
	{"What is the capital of Russia?", "Moscow", "Saint Petersburg", false},
	{"What is the chemical symbol for gold?", "Au", "Ag", false},
	{"What is the chemical symbol for iron?", "Fe", "Ir", false},
	{"What is the chemical symbol for sodium?", "Na", "So", false},
	{"What is the chemical symbol for oxygen?", "O", "Ox", false},
	{"How many legs does a spider have?", "8", "6", false},
	{"How many continents are there?", "7", "6", false},
	{"What planet is known as the Red Planet?", "Mars", "Venus", false},
	{"What is the largest planet in the Solar System?", "Jupiter", "Saturn", false},
	{"Who wrote Romeo and Juliet?", "William Shakespeare", "Christopher Marlowe", false},
	{"What is the boiling point of water at sea level in degrees Celsius?", "100", "90", false},
	{"How many days are in a leap year?", "366", "365", false},
	{"What gas do plants absorb from the air for photosynthesis?", "Carbon dioxide", "Oxygen", false},
	{"What is the capital of Bhutan?", "Thimphu", "Paro", true},
	{"What is the capital of Tuvalu?", "Funafuti", "Nukulaelae", true},
	{"What is the capital of Burkina Faso?", "Ouagadougou", "Bobo-Dioulasso", true},
	{"What is the capital of Kyrgyzstan?", "Bishkek", "Osh", true},
	{"What is the capital of Eswatini?", "Mbabane", "Manzini", true},
	{"What is the capital of Comoros?", "Moroni", "Mutsamudu", true},
	{"What is the chemical symbol for tungsten?", "W", "Tu", true},
	{"What is the chemical symbol for antimony?", "Sb", "An", true},
	{"What is the chemical symbol for mercury?", "Hg", "Me", true},
	{"What is the chemical symbol for potassium?", "K", "P", true},
	{"What is the atomic number of rhenium?", "75", "76", true},
	{"What is the atomic number of hafnium?", "72", "73", true},
	{"Which planet has the moon Miranda?", "Uranus", "Neptune", true},
	{"Which planet has the moon Triton?", "Neptune", "Uranus", true},
	{"Who wrote the novel Oblomov?", "Ivan Goncharov", "Ivan Turgenev", true},
	{"Who composed the opera Rusalka?", "Antonin Dvorak", "Bedrich Smetana", true},
}

// Domains of the built-in bank.
const (
	DomainArithmetic = "arithmetic"
	DomainComparison = "comparison"
	DomainFacts      = "facts"
)

// Bank builds n procedural samples with verifiable answers from seed:
// arithmetic (sums, differences, products), comparisons of two numbers and
// facts from a small embedded table (common and rare entities), in roughly
// 40/30/30 proportions; facts stop at the table's size and arithmetic fills
// the rest. domains limits the mix (nil for all). The same (n, seed,
// domains) always gives the same samples.
func Bank(n int, seed int64, domains []string) (Dataset, error) {
	if n < 1 {
		return Dataset{}, fmt.Errorf("bank size %d: need at least 1", n)
	}
	want := map[string]bool{}
	for _, d := range domains {
		switch d {
		case DomainArithmetic, DomainComparison, DomainFacts:
			want[d] = true
		default:
			return Dataset{}, fmt.Errorf("unknown bank domain %q (have arithmetic, comparison, facts)", d)
		}
	}
	if len(want) == 0 {
		want = map[string]bool{DomainArithmetic: true, DomainComparison: true, DomainFacts: true}
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0xba4c))
	factOrder := rng.Perm(len(facts))
	var plan []string
	for i := 0; len(plan) < n; i++ {
		switch i % 10 {
		case 0, 3, 6, 9:
			plan = appendIf(plan, want, DomainArithmetic)
		case 1, 4, 7:
			plan = appendIf(plan, want, DomainComparison)
		default:
			plan = appendIf(plan, want, DomainFacts)
		}
		if i > 10*n+10 {
			break
		}
	}
	ds := Dataset{Name: fmt.Sprintf("bank(n=%d,seed=%d)", n, seed)}
	nf := 0
	for i, d := range plan[:n] {
		if d == DomainFacts && nf >= len(facts) {
			if want[DomainArithmetic] {
				d = DomainArithmetic
			} else {
				d = DomainComparison
			}
		}
		var s Sample
		switch d {
		case DomainArithmetic:
			s = arithItem(rng)
		case DomainComparison:
			s = compareItem(rng)
		default:
			s = factItem(facts[factOrder[nf]])
			nf++
		}
		s.ID = fmt.Sprintf("%s-%04d", d[:4], i)
		ds.Samples = append(ds.Samples, s)
	}
	return ds, nil
}

func appendIf(plan []string, want map[string]bool, d string) []string {
	if want[d] {
		return append(plan, d)
	}
	return plan
}

func arithItem(rng *rand.Rand) Sample {
	var a, b, ans int
	var op, word string
	switch rng.IntN(3) {
	case 0:
		a, b = 10+rng.IntN(990), 10+rng.IntN(990)
		op, word, ans = "+", "plus", a+b
	case 1:
		a, b = 100+rng.IntN(9900), 10+rng.IntN(90)
		op, word, ans = "-", "minus", a-b
	default:
		a, b = 2+rng.IntN(48), 2+rng.IntN(18)
		op, word, ans = "*", "times", a*b
	}
	wrong := ans + []int{-10, -2, -1, 1, 2, 10}[rng.IntN(6)]
	q := func(a int) string { return fmt.Sprintf("What is %d %s %d?", a, word, b) }
	// The directional variant adds 1 to a: the answer moves by b for a
	// product and by 1 otherwise (CheckList's DIR test with a known shift).
	dirAns := ans + 1
	if op == "*" {
		dirAns = ans + b
	}
	return Sample{Input: userMsg(q(a)), Target: strconv.Itoa(ans), Wrong: strconv.Itoa(wrong), Scorer: "numeric",
		Metadata: map[string]string{"domain": DomainArithmetic, "op": op,
			"dir_question": q(a + 1), "dir_target": strconv.Itoa(dirAns)}}
}

func compareItem(rng *rand.Rand) Sample {
	a := 10 + rng.IntN(990)
	b := 10 + rng.IntN(990)
	for b == a {
		b = 10 + rng.IntN(990)
	}
	hi, lo := max(a, b), min(a, b)
	// Directional variant: ask for the smaller one; the answer must move.
	return Sample{Input: userMsg(fmt.Sprintf("Which number is larger, %d or %d?", a, b)), Target: strconv.Itoa(hi),
		Wrong: strconv.Itoa(lo), Scorer: "numeric",
		Metadata: map[string]string{"domain": DomainComparison,
			"dir_question": fmt.Sprintf("Which number is smaller, %d or %d?", a, b), "dir_target": strconv.Itoa(lo)}}
}

func factItem(f fact) Sample {
	rare := "false"
	if f.rare {
		rare = "true"
	}
	return Sample{Input: userMsg(f.q), Target: f.a, Wrong: f.wrong, Scorer: "normalized",
		Metadata: map[string]string{"domain": DomainFacts, "rare": rare}}
}
