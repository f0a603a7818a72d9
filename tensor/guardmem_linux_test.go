//go:build linux

package tensor

// Guard-page memory for the bounds tests of guard_linux_test.go. The
// existing tests size their slices exactly, but a slice from make sits
// inside a larger heap span, so an assembly loop that reads or writes a
// few bytes past either end goes unseen. Here each operand gets a mapping
// of its own, [PROT_NONE page | data pages | PROT_NONE page], and is
// placed flush against the trailing guard or, in the other layout, the
// leading one: the first byte out of bounds on that side faults. The
// bytes next to the slice on its other side are poison, a signalling NaN
// in every element, checked afterwards for stray writes: a stray read of
// them turns a result into NaN, and arithmetic on it quiets the NaN, so
// even a NaN written back from it shows.

import (
	"fmt"
	"runtime/debug"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// guardPoison is how many bytes of poison lie beside a slice, on the side
// away from its guard page: more than the widest vector access (a zmm).
const guardPoison = 128

// Poison elements, as little-endian bytes: signalling NaNs, float32 (also
// used for int32, where it is no index) and fp16.
var (
	poison32 = []byte{0xa5, 0xa5, 0xa5, 0x7f} // 0x7fa5a5a5
	poison16 = []byte{0x25, 0x7d}             // 0x7d25
)

// guardSlot is one mapping; its slice is data[lo:hi], with poison, an
// element pattern repeated, beside it.
type guardSlot struct {
	mem    []byte // the whole mapping, guards included
	data   []byte // the accessible pages between the guards
	lo, hi int
	name   string // the operand's, for messages
	poison []byte
}

// guardMem hands out operands, each in its own slot, against the guard
// that reset last chose.
type guardMem struct {
	t     testing.TB
	page  int
	slots []*guardSlot
	used  int  // slots handed out since reset
	tail  bool // flush against the trailing guard, else the leading one
}

// newGuardMem returns an empty guardMem whose mappings are removed when
// the test ends.
func newGuardMem(t testing.TB) *guardMem {
	g := &guardMem{t: t, page: unix.Getpagesize()}
	t.Cleanup(func() {
		for _, s := range g.slots {
			if err := unix.Munmap(s.mem); err != nil {
				t.Errorf("munmap: %v", err)
			}
		}
	})
	return g
}

// reset starts a new call: slots are handed out from the first again,
// placed against the trailing guard if tail, else the leading one.
func (g *guardMem) reset(tail bool) {
	g.used, g.tail = 0, tail
}

// layout names the placement reset chose, for messages.
func (g *guardMem) layout() string {
	if g.tail {
		return "end at guard"
	}
	return "start at guard"
}

// mapSlot maps a slot with at least n data bytes between its guards.
func (g *guardMem) mapSlot(n int) *guardSlot {
	data := roundUp(max(n, 1), g.page)
	mem, err := unix.Mmap(-1, 0, data+2*g.page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		g.t.Fatalf("mmap %d bytes: %v", data+2*g.page, err)
	}
	if err := unix.Mprotect(mem[:g.page], unix.PROT_NONE); err != nil {
		g.t.Fatalf("mprotect: %v", err)
	}
	if err := unix.Mprotect(mem[g.page+data:], unix.PROT_NONE); err != nil {
		g.t.Fatalf("mprotect: %v", err)
	}
	return &guardSlot{mem: mem, data: mem[g.page : g.page+data]}
}

// place returns the next slot's n bytes (n > 0, a multiple of
// len(poison)) against its guard, with poison beside them, for the
// operand name.
func (g *guardMem) place(name string, n int, poison []byte) []byte {
	if g.used == len(g.slots) {
		g.slots = append(g.slots, g.mapSlot(n))
	}
	s := g.slots[g.used]
	if len(s.data) < n {
		if err := unix.Munmap(s.mem); err != nil {
			g.t.Fatalf("munmap: %v", err)
		}
		s = g.mapSlot(n)
		g.slots[g.used] = s
	}
	g.used++
	if g.tail {
		s.lo, s.hi = len(s.data)-n, len(s.data)
	} else {
		s.lo, s.hi = 0, n
	}
	s.name, s.poison = name, poison
	lo, hi := s.poisoned()
	for i := lo; i < hi; i++ {
		s.data[i] = s.poisonAt(i)
	}
	return s.data[s.lo:s.hi]
}

// poisoned returns the range of data that holds the slot's poison: before
// a slice at the end of the pages, after one at their start.
func (s *guardSlot) poisoned() (lo, hi int) {
	if s.lo == 0 {
		return s.hi, min(len(s.data), s.hi+guardPoison)
	}
	return max(0, s.lo-guardPoison), s.lo
}

// poisonAt is the poison byte for data[i], aligned to the slice's elements.
func (s *guardSlot) poisonAt(i int) byte {
	n := len(s.poison)
	return s.poison[((i-s.lo)%n+n)%n]
}

// floats places a copy of src, the operand name, against a guard.
func (g *guardMem) floats(name string, src []float32) []float32 {
	b := g.place(name, 4*len(src), poison32)
	s := unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), len(src))
	copy(s, src)
	return s
}

// halves places a copy of src, the operand name, against a guard.
func (g *guardMem) halves(name string, src []uint16) []uint16 {
	b := g.place(name, 2*len(src), poison16)
	s := unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(b))), len(src))
	copy(s, src)
	return s
}

// int32s places n int32s, all -1, the operand name, against a guard.
func (g *guardMem) int32s(name string, n int) []int32 {
	b := g.place(name, 4*n, poison32)
	s := unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(b))), n)
	for i := range s {
		s[i] = -1
	}
	return s
}

// checkPoison reports a changed poison byte of any slot of this call.
func (g *guardMem) checkPoison(c *guardCase) {
	for _, s := range g.slots[:g.used] {
		lo, hi := s.poisoned()
		for i := lo; i < hi; i++ {
			if s.data[i] == s.poisonAt(i) {
				continue
			}
			if i >= s.hi {
				c.errorf("%s (%d bytes) written outside it, at its end + %d bytes", s.name, s.hi-s.lo, i-s.hi)
			} else {
				c.errorf("%s (%d bytes) written outside it, at its start - %d bytes", s.name, s.hi-s.lo, s.lo-i)
			}
			break
		}
	}
}

// guardCase is one call of an entry point on guarded operands, and the
// errors found in it.
type guardCase struct {
	g    *guardMem
	name string
	errs []string
}

func (c *guardCase) errorf(format string, args ...any) {
	c.errs = append(c.errs, c.name+": "+fmt.Sprintf(format, args...))
}

// call runs fn, turning a panic, a guard-page fault included (the test's
// goroutine has SetPanicOnFault on), into an error naming the case.
func (c *guardCase) call(fn func()) {
	defer func() {
		if r := recover(); r != nil {
			c.errorf("%v%s", r, c.g.where(r))
		}
	}()
	fn()
}

// where says which operand's guard a fault hit, when r carries the
// faulting address (runtime errors from SetPanicOnFault do).
func (g *guardMem) where(r any) string {
	e, ok := r.(interface{ Addr() uintptr })
	if !ok {
		return ""
	}
	a := e.Addr()
	for _, s := range g.slots[:g.used] {
		base := uintptr(unsafe.Pointer(unsafe.SliceData(s.mem)))
		if a < base || a >= base+uintptr(len(s.mem)) {
			continue
		}
		lo, hi := base+uintptr(g.page+s.lo), base+uintptr(g.page+s.hi)
		if a >= hi {
			return fmt.Sprintf(" (address %#x: the end of %s (%d bytes) + %d bytes)", a, s.name, s.hi-s.lo, a-hi)
		}
		return fmt.Sprintf(" (address %#x: the start of %s (%d bytes) - %d bytes)", a, s.name, s.hi-s.lo, lo-a)
	}
	return fmt.Sprintf(" (address %#x, in no operand's mapping)", a)
}

// guardTest prepares a guard test on the test's goroutine: faults on it
// panic, and the kernels run on it alone (one thread), so that their
// faults can be recovered, unless the test asks for more threads.
func guardTest(t *testing.T) *guardMem {
	panics, threads := debug.SetPanicOnFault(true), Threads()
	t.Cleanup(func() {
		debug.SetPanicOnFault(panics)
		SetThreads(threads)
	})
	SetThreads(1)
	return newGuardMem(t)
}

// run calls fn with each assembly kernel this CPU has (the portable one
// only where there is none: its loops are bounds-checked Go) and in both
// layouts; fn places its operands with g, calls the entry point and checks
// the results through c. With logCalls each case is logged first under
// -v: with several threads a fault in a worker goroutine cannot be
// recovered and kills the test binary, and the last line logged names the
// case.
func (g *guardMem) run(t *testing.T, name string, logCalls bool, fn func(c *guardCase)) {
	t.Helper()
	defer current.Store(current.Load())
	for _, kn := range kernels {
		if kn == genericKernel && len(kernels) > 1 {
			continue
		}
		current.Store(kn)
		for _, tail := range []bool{true, false} {
			g.reset(tail)
			c := &guardCase{g: g, name: fmt.Sprintf("%s [%s, %s]", name, kn.name, g.layout())}
			if logCalls && testing.Verbose() {
				t.Logf("%s", c.name)
			}
			c.call(func() { fn(c) })
			g.checkPoison(c)
			for _, e := range c.errs {
				t.Error(e)
			}
		}
	}
}
