package app

import "github.com/paysaga/paysaga/api"

// API builds the HTTP API on the app's store and Temporal client. cfg is the API's own
// policy — who may call it, its limits, the Toss client that checks webhooks — and the app
// adds what the API shares with the workers: the logger, the telemetry, and the payload
// codec it serves to operators.
func (a *App) API(cfg api.Config) *api.Server {
	cfg.Logger = a.settings.Logger
	cfg.Telemetry = a.settings.Telemetry
	cfg.Codec = a.settings.Codec
	return api.New(a.Store, a.Temporal, cfg)
}
