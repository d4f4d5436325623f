//go:build race

package saga_test

// raceEnabled shortens the property test: the race detector makes the
// simulation ten times slower and finds nothing in pure code.
const raceEnabled = true
