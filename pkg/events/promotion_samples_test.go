package events_test

import "github.com/pave-platform/pave/pkg/events"

var promotionSample = events.PromotionChanged{PromotionID: "prm-abcdefgh2345", Application: "shop", Team: "payments",
	FromStage: "staging", ToStage: "prod", EnvironmentID: "env-abcdefghijkl",
	Commit: "0123456789abcdef0123456789abcdef01234567", By: "alice", State: "rejected", Reason: "ci: no run",
	Gates: []events.PromotionGate{{Gate: "ci", Passed: true, Detail: "build succeeded"}}, Approvals: []string{"bob"}, Seq: 2, At: at}

// promotionSamples join samples in allSamples.
var promotionSamples = map[string]any{
	events.TypePromoteCommand: events.PromoteCommand{Saga: events.Saga{ID: "prm-abcdefgh2345", Step: "gates", Attempt: 1, Compensation: true},
		PromotionID: "prm-abcdefgh2345", Action: events.PromoteRollback},
	events.TypePromotionRequested:   promotionSample,
	events.TypePromotionChecked:     promotionSample,
	events.TypePromotionWaiting:     promotionSample,
	events.TypePromotionApproved:    promotionSample,
	events.TypePromotionApplied:     promotionSample,
	events.TypePromotionPromoted:    promotionSample,
	events.TypePromotionRejected:    promotionSample,
	events.TypePromotionRollingBack: promotionSample,
	events.TypePromotionRolledBack:  promotionSample,
	events.TypePromotionFailed:      promotionSample,
	events.TypeApplicationConfigured: events.ApplicationConfigured{Name: "shop", Team: "payments", Repository: "acme/shop",
		Stages: []string{"dev", "staging", "prod"}, By: "alice", At: at},
}
