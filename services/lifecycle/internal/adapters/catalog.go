package adapters

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// DefaultTemplateDir is where the shipped templates live.
const DefaultTemplateDir = "deploy/templates"

// ErrNoTemplates means a catalog folder holds no template file.
var ErrNoTemplates = errors.New("no templates")

// LoadCatalog reads every *.yaml and *.yml file of dir (not its
// subfolders) into a catalog. It reports every problem of every file at
// once, each line naming the file as dir/<file>.
func LoadCatalog(dir string) (*domain.Catalog, error) {
	return LoadCatalogFS(os.DirFS(dir), ".", dir)
}

// LoadCatalogFS is LoadCatalog over any file system (an embedded one,
// fstest.MapFS): it reads root of fsys and names files as label/<file>.
func LoadCatalogFS(fsys fs.FS, root, label string) (*domain.Catalog, error) {
	entries, err := fs.ReadDir(fsys, root)
	if err != nil {
		return nil, fmt.Errorf("read templates in %s: %w", label, err)
	}
	cat, _ := domain.NewCatalog()
	var errs []error
	found := 0
	for _, e := range entries {
		ext := path.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		found++
		file := filepath.Join(label, e.Name())
		if err := loadFile(cat, fsys, path.Join(root, e.Name()), file); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if found == 0 {
		return nil, fmt.Errorf("load templates: %w in %s", ErrNoTemplates, label)
	}
	return cat, nil
}

func loadFile(cat *domain.Catalog, fsys fs.FS, name, file string) error {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return fmt.Errorf("%s: read: %w", file, err)
	}
	t, err := domain.ParseTemplate(file, data)
	if err != nil {
		return err
	}
	if err := cat.Add(t); err != nil {
		return fmt.Errorf("%s: version: %w", file, err)
	}
	return nil
}
