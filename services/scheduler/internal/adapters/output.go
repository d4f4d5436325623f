package adapters

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/services/scheduler/internal/app"
)

// JobOutputBucket is the object store of job output: runners put the end
// of each job's output there (the reports carry only a short tail), the
// scheduler's API reads it back. Objects expire after the bucket's TTL;
// when the bucket is full, new output is refused until old output expires
// (the report's tail is then all that is kept).
const JobOutputBucket = "JOB_OUTPUT"

// JobOutputConfig is the bucket's configuration, declared by the runners.
func JobOutputConfig(replicas int, ttl time.Duration, maxBytes int64) jetstream.ObjectStoreConfig {
	return jetstream.ObjectStoreConfig{Bucket: JobOutputBucket, Description: "job output, by workload/admission",
		TTL: ttl, MaxBytes: maxBytes, Storage: jetstream.FileStorage, Replicas: max(replicas, 1), Compression: true}
}

// JobOutputKey names the output of one admission of a job.
func JobOutputKey(workload string, admission int) string {
	return fmt.Sprintf("%s/%d", workload, admission)
}

// JobOutputs reads job output from the bucket.
type JobOutputs struct {
	js jetstream.JetStream
}

var _ app.OutputReader = (*JobOutputs)(nil)

// NewJobOutputs reads through js.
func NewJobOutputs(js jetstream.JetStream) *JobOutputs { return &JobOutputs{js: js} }

// Read returns the stored output of an admission; false when there is
// none (no runner declared the bucket, the job printed nothing, the output
// expired or did not fit).
func (o *JobOutputs) Read(ctx context.Context, workload string, admission int) (string, bool, error) {
	obs, err := o.js.ObjectStore(ctx, JobOutputBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("job output bucket: %w", err)
	}
	raw, err := obs.GetBytes(ctx, JobOutputKey(workload, admission))
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("job output %s/%d: %w", workload, admission, err)
	}
	return string(raw), true, nil
}
