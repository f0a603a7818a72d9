package report

import (
	"reflect"
	"testing"
)

func TestIntegralTicks(t *testing.T) {
	// A three-layer probe chart spans 0..2; niceRange picks steps of 0.5.
	_, _, ticks := niceRange(0, 2, 6)
	if got, want := integralTicks(ticks), []float64{0, 1, 2}; !reflect.DeepEqual(got, want) {
		t.Fatalf("integralTicks(%v) = %v, want %v", ticks, got, want)
	}
	if got := integralTicks([]float64{0.2, 0.4, 0.6}); len(got) != 3 {
		t.Fatalf("an axis with no whole ticks lost its labels: %v", got)
	}
	if integral([]float64{0, 1.5}) || !integral([]float64{0, 1, 2}) {
		t.Fatal("integral misjudges")
	}
	c := LineChart(LineSpec{Title: "t", Lines: []LineData{{Name: "a", X: []float64{0, 1, 2}, Y: []float64{0.5, 1, 1}}}})
	if c == nil {
		t.Fatal("no chart")
	}
}
