//go:build !race

package prefs

const raceEnabled = false
