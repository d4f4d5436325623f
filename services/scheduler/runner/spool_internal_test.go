package runner

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
)

// The spool remembers the admissions it ran across a reopen (a restart),
// bounded: after two rotations the oldest are forgotten.
func TestSpoolRemembersWhatRanBoundedAndAcrossARestart(t *testing.T) {
	dir := t.TempDir()
	s, err := openSpool(dir)
	require.NoError(t, err)
	s.keep = 2
	ref := func(i int) events.RunnerJobRef { return events.RunnerJobRef{WorkloadID: "w", Admission: i} }
	for i := 1; i <= 5; i++ {
		first, err := s.markRun(ref(i))
		require.NoError(t, err)
		assert.True(t, first, "admission %d", i)
	}
	again, err := s.markRun(ref(5))
	require.NoError(t, err)
	assert.False(t, again, "a repeat is refused")
	s.close()

	s, err = openSpool(dir) // the runner restarts
	require.NoError(t, err)
	defer s.close()
	for _, tt := range []struct {
		give int
		ran  bool
	}{{5, true}, {4, true}, {3, true}, {1, false}} {
		first, err := s.markRun(ref(tt.give))
		require.NoError(t, err)
		assert.Equal(t, !tt.ran, first, "admission %d", tt.give)
	}
}
