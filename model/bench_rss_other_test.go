//go:build !unix

package model_test

func peakRSSMB() (float64, bool) { return 0, false }

func cpuSeconds() float64 { return 0 }
