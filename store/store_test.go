package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "sub", "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func sample(run string, i int) Sample {
	return Sample{RunID: run, SampleID: fmt.Sprintf("s%04d", i), Probe: "p",
		Data:   []byte(fmt.Sprintf(`{"i":%d}`, i)),
		Scores: []Score{{Turn: 0, Scorer: "exact", Value: 1, Answer: "a"}, {Turn: 1, Scorer: "exact", Value: 0, Answer: "b"}}}
}

func TestRunsAndSamples(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	resumed, err := s.StartRun(ctx, Run{ID: "r1", Target: "t", Model: "m", Config: `{"a":1}`})
	if err != nil || resumed {
		t.Fatal(resumed, err)
	}
	if _, err := s.StartRun(ctx, Run{ID: "r1", Config: `{"a":2}`}); err == nil {
		t.Error("resumed a run with another configuration")
	}
	if resumed, err = s.StartRun(ctx, Run{ID: "r1", Config: `{"a":1}`}); err != nil || !resumed {
		t.Fatal(resumed, err)
	}
	n, err := s.PutSamples(ctx, []Sample{sample("r1", 1), sample("r1", 2)})
	if err != nil || n != 2 {
		t.Fatal(n, err)
	}
	// Repeating a sample is a no-op: resumed runs can never double-count.
	n, err = s.PutSamples(ctx, []Sample{sample("r1", 2), sample("r1", 3)})
	if err != nil || n != 1 {
		t.Fatal(n, err)
	}
	got, err := s.Samples(ctx, "r1")
	if err != nil || len(got) != 3 || string(got[0].Data) != `{"i":1}` {
		t.Fatalf("%v %v", got, err)
	}
	sc, err := s.Scores(ctx, "r1", "s0002")
	if err != nil || len(sc) != 2 || sc[1].Answer != "b" {
		t.Fatalf("%v %v", sc, err)
	}
	if err := s.FinishRun(ctx, "r1", "done", `{"probes":{}}`); err != nil {
		t.Fatal(err)
	}
	runs, err := s.Runs(ctx)
	if err != nil || len(runs) != 1 || runs[0].Status != "done" || runs[0].Summary == "" {
		t.Fatalf("%+v %v", runs, err)
	}
}

func TestCache(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	if _, ok, err := s.GetCached(ctx, "k"); ok || err != nil {
		t.Fatal(ok, err)
	}
	if err := s.PutCached(ctx, "k", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutCached(ctx, "k", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	b, ok, err := s.GetCached(ctx, "k")
	if !ok || err != nil || string(b) != "v2" {
		t.Fatal(string(b), ok, err)
	}
	if n, _ := s.CacheSize(ctx); n != 1 {
		t.Errorf("cache size %d", n)
	}
}

const killEnv = "ALIGNLAB_STORE_KILL_CHILD"

// TestKillChild is the child half of TestKillResume: it writes samples one
// transaction at a time, printing each id after its commit, until killed.
func TestKillChild(t *testing.T) {
	path := os.Getenv(killEnv)
	if path == "" {
		t.Skip("only run as TestKillResume's child")
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.StartRun(ctx, Run{ID: "r", Config: "{}"}); err != nil {
		t.Fatal(err)
	}
	done, err := s.DoneSamples(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	for i := range killTotal {
		sm := sample("r", i)
		if done[sm.SampleID] {
			continue
		}
		if _, err := s.PutSamples(ctx, []Sample{sm}); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("committed %d\n", i)
		time.Sleep(time.Millisecond)
	}
	fmt.Println("finished")
	select {} // wait to be killed
}

const killTotal = 400

// TestKillResume kills a writing process with SIGKILL at three points and
// resumes each time: every sample the child reported committed survives,
// and in the end every sample is stored exactly once.
func TestKillResume(t *testing.T) {
	if os.Getenv(killEnv) != "" {
		t.Skip()
	}
	path := filepath.Join(t.TempDir(), "kill.db")
	committed := map[int]bool{}
	for round, killAfter := range []int{25, 60, killTotal} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), killEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		seen := 0
		for sc.Scan() {
			// A child can commit a few samples between the line that makes
			// us stop reading and the kill; those are not reported but are
			// done, so the last child may have fewer than the rest to do
			// and says when it has none left.
			if sc.Text() == "finished" {
				break
			}
			if i, ok := strings.CutPrefix(sc.Text(), "committed "); ok {
				n, _ := strconv.Atoi(i)
				committed[n] = true
				seen++
				if seen == killAfter || len(committed) == killTotal {
					break
				}
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		t.Logf("round %d: child committed %d before SIGKILL", round, seen)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	done, err := s.DoneSamples(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	for i := range committed {
		if !done[fmt.Sprintf("s%04d", i)] {
			t.Errorf("sample %d reported committed but lost", i)
		}
	}
	if len(done) != killTotal {
		t.Errorf("stored %d samples (children reported %d), want %d", len(done), len(committed), killTotal)
	}
	var nScores int
	s.r.QueryRow(`SELECT count(*) FROM scores WHERE run_id='r'`).Scan(&nScores)
	if nScores != 2*killTotal {
		t.Errorf("scores = %d, want %d (none repeated, none lost)", nScores, 2*killTotal)
	}
	var check string
	s.r.QueryRow(`PRAGMA integrity_check`).Scan(&check)
	if check != "ok" {
		t.Errorf("integrity_check: %s", check)
	}
}
