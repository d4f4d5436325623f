package app

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// tracedDriver runs every call that reaches a target in a client span,
// "driver <name> <operation>", a child of the command being handled, so a
// trace shows each real call an environment operation made. It reads the
// global tracer provider that otelfx installs.
type tracedDriver struct {
	name string
	next Driver
}

var _ Driver = tracedDriver{}

func (d tracedDriver) span(ctx context.Context, op, resource string) (context.Context, trace.Span) {
	return otel.GetTracerProvider().Tracer("github.com/pave-platform/pave/services/provisioning").Start(ctx,
		"driver "+d.name+" "+op, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("pave.driver", d.name), attribute.String("pave.resource_id", resource)))
}

func end(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

func (d tracedDriver) Planned(resourceID string) []string { return d.next.Planned(resourceID) }

func (d tracedDriver) Provision(ctx context.Context, r domain.Resource) (domain.Result, error) {
	ctx, span := d.span(ctx, "provision", r.ID)
	res, err := d.next.Provision(ctx, r)
	end(span, err)
	return res, err
}

func (d tracedDriver) Update(ctx context.Context, r domain.Resource) (domain.Result, error) {
	ctx, span := d.span(ctx, "update", r.ID)
	res, err := d.next.Update(ctx, r)
	end(span, err)
	return res, err
}

func (d tracedDriver) Sanitize(ctx context.Context, resourceID string) error {
	ctx, span := d.span(ctx, "sanitize", resourceID)
	err := d.next.Sanitize(ctx, resourceID)
	end(span, err)
	return err
}

func (d tracedDriver) Deprovision(ctx context.Context, resourceID string) (bool, error) {
	ctx, span := d.span(ctx, "deprovision", resourceID)
	existed, err := d.next.Deprovision(ctx, resourceID)
	span.SetAttributes(attribute.Bool("pave.existed", existed))
	end(span, err)
	return existed, err
}

func (d tracedDriver) Inventory(ctx context.Context) ([]string, error) {
	ctx, span := d.span(ctx, "inventory", "")
	ids, err := d.next.Inventory(ctx)
	end(span, err)
	return ids, err
}

func (d tracedDriver) Remove(ctx context.Context, externalID string) error {
	ctx, span := d.span(ctx, "remove", externalID)
	err := d.next.Remove(ctx, externalID)
	end(span, err)
	return err
}
