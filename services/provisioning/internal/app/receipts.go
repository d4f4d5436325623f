package app

import (
	"context"
	"fmt"

	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// Receipts stores each environment's teardown receipt, bounded in time.
type Receipts interface {
	// Record adds step to the environment's receipt (domain.Receipt.Add).
	Record(ctx context.Context, environmentID string, step domain.ReceiptStep) error
	// Get returns ErrNotFound when the environment has no receipt.
	Get(ctx context.Context, environmentID string) (domain.Receipt, error)
}

// Evidencer is a driver that counts what a resource holds, so that a
// receipt shows the data before and after sanitize and deletion.
type Evidencer interface {
	Evidence(ctx context.Context, resourceID string) (map[string]int64, error)
}

// methods say what each driver's teardown steps do.
var methods = map[string]map[string]string{
	"postgres": {
		"sanitize":    "DROP OWNED BY the resource's role inside its database (every table, view, sequence, function and privilege the role holds)",
		"deprovision": "ALTER ROLE ... NOLOGIN, the role's sessions ended, DROP DATABASE, DROP ROLE",
	},
	"redis": {
		"sanitize":    "every key under the resource's prefix deleted (SCAN and UNLINK)",
		"deprovision": "ACL DELUSER and ACL SAVE, then every key under the prefix deleted",
	},
	"nats": {
		"sanitize":    "the resource's stream purged",
		"deprovision": "the resource's stream deleted",
	},
}

func method(driver, action string) string {
	if m := methods[driver][action]; m != "" {
		return m
	}
	return "the " + driver + " driver's " + action
}

// revokedWith names the credentials a deprovision ends: the resource's
// owner login, for the drivers that make one.
func revokedWith(driver, resourceID string) []string {
	switch driver {
	case "postgres":
		return []string{"postgres role " + domain.ObjectName(resourceID) + " (the owner login) and the grant logins on its database"}
	case "redis":
		return []string{"redis ACL user " + domain.ObjectName(resourceID) + " (the owner login)"}
	}
	return nil
}

// evidence counts what the resource holds, or says why it cannot.
func (d Deps) evidence(ctx context.Context, driver, resourceID string) (map[string]int64, string, error) {
	ev := d.Drivers.evidencer(driver)
	if ev == nil {
		return nil, "not implemented for driver " + driver, nil
	}
	counts, err := ev.Evidence(ctx, resourceID)
	if err != nil {
		return nil, "", fmt.Errorf("count what %s holds: %w", resourceID, err)
	}
	return counts, "", nil
}

// teardownStep runs do between two counts and records the step in the
// environment's receipt. Without a receipt store it only runs do.
func (d Deps) teardownStep(ctx context.Context, envID, resourceID, driver, action string, do func() (*bool, error)) error {
	if d.Receipts == nil {
		_, err := do()
		return err
	}
	before, why, err := d.evidence(ctx, driver, resourceID)
	if err != nil {
		return err
	}
	existed, err := do()
	if err != nil {
		return err
	}
	after, _, err := d.evidence(ctx, driver, resourceID)
	if err != nil {
		return err
	}
	step := domain.ReceiptStep{ResourceID: resourceID, Driver: driver, Action: action, Method: method(driver, action),
		Before: before, After: after, Evidence: why, Existed: existed, At: d.now()}
	if action == "deprovision" {
		step.CredentialsRevoked = revokedWith(driver, resourceID)
	}
	if err := d.Receipts.Record(ctx, envID, step); err != nil {
		return fmt.Errorf("record the receipt of %s: %w", resourceID, err)
	}
	return nil
}
