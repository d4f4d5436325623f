package ports

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/provisioning/internal/app"
)

// ReceiptEndpoint answers rpc.EnvironmentReceipt.
func ReceiptEndpoint(receipts app.Receipts, log *slog.Logger) rpc.Endpoint {
	return rpc.Endpoint{Name: "receipt", Subject: rpc.EnvironmentReceipt, Handler: func(ctx context.Context, req rpc.Request) rpc.Reply {
		id := req.Path["id"]
		if id == "" {
			id = req.Query["environment_id"]
		}
		if id == "" {
			return rpc.Fail(http.StatusBadRequest, "Bad Request", "the environment id is required",
				rpc.FieldError{Field: "id", Message: "required"})
		}
		r, err := receipts.Get(ctx, id)
		switch {
		case errors.Is(err, app.ErrNotFound):
			return rpc.Fail(http.StatusNotFound, "Not Found", "environment "+id+" has no teardown receipt: its teardown has not begun, or the receipt has expired")
		case err != nil:
			log.ErrorContext(ctx, "read receipt", "environment", id, "error", err)
			return rpc.Fail(http.StatusInternalServerError, "Internal error", "the receipt could not be read")
		}
		return rpc.OK(http.StatusOK, r)
	}}
}
