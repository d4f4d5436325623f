package app

import (
	"time"

	"github.com/pave-platform/pave/services/cost/internal/domain"
)

// CostQuery is GET /v1/costs, parsed.
type CostQuery struct {
	Window    domain.Window
	Step      domain.Grid
	Aggregate []string
	Visible   func(team string) bool
	Limit     int
}

// Costs answers a spend query over the meters as they are now.
func (s *Service) Costs(q CostQuery) (domain.Result, error) {
	var res domain.Result
	err := s.retained(q.Window)
	if err != nil {
		return res, err
	}
	s.index.Read(func(_ domain.Snapshot, lines []domain.Line) {
		res, err = domain.Run(s.card, lines, domain.Query{Grid: q.Step, Aggregate: q.Aggregate, Visible: q.Visible,
			Limit: q.Limit, Now: s.now()})
	})
	return res, err
}

// ExportAt is the FOCUS rows of a window as measured at asOf.
func (s *Service) ExportAt(w domain.Window, visible func(string) bool, asOf time.Time) ([]domain.FocusRow, error) {
	var rows []domain.FocusRow
	err := s.retained(w)
	if err != nil {
		return nil, err
	}
	s.index.Read(func(_ domain.Snapshot, lines []domain.Line) {
		rows, err = domain.FocusRows(s.card, lines, w, visible, asOf)
	})
	return rows, err
}
