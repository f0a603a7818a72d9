package rundir

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{[]string{"alignlab", "audit", "--api-key", "sk-123", "--n", "5"}, []string{"alignlab", "audit", "--api-key", "REDACTED", "--n", "5"}},
		{[]string{"audit", "--api-key=sk-123"}, []string{"audit", "--api-key=REDACTED"}},
		{[]string{"audit", "--openai-api-key", "sk-1"}, []string{"audit", "--openai-api-key", "REDACTED"}},
		{[]string{"audit", "--api-key-env", "OPENAI_API_KEY"}, []string{"audit", "--api-key-env", "OPENAI_API_KEY"}},
		{[]string{"lab", "--quick", "--seed", "3"}, []string{"lab", "--quick", "--seed", "3"}},
		{[]string{"audit", "--token"}, []string{"audit", "--token"}},
		// Credentials in URLs: user info and query values.
		{[]string{"audit", "--target", "https://user:sk-SECRET@host/v1?api_key=sk-SECRET2"}, []string{"audit", "--target", "https://REDACTED@host/v1?api_key=REDACTED"}},
		{[]string{"audit", "--judge-target=http://h/v1?key=s3"}, []string{"audit", "--judge-target=http://h/v1?key=REDACTED"}},
		{[]string{"audit", "--series", "http://h:8080/v1"}, []string{"audit", "--series", "http://h:8080/v1"}},
	} {
		if got := Redact(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCreateListRead(t *testing.T) {
	root := filepath.Join(t.TempDir(), "runs")
	seed := uint64(7)
	d1, m1, err := Create(root, "inspect-mirage", []string{"alignlab", "inspect", "mirage", "--api-key", "x"}, &seed, "dev")
	if err != nil {
		t.Fatal(err)
	}
	d2, m2, err := Create(root, "inspect-mirage", nil, nil, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if d1 == d2 || m1.ID == m2.ID {
		t.Fatalf("two runs in one second share a directory: %s", d1)
	}
	got, err := ReadMeta(d1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Command[4] != "REDACTED" || *got.Seed != 7 || got.Kind != "inspect-mirage" {
		t.Fatalf("ReadMeta = %+v", got)
	}
	if err := os.Mkdir(filepath.Join(root, "not-a-run"), 0o755); err != nil {
		t.Fatal(err)
	}
	all, err := List(root)
	if err != nil || len(all) != 2 {
		t.Fatalf("List = %v, %v; want the 2 runs", all, err)
	}
	if none, err := List(filepath.Join(root, "missing")); err != nil || len(none) != 0 {
		t.Fatalf("List(missing) = %v, %v", none, err)
	}
}
