package audit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/config"
)

// ArchiveBucket is the JetStream object store that holds sealed segments
// by default.
const ArchiveBucket = "AUDIT_ARCHIVE"

// ErrNotImplemented answers an archive kind that is not built.
var ErrNotImplemented = errors.New("not implemented")

// Archive keeps sealed segments by name. Names sort in ledger order.
type Archive interface {
	Put(ctx context.Context, name string, data []byte) error
	Get(ctx context.Context, name string) ([]byte, error)
	// List answers every name, sorted.
	List(ctx context.Context) ([]string, error)
	// Where says where the archive is, for logs and reports.
	Where() string
}

// ObjectArchive keeps segments in a JetStream object store.
type ObjectArchive struct{ obs jetstream.ObjectStore }

var _ Archive = (*ObjectArchive)(nil)

// NewObjectArchive declares the bucket (bounded by maxBytes: when full a
// segment is not archived, so its records stay in AUDIT) and returns it.
func NewObjectArchive(ctx context.Context, js jetstream.JetStream, replicas int, maxBytes int64) (*ObjectArchive, error) {
	obs, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: ArchiveBucket,
		Description: "sealed audit segments", MaxBytes: maxBytes, Storage: jetstream.FileStorage,
		Replicas: max(replicas, 1), Compression: true})
	if err != nil {
		return nil, fmt.Errorf("audit archive bucket %s: %w", ArchiveBucket, err)
	}
	return &ObjectArchive{obs: obs}, nil
}

func (a *ObjectArchive) Put(ctx context.Context, name string, data []byte) error {
	if _, err := a.obs.PutBytes(ctx, name, data); err != nil {
		return fmt.Errorf("archive %s: %w", name, err)
	}
	return nil
}

func (a *ObjectArchive) Get(ctx context.Context, name string) ([]byte, error) {
	raw, err := a.obs.GetBytes(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("archive %s: %w", name, err)
	}
	return raw, nil
}

func (a *ObjectArchive) List(ctx context.Context) ([]string, error) {
	infos, err := a.obs.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("archive list: %w", err)
	}
	names := make([]string, 0, len(infos))
	for _, i := range infos {
		if !i.Deleted {
			names = append(names, i.Name)
		}
	}
	slices.Sort(names)
	return names, nil
}

func (a *ObjectArchive) Where() string { return "object store " + ArchiveBucket }

// DirArchive keeps segments as files in a directory.
type DirArchive struct{ dir string }

var _ Archive = (*DirArchive)(nil)

// NewDirArchive makes dir (0700) when missing.
func NewDirArchive(dir string) (*DirArchive, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit archive directory: %w", err)
	}
	return &DirArchive{dir: dir}, nil
}

// Put writes the file atomically (a temporary file renamed into place).
func (a *DirArchive) Put(_ context.Context, name string, data []byte) error {
	tmp, err := os.CreateTemp(a.dir, ".put-*")
	if err != nil {
		return fmt.Errorf("archive %s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("archive %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("archive %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("archive %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(a.dir, name)); err != nil {
		return fmt.Errorf("archive %s: %w", name, err)
	}
	return nil
}

func (a *DirArchive) Get(_ context.Context, name string) ([]byte, error) {
	raw, err := os.ReadFile(filepath.Join(a.dir, name))
	if err != nil {
		return nil, fmt.Errorf("archive %s: %w", name, err)
	}
	return raw, nil
}

func (a *DirArchive) List(context.Context) ([]string, error) {
	ents, err := os.ReadDir(a.dir)
	if err != nil {
		return nil, fmt.Errorf("archive list: %w", err)
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasPrefix(e.Name(), segmentPrefix) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

func (a *DirArchive) Where() string { return "directory " + a.dir }

// ArchiveConfig is how the access service seals, archives and bounds the
// ledger.
type ArchiveConfig struct {
	// Archive: "objectstore" (the AUDIT_ARCHIVE bucket), "dir:<path>", or
	// "s3://…" (not implemented).
	Archive string `env:"PAVE_AUDIT_ARCHIVE" envDefault:"objectstore"`
	// MaxBytes bounds the object store.
	MaxBytes int64 `env:"PAVE_AUDIT_ARCHIVE_MAX_BYTES" envDefault:"10737418240"`
	// SegmentRecords is how many records a segment holds at least (a
	// segment ends with the message that reaches it).
	SegmentRecords int `env:"PAVE_AUDIT_SEGMENT_RECORDS" envDefault:"10000"`
	// Interval is how often sealed segments are archived and old ones purged.
	Interval time.Duration `env:"PAVE_AUDIT_ARCHIVE_INTERVAL" envDefault:"1m"`
	// Retention is how long an archived record stays in AUDIT besides the
	// archive; 0 keeps every record in the stream too.
	Retention time.Duration `env:"PAVE_AUDIT_RETENTION" envDefault:"720h"`
}

// Validate names the variable that is wrong.
func (c ArchiveConfig) Validate() error {
	var errs []error
	kind := c.Archive
	switch {
	case kind == "objectstore":
		if c.MaxBytes < 1<<20 {
			errs = append(errs, config.Invalid("PAVE_AUDIT_ARCHIVE_MAX_BYTES", "must be at least 1 MiB"))
		}
	case strings.HasPrefix(kind, "dir:"):
		if strings.TrimPrefix(kind, "dir:") == "" {
			errs = append(errs, config.Invalid("PAVE_AUDIT_ARCHIVE", "dir: needs a path (dir:/var/lib/pave/audit)"))
		}
	case strings.HasPrefix(kind, "s3://"):
		errs = append(errs, config.Invalid("PAVE_AUDIT_ARCHIVE", "an S3-compatible archive is not implemented: use objectstore or dir:<path>"))
	default:
		errs = append(errs, config.Invalidf("PAVE_AUDIT_ARCHIVE", "%q: want objectstore, dir:<path> or s3://… (not implemented)", kind))
	}
	if c.SegmentRecords < 1 || c.SegmentRecords > 1_000_000 {
		errs = append(errs, config.Invalid("PAVE_AUDIT_SEGMENT_RECORDS", "must be 1..1000000"))
	}
	if c.Interval < 100*time.Millisecond {
		errs = append(errs, config.Invalid("PAVE_AUDIT_ARCHIVE_INTERVAL", "must be at least 100ms"))
	}
	if c.Retention < 0 {
		errs = append(errs, config.Invalid("PAVE_AUDIT_RETENTION", "must be 0 (keep every record in AUDIT) or positive"))
	}
	return errors.Join(errs...)
}

// Open returns the configured archive.
func (c ArchiveConfig) Open(ctx context.Context, js jetstream.JetStream, replicas int) (Archive, error) {
	if dir, ok := strings.CutPrefix(c.Archive, "dir:"); ok {
		return NewDirArchive(dir)
	}
	if c.Archive != "objectstore" {
		return nil, fmt.Errorf("PAVE_AUDIT_ARCHIVE %q: %w", c.Archive, ErrNotImplemented)
	}
	return NewObjectArchive(ctx, js, replicas, c.MaxBytes)
}
