package report

// Reports opened in headless Chromium (Debian's chromium, which .ci/run
// installs): every chart is in the rendered DOM, the console stays empty,
// the page makes no network request, and a screenshot is kept.
// ALIGNLAB_ARTIFACTS names a directory for the screenshots and pages
// (default: the test's temporary directory, logged); ALIGNLAB_CHROMIUM
// overrides the browser's path.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alignlab/alignlab/prefs"
)

func chromiumPath(t *testing.T) string {
	if p := os.Getenv("ALIGNLAB_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium not found: install Debian's chromium (apt-get install -y chromium; .ci/run does) or set ALIGNLAB_CHROMIUM to run the browser checks")
	return ""
}

func artifactDir(t *testing.T) string {
	dir := os.Getenv("ALIGNLAB_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browserResult is what one headless page load showed.
type browserResult struct {
	dom      string
	console  []string // console messages of the page
	requests []string // URLs the page asked for
}

// chromiumOwnHosts are the services Chromium itself calls at start-up
// (time, updates, accounts) even with background networking off; they
// are the browser's, not the page's, and this closed network refuses
// them anyway.
var chromiumOwnHosts = regexp.MustCompile(`^https?://([a-z0-9-]+\.)*(google\.com|googleapis\.com|gvt1\.com|gstatic\.com|chromium\.org)(:\d+)?/`)

var netLogURL = regexp.MustCompile(`"url":"([^"]+)"`)

// load opens the HTML file in headless Chromium, dumps its DOM, saves a
// screenshot to png, and collects console messages and network requests.
func load(t *testing.T, chromium, html, png string, height int) browserResult {
	t.Helper()
	work := t.TempDir()
	netlog := filepath.Join(work, "netlog.json")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// The flags keep Chromium from calling home (refused here, and noise
	// anywhere); a fresh profile keeps runs independent.
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir="+filepath.Join(work, "profile"), "--enable-logging=stderr", "--v=0", "--log-net-log="+netlog,
		fmt.Sprintf("--window-size=1280,%d", height), "--screenshot="+png, "--dump-dom", "file://"+html)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	var r browserResult
	r.dom = stdout.String()
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, ":CONSOLE") {
			r.console = append(r.console, line)
		}
	}
	raw, err := os.ReadFile(netlog)
	if err != nil {
		t.Fatalf("chromium wrote no net log: %v", err)
	}
	seen := map[string]bool{}
	for _, m := range netLogURL.FindAllStringSubmatch(string(raw), -1) {
		u := m[1]
		if seen[u] || strings.HasPrefix(u, "file:") || strings.HasPrefix(u, "data:") || chromiumOwnHosts.MatchString(u) {
			continue
		}
		seen[u] = true
		r.requests = append(r.requests, u)
	}
	return r
}

var svgChart = regexp.MustCompile(`<svg[^>]*\bdata-chart="([a-z]+)"`)

// withoutCSP drops the page's content security policy, so that a request
// the page would make shows up in the net log instead of being blocked.
func withoutCSP(html []byte) []byte {
	return regexp.MustCompile(`<meta http-equiv="Content-Security-Policy"[^>]*>`).ReplaceAll(html, nil)
}

func TestReportsInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	art := artifactDir(t)
	pages := map[string]func(t *testing.T) string{
		"lab": func(t *testing.T) string { return copyDir(t, labQuickDir) },
		"audit": func(t *testing.T) string {
			dir := filepath.Join(t.TempDir(), "audit-0123456789ab")
			if _, err := SaveAudit(dir, auditMeta(), testAuditSummary()); err != nil {
				t.Fatal(err)
			}
			return dir
		},
		"data-audit": func(t *testing.T) string {
			data := filepath.Join(t.TempDir(), "prefs.jsonl")
			f, err := os.Create(data)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := prefs.WriteSynth(f, prefs.SynthConfig{Items: 300, LabelsPerItem: 3, Seed: 5}); err != nil {
				t.Fatal(err)
			}
			f.Close()
			au, err := prefs.Run(context.Background(), []string{data}, prefs.Options{Seed: 1, Workers: 1})
			if err != nil {
				t.Fatal(err)
			}
			dir, _, err := SaveDataAudit(t.TempDir(), []string{"alignlab", "data", "audit", data}, 1, "test", au.Report)
			if err != nil {
				t.Fatal(err)
			}
			return dir
		},
		"inspect": func(t *testing.T) string { return writeInspectRun(t, testInspectResult()) },
	}
	for _, name := range []string{"lab", "audit", "data-audit", "inspect"} {
		t.Run(name, func(t *testing.T) {
			dir := pages[name](t)
			p, err := Build(dir)
			if err != nil {
				t.Fatal(err)
			}
			html := []byte(render(t, p))
			page := filepath.Join(art, name+"-report.html")
			if err := os.WriteFile(page, html, 0o644); err != nil {
				t.Fatal(err)
			}
			probe := filepath.Join(t.TempDir(), name+"-nocsp.html")
			if err := os.WriteFile(probe, withoutCSP(html), 0o644); err != nil {
				t.Fatal(err)
			}
			png := filepath.Join(art, name+"-report.png")
			// Tall enough for the whole page: the screenshot is the viewport.
			height := map[string]int{"lab": 6400, "data-audit": 3600}[name]
			if height == 0 {
				height = 1600
			}
			r := load(t, chromium, probe, png, height)
			want := map[string]int{}
			for _, c := range p.Charts() {
				want[c.Kind]++
			}
			got := map[string]int{}
			for _, m := range svgChart.FindAllStringSubmatch(r.dom, -1) {
				got[m[1]]++
			}
			if len(p.Charts()) == 0 || len(got) != len(want) {
				t.Errorf("charts in the browser's DOM %v, want %v", got, want)
			}
			for k, n := range want {
				if got[k] != n {
					t.Errorf("%d %s charts in the browser's DOM, want %d", got[k], k, n)
				}
			}
			if len(r.console) > 0 {
				t.Errorf("console messages:\n%s", strings.Join(r.console, "\n"))
			}
			if len(r.requests) > 0 {
				t.Errorf("the page made network requests: %v", r.requests)
			}
			shot, err := os.ReadFile(png)
			if err != nil || !bytes.HasPrefix(shot, []byte("\x89PNG")) {
				t.Fatalf("no screenshot at %s: %v", png, err)
			}
			t.Logf("screenshot %s (%d bytes); page %s", png, len(shot), page)
		})
	}
}

// TestBrowserChecksCatchProblems is the negative control: a page with a
// script error, a console message and an off-page image must fail every
// check the reports pass.
func TestBrowserChecksCatchProblems(t *testing.T) {
	chromium := chromiumPath(t)
	page := filepath.Join(t.TempDir(), "bad.html")
	bad := `<!DOCTYPE html><html><body><img src="http://192.0.2.1/x.png"><script>console.error("boom"); missing();</script></body></html>`
	if err := os.WriteFile(page, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	r := load(t, chromium, page, filepath.Join(t.TempDir(), "bad.png"), 300)
	if len(r.console) < 2 {
		t.Errorf("console check missed the error and the exception: %v", r.console)
	}
	if len(r.requests) != 1 || r.requests[0] != "http://192.0.2.1/x.png" {
		t.Errorf("request check saw %v, want the image", r.requests)
	}
	if m := externalRef.FindString(bad); m == "" {
		t.Error("the static check missed the off-page image")
	}
}
