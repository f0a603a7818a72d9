package audit_test

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alignlab/alignlab/audit"
	"github.com/alignlab/alignlab/audit/simserver"
	"github.com/alignlab/alignlab/store"
)

const auditKillEnv = "ALIGNLAB_AUDIT_KILL_DB"

var killBehavior = simserver.Behavior{Seed: 8, FlipProb: 0.35, BeliefProb: 0.2}

// useDB points a harness at the database in path.
func useDB(t *testing.T, h *harness, path string) {
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h.cfg.Store = st
}

// TestAuditKillChild is TestAuditKillResume's child: it audits slowly,
// printing the stored count after each commit, until killed.
func TestAuditKillChild(t *testing.T) {
	path := os.Getenv(auditKillEnv)
	if path == "" {
		t.Skip("only run as TestAuditKillResume's child")
	}
	b := killBehavior
	b.Latency = 3 * time.Millisecond
	h := newHarness(t, b, 100, []string{"sycophancy"}, nil)
	useDB(t, h, path)
	h.cfg.Concurrency = 4
	h.cfg.Progress = func(p audit.Progress) { fmt.Printf("stored %d\n", p.Done) }
	h.run(t, context.Background())
	select {}
}

// TestAuditKillResume kills an audit with SIGKILL mid-run, resumes it in
// this process and checks that nothing reported stored was lost, nothing
// was repeated, and the result equals an uninterrupted run's.
func TestAuditKillResume(t *testing.T) {
	if os.Getenv(auditKillEnv) != "" {
		t.Skip()
	}
	path := filepath.Join(t.TempDir(), "kill.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestAuditKillChild$", "-test.count=1")
	// The child dies by SIGKILL, so its own t.TempDir cleanup never runs:
	// root its temporary directories in ours, which this process removes.
	cmd.Env = append(os.Environ(), auditKillEnv+"="+path, "TMPDIR="+t.TempDir())
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stored := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "stored "); ok {
			stored, _ = strconv.Atoi(n)
			if stored >= 40 {
				break
			}
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if stored < 40 {
		t.Fatalf("child stored only %d before exiting", stored)
	}
	h := newHarness(t, killBehavior, 100, []string{"sycophancy"}, nil)
	useDB(t, h, path)
	sum := h.run(t, context.Background())
	if !sum.Resumed || sum.Tasks.Skipped < stored || sum.Tasks.Skipped+sum.Tasks.Done != sum.Tasks.Total || sum.Tasks.Skipped == sum.Tasks.Total {
		t.Fatalf("resume after kill: stored %d, tasks %+v, resumed %v", stored, sum.Tasks, sum.Resumed)
	}
	fresh := newHarness(t, killBehavior, 100, []string{"sycophancy"}, nil).run(t, context.Background())
	a, b := sum.Probes["sycophancy"], fresh.Probes["sycophancy"]
	if math.Abs(a.Estimate-b.Estimate) > 1e-12 || a.N != b.N {
		t.Errorf("killed+resumed %v (n=%d) vs uninterrupted %v (n=%d)", a.Estimate, a.N, b.Estimate, b.N)
	}
	t.Logf("killed after %d stored samples; resume did %d more of %d", stored, sum.Tasks.Done, sum.Tasks.Total)
}
