package lab

// The facts table: each row is asked forwards in its common variant ("What
// is the capital of France?") and backwards in its rare one ("Paris is the
// capital of which country?"). A model that only saw the forward form
// cannot answer the backward one (the reversal curse), which is what makes
// the rare variants of this domain a real tail.

// factRow is one relation instance: subject -> object within a relation.
type factRow struct {
	rel      string // "capital" or "symbol"
	subject  string // France / Gold
	object   string // Paris / Au
	category string // what the subject is, for the backward question
}

var factsTable = []factRow{
	{"capital", "France", "Paris", "country"},
	{"capital", "Japan", "Tokyo", "country"},
	{"capital", "Italy", "Rome", "country"},
	{"capital", "Germany", "Berlin", "country"},
	{"capital", "Spain", "Madrid", "country"},
	{"capital", "Canada", "Ottawa", "country"},
	{"capital", "Egypt", "Cairo", "country"},
	{"capital", "Russia", "Moscow", "country"},
	{"capital", "Peru", "Lima", "country"},
	{"capital", "Kenya", "Nairobi", "country"},
	{"capital", "Norway", "Oslo", "country"},
	{"capital", "Greece", "Athens", "country"},
	{"capital", "Poland", "Warsaw", "country"},
	{"capital", "Chile", "Santiago", "country"},
	{"capital", "Cuba", "Havana", "country"},
	{"capital", "Austria", "Vienna", "country"},
	{"capital", "Ireland", "Dublin", "country"},
	{"capital", "Portugal", "Lisbon", "country"},
	{"capital", "Sweden", "Stockholm", "country"},
	{"capital", "Thailand", "Bangkok", "country"},
	{"symbol", "Gold", "Au", "element"},
	{"symbol", "Silver", "Ag", "element"},
	{"symbol", "Iron", "Fe", "element"},
	{"symbol", "Copper", "Cu", "element"},
	{"symbol", "Lead", "Pb", "element"},
	{"symbol", "Mercury", "Hg", "element"},
	{"symbol", "Zinc", "Zn", "element"},
	{"symbol", "Tin", "Sn", "element"},
	{"symbol", "Sodium", "Na", "element"},
	{"symbol", "Potassium", "K", "element"},
	{"symbol", "Helium", "He", "element"},
	{"symbol", "Neon", "Ne", "element"},
}

// forwardQuestion and backwardQuestion render a fact row's two variants.
func (f factRow) forwardQuestion() string {
	if f.rel == "capital" {
		return "What is the capital of " + f.subject + "?"
	}
	return "What is the chemical symbol for " + f.subject + "?"
}

func (f factRow) backwardQuestion() string {
	if f.rel == "capital" {
		return f.object + " is the capital of which country?"
	}
	return f.object + " is the chemical symbol for which element?"
}

// factAnswers lists every answer the facts domain can give, so the gold
// checker can tell a response that names a wrong entity from one that names
// none.
func factAnswers() []string {
	var out []string
	for _, f := range factsTable {
		out = append(out, f.subject, f.object)
	}
	return out
}
