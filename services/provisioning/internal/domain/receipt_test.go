package domain_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// A retried step finds the work done: the first run's evidence stands.
// A receipt is bounded.
func TestReceiptKeepsTheFirstEvidenceOfAStepAndIsBounded(t *testing.T) {
	var r domain.Receipt
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	assert.True(t, r.Add(domain.ReceiptStep{ResourceID: "e-db", Action: "sanitize", Before: map[string]int64{"objects_owned": 3}, At: at}))
	assert.False(t, r.Add(domain.ReceiptStep{ResourceID: "e-db", Action: "sanitize", Before: map[string]int64{"objects_owned": 0}, At: at.Add(time.Minute)}))
	assert.True(t, r.Add(domain.ReceiptStep{ResourceID: "e-db", Action: "deprovision", At: at.Add(time.Minute)}))
	assert.Len(t, r.Steps, 2)
	assert.Equal(t, int64(3), r.Steps[0].Before["objects_owned"])
	assert.Equal(t, at.Add(time.Minute), r.UpdatedAt)
	for i := range domain.MaxReceiptSteps {
		r.Add(domain.ReceiptStep{ResourceID: fmt.Sprintf("r-%d", i), Action: "sanitize"})
	}
	assert.Len(t, r.Steps, domain.MaxReceiptSteps)
}
