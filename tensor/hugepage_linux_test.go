package tensor

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

func TestHugePageInterior(t *testing.T) {
	buf := make([]float32, 5<<20/4+3) // a little over 5 MiB
	for _, c := range []struct {
		name    string
		x       []float32
		atMost  int // interior bytes, at most
		atLeast int
	}{
		{"empty", nil, 0, 0},
		{"small", buf[:1000], 0, 0},
		{"5MiB", buf, 5 << 20, 2 << 20},
		{"offset", buf[1:], 5 << 20, 2 << 20},
	} {
		b := hugePageInterior(c.x)
		if len(b) > c.atMost || len(b) < c.atLeast {
			t.Errorf("%s: interior of %d bytes, want %d..%d", c.name, len(b), c.atLeast, c.atMost)
		}
		if len(b) == 0 {
			continue
		}
		lo := uintptr(unsafe.Pointer(&b[0]))
		start := uintptr(unsafe.Pointer(&c.x[0]))
		end := start + uintptr(len(c.x))*4
		if lo%hugePageSize != 0 || len(b)%hugePageSize != 0 {
			t.Errorf("%s: interior [%#x, +%d) not whole huge pages", c.name, lo, len(b))
		}
		if lo < start || lo+uintptr(len(b)) > end {
			t.Errorf("%s: interior [%#x, %#x) outside the buffer [%#x, %#x)", c.name, lo, lo+uintptr(len(b)), start, end)
		}
	}
}

// TestAdviseHugePagesMarksMapping checks that the advice reaches the
// kernel: the mapping holding the buffer's interior carries the "hg"
// (MADV_HUGEPAGE) flag in /proc/self/smaps afterwards.
func TestAdviseHugePagesMarksMapping(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil {
		t.Skip("no transparent huge pages on this kernel")
	}
	buf := make([]float32, 8<<20/4)
	addr := uintptr(unsafe.Pointer(&hugePageInterior(buf)[0]))
	AdviseHugePages(buf)
	flags, err := vmFlagsAt(addr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(" "+flags+" ", " hg ") {
		t.Fatalf("mapping at %#x has VmFlags %q, want hg among them", addr, flags)
	}
}

// vmFlagsAt returns the VmFlags line of the /proc/self/smaps entry that
// holds addr.
func vmFlagsAt(addr uintptr) (string, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return "", err
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if lo, hi, ok := smapsRange(line); ok {
			in = lo <= uint64(addr) && uint64(addr) < hi
			continue
		}
		if in && strings.HasPrefix(line, "VmFlags:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmFlags:")), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", os.ErrNotExist
}

// smapsRange parses the address range that opens an smaps entry
// ("7f00-7f80 rw-p ...").
func smapsRange(line string) (lo, hi uint64, ok bool) {
	field, _, _ := strings.Cut(line, " ")
	a, b, found := strings.Cut(field, "-")
	if !found {
		return 0, 0, false
	}
	lo, err1 := strconv.ParseUint(a, 16, 64)
	hi, err2 := strconv.ParseUint(b, 16, 64)
	return lo, hi, err1 == nil && err2 == nil
}
