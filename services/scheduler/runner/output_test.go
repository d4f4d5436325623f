package runner

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestTailKeepsTheLastBytes(t *testing.T) {
	long := strings.Repeat("0123456789", 5)
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{name: "short", writes: []string{"ab", "cd"}, want: "abcd"},
		{name: "exactly full", writes: []string{"0123456789abcdef"}, want: "0123456789abcdef"},
		{name: "wraps", writes: []string{"0123456789", "abcdefghij"}, want: "456789abcdefghij"},
		{name: "one big write", writes: []string{long}, want: long[len(long)-16:]},
		{name: "big write after some", writes: []string{"xyz", long}, want: long[len(long)-16:]},
		{name: "many small writes", writes: strings.Split(long, ""), want: long[len(long)-16:]},
		{name: "cut character dropped", writes: []string{"aaaaaaaaaaaaaaa", "é", "bbbbbbbbbbbbbbb"}, want: "bbbbbbbbbbbbbbb"},
		{name: "invalid bytes replaced", writes: []string{"ok\xffok"}, want: "ok\uFFFDok"},
		{name: "replacement stays within max", writes: []string{"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"}, want: "\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl := newTail(16)
			for _, w := range tt.writes {
				n, err := tl.Write([]byte(w))
				assert.NoError(t, err)
				assert.Equal(t, len(w), n)
			}
			got := tl.String()
			assert.Equal(t, tt.want, got)
			assert.LessOrEqual(t, len(got), 16)
			assert.True(t, utf8.ValidString(got))
		})
	}
}
