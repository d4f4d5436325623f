package domain_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

func TestCatalogLatestIsTheHighestRelease(t *testing.T) {
	cat, err := domain.NewCatalog(svcTemplate(t, "1.10.0"), svcTemplate(t, "1.9.0"),
		svcTemplate(t, "2.0.0-rc.1"), svcTemplate(t, "1.10.0-beta"))
	require.NoError(t, err)

	latest, err := cat.Latest("svc")
	require.NoError(t, err)
	assert.Equal(t, "1.10.0", latest.Version, "semver order, pre-releases skipped")
	assert.Equal(t, []string{"1.9.0", "1.10.0-beta", "1.10.0", "2.0.0-rc.1"}, cat.Versions("svc"))
	got, err := cat.Get("svc", "")
	require.NoError(t, err)
	assert.Equal(t, "1.10.0", got.Version)
}

func TestCatalogLatestFallsBackToAPrerelease(t *testing.T) {
	cat, err := domain.NewCatalog(svcTemplate(t, "0.1.0-alpha"), svcTemplate(t, "0.1.0-beta"))
	require.NoError(t, err)
	latest, err := cat.Latest("svc")
	require.NoError(t, err)
	assert.Equal(t, "0.1.0-beta", latest.Version)
}

func TestCatalogGet(t *testing.T) {
	cat := testCatalog(t)
	tests := []struct {
		name, version string
		wantVersion   string
		wantErr       error
	}{
		{"svc", "1.0.0", "1.0.0", nil},
		{"svc", "", "1.1.0", nil},
		{"svc", "2.0.0-rc.1", "2.0.0-rc.1", nil},
		{"svc", "3.0.0", "", domain.ErrUnknownVersion},
		{"nope", "", "", domain.ErrUnknownTemplate},
		{"nope", "1.0.0", "", domain.ErrUnknownTemplate},
	}
	for _, tt := range tests {
		got, err := cat.Get(tt.name, tt.version)
		assert.ErrorIs(t, err, tt.wantErr, tt.name+"@"+tt.version)
		assert.Equal(t, tt.wantVersion, got.Version, tt.name+"@"+tt.version)
	}
	assert.Equal(t, []string{"pv", "svc"}, cat.Names())
}

func TestCatalogVersionsAreImmutable(t *testing.T) {
	cat := testCatalog(t)
	same, err := domain.ParseTemplate("copy.yaml", []byte(strings.Replace(pvYAML, "owner: platform", "owner:   platform # again", 1)))
	require.NoError(t, err)
	assert.NoError(t, cat.Add(same), "the same content again is a no-op")

	changed, err := domain.ParseTemplate("changed.yaml", []byte(strings.Replace(pvYAML, "default: main", "default: dev", 1)))
	require.NoError(t, err)
	err = cat.Add(changed)
	require.ErrorIs(t, err, domain.ErrVersionConflict)
	assert.EqualError(t, err, "pv@1.0.0: template version already exists with different content (first read from test.yaml)")
	got, err := cat.Get("pv", "1.0.0")
	require.NoError(t, err)
	assert.Equal(t, "test.yaml", got.File, "the first version stays")
}
