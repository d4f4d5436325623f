package localsrv

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSortByVersionDesc(t *testing.T) {
	tests := []struct {
		give []string
		want []string
	}{
		{
			give: []string{"/usr/lib/postgresql/9.6/bin", "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/10/bin"},
			want: []string{"/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/10/bin", "/usr/lib/postgresql/9.6/bin"},
		},
		{give: nil, want: nil},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, sortByVersionDesc(tt.give))
	}
}
